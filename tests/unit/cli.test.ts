// The CLI as a user runs it: a real process, a model folder on disk, patients in a file.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelToDir } from '../../src/model/folder-node';
import { fromTfWeights } from '../../src/model/weights';
import { predict } from '../../src/model/runtime';
import { tinyModel, tinyPatients } from './helpers/tiny-model';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'exbehrt-cli-'));
const modelDir = join(dir, 'model');
const patientsFile = join(dir, 'patients.jsonl');
const cli = (...args: string[]) => run(process.execPath, ['bin/exbehrt.mjs', ...args], { env: { ...process.env, EXBEHRT_BACKEND: 'cpu' } });

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tinyModel(3);
  await saveModelToDir(modelDir, { name: 'tiny', config: m.folder.config, vocab: m.folder.vocab, weights: await fromTfWeights(m.weights) });
  writeFileSync(patientsFile, tinyPatients().map((p) => JSON.stringify(p)).join('\n') + '\n');
});

describe('exbehrt CLI', { timeout: 60_000 }, () => {
  it('predict prints one JSON line per patient and task, matching the library', async () => {
    const { stdout } = await cli('predict', '--model', modelDir, '--patients', patientsFile);
    const rows = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(tinyPatients().length * 2);
    const m = tinyModel(3);
    const expected = await predict(m, tinyPatients());
    rows.forEach((r, i) => {
      expect(r.patient_id).toBe(expected[i].patient_id);
      expect(r.task).toBe(expected[i].task);
      expect(r.logit).toBeCloseTo(expected[i].logit!, 5);
      expect(r.probability).toBeCloseTo(1 / (1 + Math.exp(-r.logit)), 10);
    });
  });
  it('predict reports unknown codes (mapped to UNK) on stderr', async () => {
    const unk = join(dir, 'unk.jsonl');
    const p = tinyPatients()[0];
    writeFileSync(unk, JSON.stringify({ ...p, visits: [...p.visits, { date: '2016-01-01', events: [{ modality: 'diagnosis', code: 'ZZZ9' }] }] }) + '\n');
    const { stdout, stderr } = await cli('predict', '--model', modelDir, '--patients', unk);
    expect(stdout.trim().split('\n').length).toBe(2);
    expect(stderr).toMatch(/patient a: 1 unknown codes -> \[UNK\] \(diagnosis:ZZZ9\)/);
  });
  it('tokenize shows the token grid with its laid-on rows', async () => {
    const { stdout } = await cli('tokenize', '--model', modelDir, '--patients', patientsFile, '--id', 'b');
    expect(stdout).toMatch(/patient b: \d+ tokens of 32/);
    expect(stdout).toMatch(/^token\s+\[CLS\]/m);
    expect(stdout).toMatch(/^medication\[1\]/m);
  });
  it('attribute prints the roll-ups and the completeness gap', async () => {
    const { stdout } = await cli('attribute', '--model', modelDir, '--patients', patientsFile, '--id', 'b', '--task', 'hf', '--method', 'ig', '--samples', '16');
    const r = JSON.parse(stdout);
    expect(r.method).toBe('ig');
    expect(Object.keys(r.modality)).toEqual(expect.arrayContaining(['diagnosis', 'medication', 'lab', 'age', 'static']));
    expect(Number.isFinite(r.gap)).toBe(true);
  });
  it('a task with a population: predict and attribute say which patients are outside it', async () => {
    const m = tinyModel(3);
    const popDir = join(dir, 'model-pop');
    const config = { ...m.folder.config, tasks: [{ name: 'hf', num_labels: 1 }, { name: 'death', num_labels: 1, population: { diagnosis_prefix: 'E11', description: 'patients with type 2 diabetes' } }] };
    await saveModelToDir(popDir, { name: 'tiny-pop', config, vocab: m.folder.vocab, weights: await fromTfWeights(m.weights) });
    const [a, b] = tinyPatients();
    const noDiabetes = { ...b, id: 'b-no-e11', visits: b.visits.map((v) => ({ ...v, events: v.events.filter((e) => e.code !== 'E11.9') })) };
    const file = join(dir, 'pop.jsonl');
    writeFileSync(file, [a, noDiabetes].map((p) => JSON.stringify(p)).join('\n') + '\n');
    const rows = (await cli('predict', '--model', popDir, '--patients', file)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const why = 'death is defined for patients with type 2 diabetes (a diagnosis code starting with E11)';
    expect(rows.find((r) => r.patient_id === 'b-no-e11' && r.task === 'death')).toEqual({ patient_id: 'b-no-e11', task: 'death', logit: null, probability: null, outside: why });
    expect(typeof rows.find((r) => r.patient_id === 'a' && r.task === 'death').logit).toBe('number');
    const lines = (await cli('attribute', '--model', popDir, '--patients', file, '--task', 'death', '--method', 'occlusion')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.patientId)).toEqual(['a', 'b-no-e11']);
    expect(lines[0].method).toBe('occlusion');
    expect(lines[1]).toEqual({ model: 'model-pop', patientId: 'b-no-e11', task: 'death', outside: why });
    await expect(cli('attribute', '--model', popDir, '--patients', file, '--id', 'b-no-e11', '--task', 'death', '--method', 'occlusion')).rejects.toMatchObject({
      stderr: expect.stringMatching(/patient b-no-e11: death is defined for patients with type 2 diabetes/),
    });
  });
  it('bad input: a clear message naming the file and line, exit code non-zero', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify(tinyPatients()[0]) + '\n{"id": "x", "sex": "F", "birthDate": "1950-13-01", "visits": []}\n');
    await expect(cli('predict', '--model', modelDir, '--patients', bad)).rejects.toMatchObject({ stderr: expect.stringMatching(/bad.jsonl line 2: patient x, field birthDate/) });
    await expect(cli('predict', '--patients', bad)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/missing --model/) });
    await expect(cli('predict', '--model', join(dir, 'nope'), '--patients', patientsFile)).rejects.toMatchObject({ stderr: expect.stringMatching(/nope: cannot open model folder/) });
    await expect(cli('attribute', '--model', modelDir, '--patients', patientsFile, '--task', 'nope', '--method', 'gxi')).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown task "nope"/) });
    // training options are checked before any work starts
    await expect(cli('train', '--out', join(dir, 'never'), '--targets', 'soft')).rejects.toMatchObject({ stderr: expect.stringMatching(/--targets must be labels or planted, not soft/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--drop-codes', 'abc')).rejects.toMatchObject({ stderr: expect.stringMatching(/--drop-codes must be a probability between 0 and 1, not abc/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--truncate', '2')).rejects.toMatchObject({ stderr: expect.stringMatching(/--truncate must be a probability between 0 and 1, not 2/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--death-population', 'adults')).rejects.toMatchObject({ stderr: expect.stringMatching(/--death-population must be all or cancer, not adults/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--shuffle-series', '2')).rejects.toMatchObject({ stderr: expect.stringMatching(/--shuffle-series must be a probability between 0 and 1, not 2/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--patience', 'abc')).rejects.toMatchObject({ stderr: expect.stringMatching(/--patience must be a whole number of epochs, 1 or more, not abc/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--last-value', 'maybe')).rejects.toMatchObject({ stderr: expect.stringMatching(/--last-value must be yes or no, not maybe/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--epochs', '0')).rejects.toMatchObject({ stderr: expect.stringMatching(/--epochs must be a whole number of epochs, 1 or more, not 0/) });
    await expect(cli('train', '--out', join(dir, 'never'), '--swap-values', '1.5')).rejects.toMatchObject({ stderr: expect.stringMatching(/--swap-values must be a probability between 0 and 1, not 1.5/) });
  });
});
