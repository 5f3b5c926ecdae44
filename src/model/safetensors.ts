// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian u64
// header length N, N bytes of UTF-8 JSON header, then the raw little-endian tensor data. Offsets in
// the header are relative to the first byte after the header. Browser- and Node-safe (no Node imports).

export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Every problem found in one file; the message is one problem per line, each starting with the file name. */
export class SafetensorsError extends Error {
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.name = 'SafetensorsError';
    this.problems = list;
  }
}

/** the reference implementation refuses headers above this size too; checked before anything is
 *  allocated, so a header length of 2^40 is refused at once */
export const MAX_HEADER_BYTES = 100_000_000;
/** the largest weight file the workbench loads (2 GiB): a browser tab cannot hold much more as one
 *  ArrayBuffer plus its float32 copies on the GPU or in wasm memory */
export const MAX_SAFETENSORS_BYTES = 2 ** 31;
/** bytes per element of the dtypes a weight file may hold (all decoded to float32) */
const FLOAT_DTYPES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** dtypes the format knows but weights must not use: named in the error rather than "unknown" */
const OTHER_DTYPES = new Set(['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64', 'F8_E4M3', 'F8_E5M2']);
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Parse a safetensors file into float32 tensors, validating everything the spec requires. Each
 *  tensor's data is a fresh copy (never a view of `buf`, which may be unaligned or reused). */
export function parseSafetensors(buf: ArrayBuffer | Uint8Array, file = 'model.safetensors'): Map<string, RawTensor> {
  function fail(msg: string): never {
    throw new SafetensorsError(`${file}: ${msg}`);
  }
  if (buf.byteLength > MAX_SAFETENSORS_BYTES)
    fail(`${(buf.byteLength / 2 ** 30).toFixed(2)} GiB is more than the limit of ${MAX_SAFETENSORS_BYTES / 2 ** 30} GiB for a weight file`);
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length (truncated or not a safetensors file)`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} bytes is absurd (limit ${MAX_HEADER_BYTES}); not a safetensors file?`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} bytes exceeds the file (${bytes.length} bytes, ${bytes.length - 8} after the length field): truncated?`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail(`header is not a JSON object (found ${Array.isArray(header) ? 'an array' : JSON.stringify(header)})`);

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const problems: string[] = [];
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  let offsetsValid = true;
  for (const [name, spec] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const okMeta =
        typeof spec === 'object' && spec !== null && !Array.isArray(spec) && Object.values(spec).every((v) => typeof v === 'string');
      if (!okMeta) problems.push(`${file}: __metadata__ must be an object of string values, found ${JSON.stringify(spec)}`);
      continue;
    }
    const p = (msg: string) => problems.push(`${file}: tensor ${name}: ${msg}`);
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      p(`header entry is not an object (found ${JSON.stringify(spec)})`);
      offsetsValid = false;
      continue;
    }
    const { dtype, shape, data_offsets: off } = spec as Record<string, unknown>;
    let ok = true;
    if (typeof dtype !== 'string') {
      p(`dtype missing or not a string (found ${JSON.stringify(dtype)})`);
      ok = false;
    } else if (!Object.hasOwn(FLOAT_DTYPES, dtype)) {
      // hasOwn, not `in`: a dtype such as "toString" is an Object.prototype key, and `in` let it
      // through as a size of NaN ("expected NaN bytes"; tests/unit/fuzz-parsers.test.ts checks it)
      p(
        OTHER_DTYPES.has(dtype)
          ? `dtype ${dtype} is not supported for weights, expected F32 (or F16, BF16, F64)`
          : `unknown dtype ${JSON.stringify(dtype)}, expected F32 (or F16, BF16, F64)`,
      );
      ok = false;
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      p(`shape must be an array of non-negative integers, found ${JSON.stringify(shape)}`);
      ok = false;
    }
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) {
      p(`data_offsets must be [begin, end] non-negative integers, found ${JSON.stringify(off)}`);
      offsetsValid = false;
      continue;
    }
    const [begin, end] = off as number[];
    if (begin > end) {
      p(`data_offsets [${begin}, ${end}] end before they begin`);
      offsetsValid = false;
      continue;
    }
    if (end > dataLen) {
      p(`data_offsets [${begin}, ${end}] exceed the data buffer of ${dataLen} bytes (file truncated?)`);
      offsetsValid = false;
      continue;
    }
    if (ok) {
      const dims = shape as number[];
      const want = dims.reduce((a, b) => a * b, 1) * FLOAT_DTYPES[dtype as string];
      if (end - begin !== want) {
        p(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes, expected ${want} (shape ${fmtShape(dims)} ${dtype})`);
        ok = false;
      }
    }
    entries.push({ name, dtype: ok ? (dtype as string) : '', shape: ok ? (shape as number[]) : [], begin, end });
  }

  // The spec requires the tensors to tile the data buffer exactly: no overlap, no hole, no tail.
  if (offsetsValid) {
    const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let prev: (typeof entries)[number] | null = null;
    let pos = 0;
    for (const e of sorted) {
      if (e.begin < pos)
        problems.push(`${file}: tensor ${e.name}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${prev!.name} [${prev!.begin}, ${prev!.end}]`);
      else if (e.begin > pos)
        problems.push(
          `${file}: tensor ${e.name}: data_offsets [${e.begin}, ${e.end}] leave bytes [${pos}, ${e.begin}) of the data buffer uncovered (${prev ? `after tensor ${prev.name}` : 'at its start'})`,
        );
      if (e.end >= pos) {
        pos = e.end;
        prev = e;
      }
    }
    if (pos < dataLen)
      problems.push(`${file}: data buffer is ${dataLen} bytes but the tensors cover only [0, ${pos}): ${dataLen - pos} trailing bytes`);
  }
  if (problems.length) throw new SafetensorsError(problems);

  const out = new Map<string, RawTensor>();
  for (const e of entries) {
    // copy into a fresh, 0-offset buffer: typed arrays need their element alignment. (Not slice():
    // on a Node Buffer it returns a view, not a copy.)
    const raw = new Uint8Array(e.end - e.begin);
    raw.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    out.set(e.name, { dtype: e.dtype, shape: e.shape.slice(), data: decode(e.dtype, raw) });
  }
  return out;
}

/** little-endian bytes (own, aligned buffer) of one dtype -> float32 */
function decode(dtype: string, raw: Uint8Array): Float32Array {
  const dv = new DataView(raw.buffer);
  switch (dtype) {
    case 'F32': {
      if (HOST_LE) return new Float32Array(raw.buffer);
      return Float32Array.from({ length: raw.length / 4 }, (_, i) => dv.getFloat32(4 * i, true));
    }
    case 'F64': {
      if (HOST_LE) return Float32Array.from(new Float64Array(raw.buffer));
      return Float32Array.from({ length: raw.length / 8 }, (_, i) => dv.getFloat64(8 * i, true));
    }
    case 'F16': {
      const t = f16Table();
      const out = new Float32Array(raw.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = t[dv.getUint16(2 * i, true)];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32
      const bits = new Uint32Array(raw.length / 2);
      for (let i = 0; i < bits.length; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
  }
  throw new Error(`unreachable dtype ${dtype}`);
}

let F16: Float32Array | null = null;
/** all 65536 half-precision values, built once */
function f16Table(): Float32Array {
  if (F16) return F16;
  F16 = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    F16[h] =
      exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return F16;
}

/** Serialise float32 tensors as safetensors: names sorted, header padded with spaces to a multiple
 *  of 8 bytes (as the reference implementation does, so the data starts 8-aligned). */
export function writeSafetensors(
  tensors: Map<string, TensorData> | Record<string, TensorData>,
  metadata?: Record<string, string>,
): Uint8Array {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const names = [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new SafetensorsError(`writeSafetensors: __metadata__.${k} must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError(`writeSafetensors: tensor name __metadata__ is reserved`);
    const { shape, data } = map.get(name)!;
    if (!Array.isArray(shape) || !shape.every(isCount))
      throw new SafetensorsError(`writeSafetensors: tensor ${name}: shape must be non-negative integers, found ${JSON.stringify(shape)}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count)
      throw new SafetensorsError(`writeSafetensors: tensor ${name}: ${data.length} values, expected ${count} (shape ${fmtShape(shape)})`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const { data } = map.get(name)!;
    if (HOST_LE) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    else for (let i = 0; i < data.length; i++) dv.setFloat32(pos + 4 * i, data[i], true);
    pos += 4 * data.length;
  }
  return out;
}
