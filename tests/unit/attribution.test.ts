import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { buildReferenceSet, referenceGrids } from '../../src/attribution/reference';
import { withoutEvent } from '../../src/attribution/occlusion';
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
