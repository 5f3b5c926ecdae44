// Parity of the tfjs ExBEHRT (src/model/exbehrt.ts) with the independent PyTorch reference
// (tools/reference/exbehrt_ref.py). The fixture tests/fixtures/parity/tiny/ is a seeded random
// tiny model with golden outputs computed in float64; regenerate it with
//   /usr/bin/python3 tools/reference/make_fixtures.py
// Tolerance: |tfjs - golden| <= 1e-4 * max(1, |golden|), i.e. 1e-4 absolute for values up to 1 and
// 1e-4 relative above. (float32 vs float64 differ by ~3e-6 at most on this fixture.)
// golden.json also holds expected-gradients and integrated-gradients cases (eg, ig) for the
// attribution engine; they are compared in the attribution tests, not here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { embeddingParts, encode, mlmLogits, type TokenBatch } from '../../src/model/exbehrt';
import { loadModelFromDir } from '../../src/model/folder-node';
import { disposeTfWeights, toTfWeights } from '../../src/model/weights';

const DIR = fileURLToPath(new URL('../fixtures/parity/tiny/', import.meta.url));
const TOL = 1e-4;

interface BatchJson {
  batch: number;
  length: number;
  diagnosis: number[];
  age: number[];
  segment: number[];
  position: number[];
  attentionMask: number[];
  modalities: Record<string, number[]>;
  static: number[] | null;
}
interface Golden {
  parts: string[];
  tasks: string[];
  patients: { logits: Record<string, number[]>; pooled: number[] }[];
  mlm: { patient: number; logits: number[][] };
  input_gradients: { patient: number; task: string; label: number; grads: Record<string, number[][]> };
  eg: { phi: Record<string, number[]>; ref_idx: number[]; alphas: number[]; f_x: number; f_ref_mean: number; gap: number };
  ig: { phi: Record<string, number[]>; alphas: number[]; f_x: number; f_ref: number; gap: number };
}

const readJson = <T>(f: string): T => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as T;
const golden = readJson<Golden>('golden.json');
const inputs = readJson<{ patients: BatchJson; references: BatchJson }>('inputs.json');

function toBatch(j: BatchJson): TokenBatch {
  const mods: Record<string, Int32Array> = {};
  for (const [k, v] of Object.entries(j.modalities)) mods[k] = Int32Array.from(v);
  return {
    batch: j.batch,
    length: j.length,
    diagnosis: Int32Array.from(j.diagnosis),
    age: Int32Array.from(j.age),
    segment: Int32Array.from(j.segment),
    position: Int32Array.from(j.position),
    attentionMask: Float32Array.from(j.attentionMask),
    modalities: mods,
    static: j.static ? Int32Array.from(j.static) : null,
  };
}

/** patient i of a batch as a batch of 1 (modalities are [batch, rows, length] row-major) */
function slice(b: TokenBatch, i: number): TokenBatch {
  const L = b.length;
  const row = <T extends Int32Array | Float32Array>(a: T) => a.slice(i * L, (i + 1) * L) as T;
  const mods: Record<string, Int32Array> = {};
  for (const [k, v] of Object.entries(b.modalities)) {
    const rows = v.length / (b.batch * L);
    mods[k] = v.slice(i * rows * L, (i + 1) * rows * L);
  }
  return {
    batch: 1, length: L, diagnosis: row(b.diagnosis), age: row(b.age), segment: row(b.segment), position: row(b.position),
    attentionMask: row(b.attentionMask), modalities: mods, static: b.static ? row(b.static) : null,
  };
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

/** largest |actual - expected| / max(1, |expected|); fails on length mismatch or non-finite values */
function expectClose(actual: ArrayLike<number>, expected: unknown, what: string): void {
  const e = flat(expected);
  expect(actual.length, `${what}: length`).toBe(e.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(actual[i] - e[i]) / Math.max(1, Math.abs(e[i]));
    if (!(err <= worst)) [worst, at] = [Number.isNaN(err) ? Infinity : err, i];
  }
  expect(worst, `${what}: worst error at flat index ${at} (tfjs ${actual[at]}, golden ${e[at]})`).toBeLessThanOrEqual(TOL);
}

let config: ModelConfig;
let weights: Map<string, tf.Tensor>;
let patients: TokenBatch;
let baseline = 0;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const folder = await loadModelFromDir(DIR);
  config = folder.config;
  weights = toTfWeights(folder.weights);
  patients = toBatch(inputs.patients);
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  if (weights) disposeTfWeights(weights);
});

describe('tfjs ExBEHRT matches the PyTorch reference (tiny fixture)', () => {
  it('fixture is consistent', () => {
    expect(config.tasks.map((t) => t.name)).toEqual(golden.tasks);
    expect(golden.patients.length).toBe(patients.batch);
    expect(inputs.references.length).toBe(patients.length);
    for (const name of ['cls.predictions.bias', 'cls.predictions.transform.dense.weight']) expect(weights.has(name), name).toBe(true);
  });

  it('embedding parts: names in order', () => {
    tf.tidy(() => {
      const parts = embeddingParts(weights, config, patients);
      expect(Object.keys(parts)).toEqual(golden.parts);
      for (const p of Object.values(parts)) expect(p.shape).toEqual([patients.batch, patients.length, config.hidden_size]);
    });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('logits and pooled output for every patient', () => {
    tf.tidy(() => {
      const mask = tf.tensor2d(patients.attentionMask, [patients.batch, patients.length]);
      const out = encode(weights, config, embeddingParts(weights, config, patients), mask);
      const pooled = out.pooled.arraySync();
      golden.patients.forEach((g, b) => {
        expectClose(pooled[b], g.pooled, `patient ${b} pooled`);
        for (const t of golden.tasks) expectClose(out.logits[t].arraySync()[b], g.logits[t], `patient ${b} logits ${t}`);
      });
    });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('batching does not change a patient (each alone = in the batch)', () => {
    tf.tidy(() => {
      for (let b = 0; b < patients.batch; b++) {
        const one = slice(patients, b);
        const out = encode(weights, config, embeddingParts(weights, config, one), tf.tensor2d(one.attentionMask, [1, one.length]));
        for (const t of golden.tasks) expectClose(out.logits[t].dataSync(), golden.patients[b].logits[t], `patient ${b} alone ${t}`);
      }
    });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('MLM logits of patient 0', () => {
    tf.tidy(() => {
      const one = slice(patients, golden.mlm.patient);
      const out = encode(weights, config, embeddingParts(weights, config, one), tf.tensor2d(one.attentionMask, [1, one.length]));
      const mlm = mlmLogits(weights, config, out.sequence);
      expect(mlm.shape).toEqual([1, one.length, config.vocab_size]);
      expectClose(mlm.dataSync(), golden.mlm.logits, 'mlm logits');
    });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('gradient of the task logit w.r.t. every embedding part (patient 0)', () => {
    const g = golden.input_gradients;
    tf.tidy(() => {
      const one = slice(patients, g.patient);
      const mask = tf.tensor2d(one.attentionMask, [1, one.length]);
      const parts = embeddingParts(weights, config, one);
      const names = golden.parts;
      const f = (...xs: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, xs[i] as tf.Tensor3D]));
        return encode(weights, config, p, mask).logits[g.task].slice([0, g.label], [1, 1]).sum() as tf.Scalar;
      };
      const grads = tf.grads(f)(names.map((n) => parts[n]));
      names.forEach((n, i) => expectClose(grads[i].dataSync(), g.grads[n], `d ${g.task} / d ${n}`));
    });
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
