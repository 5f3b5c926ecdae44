import { describe, expect, it } from 'vitest';
import { parseSafetensors, SafetensorsError, writeSafetensors } from '../../src/model/safetensors';

/** a safetensors file from a raw header object and data bytes (no padding unless given) */
function build(header: unknown, data: Uint8Array | number[] = [], opts: { headerLength?: bigint; pad?: number } = {}): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header) + ' '.repeat(opts.pad ?? 0));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const u16le = (vals: number[]) => new Uint8Array(new Uint16Array(vals).buffer);

function errorOf(f: () => unknown): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError');
}

describe('safetensors round trip', () => {
  it('writes and reads back F32 tensors, sorted, header padded to 8 bytes', () => {
    const tensors = new Map([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -1e30]) }],
      ['a.bias', { shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) }],
      ['scalar', { shape: [], data: Float32Array.from([7]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(Object.keys(header)).toEqual(['__metadata__', 'a.bias', 'b.weight', 'empty', 'scalar']);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['a.bias']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });

    const back = parseSafetensors(bytes);
    expect([...back.keys()].sort()).toEqual(['a.bias', 'b.weight', 'empty', 'scalar']);
    for (const [k, t] of tensors) {
      expect(back.get(k)!.shape).toEqual(t.shape);
      expect(back.get(k)!.dtype).toBe('F32');
      expect(Array.from(back.get(k)!.data)).toEqual(Array.from(t.data));
    }
    // also from an ArrayBuffer, and from a Record
    expect(parseSafetensors(bytes.slice().buffer).get('scalar')!.data[0]).toBe(7);
    expect(parseSafetensors(writeSafetensors({ x: { shape: [1], data: Float32Array.of(2) } })).get('x')!.data[0]).toBe(2);
  });

  it('reads unaligned data (header length not a multiple of 4, buffer at an odd offset)', () => {
    const data = new Uint8Array(Float32Array.from([1.5, -2.25]).buffer);
    const file = build({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data);
    expect((file.length - 8 - 8) % 4).not.toBe(0); // the header as built leaves the data unaligned
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    for (const input of [file, shifted.subarray(3)]) expect(Array.from(parseSafetensors(input).get('t')!.data)).toEqual([1.5, -2.25]);
  });

  it('reads a Node Buffer that is a view into a larger pool (Buffer.slice does not copy)', () => {
    const file = writeSafetensors({ a: { shape: [2], data: Float32Array.of(1, 2) }, b: { shape: [1], data: Float32Array.of(3) } });
    const buf = Buffer.concat([Buffer.alloc(5, 9), Buffer.from(file), Buffer.alloc(7, 9)]).subarray(5, 5 + file.length);
    const back = parseSafetensors(buf);
    expect(Array.from(back.get('a')!.data)).toEqual([1, 2]);
    expect(Array.from(back.get('b')!.data)).toEqual([3]);
  });

  it('returns copies, not views of the input', () => {
    const bytes = writeSafetensors({ t: { shape: [1], data: Float32Array.of(3) } });
    const t = parseSafetensors(bytes).get('t')!;
    bytes.fill(0);
    expect(t.data[0]).toBe(3);
  });
});

describe('safetensors dtypes', () => {
  it('decodes F16 known values', () => {
    const bits = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x0000, 0x3800];
    const t = parseSafetensors(build({ h: { dtype: 'F16', shape: [9], data_offsets: [0, 18] } }, u16le(bits))).get('h')!;
    expect(t.dtype).toBe('F16');
    expect(Array.from(t.data)).toEqual([1, -2, Math.fround(0.333251953125), 65504, Math.fround(2 ** -24), Infinity, -Infinity, 0, 0.5]);
    const nan = parseSafetensors(build({ h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, u16le([0x7e00]))).get('h')!;
    expect(Number.isNaN(nan.data[0])).toBe(true);
  });

  it('decodes BF16 known values', () => {
    const t = parseSafetensors(build({ b: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] } }, u16le([0x3f80, 0xc040, 0x4049, 0x0000]))).get('b')!;
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data)).toEqual([1, -3, 3.140625, 0]);
  });

  it('converts F64 to float32', () => {
    const data = new Uint8Array(Float64Array.from([0.1, -1e300, 2]).buffer);
    const t = parseSafetensors(build({ d: { dtype: 'F64', shape: [3], data_offsets: [0, 24] } }, data)).get('d')!;
    expect(Array.from(t.data)).toEqual([Math.fround(0.1), -Infinity, 2]);
  });

  it('rejects I64 naming the tensor', () => {
    const e = errorOf(() => parseSafetensors(build({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'w.safetensors'));
    expect(e.message).toBe('w.safetensors: tensor ids: dtype I64 is not supported for weights, expected F32 (or F16, BF16, F64)');
  });

  it('rejects an unknown dtype', () => {
    const e = errorOf(() => parseSafetensors(build({ x: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))));
    expect(e.message).toMatch(/^model\.safetensors: tensor x: unknown dtype "F17"/);
  });
});

describe('safetensors broken files', () => {
  const good = () => writeSafetensors({ 'a.weight': { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }, 'b.bias': { shape: [2], data: Float32Array.of(5, 6) } });

  it('file shorter than 8 bytes', () => {
    expect(errorOf(() => parseSafetensors(new Uint8Array(5), 'm.safetensors')).message).toBe(
      'm.safetensors: file is 5 bytes, too short for the 8-byte header length (truncated or not a safetensors file)',
    );
  });

  it('truncated file: the last tensor runs past the end', () => {
    const bytes = good();
    const e = errorOf(() => parseSafetensors(bytes.subarray(0, bytes.length - 4)));
    expect(e.message).toBe('model.safetensors: tensor b.bias: data_offsets [16, 24] exceed the data buffer of 20 bytes (file truncated?)');
  });

  it('header length larger than the file', () => {
    const e = errorOf(() => parseSafetensors(build({}, [], { headerLength: 1000n })));
    expect(e.message).toMatch(/^model\.safetensors: header length 1000 bytes exceeds the file \(10 bytes/);
  });

  it('absurd header length', () => {
    const e = errorOf(() => parseSafetensors(build({}, [], { headerLength: 1n << 60n })));
    expect(e.message).toMatch(/^model\.safetensors: header length 1152921504606846976 bytes is absurd/);
  });

  it('corrupt header JSON', () => {
    expect(errorOf(() => parseSafetensors(build('{"a": {"dtype": "F32",'))).message).toMatch(/^model\.safetensors: header is not valid JSON \(/);
    expect(errorOf(() => parseSafetensors(build([1, 2]))).message).toBe('model.safetensors: header is not a JSON object (found an array)');
  });

  it('invalid UTF-8 in the header', () => {
    const file = new Uint8Array(8 + 3);
    new DataView(file.buffer).setBigUint64(0, 3n, true);
    file.set([0x7b, 0xff, 0x7d], 8);
    expect(errorOf(() => parseSafetensors(file)).message).toBe('model.safetensors: header is not valid UTF-8');
  });

  it('missing fields and bad shapes, all reported at once', () => {
    const e = errorOf(() =>
      parseSafetensors(
        build({
          a: { shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'F32', shape: [-1], data_offsets: [4, 8] },
          c: { dtype: 'F32', shape: [1] },
          d: 5,
        }, new Uint8Array(8)),
      ),
    );
    expect(e.problems).toEqual([
      'model.safetensors: tensor a: dtype missing or not a string (found undefined)',
      'model.safetensors: tensor b: shape must be an array of non-negative integers, found [-1]',
      'model.safetensors: tensor c: data_offsets must be [begin, end] non-negative integers, found undefined',
      'model.safetensors: tensor d: header entry is not an object (found 5)',
    ]);
  });

  it('byte length does not match shape and dtype', () => {
    const e = errorOf(() =>
      parseSafetensors(build({ 'bert.pooler.dense.weight': { dtype: 'F32', shape: [32, 32], data_offsets: [0, 100] } }, new Uint8Array(100))),
    );
    expect(e.message).toBe('model.safetensors: tensor bert.pooler.dense.weight: data_offsets [0, 100] hold 100 bytes, expected 4096 (shape [32, 32] F32)');
  });

  it('offsets that end before they begin', () => {
    const e = errorOf(() => parseSafetensors(build({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4))));
    expect(e.message).toBe('model.safetensors: tensor x: data_offsets [4, 0] end before they begin');
  });

  it('overlapping offsets', () => {
    const e = errorOf(() =>
      parseSafetensors(
        build({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      ),
    );
    expect(e.message).toBe('model.safetensors: tensor y: data_offsets [4, 12] overlap tensor x [0, 8]');
  });

  it('a hole between tensors', () => {
    const e = errorOf(() =>
      parseSafetensors(
        build({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, y: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)),
      ),
    );
    expect(e.message).toBe('model.safetensors: tensor y: data_offsets [8, 12] leave bytes [4, 8) of the data buffer uncovered (after tensor x)');
  });

  it('data not starting at offset 0, and trailing bytes', () => {
    const e = errorOf(() => parseSafetensors(build({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(12))));
    expect(e.problems).toEqual([
      'model.safetensors: tensor x: data_offsets [4, 8] leave bytes [0, 4) of the data buffer uncovered (at its start)',
      'model.safetensors: data buffer is 12 bytes but the tensors cover only [0, 8): 4 trailing bytes',
    ]);
  });

  it('bad __metadata__', () => {
    const e = errorOf(() => parseSafetensors(build({ __metadata__: { n: 1 } })));
    expect(e.message).toBe('model.safetensors: __metadata__ must be an object of string values, found {"n":1}');
  });

  it('writing refuses data that does not match the shape', () => {
    expect(() => writeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      'writeSafetensors: tensor w: 3 values, expected 4 (shape [2, 2])',
    );
  });
});
