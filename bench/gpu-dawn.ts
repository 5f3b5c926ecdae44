// EG on WebGPU through Dawn in Node, for a machine with a GPU: bench/gpu-prepare.sh bundles it
// (with the `webgpu` npm package, whose index.js WEBGPU_MODULE names), bench/gpu-run.sh runs it
// there from the repository root (the shipped model and the sample cohort are read from public/).
// Prints one JSON line per measurement:
// - `eg`: the engine's EG (128 samples, 256-token patient, hf_12m, seed 0) as the engine batches it
//   and with fixed batch sizes, with tfjs-webgpu's submit batching changed, and with tfjs's own
//   Sum/Mean gradients (before src/model/gradients.ts); each twice (the first run of a new batch
//   shape compiles its shaders); the times of every progress report;
// - `batch`: one batch taken apart: the synchronous part (JS building the graph and encoding the
//   dispatches), the wait for the read-back, the number of kernels, and (where the adapter has
//   timestamp queries) the GPU's kernel time;
// - `agree`: the largest difference between configurations' token attributions (same draws).
// GPU_BENCH_ONLY=name,name runs a subset (`anatomy` for the batch anatomy); DAWN_FLAGS passes
// space-separated flags to Dawn's create() (e.g. enable-dawn-features=allow_unsafe_apis).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs'; // types only: tfjs loads after navigator.gpu is set
const { create, globals } = await import(process.env.WEBGPU_MODULE!);
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create((process.env.DAWN_FLAGS ?? '').split(' ').filter(Boolean)) }, configurable: true });
const tf = await import('@tensorflow/tfjs');
const { selectBackend } = await import('../src/backend'); // patches the webgpu AddN kernel
const { attribute } = await import('../src/attribution');
const { activeGpuLimits, batchPlan } = await import('../src/attribution/path');
const { parseReferenceSet, referenceGrids } = await import('../src/attribution/reference');
const { loadModelFromDir } = await import('../src/model/folder-node');
const { instantiate } = await import('../src/model/runtime');
const { embeddingParts, encode, partNames } = await import('../src/model/exbehrt');
const { parsePatientsText } = await import('../src/data/schema');
const { stackGrids, tokenize } = await import('../src/tokens/layout');
const { patientOfLength, torchBenchInputs } = await import('./patient256');

const out = (o: object) => console.log(JSON.stringify(o));
const adapter = await (globalThis as any).navigator.gpu.requestAdapter();
const lim = adapter?.limits ?? {};
out({ adapter: adapter?.info ?? {}, features: [...(adapter?.features ?? [])], maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize, maxBufferSize: lim.maxBufferSize });
const backend = await selectBackend('webgpu');
out({ backend, tf: tf.getBackend() });
if (backend !== 'webgpu') {
  console.error('no WebGPU adapter: nothing to measure');
  process.exit(1);
}
const TASK = 'hf_12m';
const folder = await loadModelFromDir('public/models/exbehrt');
const cohort = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'public/cohort/patients.jsonl');
const len = (p: (typeof cohort)[number]) => tokenize(p, folder.vocab, folder.config).realLength;
const patient = patientOfLength(cohort.reduce((a, b) => (len(b) > len(a) ? b : a)), folder);
const grid = tokenize(patient, folder.vocab, folder.config);
const L = grid.realLength;
const model = instantiate(folder);
const reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
out({ tokens: L, references: reference.length, gpuLimits: activeGpuLimits(), plan: batchPlan(L, folder.config, activeGpuLimits()) });
// the PyTorch reference's input for the same EG (BENCH_TORCH_INPUTS=path: run bench_eg.py on it after)
if (process.env.BENCH_TORCH_INPUTS) writeFileSync(process.env.BENCH_TORCH_INPUTS, torchBenchInputs(grid, reference, folder.config, 128, TASK));

const only = (process.env.GPU_BENCH_ONLY ?? '').split(',').filter(Boolean);
const selected = (name: string) => !only.length || only.includes(name);
const results = new Map<string, Record<string, number[]>>();
/** tfjs 4.22's own Sum and Mean gradients (dy times a ones tensor built on the CPU), for comparison
 *  with src/model/gradients.ts; on = false puts ours back. */
function tfjsReductionGradients(on: boolean) {
  for (const kernelName of ['Sum', 'Mean']) {
    const ours = (saved[kernelName] ??= tf.getGradient(kernelName)!);
    if (!on) {
      tf.registerGradient(ours);
      continue;
    }
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs) => {
        const axes = tf.util.parseAxisParam((attrs as { axis?: number | number[] }).axis ?? x.shape.map((_, i) => i), x.shape);
        const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const n = axes.reduce((p, a) => p * x.shape[a], 1);
        const g = tf.mul(tf.reshape(dy as Tensor, shape), tf.ones(x.shape, 'float32'));
        return { x: () => (kernelName === 'Mean' ? tf.div(g, n) : g) };
      },
    });
  }
}
const saved: Record<string, ReturnType<typeof tf.getGradient>> = {};

async function eg(name: string, batchSize: number | undefined, submit: number, tfjsGrads = false, samples = 128) {
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', submit);
  tfjsReductionGradients(tfjsGrads);
  for (const round of [1, 2]) {
    const t0 = performance.now();
    const reports: number[] = [];
    const r = await attribute(model, { patient, task: TASK, method: 'eg', reference, samples, seed: 0, batchSize, onProgress: (p) => reports.push(+((performance.now() - t0) / 1000).toFixed(3), p.samplesDone) });
    const seconds = (performance.now() - t0) / 1000;
    out({ eg: name, round, batchSize: batchSize ?? 'engine', submit, tfjsGrads, samples, seconds: +seconds.toFixed(3), first: reports[0], reports, gap: r.gap, plainGap: r.plainGap, numTensors: tf.memory().numTensors });
    results.set(name, r.token);
  }
}

/** One batch of k samples taken apart, the way pathAttribution runs it. */
async function anatomy(k: number, submit: number) {
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', submit);
  const w = model.weights;
  const c = folder.config;
  const parts = partNames(c);
  const x = stackGrids([grid], c, L);
  const xParts = embeddingParts(w, c, x);
  const mask = tf.tensor2d(x.attentionMask, [1, L]);
  const refs = stackGrids(Array.from({ length: k }, (_, i) => reference[i % reference.length]), c, L);
  const build = (backward: boolean) =>
    tf.tidy(() => {
      const rParts = embeddingParts(w, c, refs);
      const alpha = tf.tensor1d(Array.from({ length: k }, (_, i) => (i + 0.5) / k)).reshape([k, 1, 1]);
      const maskK = tf.tile(mask, [k, 1]) as Tensor2D;
      const diff = parts.map((p) => tf.sub(xParts[p], rParts[p]));
      const interp = parts.map((p, i) => tf.add(rParts[p], tf.mul(alpha, diff[i])));
      const f = (...ps: Tensor[]) => tf.sum(encode(w, c, Object.fromEntries(parts.map((p, i) => [p, ps[i] as Tensor3D])), maskK).logits[TASK].slice([0, 0], [k, 1]));
      if (!backward) return f(...interp);
      const grads = tf.grads(f)(interp);
      return tf.concat(parts.map((_, i) => tf.sum(tf.mul(diff[i], grads[i]), -1).flatten()));
    });
  for (const backward of [false, true]) {
    const runs: Array<{ syncMs: number; waitMs: number }> = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const t = build(backward);
      const t1 = performance.now();
      await t.data();
      runs.push({ syncMs: +(t1 - t0).toFixed(1), waitMs: +(performance.now() - t1).toFixed(1) });
      t.dispose();
    }
    const prof = await tf.profile(async () => {
      const t = build(backward);
      await t.data();
      t.dispose();
    });
    const names: Record<string, number> = {};
    for (const kk of prof.kernels) names[kk.name] = (names[kk.name] ?? 0) + 1;
    let kernelMs: number | string = 'n/a';
    try {
      const tm = await tf.time(() => {
        build(backward).dispose();
      });
      kernelMs = typeof tm.kernelMs === 'number' ? +tm.kernelMs.toFixed(2) : String((tm.kernelMs as { error?: string }).error ?? tm.kernelMs);
    } catch (e) {
      kernelMs = (e as Error).message;
    }
    const top = Object.entries(names).sort((a, b) => b[1] - a[1]).slice(0, 12);
    out({ batch: k, backward, submit, runs, kernels: prof.kernels.length, kernelMs, top });
  }
  tf.dispose([...Object.values(xParts), mask]);
}

const configs: Array<[string, number | undefined, number, boolean]> = [
  ['engine', undefined, 15, false],
  ['engine-tfjs-grads', undefined, 15, true],
  ['b16', 16, 15, false],
  ['b16-tfjs-grads', 16, 15, true],
  ['b64', 64, 15, false],
  ['engine-s1000', undefined, 1000, false],
];
// warm-up: the first kernels compile
await attribute(model, { patient, task: TASK, method: 'eg', reference, samples: 8, seed: 1 });
if (selected('anatomy')) for (const k of [16, 128]) await anatomy(k, 15);
for (const [name, b, s, g] of configs) if (selected(name)) await eg(name, b, s, g);
const base = results.get('engine');
if (base)
  for (const [name, r] of results) {
    let d = 0;
    for (const p of Object.keys(base)) for (let i = 0; i < base[p].length; i++) d = Math.max(d, Math.abs(base[p][i] - r[p][i]));
    out({ agree: name, maxAbsDiffVsEngine: d });
  }
process.exit(0);
