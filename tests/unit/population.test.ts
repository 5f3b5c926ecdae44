// A task with a population (config.json tasks[].population): no risk and no explanation outside
// it, references narrowed to it, the same definition in training (train.test.ts), predict,
// attribute, occlusion and the teaching path.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { interpolationPath, evenAlphas } from '../../src/attribution/interpolation';
import { buildReferenceSet, referenceGrids } from '../../src/attribution/reference';
import type { Patient } from '../../src/data/schema';
import { parseConfig } from '../../src/model/config';
import { inTaskPopulation } from '../../src/model/population';
import { disposeModel, logitsForGrids, predict, type LoadedModel } from '../../src/model/runtime';
import { tokenize } from '../../src/tokens/layout';
import { checkVocabAgainstConfig } from '../../src/tokens/vocab';
import { tinyModel, tinyPatients } from './helpers/tiny-model';

const POPULATION = { diagnosis_prefix: 'E11', description: 'patients with type 2 diabetes' };
let model: LoadedModel;
const patients = tinyPatients(); // every one has E11.9 (its second visit)
const withoutDiabetes = (p: Patient): Patient => ({ ...p, id: `${p.id}-no-e11`, visits: p.visits.map((v) => ({ ...v, events: v.events.filter((e) => e.code !== 'E11.9') })) });
const inside = patients[1];
const outside = withoutDiabetes(patients[1]);

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tinyModel();
  const config = parseConfig({ ...m.folder.config, tasks: [{ name: 'hf' }, { name: 'death', population: POPULATION }] });
  model = { ...m, folder: { ...m.folder, config } };
});
afterAll(() => disposeModel(model));

const refs = (ps: Patient[]) => referenceGrids(buildReferenceSet(ps, model.folder.vocab, model.folder.config, 'test'), model.folder.config);

describe('task population', () => {
  it('is read from config.json and checked against the vocabulary', () => {
    expect(model.folder.config.tasks[1].population).toEqual(POPULATION);
    expect(checkVocabAgainstConfig(model.folder.vocab, model.folder.config)).toEqual([]);
    const bad = parseConfig({ ...model.folder.config, tasks: [{ name: 'death', population: { diagnosis_prefix: 'Q99', description: 'nobody' } }] });
    expect(checkVocabAgainstConfig(model.folder.vocab, bad)).toEqual([expect.stringMatching(/no diagnosis token starts with "Q99", config\.json tasks\.death\.population\.diagnosis_prefix/)]);
    expect(() => parseConfig({ ...model.folder.config, tasks: [{ name: 'death', population: { diagnosis_prefix: '', description: 'x' } }] })).toThrow(/diagnosis_prefix/);
  });
  it('predict gives no risk outside the population and the network\'s risk inside it', async () => {
    const rows = await predict(model, [inside, outside]);
    const raw = await logitsForGrids(model, [inside, outside].map((p) => tokenize(p, model.folder.vocab, model.folder.config)));
    const row = (id: string, task: string) => rows.find((r) => r.patient_id === id && r.task === task)!;
    expect(row(inside.id, 'death').logit).toBe(raw.death[0]);
    expect(row(outside.id, 'death')).toMatchObject({ logit: null, probability: null, outside: 'death is defined for patients with type 2 diabetes (a diagnosis code starting with E11)' });
    expect(row(outside.id, 'hf').logit).toBe(raw.hf[1]); // a task without a population: everyone
  });
  it('explains nothing outside the population, and compares with the references inside it', async () => {
    const before = tf.memory().numTensors;
    const mixed = refs([...patients.slice(2), ...patients.slice(2).map(withoutDiabetes)]);
    expect(mixed.filter((g) => inTaskPopulation(model.folder.config.tasks[1], g, model.folder.vocab)).length).toBe(3);
    await expect(attribute(model, { patient: outside, task: 'death', method: 'eg', reference: mixed, samples: 8 })).rejects.toThrow(
      /patient b-no-e11: death is defined for patients with type 2 diabetes \(a diagnosis code starting with E11\); this patient has no such diagnosis/,
    );
    const a = await attribute(model, { patient: inside, task: 'death', method: 'eg', reference: mixed, samples: 16, seed: 4 });
    const b = await attribute(model, { patient: inside, task: 'death', method: 'eg', reference: refs(patients.slice(2)), samples: 16, seed: 4 });
    expect(a.token).toEqual(b.token);
    expect(a.referenceLogit).toBe(b.referenceLogit);
    // the result says how many references it compared with: those inside the population
    expect([a.referenceSize, b.referenceSize]).toEqual([3, 3]);
    // hf has no population: the outside references count there
    const h = await attribute(model, { patient: inside, task: 'hf', method: 'eg', reference: mixed, samples: 16, seed: 4 });
    const hb = await attribute(model, { patient: inside, task: 'hf', method: 'eg', reference: refs(patients.slice(2)), samples: 16, seed: 4 });
    expect(h.referenceLogit).not.toBe(hb.referenceLogit);
    expect([h.referenceSize, hb.referenceSize]).toEqual([6, 3]);
    await expect(attribute(model, { patient: inside, task: 'death', method: 'eg', reference: refs(patients.slice(2).map(withoutDiabetes)), samples: 8 })).rejects.toThrow(
      /none of the 3 reference patients is in death's population \(patients with type 2 diabetes\)/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
  it('occlusion: removing the last diagnosis of the population counts as no change, not as the untrained head', async () => {
    const p = patients[4]; // two visits, E11.9 once (second visit)
    const r = await attribute(model, { patient: p, task: 'death', method: 'occlusion' });
    const e11 = r.events.filter((e) => e.code === 'E11.9');
    expect(e11.length).toBe(1);
    expect(e11[0].value).toBe(0);
    expect(r.events.some((e) => e.code !== 'E11.9' && e.value !== 0)).toBe(true);
    // with two E11.9 events, removing one keeps the patient inside: a real difference
    const twice: Patient = { ...p, visits: p.visits.map((v, i) => (i === 0 ? { ...v, events: [...v.events, { modality: 'diagnosis', code: 'E11.9' }] } : v)) };
    const r2 = await attribute(model, { patient: twice, task: 'death', method: 'occlusion' });
    expect(r2.events.filter((e) => e.code === 'E11.9').some((e) => e.value !== 0)).toBe(true);
  });
  it('the teaching path runs between two patients of the population', async () => {
    const [ref] = refs([withoutDiabetes(patients[3])]);
    await expect(interpolationPath(model, inside, 'death', ref, evenAlphas(5))).rejects.toThrow(/reference patient d-no-e11: death is defined for/);
    await expect(interpolationPath(model, outside, 'death', refs([patients[3]])[0], evenAlphas(5))).rejects.toThrow(/patient b-no-e11: death is defined for/);
    const path = await interpolationPath(model, inside, 'death', refs([patients[3]])[0], evenAlphas(5));
    expect(path.logits).toHaveLength(5);
  });
});
