// Cohort-level attribution on the shipped ExBEHRT in Node (the function the worker runs for the
// cohort view's "Mean attribution per code"): the mean EG per code equals averaging the single
// patients' attribute() results, every tensor is freed, and a cancel between or inside patients
// frees them too and leaves the unfinished patient out.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { parseReferenceSet, referenceGrids } from '../../src/attribution/reference';
import { useBackend } from '../../src/cli/node-tf';
import { cohortAttribution } from '../../src/cohort';
import { describeCode } from '../../src/data/codes';
import { parsePatientsText } from '../../src/data/schema';
import { isCancerPatient } from '../../src/data/synthetic';
import { loadModelFromDir } from '../../src/model/folder-node';
import { disposeModel, instantiate, type LoadedModel } from '../../src/model/runtime';
import type { TokenGrid } from '../../src/tokens/layout';

describe('cohortAttribution on the shipped model', { timeout: 240_000 }, () => {
  let model: LoadedModel;
  let reference: TokenGrid[];
  const bundled = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'patients.jsonl');
  // death_6m is defined for cancer patients (the shipped config's task population)
  const patients = bundled.filter(isCancerPatient).slice(0, 3);
  const noCancer = bundled.find((p) => !isCancerPatient(p))!;

  beforeAll(async () => {
    await useBackend('wasm');
    model = instantiate(await loadModelFromDir('public/models/exbehrt'));
    // a filtered reference population, as the page passes the workbench's filter
    reference = referenceGrids(parseReferenceSet(model.folder.reference), model.folder.config, { sex: 'F' });
  });
  afterAll(() => disposeModel(model));

  it('mean EG per code = the average of single-patient attribute() results (1e-9); every tensor freed', async () => {
    const before = tf.memory().numTensors;
    const progress: string[] = [];
    // a patient outside the task's population is left out of the mean, and counted
    const mean = await cohortAttribution(model, [patients[0], noCancer, ...patients.slice(1)], { task: 'death_6m', reference, samples: 8, seed: 0, onProgress: (d, n) => progress.push(`${d}/${n}`) });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual(['0/3', '1/3', '2/3', '3/3']);
    expect(mean).toMatchObject({ task: 'death_6m', samples: 8, seed: 0, total: 4, outsidePopulation: 1, cancelled: false, patients: patients.map((p) => p.id) });

    const singles = [];
    for (const patient of patients) singles.push(await attribute(model, { patient, task: 'death_6m', method: 'eg', reference, samples: 8, seed: 0 }));
    expect(tf.memory().numTensors).toBe(before);
    const keys = new Set(singles.flatMap((r) => Object.keys(r.code)));
    expect(mean.codes.map((c) => c.key).sort()).toEqual([...keys].sort());
    for (const c of mean.codes) {
      const values = singles.map((r) => r.code[c.key]).filter((v) => v !== undefined);
      const expected = values.reduce((a, b) => a + b, 0) / singles.length;
      expect(Math.abs(c.meanPerPatient - expected)).toBeLessThan(1e-9);
      expect(Math.abs(c.meanWhenPresent - values.reduce((a, b) => a + b, 0) / values.length)).toBeLessThan(1e-9);
      expect(c.patients).toBe(values.length);
      expect(c.description).toBe(describeCode(c.modality, c.code));
    }
    // sorted by |mean per patient|, largest first; `top` keeps the first codes
    const abs = mean.codes.map((c) => Math.abs(c.meanPerPatient));
    expect(abs).toEqual([...abs].sort((a, b) => b - a));
    const top = await cohortAttribution(model, patients.slice(0, 1), { task: 'death_6m', reference, samples: 8, top: 5 });
    expect(top.codes).toHaveLength(Math.min(5, Object.keys(singles[0].code).length));
    expect(top.codes[0].meanPerPatient).toBe(singles[0].code[top.codes[0].key]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('cancel inside the second patient: the first patient only, marked cancelled, tensors freed', async () => {
    const before = tf.memory().numTensors;
    const ctl = new AbortController();
    const out = await cohortAttribution(model, patients, {
      task: 'hf_12m',
      reference,
      samples: 64,
      signal: ctl.signal,
      // abort once the first patient is done: the second starts, sees the signal between its batches
      onProgress: (done) => done === 1 && setTimeout(() => ctl.abort(), 0),
    });
    expect(out.cancelled).toBe(true);
    expect(out.patients).toEqual([patients[0].id]);
    expect(out.total).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    // aborted before it starts: nothing computed
    const none = await cohortAttribution(model, patients, { task: 'hf_12m', reference, samples: 8, signal: AbortSignal.abort() });
    expect(none).toMatchObject({ cancelled: true, patients: [], codes: [] });
    expect(tf.memory().numTensors).toBe(before);
  });
});
