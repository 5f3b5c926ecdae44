import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedTensors, parseConfig, type ModelConfigInput } from '../../src/model/config';
import { assembleModelFolder, loadModelFromFiles, loadModelFromUrl, ModelFolderError, type ModelFolderFiles } from '../../src/model/folder';
import { loadModelFromDir, saveModelToDir } from '../../src/model/folder-node';
import { writeSafetensors, type TensorData } from '../../src/model/safetensors';
import { fromTfWeights, toTfWeights, disposeTfWeights } from '../../src/model/weights';
import { DIAGNOSIS_SPECIALS, MODALITY_SPECIALS, SEX_TOKENS } from '../../src/tokens/vocab';

const configJson: ModelConfigInput = {
  model_type: 'exbehrt', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
  max_len: 8, vocab_size: 10, age_vocab_size: 5, max_position_embeddings: 8,
  modalities: [{ name: 'procedure', rows: 2, vocab_size: 6 }],
  static: { name: 'sex', vocab_size: 4 },
  tasks: [{ name: 'hf', description: 'heart failure' }],
};
const config = parseConfig(configJson);
const vocabJson = {
  format: 'exbehrt-vocab', version: 1,
  diagnosis: [...DIAGNOSIS_SPECIALS, 'I10', 'I50', 'E11', 'C34', 'J44'],
  modalities: { procedure: [...MODALITY_SPECIALS, 'P1', 'P2', 'P3', 'P4'] },
  static: { sex: SEX_TOKENS },
  bins: {},
};
const cardJson = {
  name: 'tiny', model_type: 'exbehrt', version: 1, intended_use: 'tests', training_data: 'none',
  metrics: { hf: { auroc: 0.8, auprc: 0.3, n: 100, positives: 10 }, 'hf (subgroup)': { auroc: null, auprc: null, n: 3, positives: 0 } },
  training: { command: 'npx exbehrt train', seed: 7, history: [{ epoch: 1 }] },
  custom_field: 'kept',
};

/** every tensor the config expects, filled with distinct values */
function tinyWeights(rename: Record<string, string> = {}): Map<string, TensorData> {
  const w = new Map<string, TensorData>();
  let k = 0;
  for (const [name, shape] of expectedTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    w.set(rename[name] ?? name, { shape, data: Float32Array.from({ length: n }, () => (k++ % 97) / 97 - 0.5) });
  }
  return w;
}
function files(over: Partial<ModelFolderFiles> = {}, weights = tinyWeights()): ModelFolderFiles {
  return {
    config: JSON.stringify(configJson),
    vocab: JSON.stringify(vocabJson),
    safetensors: writeSafetensors(weights),
    card: null,
    reference: null,
    ...over,
  };
}
function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFolderError);
    expect((e as Error).message).toBe((e as ModelFolderError).problems.join('\n'));
    return (e as ModelFolderError).problems;
  }
  throw new Error('expected a ModelFolderError');
}
async function problemsOfAsync(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFolderError);
    return (e as ModelFolderError).problems;
  }
  throw new Error('expected a ModelFolderError');
}

describe('assembleModelFolder', () => {
  it('assembles a valid folder', () => {
    const m = assembleModelFolder('tiny', files({ card: JSON.stringify(cardJson), reference: '{"patients": []}' }));
    expect(m.name).toBe('tiny');
    expect(m.config.hidden_size).toBe(8);
    expect(m.vocab.diagnosis).toHaveLength(10);
    expect([...m.weights.keys()].sort()).toEqual([...expectedTensors(config).keys()].sort());
    expect(Array.from(m.weights.get('heads.hf.bias')!.data)).toEqual(Array.from(tinyWeights().get('heads.hf.bias')!.data));
    expect(m.card?.name).toBe('tiny');
    expect(m.card?.version).toBe('1');
    expect((m.card as Record<string, unknown>).custom_field).toBe('kept');
    expect(m.reference).toEqual({ patients: [] });
  });

  it('loads alias tensor names (HuggingFace embeddings, BEHRT classifier with one task)', () => {
    const m = assembleModelFolder('tiny', files({}, tinyWeights({
      'bert.embeddings.segment_embeddings.weight': 'bert.embeddings.token_type_embeddings.weight',
      'bert.embeddings.posi_embeddings.weight': 'bert.embeddings.position_embeddings.weight',
      'heads.hf.weight': 'classifier.weight',
      'heads.hf.bias': 'classifier.bias',
    })));
    for (const n of ['bert.embeddings.segment_embeddings.weight', 'bert.embeddings.posi_embeddings.weight', 'heads.hf.weight', 'heads.hf.bias'])
      expect(m.weights.has(n)).toBe(true);
    expect(m.weights.has('classifier.weight')).toBe(false);
  });

  it('allows the MLM head, checking the shapes it knows', () => {
    const w = tinyWeights();
    w.set('cls.predictions.bias', { shape: [10], data: new Float32Array(10) });
    w.set('cls.predictions.decoder.weight', { shape: [10, 8], data: new Float32Array(80) });
    expect(assembleModelFolder('tiny', files({}, w)).weights.has('cls.predictions.bias')).toBe(true);
    w.set('cls.predictions.bias', { shape: [9], data: new Float32Array(9) });
    expect(problemsOf(() => assembleModelFolder('tiny', files({}, w)))).toEqual([
      'model.safetensors: tensor cls.predictions.bias: shape [9], expected [10] (from config.json vocab_size=10, hidden_size=8)',
    ]);
  });

  it('reports a missing tensor with its expected shape', () => {
    const w = tinyWeights();
    w.delete('bert.pooler.dense.bias');
    w.delete('bert.embeddings.procedure_embeddings.weight');
    expect(problemsOf(() => assembleModelFolder('tiny', files({}, w)))).toEqual([
      'model.safetensors: tensor bert.embeddings.procedure_embeddings.weight: missing, expected shape [6, 8] (from config.json modalities.procedure.vocab_size=6, hidden_size=8)',
      'model.safetensors: tensor bert.pooler.dense.bias: missing, expected shape [8] (from config.json hidden_size=8)',
    ]);
  });

  it('reports a wrong shape naming expected and actual', () => {
    const w = tinyWeights();
    w.set('bert.embeddings.word_embeddings.weight', { shape: [9, 8], data: new Float32Array(72) });
    w.set('bert.encoder.layer.0.intermediate.dense.weight', { shape: [8, 16], data: new Float32Array(128) });
    w.set('classifier.bias', w.get('heads.hf.bias')!);
    w.delete('heads.hf.bias');
    w.set('classifier.bias', { shape: [2], data: new Float32Array(2) });
    expect(problemsOf(() => assembleModelFolder('tiny', files({}, w)))).toEqual([
      'model.safetensors: tensor bert.embeddings.word_embeddings.weight: shape [9, 8], expected [10, 8] (from config.json vocab_size=10, hidden_size=8)',
      'model.safetensors: tensor bert.encoder.layer.0.intermediate.dense.weight: shape [8, 16], expected [16, 8] (from config.json intermediate_size=16, hidden_size=8)',
      'model.safetensors: tensor classifier.bias (read as heads.hf.bias): shape [2], expected [1] (from config.json tasks.hf.num_labels=1, hidden_size=8)',
    ]);
  });

  it('reports an unexpected tensor, and a tensor stored under two names', () => {
    const w = tinyWeights();
    w.set('bert.embeddings.lab_embeddings.weight', { shape: [3, 8], data: new Float32Array(24) });
    w.set('classifier.weight', w.get('heads.hf.weight')!);
    const p = problemsOf(() => assembleModelFolder('tiny', files({}, w)));
    expect(p).toContain('model.safetensors: tensor bert.embeddings.lab_embeddings.weight: unexpected (config.json describes no such tensor)');
    expect(p.some((x) => /^model\.safetensors: tensor (classifier|heads\.hf)\.weight.*stored twice, also as (classifier|heads\.hf)\.weight$/.test(x))).toBe(true);
    expect(p).toHaveLength(2);
  });

  it('rejects an I64 tensor, naming file and tensor', () => {
    // a file with one I64 tensor besides valid ones: built by hand
    const header = { 'bert.pooler.dense.bias': { dtype: 'I64', shape: [8], data_offsets: [0, 64] } };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const file = new Uint8Array(8 + json.length + 64);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    expect(problemsOf(() => assembleModelFolder('tiny', files({ safetensors: file })))).toEqual([
      'model.safetensors: tensor bert.pooler.dense.bias: dtype I64 is not supported for weights, expected F32 (or F16, BF16, F64)',
    ]);
  });

  it('reports a vocab/config size mismatch', () => {
    const vocab = { ...vocabJson, diagnosis: vocabJson.diagnosis.slice(0, 9), modalities: { procedure: vocabJson.modalities.procedure.slice(0, 5) } };
    expect(problemsOf(() => assembleModelFolder('tiny', files({ vocab: JSON.stringify(vocab) })))).toEqual([
      'vocab.json: diagnosis has 9 tokens, config.json vocab_size is 10',
      'vocab.json: modality procedure has 5 tokens, config.json modalities.procedure.vocab_size is 6',
    ]);
  });

  it('reports a missing config.json, and every other problem at once', () => {
    const p = problemsOf(() => assembleModelFolder('tiny', files({ config: undefined, vocab: '{"format": ', card: '{"name": "x"}' }), { source: '/models/tiny' }));
    expect(p[0]).toBe('config.json: missing (required file in /models/tiny)');
    expect(p[1]).toMatch(/^vocab\.json: not valid JSON \(/);
    expect(p).toContain('model-card.json: field model_type: Invalid input: expected string, received undefined');
    expect(p.some((x) => x.startsWith('model-card.json: field intended_use'))).toBe(true);
    // tensors are not checked without a config: no noise about them
    expect(p.some((x) => x.startsWith('model.safetensors'))).toBe(false);
  });

  it('reports config.json errors by field, and corrupt JSON naming the file', () => {
    expect(problemsOf(() => assembleModelFolder('tiny', files({ config: JSON.stringify({ ...configJson, hidden_size: 'big' }) })))).toEqual([
      'config.json: field hidden_size: Invalid input: expected number, received string',
    ]);
    expect(problemsOf(() => assembleModelFolder('tiny', files({ reference: '[1,' })))[0]).toMatch(/^reference\.json: not valid JSON/);
  });

  it('reports a broken safetensors file with the folder problems', () => {
    const bytes = writeSafetensors(tinyWeights());
    const p = problemsOf(() => assembleModelFolder('tiny', files({ safetensors: bytes.subarray(0, bytes.length - 8) })));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^model\.safetensors: tensor \S+: data_offsets \[\d+, \d+\] exceed the data buffer of \d+ bytes \(file truncated\?\)$/);
  });
});

describe('loadModelFromUrl', () => {
  const served = (over: Record<string, { status: number; body?: string | Uint8Array; type?: string }> = {}) => {
    const base: Record<string, { status: number; body?: string | Uint8Array; type?: string }> = {
      'config.json': { status: 200, body: JSON.stringify(configJson) },
      'vocab.json': { status: 200, body: JSON.stringify(vocabJson) },
      'model.safetensors': { status: 200, body: writeSafetensors(tinyWeights()) },
      'model-card.json': { status: 200, body: JSON.stringify(cardJson) },
      ...over,
    };
    const calls: string[] = [];
    const fetchFn = (async (url: string) => {
      calls.push(url);
      const r = base[url.split('/').pop()!] ?? { status: 404 };
      return new Response(r.status === 200 ? (r.body as BodyInit) : 'not found', {
        status: r.status,
        statusText: r.status === 404 ? 'Not Found' : r.status === 500 ? 'Internal Server Error' : '',
        headers: { 'content-type': r.type ?? 'application/octet-stream' },
      });
    }) as typeof fetch;
    return { fetchFn, calls };
  };

  it('loads, with optional files absent (404 -> null)', async () => {
    const { fetchFn, calls } = served();
    const m = await loadModelFromUrl('models/tiny', fetchFn);
    expect(calls).toContain('models/tiny/config.json');
    expect(m.name).toBe('tiny');
    expect(m.card?.metrics?.hf.auroc).toBe(0.8);
    expect(m.reference).toBeNull();
  });

  it('treats an HTML fallback page for an optional file as absent', async () => {
    const { fetchFn } = served({ 'reference.json': { status: 200, body: '<!doctype html>', type: 'text/html' } });
    expect((await loadModelFromUrl('models/tiny/', fetchFn)).reference).toBeNull();
  });

  it('names the URL of a required file that failed', async () => {
    const { fetchFn } = served({ 'model.safetensors': { status: 500 }, 'vocab.json': { status: 404 } });
    expect(await problemsOfAsync(loadModelFromUrl('/models/tiny', fetchFn))).toEqual([
      '/models/tiny/vocab.json: HTTP 404 Not Found',
      '/models/tiny/model.safetensors: HTTP 500 Internal Server Error',
    ]);
  });
});

describe('loadModelFromFiles', () => {
  const asFiles = (dir: string) => [
    new File([JSON.stringify(configJson)], 'config.json'),
    new File([JSON.stringify(vocabJson)], 'vocab.json'),
    new File([writeSafetensors(tinyWeights()) as BlobPart], 'model.safetensors'),
    new File([JSON.stringify(cardJson)], 'model-card.json'),
    new File(['x'], 'README.md'),
  ].map((f) => (Object.defineProperty(f, 'webkitRelativePath', { value: `${dir}/${f.name}` }), f));

  it('matches files by name, ignoring directories', async () => {
    const m = await loadModelFromFiles(asFiles('models/exbehrt'));
    expect(m.name).toBe('exbehrt');
    expect(m.card?.name).toBe('tiny');
    expect(m.weights.size).toBe(expectedTensors(config).size);
  });

  it('refuses two model folders at once, and names missing files', async () => {
    const p = await problemsOfAsync(loadModelFromFiles([...asFiles('a'), new File(['{}'], 'config.json')]));
    expect(p).toEqual(['config.json: 2 files of that name (a/config.json, config.json); pick one model folder']);
    const q = await problemsOfAsync(loadModelFromFiles(asFiles('a').filter((f) => f.name !== 'vocab.json')));
    expect(q).toEqual(['vocab.json: missing (required file in the selected files)']);
  });
});

describe('model folders on disk', () => {
  const tmp: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'exbehrt-folder-'));
    tmp.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  it('round-trips through a new folder, leaving no temporary files', async () => {
    const root = await tempDir();
    const dir = join(root, 'nested', 'tiny');
    const weights = tinyWeights();
    await saveModelToDir(dir, { config, vocab: JSON.parse(JSON.stringify(vocabJson)), weights, card: cardJson, reference: { patients: [1] } });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model-card.json', 'model.safetensors', 'reference.json', 'vocab.json']);
    expect(await readdir(join(root, 'nested'))).toEqual(['tiny']);
    expect(await readFile(join(dir, 'vocab.json'), 'utf8')).toContain('\n  "diagnosis": [\n');
    const m = await loadModelFromDir(dir);
    expect(m.name).toBe('tiny');
    expect(m.config).toEqual(config);
    expect(m.reference).toEqual({ patients: [1] });
    expect(m.card?.training?.seed).toBe(7);
    for (const [k, t] of weights) {
      expect(m.weights.get(k)!.shape).toEqual(t.shape);
      expect(Array.from(m.weights.get(k)!.data)).toEqual(Array.from(t.data));
    }
  });

  it('overwrites an existing folder, removing optional files the new model lacks', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await saveModelToDir(dir, { config, vocab: vocabJson as never, weights: tinyWeights(), card: cardJson });
    await saveModelToDir(dir, { config, vocab: vocabJson as never, weights: tinyWeights() });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'notes.txt', 'vocab.json']);
    expect((await loadModelFromDir(dir)).card).toBeNull();
  });

  it('refuses to write a model that would not load, writing nothing', async () => {
    const root = await tempDir();
    const w = tinyWeights();
    w.delete('bert.pooler.dense.weight');
    const p = await problemsOfAsync(saveModelToDir(join(root, 'bad'), { config, vocab: vocabJson as never, weights: w }));
    expect(p).toEqual(['model.safetensors: tensor bert.pooler.dense.weight: missing, expected shape [8, 8] (from config.json hidden_size=8)']);
    expect(await readdir(root)).toEqual([]);
  });

  it('names missing files and folders', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'config.json'), JSON.stringify(configJson));
    expect(await problemsOfAsync(loadModelFromDir(dir))).toEqual([
      `vocab.json: missing (required file in ${dir})`,
      `model.safetensors: missing (required file in ${dir})`,
    ]);
    expect(await problemsOfAsync(loadModelFromDir(join(dir, 'nope')))).toEqual([`${join(dir, 'nope')}: cannot open model folder (ENOENT)`]);
  });
});

describe('tfjs weights', () => {
  it('round-trips through tensors and disposes them', async () => {
    const w = tinyWeights();
    const t = toTfWeights(w);
    expect(t.get('bert.embeddings.word_embeddings.weight')!.shape).toEqual([10, 8]);
    const back = await fromTfWeights(t);
    for (const [k, v] of w) expect(Array.from(back.get(k)!.data)).toEqual(Array.from(v.data));
    const first = t.get('heads.hf.bias')!;
    disposeTfWeights(t);
    expect(first.isDisposed).toBe(true);
    expect(t.size).toBe(0);
  });
});
