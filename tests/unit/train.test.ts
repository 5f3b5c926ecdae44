// Training is deterministic for a seed, learns a planted signal, and leaves no tensors behind.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { counterfactualTimeline, generateCohort, plantedTruth, valuesByCode, type TaskName } from '../../src/data/synthetic';
import { splitCohort, trainModel, type TrainOptions } from '../../src/model/train';

const { patients } = generateCohort({ n: 120, seed: 5 });
const { train, val } = splitCohort(patients, 5);
const opts: TrainOptions = {
  seed: 1, modelType: 'exbehrt', hidden: 8, layers: 1, heads: 2, intermediate: 16, maxLen: 64,
  modalities: [{ name: 'medication', rows: 2 }, { name: 'lab', rows: 1 }],
  tasks: [{ name: 'hf_12m' }, { name: 'death_6m' }],
  mlmEpochs: 1, maxEpochs: 1, patience: 1, batchSize: 32, learningRate: 1e-3,
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('training', () => {
  it('is deterministic for a seed and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const a = await trainModel(train, val, opts);
    expect(tf.memory().numTensors).toBe(before);
    const b = await trainModel(train, val, opts);
    const c = await trainModel(train, val, { ...opts, seed: 2 });
    const w = (r: typeof a) => r.weights.get('heads.hf_12m.weight')!.data;
    expect(Array.from(w(a))).toEqual(Array.from(w(b)));
    expect(Array.from(w(a))).not.toEqual(Array.from(w(c)));
    expect(a.history.map((h) => h.phase)).toEqual(['mlm', 'finetune']);
    expect(a.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    // the vocab is built from the training split, the config sized from it
    expect(a.config.vocab_size).toBe(a.vocab.diagnosis.length);
    expect(a.config.modalities.map((m) => m.vocab_size)).toEqual([a.vocab.modalities.medication.length, a.vocab.modalities.lab.length]);
  });
  it('fits soft targets (the planted probability) on counterfactual copies, stopping on their validation loss', async () => {
    const targetOf = (p: (typeof train)[number], t: string) => plantedTruth(p, t as TaskName).probability;
    const values = valuesByCode(train);
    let edited = 0;
    const before = tf.memory().numTensors;
    const r = await trainModel(train, val, {
      ...opts,
      maxEpochs: 2,
      targetOf,
      augment: (p, rand) => (edited++, counterfactualTimeline(p, { codeRate: 0.3, eventRate: 0.1, valueRate: 0.3, values }, rand)),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(edited).toBe(2 * train.length); // a fresh copy of every patient every epoch
    const ft = r.history.filter((h) => h.phase === 'finetune');
    expect(ft.every((h) => Number.isFinite(h.valLoss))).toBe(true);
    expect(r.bestEpoch).toBe(ft.reduce((b, h) => (h.valLoss! < b.valLoss! ? h : b)).epoch);
    await expect(trainModel(train, val, { ...opts, augment: (p) => p })).rejects.toThrow(/augment needs targetOf/);
  });
  it('fits a task with a population on that population alone (loss and validation)', async () => {
    const cancer = (p: (typeof train)[number]) => p.visits.some((v) => v.events.some((e) => e.modality === 'diagnosis' && e.code.startsWith('C')));
    const tasks = [{ name: 'hf_12m' }, { name: 'death_6m', population: { diagnosis_prefix: 'C', description: 'patients with a cancer diagnosis' } }];
    const planted = (p: (typeof train)[number], t: string) => plantedTruth(p, t as TaskName).probability;
    const nonsense = (p: (typeof train)[number], t: string) => (t === 'death_6m' && !cancer(p) ? 1 : planted(p, t));
    // the same run with nonsense death targets for everyone outside the population: nothing changes
    const a = await trainModel(train, val, { ...opts, tasks, targetOf: planted });
    const b = await trainModel(train, val, { ...opts, tasks, targetOf: nonsense });
    const w = (r: typeof a) => Array.from(r.weights.get('heads.death_6m.weight')!.data);
    expect(w(b)).toEqual(w(a));
    expect(b.history.map((h) => h.valLoss)).toEqual(a.history.map((h) => h.valLoss));
    expect(a.config.tasks[1].population).toEqual(tasks[1].population);
    // without the population they enter the loss
    const c = await trainModel(train, val, { ...opts, targetOf: nonsense });
    expect(w(c)).not.toEqual(w(a));
  }, 120_000);
  it('splits patients 70/15/15 without overlap, the same way for a seed', () => {
    const s = splitCohort(patients, 5);
    expect([s.train.length, s.val.length, s.test.length]).toEqual([84, 18, 18]);
    const ids = new Set([...s.train, ...s.val, ...s.test].map((p) => p.id));
    expect(ids.size).toBe(120);
    expect(splitCohort(patients, 5).test.map((p) => p.id)).toEqual(s.test.map((p) => p.id));
  });
});
