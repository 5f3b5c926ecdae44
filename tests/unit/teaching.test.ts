// The teaching walk's engine pieces on the shipped model: the interpolation path ends at the
// model's own logits, its integrand is the derivative of the logit along the path (checked by
// finite differences) and integrates to the rise; the randomisation cascade destroys the rank
// agreement and frees every tensor. And the teaching store's bookkeeping with a fake engine.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { randomisationCascade } from '../../src/attribution/faithfulness';
import { evenAlphas, interpolationPath } from '../../src/attribution/interpolation';
import { parseReferenceSet, referenceGrids } from '../../src/attribution/reference';
import type { AttributionResult } from '../../src/attribution/types';
import { useBackend } from '../../src/cli/node-tf';
import { parsePatientsText } from '../../src/data/schema';
import { loadModelFromDir } from '../../src/model/folder-node';
import { disposeModel, instantiate, logitsForGrids, predict, type LoadedModel } from '../../src/model/runtime';
import type { EngineCalls } from '../../src/state/engine-client';
import { createTeachingStore, type TeachingContext } from '../../src/state/teaching';
import { tokenize } from '../../src/tokens/layout';

let model: LoadedModel;
let reference: ReturnType<typeof referenceGrids>;
const patients = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'patients.jsonl');

beforeAll(async () => {
  await useBackend('wasm');
  const folder = await loadModelFromDir('public/models/exbehrt');
  model = instantiate(folder);
  reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
});
afterAll(() => disposeModel(model));

describe('interpolation path', { timeout: 120_000 }, () => {
  it("ends at f(x) and at f(x') (the reference on the patient's length and mask), and its integrand is df/dalpha", async () => {
    const patient = patients[3];
    const before = tf.memory().numTensors;
    const path = await interpolationPath(model, patient, 'hf_12m', reference[5], evenAlphas(41));
    expect(tf.memory().numTensors).toBe(before);

    const own = (await predict(model, [patient])).find((r) => r.task === 'hf_12m')!;
    expect(path.logits[40]).toBeCloseTo(own.logit!, 4);
    // alpha = 0 is the reference laid on the patient's length with the patient's mask, as EG uses it
    const grid = tokenize(patient, model.folder.vocab, model.folder.config);
    const asUsed = { ...reference[5], realLength: grid.realLength, attentionMask: grid.attentionMask };
    expect(path.logits[0]).toBeCloseTo((await logitsForGrids(model, [asUsed])).hf_12m[0], 4);

    // the integrand is the derivative of the logit along the path: central differences agree
    for (let i = 1; i < 40; i += 6) {
      const h = path.alphas[i + 1] - path.alphas[i - 1];
      const fd = (path.logits[i + 1] - path.logits[i - 1]) / h;
      expect(Math.abs(fd - path.integrand[i])).toBeLessThan(0.05 * Math.max(1, Math.abs(path.integrand[i])));
    }
    // and its integral is the rise from the reference to the patient (completeness for one reference)
    const rise = path.logits[40] - path.logits[0];
    expect(Math.abs(path.integral - rise)).toBeLessThan(0.02 * Math.max(1, Math.abs(rise)));
  });

  it('rejects an unknown task and bad alphas with a specific error', async () => {
    await expect(interpolationPath(model, patients[0], 'nope', reference[0], evenAlphas(3))).rejects.toThrow(/unknown task "nope"/);
    await expect(interpolationPath(model, patients[0], 'hf_12m', reference[0], [0.5])).rejects.toThrow(/at least two alphas/);
  });
});

describe('randomisation cascade', { timeout: 300_000 }, () => {
  it('collapses the rank agreement by the time the encoder is randomised, and frees every tensor', async () => {
    const patient = patients[1];
    const req = { patient, task: 'hf_12m', method: 'eg' as const, reference, samples: 16, seed: 3 };
    const original = await attribute(model, req);
    const before = tf.memory().numTensors;
    const seen: string[] = [];
    const stages = await randomisationCascade(model, [req], [original], { seed: 3, onStage: (s) => seen.push(s.stage) });
    expect(tf.memory().numTensors).toBe(before);
    expect(stages.map((s) => s.stage)).toEqual(seen);
    expect(stages[0].stage).toBe('heads');
    expect(stages[stages.length - 1].stage).toBe('embeddings');
    const last = stages[stages.length - 1].spearman;
    console.log(`cascade: ${stages.map((s) => `${s.stage} ${s.spearman.toFixed(2)}`).join(', ')}`);
    expect(Math.abs(last)).toBeLessThan(0.5);
    // a randomised model predicts something else than the trained one
    expect(Math.abs(stages[stages.length - 1].logits[0] - original.logit)).toBeGreaterThan(1e-3);
  });
});

/** A fake engine whose attribute reports progress per batch and can be cancelled. */
/** A fake engine: each batch takes a timer tick. With `hold.on` a job does not finish until it is
 *  cancelled, so that a test can cancel it mid-run whatever the machine's load. */
function fakeEngine(hold = { on: false }) {
  const cancelled = new Set<string>();
  const calls: string[] = [];
  const result = (done: number, total: number, gap: number): AttributionResult =>
    ({ method: 'eg', task: 't', patientId: 'p', logit: 2, referenceLogit: 1, referenceSize: 10, samplesDone: done, samplesTotal: total, token: {}, tokenStderr: {}, visit: {}, modality: {}, code: {}, events: [], gap, plainGap: 2 * gap, stderr: 1 / Math.sqrt(done), truncatedVisits: 0, done: done === total, cancelled: false }) as AttributionResult;
  const engine: Pick<EngineCalls, 'attribute' | 'cancel' | 'referencePatients' | 'interpolationPath' | 'randomisationCheck'> = {
    async attribute(jobId, _m, job, onProgress) {
      calls.push(`${jobId}:${job.method}:${job.batchSize ?? ''}`);
      const total = job.samples ?? 0;
      const b = job.batchSize ?? Math.max(1, total);
      for (let n = b; n <= total; n += b) {
        await new Promise((r) => setTimeout(r, 1));
        while (hold.on && !cancelled.has(jobId)) await new Promise((r) => setTimeout(r, 1));
        if (cancelled.has(jobId)) return { result: { ...result(n, total, 0), cancelled: true }, backend: 'cpu' };
        onProgress?.(result(n, total, 0.5 / n));
      }
      return { result: result(total, total, 0.5 / total), backend: 'cpu' };
    },
    async cancel(jobId) {
      cancelled.add(jobId);
      return true;
    },
    async referencePatients() {
      return [{ index: 0, id: 'R1', age: 60, sex: 'F', diagnoses: 3 }];
    },
    async interpolationPath() {
      return { alphas: [0, 1], logits: [1, 2], integrand: [1, 1], integral: 1, reference: { index: 0, id: 'R1', age: 60, sex: 'F' as const, diagnoses: 3 } };
    },
    async randomisationCheck() {
      return { original: result(1, 1, 0), stages: [], cancelled: false };
    },
  };
  return { engine, calls, cancelled };
}

describe('teaching store', () => {
  const ctx = (key: string): TeachingContext => ({ key, modelId: 'm', patient: patients[0], task: 't', seed: 1 });

  it('records the convergence history batch by batch, with the relative gap', async () => {
    const { engine, calls } = fakeEngine();
    const store = createTeachingStore(engine, () => ctx('a'));
    await store.getState().runConvergence(32);
    const d = store.getState().convergence;
    expect(d.status).toBe('done');
    expect(calls[0]).toMatch(/:eg:8$/);
    expect(d.data!.history.map((h) => h.samples)).toEqual([8, 16, 24, 32]);
    expect(d.data!.history[0].relativeGap).toBeCloseTo(0.5 / 8, 9);
  });

  it('drops results when the workbench moves to another patient, and cancels the running job', async () => {
    const { engine, cancelled } = fakeEngine();
    let key = 'a';
    const store = createTeachingStore(engine, () => ctx(key));
    await store.getState().runPath(0);
    expect(store.getState().path.status).toBe('done');
    const running = store.getState().runConvergence(64);
    await new Promise((r) => setTimeout(r, 3));
    key = 'b';
    store.getState().sync();
    await running;
    expect(cancelled.size).toBe(1);
    expect(store.getState().path.status).toBe('idle');
    expect(store.getState().convergence.status).toBe('idle');
  });

  it('cancel marks the running step cancelled and a new run starts cleanly', async () => {
    const hold = { on: true };
    const { engine, calls } = fakeEngine(hold);
    const store = createTeachingStore(engine, () => ctx('a'));
    const running = store.getState().runMethods();
    // cancel while the first method's job is running (it holds until then)
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 1));
    expect(store.getState().methods.status).toBe('running');
    await store.getState().cancel();
    await running;
    expect(store.getState().methods.status).toBe('cancelled');
    hold.on = false;
    await store.getState().runMethods();
    expect(store.getState().methods.status).toBe('done');
    expect(Object.keys(store.getState().methods.data!)).toEqual(['eg', 'ig', 'occlusion']);
  });
});
