// Expected gradients on the shipped ExBEHRT: with 256 samples the completeness gap
// sum(phi) - (f(x) - mean f(x')) is within 2% of |f(x) - mean f(x')|, and every tensor is freed.
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
  it('closes the completeness gap to 2% with 256 samples', async () => {
    // a patient far from the reference mean, so that 2% is a real bound
    const rows = await predict(model, patients.slice(0, 40));
    const refLogits = (await logitsForGrids(model, reference)).hf_12m;
    const meanRef = refLogits.reduce((a, b) => a + b, 0) / refLogits.length;
    const pick = rows.filter((r) => r.task === 'hf_12m').sort((a, b) => Math.abs(b.logit - meanRef) - Math.abs(a.logit - meanRef))[0];
    const patient = patients.find((p) => p.id === pick.patient_id)!;
    const before = tf.memory().numTensors;
    const r = await attribute(model, { patient, task: 'hf_12m', method: 'eg', reference, samples: 256, seed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    const delta = Math.abs(r.logit - r.referenceLogit);
    expect(delta).toBeGreaterThan(0.5);
    console.log(`EG 256 samples on ${patient.id}: f(x) ${r.logit.toFixed(4)}, mean f(x') ${r.referenceLogit.toFixed(4)}, gap ${r.gap.toExponential(2)} (${((100 * Math.abs(r.gap)) / delta).toFixed(2)}%)`);
    expect(Math.abs(r.gap)).toBeLessThanOrEqual(0.02 * delta);
  });
});
