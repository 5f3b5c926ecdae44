// Property-based tests of every parser a model folder or a timeline goes through: safetensors,
// config.json, vocab.json, the timeline format (JSON / JSONL), and a whole model folder. Mutated,
// truncated and random inputs end either in a consistent result or in the module's own error type
// with a message naming the file (and line, field or tensor): never a TypeError or RangeError, never
// a hang (each input must finish within PER_INPUT_MS), never an allocation sized by a lying header.
// FUZZ_RUNS sets the runs per property (default 200 for CI; `npm run fuzz` uses 10000).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkImportSizes, importFiles, ImportError, MAX_IMPORT_FILE_BYTES, MAX_IMPORT_PATIENTS, MAX_IMPORT_TOTAL_BYTES } from '../../src/data/import';
import { parsePatient, parsePatientsText, TimelineError, type Patient } from '../../src/data/schema';
import { ConfigError, expectedTensors, MAX_LAYERS, MAX_ROWS, MAX_SEQUENCE_LENGTH, parseConfig, type ModelConfigInput } from '../../src/model/config';
import { assembleModelFolder, FILE_NAMES, ModelFolderError, type ModelFolderFiles } from '../../src/model/folder';
import { MAX_HEADER_BYTES, MAX_SAFETENSORS_BYTES, parseSafetensors, SafetensorsError, writeSafetensors, type TensorData } from '../../src/model/safetensors';
import { tokenize, TokenizeError } from '../../src/tokens/layout';
import { DIAGNOSIS_SPECIALS, MODALITY_SPECIALS, parseVocab, SEX_TOKENS, VocabError } from '../../src/tokens/vocab';
import { DELETE, mutate } from './helpers/json-mutation';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const TODAY = '2025-01-01';
/** one input must never take longer than this (a hang shows up as a failed property, not a stuck run) */
const PER_INPUT_MS = 2000;
const TIMEOUT = Math.max(60_000, RUNS * 30);
const opts = { numRuns: RUNS };

/** run one input, failing the property if it took longer than PER_INPUT_MS */
function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    const ms = performance.now() - t0;
    expect(ms, `${what} took ${ms.toFixed(0)} ms`).toBeLessThan(PER_INPUT_MS);
  }
}
async function timedAsync<T>(what: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    const ms = performance.now() - t0;
    expect(ms, `${what} took ${ms.toFixed(0)} ms`).toBeLessThan(PER_INPUT_MS);
  }
}

/** the outcome of a parse: its value, or the error it threw (which must be of `type`) */
function outcome<T>(type: new (...a: never[]) => Error, what: string, f: () => T): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    return { ok: true, value: timed(what, f) };
  } catch (e) {
    // an assertion of timed() failing is the property failing, not a parse error
    if (!(e instanceof type)) throw e;
    expect((e as Error).message.trim().length, 'empty error message').toBeGreaterThan(0);
    return { ok: false, error: e as Error };
  }
}

// ---------------------------------------------------------------- JSON mutation (helpers/json-mutation.ts)

/** replacement values: random JSON plus the values most likely to confuse a parser (prototype
 *  keys, huge and negative sizes, wrong types, dates that are not dates) */
const replacement = fc.oneof(
  fc.constant(DELETE),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.integer({ min: -3, max: 40 }),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(
    0, -1, 1.5, 2 ** 31 - 1, 2 ** 53, 1e308, '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '[PAD]', '[UNK]',
    'F32', 'F16', 'BF16', 'F64', 'I64', 'BOOL', 'exbehrt', 'behrt', 'years', 'months', 'sex', 'gelu',
    '2019-02-30', '0000-01-01', '9999-12-31', '2019', 'diagnosis', 'lab', 'I10', 'F', 'M', 'U', [], {}, [0], [0, 0], [1, 2, 3],
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const picksArb = fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 4 });
/** mutate a JSON file as text: a cut, a stray character, or a value mutation */
const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('stray' as const), at: fc.nat(), s: fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('"', ',', '{', ']', '\\', '\u0000', '\ud800', '\n')) }),
  fc.record({ kind: fc.constant('value' as const), picks: picksArb }),
);
type TextMutation = { kind: 'cut'; at: number } | { kind: 'stray'; at: number; s: string } | { kind: 'value'; picks: Array<[number, unknown]> };
function mutateText(json: unknown, m: TextMutation): string {
  if (m.kind === 'value') return JSON.stringify(mutate(json, m.picks), null, 1);
  const text = JSON.stringify(json, null, 1);
  const at = m.at % (text.length + 1);
  return m.kind === 'cut' ? text.slice(0, at) : text.slice(0, at) + m.s + text.slice(at);
}

// ---------------------------------------------------------------- safetensors

const ST_FILE = 'weights ü.safetensors';
/** a small valid file with every float dtype the parser decodes, and metadata */
function sampleSafetensors(): Uint8Array {
  const specs: Array<[string, string, number[], number]> = [
    ['a.f32', 'F32', [2, 3], 4],
    ['b.f16', 'F16', [4], 2],
    ['c.bf16', 'BF16', [3, 1], 2],
    ['d.f64', 'F64', [2], 8],
    ['e.empty', 'F32', [0, 5], 4],
  ];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, dtype, shape, size] of specs) {
    const n = shape.reduce((a, b) => a * b, 1) * size;
    header[name] = { dtype, shape, data_offsets: [off, off + n] };
    off += n;
  }
  return withHeader(header, Uint8Array.from({ length: off }, (_, i) => (i * 37 + 11) & 0xff));
}
function withHeader(header: unknown, data: Uint8Array, claimed?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
function splitSafetensors(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** a safetensors parse either returns tensors consistent with themselves and the file, or a
 *  SafetensorsError every line of which names the file */
function checkSafetensors(bytes: Uint8Array, file = ST_FILE): void {
  const r = outcome(SafetensorsError, `parseSafetensors(${bytes.length} bytes)`, () => parseSafetensors(bytes, file));
  if (!r.ok) {
    const problems = (r.error as SafetensorsError).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p.startsWith(`${file}: `), p).toBe(true);
    // a problem with one tensor names it
    for (const p of problems) if (/data_offsets|dtype|shape/.test(p) && !p.includes('header')) expect(p, p).toMatch(/tensor |__metadata__/);
    return;
  }
  let total = 0;
  for (const [name, t] of r.value) {
    expect(name).not.toBe('__metadata__');
    expect(Object.hasOwn(DTYPE_BYTES, t.dtype), `${name}: dtype ${t.dtype}`).toBe(true);
    for (const d of t.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    total += t.data.length * DTYPE_BYTES[t.dtype];
  }
  // the tensors tile the data buffer exactly
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  expect(total).toBe(bytes.length - 8 - n);
}

describe(`safetensors fuzzing (${RUNS} runs per property)`, () => {
  const valid = sampleSafetensors();

  it('the unmutated sample parses', () => {
    const t = parseSafetensors(valid, ST_FILE);
    expect([...t.keys()].sort()).toEqual(['a.f32', 'b.f16', 'c.bf16', 'd.f64', 'e.empty']);
    checkSafetensors(valid);
    const written = writeSafetensors({ x: { shape: [2], data: Float32Array.of(1, 2) } });
    expect(parseSafetensors(written).get('x')!.data).toEqual(Float32Array.of(1, 2));
  });

  it('a header length of 2^40 (or any above the limit) is refused at once, before any allocation', () => {
    for (const claimed of [2n ** 40n, 2n ** 64n - 1n, BigInt(MAX_HEADER_BYTES) + 1n, 2n ** 53n + 1n]) {
      const bytes = withHeader({}, new Uint8Array(0), claimed);
      const t0 = performance.now();
      expect(() => parseSafetensors(bytes, ST_FILE)).toThrow(SafetensorsError);
      expect(() => parseSafetensors(bytes, ST_FILE)).toThrow(new RegExp(`^${ST_FILE}: header length \\d+ bytes is absurd \\(limit ${MAX_HEADER_BYTES}\\)`));
      expect(performance.now() - t0).toBeLessThan(50);
    }
    // a header length within the limit but past the end of the file: truncated
    expect(() => parseSafetensors(withHeader({}, new Uint8Array(0), 1000n), ST_FILE)).toThrow(/exceeds the file .*truncated/);
    // data offsets far beyond the file are refused, not allocated
    const huge = withHeader({ x: { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [0, 2 ** 42] } }, new Uint8Array(8));
    expect(() => parseSafetensors(huge, ST_FILE)).toThrow(/tensor x: data_offsets \[0, 4398046511104\] exceed the data buffer of 8 bytes/);
    // a dtype that is an Object.prototype key is an unknown dtype, not a size of NaN
    const proto = withHeader({ x: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    expect(() => parseSafetensors(proto, ST_FILE)).toThrow(/tensor x: unknown dtype "toString"/);
  });

  it(
    'random bytes',
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 512 }),
          fc.option(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 600n }))),
          (bytes, claimed) => {
            if (claimed !== null && bytes.length >= 8) new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, claimed, true);
            checkSafetensors(bytes);
          },
        ),
        opts,
      );
    },
    TIMEOUT,
  );

  it(
    'a valid file with flipped bytes, truncated or extended',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
          fc.option(fc.nat()),
          fc.option(fc.uint8Array({ minLength: 1, maxLength: 16 })),
          (edits, cut, extra) => {
            let bytes: Uint8Array = valid.slice();
            for (const [at, b] of edits) bytes[at % bytes.length] = b;
            if (cut !== null) bytes = bytes.slice(0, cut % (bytes.length + 1));
            if (extra) bytes = Uint8Array.from([...bytes, ...extra]);
            checkSafetensors(bytes);
          },
        ),
        opts,
      );
    },
    TIMEOUT,
  );

  it(
    'a valid file whose JSON header has mutated values (dtypes, shapes, offsets, metadata)',
    () => {
      const { header, data } = splitSafetensors(valid);
      fc.assert(
        fc.property(picksArb, fc.option(fc.integer({ min: -8, max: 8 })), (picks, dataDelta) => {
          let d: Uint8Array = data;
          if (dataDelta !== null) d = dataDelta < 0 ? data.subarray(0, Math.max(0, data.length + dataDelta)) : Uint8Array.from([...data, ...new Uint8Array(dataDelta)]);
          checkSafetensors(withHeader(mutate(header, picks), d));
        }),
        opts,
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- config.json, vocab.json

const shippedConfig = JSON.parse(readFileSync('public/models/exbehrt/config.json', 'utf8'));
const shippedVocab = JSON.parse(readFileSync('public/models/exbehrt/vocab.json', 'utf8'));

describe(`config.json and vocab.json fuzzing (${RUNS} runs per property)`, () => {
  it('the shipped files parse; the size limits are enforced with a message naming the field', () => {
    parseConfig(shippedConfig);
    parseVocab(shippedVocab);
    const over = (k: string, v: unknown) => () => parseConfig({ ...shippedConfig, [k]: v });
    expect(over('max_len', MAX_SEQUENCE_LENGTH + 1)).toThrow(new RegExp(`config.json: field max_len: .*${MAX_SEQUENCE_LENGTH}`));
    expect(over('num_hidden_layers', 2 ** 31 - 1)).toThrow(new RegExp(`config.json: field num_hidden_layers: .*${MAX_LAYERS}`));
    expect(() => parseConfig({ ...shippedConfig, modalities: [{ name: 'lab', vocab_size: 3, rows: MAX_ROWS + 1 }] })).toThrow(
      new RegExp(`config.json: field modalities.0.rows: .*${MAX_ROWS}`),
    );
    expect(parseConfig({ ...shippedConfig, max_len: MAX_SEQUENCE_LENGTH }).max_len).toBe(MAX_SEQUENCE_LENGTH);
  });

  it(
    'config.json with mutated values or deleted fields',
    () => {
      fc.assert(
        fc.property(picksArb, (picks) => {
          const r = outcome(ConfigError, 'parseConfig', () => parseConfig(mutate(shippedConfig, picks), 'config.json'));
          if (!r.ok) {
            for (const line of r.error.message.split('\n')) expect(line, line).toMatch(/^config\.json: field \S.*: \S/);
            return;
          }
          const c = r.value;
          expect(c.hidden_size % c.num_attention_heads).toBe(0);
          expect(c.max_len).toBeLessThanOrEqual(MAX_SEQUENCE_LENGTH);
          expect(c.num_hidden_layers).toBeLessThanOrEqual(MAX_LAYERS);
          // what a loader does next with a valid config must be quick too
          timed('expectedTensors', () => expectedTensors(c, { mlm: true }));
        }),
        opts,
      );
    },
    TIMEOUT,
  );

  it(
    'vocab.json with mutated values or deleted fields',
    () => {
      fc.assert(
        fc.property(picksArb, (picks) => {
          const r = outcome(VocabError, 'parseVocab', () => parseVocab(mutate(shippedVocab, picks), 'vocab.json'));
          if (!r.ok) {
            for (const line of r.error.message.split('\n')) expect(line, line).toMatch(/^vocab\.json: field \S.*: \S/);
            return;
          }
          const v = r.value;
          expect(v.diagnosis.slice(0, DIAGNOSIS_SPECIALS.length)).toEqual(DIAGNOSIS_SPECIALS);
          for (const list of Object.values(v.modalities)) expect(list.slice(0, 2)).toEqual(MODALITY_SPECIALS);
        }),
        opts,
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- the timeline format

const cohortLines = readFileSync('public/cohort/patients.jsonl', 'utf8').split('\n').filter((l) => l.trim()).slice(0, 6);
const cohort = cohortLines.map((l) => JSON.parse(l));

/** patients parsed from a timeline file are valid patients; errors name the source and, for JSON
 *  lines, the line */
function checkTimeline(text: string, source: string, jsonl: boolean): Patient[] | null {
  const r = outcome(TimelineError, 'parsePatientsText', () => parsePatientsText(text, source, { today: TODAY }));
  if (!r.ok) {
    const m = r.error.message;
    expect(m.startsWith(source), m).toBe(true);
    expect(m, m).toMatch(/file is empty|not valid JSON|patient [^,]*, (record|field|visit)/);
    if (jsonl && !/file is empty/.test(m) && !m.startsWith(`${source}: `)) expect(m, m).toMatch(new RegExp(`^${source} line \\d+`));
    return null;
  }
  for (const p of r.value) {
    parsePatient(p, { today: TODAY });
    for (const v of p.visits) expect(v.date >= p.birthDate && v.date <= TODAY).toBe(true);
  }
  return r.value;
}

describe(`timeline format fuzzing (${RUNS} runs per property)`, () => {
  it('the sample patients parse as JSONL and as a JSON array', () => {
    expect(checkTimeline(cohortLines.join('\n'), 'p.jsonl', true)!.length).toBe(6);
    expect(checkTimeline(JSON.stringify(cohort), 'p.json', false)!.length).toBe(6);
  });

  it(
    'JSONL with mutated patients, cut files, stray characters and shuffled lines',
    () => {
      fc.assert(
        fc.property(fc.nat(), textMutation, fc.option(fc.nat()), fc.boolean(), (which, m, cut, crlf) => {
          const lines = [...cohortLines];
          const i = which % lines.length;
          lines[i] = mutateText(cohort[i], m).replace(/\n/g, m.kind === 'value' ? '' : '\n');
          let text = lines.join(crlf ? '\r\n' : '\n');
          if (cut !== null) text = text.slice(0, cut % (text.length + 1));
          checkTimeline(text, 'patients ü.jsonl', true);
        }),
        opts,
      );
    },
    TIMEOUT,
  );

  it(
    'a JSON array of patients, mutated or cut',
    () => {
      fc.assert(
        fc.property(textMutation, (m) => {
          checkTimeline(mutateText(cohort, m), 'patients.json', false);
        }),
        opts,
      );
    },
    TIMEOUT,
  );

  it(
    'the timeline importer (importFiles) turns every problem into an ImportError naming the file',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), picksArb, async (which, picks) => {
          const lines = [...cohortLines];
          lines[which % lines.length] = JSON.stringify(mutate(cohort[which % lines.length], picks));
          const name = 'cohort ü.jsonl';
          try {
            const r = await timedAsync('importFiles', () => importFiles([{ name, text: lines.join('\n') }], { format: 'timeline', today: TODAY }));
            expect(r.patients.length).toBe(lines.length);
            expect(r.coverage.patients).toBe(r.patients.length);
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(ImportError);
            expect((e as Error).message, (e as Error).message).toMatch(new RegExp(`^${name} line \\d+`));
          }
        }),
        opts,
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- a whole model folder

const folderConfig: ModelConfigInput = {
  model_type: 'exbehrt', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
  max_len: 16, vocab_size: 10, age_vocab_size: 5, max_position_embeddings: 8,
  modalities: [{ name: 'procedure', rows: 2, vocab_size: 6 }],
  static: { name: 'sex', vocab_size: 4 },
  tasks: [{ name: 'hf', description: 'heart failure' }],
};
const folderVocab = {
  format: 'exbehrt-vocab', version: 1,
  diagnosis: [...DIAGNOSIS_SPECIALS, 'I10', 'I50', 'E11', 'C34', 'J44'],
  modalities: { procedure: [...MODALITY_SPECIALS, 'P1', 'P2', 'P3', 'P4'] },
  static: { sex: SEX_TOKENS },
  bins: {},
};
const folderCard = { name: 'tiny', model_type: 'exbehrt', version: 1, intended_use: 'tests', training_data: 'none', metrics: {} };
function folderWeights(): Uint8Array {
  const w = new Map<string, TensorData>();
  let k = 0;
  for (const [name, shape] of expectedTensors(parseConfig(folderConfig))) {
    const n = shape.reduce((a, b) => a * b, 1);
    w.set(name, { shape, data: Float32Array.from({ length: n }, () => (k++ % 97) / 97 - 0.5) });
  }
  return writeSafetensors(w);
}
const folderPatient = parsePatient(
  {
    id: 'p1', sex: 'F', birthDate: '1950-01-01',
    visits: [
      { date: '2015-01-01', events: [{ modality: 'diagnosis', code: 'I10' }, { modality: 'procedure', code: 'P1' }] },
      { date: '2016-01-01', events: [{ modality: 'diagnosis', code: 'I50' }, { modality: 'procedure', code: 'P9' }] },
    ],
  },
  { today: TODAY },
);
const KNOWN_FILES = [...Object.values(FILE_NAMES), 'tiny'];

describe(`model folder fuzzing (${RUNS} runs per property)`, () => {
  const weights = folderWeights();
  const files = (): ModelFolderFiles => ({
    config: JSON.stringify(folderConfig),
    vocab: JSON.stringify(folderVocab),
    safetensors: weights.slice(),
    card: JSON.stringify(folderCard),
    reference: null,
  });

  it('the unmutated folder assembles', () => {
    const f = assembleModelFolder('tiny', files());
    expect(f.weights.size).toBe(expectedTensors(f.config).size);
  });

  it(
    'one file mutated: a ModelFolderError listing problems that name their file, or a usable folder',
    () => {
      const which = fc.constantFrom('config', 'vocab', 'safetensors', 'card', 'missing');
      const stEdit = fc.oneof(
        fc.record({ kind: fc.constant('bytes' as const), edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('header' as const), picks: picksArb }),
      );
      fc.assert(
        fc.property(which, textMutation, stEdit, fc.constantFrom<keyof ModelFolderFiles>('config', 'vocab', 'safetensors'), (w, m, st, gone) => {
          const f = files();
          if (w === 'config') f.config = mutateText(folderConfig, m);
          else if (w === 'vocab') f.vocab = mutateText(folderVocab, m);
          else if (w === 'card') f.card = mutateText(folderCard, m);
          else if (w === 'missing') f[gone] = undefined;
          else {
            let b: Uint8Array = weights.slice();
            if (st.kind === 'bytes') for (const [at, v] of st.edits) b[at % b.length] = v;
            else if (st.kind === 'cut') b = b.slice(0, st.at % (b.length + 1));
            else {
              const { header, data } = splitSafetensors(b);
              b = withHeader(mutate(header, st.picks), data);
            }
            f.safetensors = b;
          }
          const r = outcome(ModelFolderError, `assembleModelFolder (${w})`, () => assembleModelFolder('tiny', f));
          if (!r.ok) {
            const problems = (r.error as ModelFolderError).problems;
            expect(problems.length).toBeGreaterThan(0);
            for (const p of problems) expect(KNOWN_FILES.some((n) => p.startsWith(`${n}: `)), p).toBe(true);
            if (w === 'missing') expect(problems.some((p) => p.startsWith(`${FILE_NAMES[gone]}: missing`))).toBe(true);
            return;
          }
          // valid: every expected tensor with its shape, and the model reads a patient
          const folder = r.value;
          for (const [name, shape] of expectedTensors(folder.config)) expect(folder.weights.get(name)?.shape, name).toEqual(shape);
          try {
            const g = timed('tokenize', () => tokenize(folderPatient, folder.vocab, folder.config));
            expect(g.length).toBe(folder.config.max_len);
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(TokenizeError);
          }
        }),
        opts,
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- stated limits (SECURITY.md)

describe('limits are enforced with a message naming the file and the limit', () => {
  it('file sizes of an import (checked before parsing)', async () => {
    expect(() => checkImportSizes([{ name: 'big.csv', size: MAX_IMPORT_FILE_BYTES + 1 }])).toThrow(/^big\.csv: 512 MiB is more than the limit of 512 MiB for one file/);
    expect(() => checkImportSizes([{ name: 'ok.csv', size: MAX_IMPORT_FILE_BYTES }])).not.toThrow();
    const three = ['a.csv', 'b.csv', 'c.csv'].map((name) => ({ name, size: MAX_IMPORT_FILE_BYTES }));
    expect(() => checkImportSizes(three)).toThrow(new RegExp(`3 files, 1536 MiB together: more than the limit of ${MAX_IMPORT_TOTAL_BYTES / 2 ** 20} MiB`));
    // importFiles checks the contents it is given (a fake of the right length: nothing is allocated)
    const huge = { length: MAX_IMPORT_FILE_BYTES + 1 } as unknown as Uint8Array;
    await expect(importFiles([{ name: 'events.parquet', bytes: huge }])).rejects.toThrow(/^events\.parquet: .* limit of 512 MiB for one file/);
  });

  it('patients in one import', async () => {
    const line = (i: number) => `{"id":"p${i}","sex":"F","birthDate":"1950-01-01","visits":[]}`;
    const text = Array.from({ length: MAX_IMPORT_PATIENTS + 1 }, (_, i) => line(i)).join('\n');
    await expect(importFiles([{ name: 'many.jsonl', text }], { format: 'timeline', today: TODAY })).rejects.toThrow(
      new RegExp(`^many\\.jsonl: ${MAX_IMPORT_PATIENTS + 1} patients, more than the limit of ${MAX_IMPORT_PATIENTS} for one import`),
    );
  }, 60_000);

  it('the size of a weight file', () => {
    const huge = { byteLength: MAX_SAFETENSORS_BYTES + 1 } as unknown as ArrayBuffer;
    expect(() => parseSafetensors(huge, 'model.safetensors')).toThrow(/^model\.safetensors: 2\.00 GiB is more than the limit of 2 GiB for a weight file/);
  });
});
