// npm run bench: expected gradients (128 samples) on the shipped model for a 256-token patient,
// on tfjs cpu and wasm in Node and on the PyTorch reference (same references, same alphas); then
// the Chromium runs (bench/browser.mjs: EG in the page's worker, the 1,000-patient cohort view) and
// the workbench view (bench/workbench.mjs).
// Prints a table; results are recorded by hand in BENCHMARKS.md with the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { attribute } from '../src/attribution';
import { parseReferenceSet, referenceGrids } from '../src/attribution/reference';
import { stressPatient } from '../src/app/timeline/stress';
import { useBackend } from '../src/cli/node-tf';
import { parsePatientsText } from '../src/data/schema';
import { loadModelFromDir } from '../src/model/folder-node';
import { disposeModel, instantiate } from '../src/model/runtime';
import { tokenize } from '../src/tokens/layout';
import { patientOfLength, torchBenchInputs } from './patient256';

const MODEL = process.env.BENCH_MODEL ?? 'public/models/exbehrt';
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 128);
const TASK = 'hf_12m';
const folder = await loadModelFromDir(MODEL);
const cohort = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'public/cohort/patients.jsonl');
const longest = cohort.reduce((a, b) => (tokenize(b, folder.vocab, folder.config).realLength > tokenize(a, folder.vocab, folder.config).realLength ? b : a));
const patient = patientOfLength(longest, folder);
const grid = tokenize(patient, folder.vocab, folder.config);
const reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
console.log(`model ${MODEL} (H=${folder.config.hidden_size}, N=${folder.config.num_hidden_layers}), patient ${grid.realLength} tokens, EG ${SAMPLES} samples, ${reference.length} references, ${cpus().length} x ${cpus()[0].model}`);

// gap: the plain mean's (the same samples in every implementation, so it checks they agree); cvGap: the engine's estimate's
const rows: Array<{ impl: string; seconds: number; first: number; gap: number; cvGap: number }> = [];
for (const backend of (process.env.BENCH_BACKENDS ?? 'wasm,cpu').split(',').filter(Boolean)) {
  await useBackend(backend);
  const model = instantiate(folder);
  // warm-up: kernels compile / wasm pages grow on the first call
  await attribute(model, { patient, task: TASK, method: 'eg', reference, samples: 8, seed: 1 });
  const t0 = performance.now();
  let first = NaN;
  const r = await attribute(model, {
    patient, task: TASK, method: 'eg', reference, samples: SAMPLES, seed: 0,
    onProgress: () => (first = Number.isNaN(first) ? (performance.now() - t0) / 1000 : first),
  });
  rows.push({ impl: `tfjs ${backend} (Node)`, seconds: (performance.now() - t0) / 1000, first, gap: r.plainGap, cvGap: r.gap });
  disposeModel(model);
  console.log(JSON.stringify(rows[rows.length - 1]), 'tensors', tf.memory().numTensors);
}

// PyTorch reference on the same machine, same grid, references and alphas
const dir = mkdtempSync(join(tmpdir(), 'exbehrt-bench-'));
writeFileSync(join(dir, 'inputs.json'), torchBenchInputs(grid, reference, folder.config, SAMPLES, TASK));
try {
  const out = execFileSync('/usr/bin/python3', ['tools/reference/bench_eg.py', MODEL, join(dir, 'inputs.json')], { encoding: 'utf8' });
  const py = JSON.parse(out.trim().split('\n').pop()!);
  rows.push({ impl: `PyTorch ${py.torch} (CPU, ${py.threads} threads, float32)`, seconds: py.seconds, first: NaN, gap: py.gap, cvGap: NaN });
} catch (e) {
  console.log('PyTorch reference not run:', (e as Error).message.split('\n')[0]);
}
// Chromium: the built app's worker, wasm and WebGPU (lines echoed as each run ends)
writeFileSync(join(dir, 'patient.json'), JSON.stringify(patient));
const browserOut = spawnSync(process.execPath, ['bench/browser.mjs', join(dir, 'patient.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_SAMPLES: String(SAMPLES) } });
const cohortLines: string[] = [];
for (const line of (browserOut.stdout ?? '').trim().split('\n').filter(Boolean)) {
  const r = JSON.parse(line);
  // the cohort view's 1,000-patient run is not an EG row: printed after the table
  if (r.measure) {
    cohortLines.push(line);
    continue;
  }
  rows.push({ impl: `${r.impl}, ${r.samples} samples [backend ${r.backend}; first prediction on screen ${r.firstPrediction.toFixed(2)} s; main-thread long tasks > 50 ms: ${r.longTasksOver50ms}]`, seconds: r.seconds, first: r.first, gap: r.plainGap, cvGap: r.gap });
}
if (browserOut.status !== 0) console.log(`Chromium benchmark failed (exit ${browserOut.status})`);
const torch = rows.find((r) => r.impl.startsWith('PyTorch'));
console.log('\n| implementation | EG seconds | first estimate (s) | ratio to PyTorch | gap of the plain mean | gap (control variate) |\n|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.impl} | ${r.seconds.toFixed(2)} | ${Number.isNaN(r.first) ? '-' : r.first.toFixed(2)} | ${torch ? (r.seconds / torch.seconds).toFixed(2) : '-'} | ${r.gap.toExponential(2)} | ${Number.isNaN(r.cvGap) ? '-' : r.cvGap.toExponential(2)} |`);

if (cohortLines.length) console.log('\ncohort view (Chromium worker, wasm; predictions + representations, UMAP, k-means):\n' + cohortLines.join('\n'));

// The workbench view in Chromium: timeline render and zoom frames, long tasks during Explain, bundle size
// and the long patient it opens from the workbench's list: the timeline's 2,000-event stress fixture
writeFileSync(join(dir, 'long-patient.json'), JSON.stringify(stressPatient(2000).patient));
const view = spawnSync(process.execPath, ['bench/workbench.mjs', join(dir, 'patient.json'), join(dir, 'long-patient.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_SAMPLES: String(SAMPLES) } });
console.log('\nworkbench view (Chromium):');
for (const line of (view.stdout ?? '').trim().split('\n').filter(Boolean)) console.log(line);
if (view.status !== 0) console.log(`workbench benchmark failed (exit ${view.status})`);
