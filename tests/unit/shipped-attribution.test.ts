// Expected gradients on the shipped ExBEHRT: with 256 samples the completeness gap
// sum(phi) - (f(x) - mean f(x')) is within 2% of |f(x) - mean f(x')| (issue 3), and every tensor is
// freed. The estimator is the control-variate one (cvEstimate in src/attribution/path.ts); the plain
// mean of the same samples is within 2% for only 8 of these 16 patients (README).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { useBackend } from '../../src/cli/node-tf';
import { parseReferenceSet, referenceGrids } from '../../src/attribution/reference';
import { parsePatientsText } from '../../src/data/schema';
import { loadModelFromDir } from '../../src/model/folder-node';
import { disposeModel, instantiate, logitsForGrids, predict, type LoadedModel } from '../../src/model/runtime';

let model: LoadedModel;
let reference: ReturnType<typeof referenceGrids>;
const patients = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'patients.jsonl');

beforeAll(async () => {
  await useBackend('wasm'); // the CLI's backend, and 5x faster than cpu here
  const folder = await loadModelFromDir('public/models/exbehrt');
  model = instantiate(folder);
  reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
});
afterAll(() => disposeModel(model));

describe('EG on the shipped model', { timeout: 300_000 }, () => {
  it('with 256 samples the completeness gap is within 2% of |f(x) - mean f(x\')| for each of the first 16 patients and for the one farthest from the references\' mean', async () => {
    // measured (README, same command as the CLI's): at most 0.66% for these 16 at seed 0
    const before = tf.memory().numTensors;
    const shares: number[] = [];
    const plain: number[] = [];
    for (const patient of patients.slice(0, 16)) {
      const r = await attribute(model, { patient, task: 'hf_12m', method: 'eg', reference, samples: 256, seed: 0 });
      expect(Number.isFinite(r.gap)).toBe(true);
      shares.push(Math.abs(r.gap) / Math.abs(r.logit - r.referenceLogit));
      plain.push(Math.abs(r.plainGap) / Math.abs(r.logit - r.referenceLogit));
    }
    expect(tf.memory().numTensors).toBe(before);
    const pct = (xs: number[]) => xs.map((x) => `${(100 * x).toFixed(1)}%`).join(' ');
    console.log(`EG 256 samples, first 16 bundled patients, hf_12m: gap / |f(x) - mean f(x')| = ${pct(shares)}; plain mean of the same samples: ${pct(plain)}`);
    shares.forEach((x, i) => expect(x, patients[i].id).toBeLessThanOrEqual(0.02));
    // the patient farthest from the references' mean, where 2% is the strictest bound (measured 0.004%; the plain mean 0.43%)
    const rows = await predict(model, patients.slice(0, 40));
    const refLogits = (await logitsForGrids(model, reference)).hf_12m;
    const meanRef = refLogits.reduce((a, b) => a + b, 0) / refLogits.length;
    const pick = rows.filter((r) => r.task === 'hf_12m').sort((a, b) => Math.abs(b.logit! - meanRef) - Math.abs(a.logit! - meanRef))[0]; // (hf_12m: every patient)
    const r = await attribute(model, { patient: patients.find((p) => p.id === pick.patient_id)!, task: 'hf_12m', method: 'eg', reference, samples: 256, seed: 0 });
    const delta = Math.abs(r.logit - r.referenceLogit);
    expect(delta).toBeGreaterThan(0.5);
    console.log(`EG 256 samples on ${pick.patient_id}: f(x) ${r.logit.toFixed(4)}, mean f(x') ${r.referenceLogit.toFixed(4)}, gap ${r.gap.toExponential(2)} (${((100 * Math.abs(r.gap)) / delta).toFixed(2)}%)`);
    expect(Math.abs(r.gap)).toBeLessThanOrEqual(0.02 * delta);
  });
});
