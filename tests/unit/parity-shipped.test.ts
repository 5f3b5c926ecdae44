// The shipped models against the PyTorch reference: logits of 5 bundled sample patients, tokenized
// by the TypeScript tokenizer (the token batch is kept in the fixture and checked too), computed
// in float64 by tools/reference/golden_shipped.py. Regenerate after retraining with
//   npm run golden:shipped
// Tolerance 1e-4 absolute on the logits.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePatientsText } from '../../src/data/schema';
import { loadModelFromDir } from '../../src/model/folder-node';
import { inTaskPopulation } from '../../src/model/population';
import { disposeModel, instantiate, logitsForGrids, predict } from '../../src/model/runtime';
import { stackGrids, tokenize } from '../../src/tokens/layout';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['exbehrt', 'behrt'])('shipped %s model', (name) => {
  it('matches the PyTorch reference on 5 sample patients', async () => {
    const golden = JSON.parse(readFileSync(`tests/fixtures/parity/shipped-${name}.json`, 'utf8'));
    const inputs = JSON.parse(readFileSync(`tests/fixtures/parity/shipped-${name}-inputs.json`, 'utf8'));
    const folder = await loadModelFromDir(`public/models/${name}`);
    const patients = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'patients.jsonl').slice(0, 5);
    expect(patients.map((p) => p.id)).toEqual(golden.ids);
    // the tokenizer still produces the batch the reference saw
    const b = stackGrids(patients.map((p) => tokenize(p, folder.vocab, folder.config)), folder.config);
    expect(Array.from(b.diagnosis)).toEqual(inputs.patients.diagnosis);
    for (const [m, ids] of Object.entries(b.modalities)) expect(Array.from(ids)).toEqual(inputs.patients.modalities[m]);
    const model = instantiate(folder);
    // the network itself, every task and patient (the reference knows no task populations)
    const grids = patients.map((p) => tokenize(p, folder.vocab, folder.config));
    const logits = await logitsForGrids(model, grids);
    // and predict gives those logits, except outside a task's population (no risk there)
    const rows = await predict(model, patients, grids);
    disposeModel(model);
    for (const t of folder.config.tasks)
      patients.forEach((p, i) => {
        const want = golden.logits[t.name][golden.ids.indexOf(p.id)];
        expect(Math.abs(logits[t.name][i] - want), `${p.id} ${t.name}`).toBeLessThan(1e-4);
        const row = rows.find((r) => r.patient_id === p.id && r.task === t.name)!;
        expect(row.logit, `${p.id} ${t.name}`).toBe(inTaskPopulation(t, grids[i], folder.vocab) ? logits[t.name][i] : null);
      });
  });
});
