import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { buildReferenceSet, referenceGrids } from '../../src/attribution/reference';
import { egDraws } from '../../src/attribution/expected-gradients';
import { withoutEvent } from '../../src/attribution/occlusion';
import { activeGpuLimits, batchPlan, CV_MIN_SAMPLES, cvEstimate, defaultBatchSize, GPU_MAX_BATCH, GPU_WORKING_SET_BYTES, pathAttribution, sampleWorkingSetBytes } from '../../src/attribution/path';
import type { ModelConfig } from '../../src/model/config';
import { disposeModel, predict, type LoadedModel } from '../../src/model/runtime';
import { tokenize } from '../../src/tokens/layout';
import { tinyModel, tinyPatients } from './helpers/tiny-model';

let model: LoadedModel;
const patients = tinyPatients();
const patient = patients[1];
let reference: ReturnType<typeof referenceGrids>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = tinyModel();
  const { config, vocab } = model.folder;
  reference = referenceGrids(buildReferenceSet(patients.filter((p) => p !== patient), vocab, config, 'test'), config);
});
afterAll(() => disposeModel(model));

const sumAll = (r: { token: Record<string, number[]> }) => Object.values(r.token).flat().reduce((a, b) => a + b, 0);

describe('expected gradients', () => {
  it('is complete up to its sampling error and reports the gap', async () => {
    const r = await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 256, seed: 3 });
    expect(r.done).toBe(true);
    expect(r.samplesDone).toBe(256);
    expect(Math.abs(r.gap - (sumAll(r) - (r.logit - r.referenceLogit)))).toBeLessThan(1e-9);
    // the gap is small relative to what is being explained
    expect(Math.abs(r.gap)).toBeLessThan(0.1 * Math.abs(r.logit - r.referenceLogit) + 0.05);
  });
  it('is reproducible with a seed and differs with another seed', async () => {
    const a = await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 16, seed: 5 });
    const b = await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 16, seed: 5 });
    const c = await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 16, seed: 6 });
    expect(a.token).toEqual(b.token);
    expect(a.token).not.toEqual(c.token);
  });
  it('publishes a progressive estimate after each batch, then the final one', async () => {
    const seen: number[] = [];
    const r = await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 20, seed: 1, batchSize: 8, onProgress: (p) => seen.push(p.samplesDone) });
    expect(seen).toEqual([8, 16, 20]);
    expect(r.stderr).toBeGreaterThan(0);
  });
  it('splits laid-on modality rows so that they add up to the modality part', async () => {
    const r = await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 8, seed: 2 });
    const meds = r.events.filter((e) => e.part === 'medication');
    expect(meds.length).toBeGreaterThan(0);
    const byToken = new Map<number, number>();
    for (const e of meds) byToken.set(e.t, (byToken.get(e.t) ?? 0) + e.value);
    for (const [t, v] of byToken) expect(v).toBeCloseTo(r.token.medication[t], 6);
    // modality roll-up is the sum of token attributions; visits and parts both add up to the total
    const total = sumAll(r);
    expect(Object.values(r.modality).reduce((a, b) => a + b, 0)).toBeCloseTo(total, 6);
    expect(Object.values(r.visit).reduce((a, b) => a + b, 0)).toBeCloseTo(total, 6);
  });
  it('frees every tensor, also when cancelled', async () => {
    const before = tf.memory().numTensors;
    await attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 16, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    const ctl = new AbortController();
    const r = await attribute(model, {
      patient, task: 'hf', method: 'eg', reference, samples: 64, seed: 1, batchSize: 8, signal: ctl.signal,
      onProgress: (p) => p.samplesDone >= 16 && ctl.abort(),
    });
    expect(r.cancelled).toBe(true);
    expect(r.samplesDone).toBe(16);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('rejects bad requests with clear messages', async () => {
    await expect(attribute(model, { patient, task: 'nope', method: 'eg', reference })).rejects.toThrow(/unknown task "nope": this model has hf, death/);
    await expect(attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 0 })).rejects.toThrow(/samples must be a positive integer/);
    await expect(attribute(model, { patient, task: 'hf', method: 'eg', reference, samples: 1e7 })).rejects.toThrow(/more than the limit/);
    await expect(attribute(model, { patient, task: 'hf', method: 'eg', reference: [] })).rejects.toThrow(/reference set is empty/);
  });
});

describe('batch plan', () => {
  // the shipped model's shape
  const shipped = { hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4 } as ModelConfig;
  const GiB = 2 ** 30;
  it('on the CPU backends: ~4,096 tokens a batch and a quarter-size first batch', () => {
    expect(activeGpuLimits()).toBeNull(); // these tests run on cpu
    expect(batchPlan(256, shipped, null)).toEqual({ size: 16, first: 4 });
    expect(batchPlan(30, shipped, null)).toEqual({ size: defaultBatchSize(30), first: Math.ceil(defaultBatchSize(30) / 4) });
    expect(batchPlan(5000, shipped, null)).toEqual({ size: 1, first: 1 });
  });
  it('the working-set estimate is the measured peak (49 MiB a sample at 254 tokens, 4.5 at 33)', () => {
    expect(sampleWorkingSetBytes(254, shipped) / 2 ** 20).toBeCloseTo(49, -1);
    expect(sampleWorkingSetBytes(33, shipped) / 2 ** 20).toBeCloseTo(4.5, 0);
  });
  it('on a GPU: as large as memory allows, the first batch full size', () => {
    // a large GPU: 128 samples at 254 tokens (6.1 GiB) in one batch
    const big = batchPlan(254, shipped, { binding: 2 * GiB, buffer: 2 ** 40 });
    expect(big.size).toBe(Math.floor(GPU_WORKING_SET_BYTES / sampleWorkingSetBytes(254, shipped)));
    expect(big.size).toBeGreaterThanOrEqual(128);
    expect(big.first).toBe(big.size);
    // a device whose largest buffer is 1 GiB: the working set stays within it
    const small = batchPlan(254, shipped, { binding: GiB, buffer: GiB });
    expect(small.size * sampleWorkingSetBytes(254, shipped)).toBeLessThanOrEqual(GiB);
    expect(small.size).toBe(21);
    // the attention scores [samples, heads, L, L] must fit one binding: 32 MiB holds 32 samples' at 256 tokens
    expect(batchPlan(256, shipped, { binding: 32 * 2 ** 20, buffer: 2 ** 40 }).size).toBe(32);
    // short patients: capped, so progress still shows
    expect(batchPlan(4, shipped, { binding: 2 * GiB, buffer: 2 ** 40 }).size).toBe(GPU_MAX_BATCH);
    // never zero
    expect(batchPlan(256, { ...shipped, num_attention_heads: 64 }, { binding: 2 ** 20, buffer: 2 ** 20 })).toEqual({ size: 1, first: 1 });
  });
});

describe('the control variate (cvEstimate)', () => {
  // samples phi_k = 2 + 0.5 C_k + e_k with C of mean zero: the corrected mean removes 0.5 * mean(C)
  const C = [0.9, -1.3, 0.4, 2.1, -0.7, -1.6, 0.2, 0.6];
  const e = [0.05, -0.02, 0.01, -0.04, 0.03, 0.0, -0.01, 0.02];
  const phi = C.map((c, k) => 2 + 0.5 * c + e[k]);
  const sums = (xs: number[]) => ({ s: Float64Array.of(xs.reduce((a, b) => a + b, 0)), q: Float64Array.of(xs.reduce((a, b) => a + b * b, 0)), sc: Float64Array.of(xs.reduce((a, b, k) => a + b * C[k], 0)) });
  const stats = { n: C.length, cSum: C.reduce((a, b) => a + b, 0), cSq: C.reduce((a, b) => a + b * b, 0) };
  it('is the least-squares intercept at C = 0, with the residual standard error', () => {
    const { s, q, sc } = sums(phi);
    const [mean, se] = cvEstimate(s, q, sc, { ...stats, on: true });
    // least squares by hand: slope = Sxy / Sxx, intercept = ybar - slope * xbar
    const n = C.length;
    const xbar = stats.cSum / n;
    const ybar = phi.reduce((a, b) => a + b, 0) / n;
    const sxx = C.reduce((a, c) => a + (c - xbar) ** 2, 0);
    const slope = C.reduce((a, c, k) => a + (c - xbar) * (phi[k] - ybar), 0) / sxx;
    expect(slope).toBeCloseTo(0.5, 1);
    expect(mean[0]).toBeCloseTo(ybar - slope * xbar, 12);
    const rss = C.reduce((a, c, k) => a + (phi[k] - ybar - slope * (c - xbar)) ** 2, 0);
    expect(se[0]).toBeCloseTo(Math.sqrt(rss / (n - 2) / n), 12);
    // the plain mean is off by 0.5 * mean(C); the corrected one is within the noise of 2
    expect(Math.abs(ybar - 2)).toBeGreaterThan(0.04);
    expect(Math.abs(mean[0] - 2)).toBeLessThan(0.02);
  });
  it('is the plain mean when off, with fewer than CV_MIN_SAMPLES samples, or when C does not vary', () => {
    const { s, q, sc } = sums(phi);
    const plain = phi.reduce((a, b) => a + b, 0) / phi.length;
    expect(cvEstimate(s, q, sc, { ...stats, on: false })[0][0]).toBeCloseTo(plain, 12);
    expect(CV_MIN_SAMPLES).toBe(8);
    expect(cvEstimate(s, q, sc, { n: 7, cSum: 1, cSq: 0.5, on: true })[0][0]).toBeCloseTo(s[0] / 7, 12);
    expect(cvEstimate(s, q, sc, { n: 8, cSum: 8, cSq: 8, on: true })[0][0]).toBeCloseTo(plain, 12);
    expect(Array.from(cvEstimate(s, q, sc, { n: 0, cSum: 0, cSq: 0, on: true })[0])).toEqual([0]);
  });
  it('on a model: the same expectation as the plain mean, a smaller gap, and no wider spread of the parts', async () => {
    const { config, vocab } = model.folder;
    const grid = tokenize(patient, vocab, config);
    const SEEDS = 10;
    const runs = { plain: [] as Array<Record<string, number>>, cv: [] as Array<Record<string, number>> };
    const gaps = { plain: [] as number[], cv: [] as number[] };
    for (let seed = 0; seed < SEEDS; seed++) {
      const draws = egDraws(24, reference.length, seed);
      for (const kind of ['plain', 'cv'] as const) {
        const r = await pathAttribution({ method: 'eg', model, patient, grid, task: 'hf', references: reference, referenceSize: reference.length, draws, controlVariate: kind === 'cv' });
        runs[kind].push(r.modality);
        gaps[kind].push(Math.abs(r.gap));
        if (kind === 'cv') expect(r.plainGap).toBeCloseTo(gaps.plain[seed] * Math.sign(r.plainGap), 9);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));
    expect(mean(gaps.cv)).toBeLessThan(mean(gaps.plain) / 3);
    let spreadCv = 0;
    let spreadPlain = 0;
    for (const part of Object.keys(runs.plain[0])) {
      const p = runs.plain.map((m) => m[part]);
      const c = runs.cv.map((m) => m[part]);
      // both unbiased for the same expectation: their means over the seeds agree within 3 standard errors
      expect(Math.abs(mean(c) - mean(p)), part).toBeLessThanOrEqual(3 * Math.sqrt((sd(c) ** 2 + sd(p) ** 2) / SEEDS) + 1e-9);
      spreadCv += sd(c);
      spreadPlain += sd(p);
    }
    console.log(`control variate, ${SEEDS} seeds x 24 samples: mean |gap| ${mean(gaps.cv).toFixed(4)} vs plain ${mean(gaps.plain).toFixed(4)}; summed s.d. of the parts ${spreadCv.toFixed(4)} vs ${spreadPlain.toFixed(4)}`);
    expect(spreadCv).toBeLessThanOrEqual(spreadPlain * 1.05);
  });
});

describe('comparison methods', () => {
  it('integrated gradients: the completeness gap shrinks as steps grow', async () => {
    const gaps = [];
    for (const steps of [2, 8, 64]) gaps.push(Math.abs((await attribute(model, { patient, task: 'hf', method: 'ig', samples: steps })).gap));
    expect(gaps[2]).toBeLessThan(gaps[0]);
    expect(gaps[2]).toBeLessThan(0.05);
  });
  it('occlusion of an event is the change in logit when that event is removed', async () => {
    const r = await attribute(model, { patient, task: 'hf', method: 'occlusion' });
    const e = r.events.find((x) => x.part === 'medication')!;
    const [full] = await predict(model, [patient]);
    const [less] = await predict(model, [withoutEvent(patient, e.visit, e.event)]);
    expect(e.value).toBeCloseTo(full.logit! - less.logit!, 5); // (no population: every row has a logit)
    expect(Number.isNaN(r.gap)).toBe(true);
  });
  it('gradient x input gives one value per event and no sampling error', async () => {
    const r = await attribute(model, { patient, task: 'hf', method: 'gxi' });
    const g = tokenize(patient, model.folder.vocab, model.folder.config);
    expect(r.events.length).toBe(g.slots.length);
    expect(r.stderr).toBe(0);
  });
  it('each result says how many reference patients it compared with', async () => {
    const reference = [0, 1, 2].map(() => tokenize(patient, model.folder.vocab, model.folder.config));
    const size = async (method: 'eg' | 'ig' | 'gxi' | 'occlusion', baseline?: 'pad' | 'reference') =>
      (await attribute(model, { patient, task: 'hf', method, reference, samples: 4, baseline })).referenceSize;
    expect(await size('eg')).toBe(3);
    expect(await size('ig', 'reference')).toBe(1);
    expect(await size('ig', 'pad')).toBe(0);
    expect(await size('gxi')).toBe(0);
    expect(await size('occlusion')).toBe(0);
  });
});
