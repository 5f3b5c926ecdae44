// EG on WebGPU through Dawn in Node, for a machine with a GPU (see BENCHMARKS.md for how it was run):
// bundle with esbuild, set WEBGPU_MODULE to the `webgpu` npm package's index.js, pass a folder holding
// exbehrt/ (the model) and patient.json.
import { readFileSync } from 'node:fs';
const dir = process.argv[2];
const { create, globals } = await import(process.env.WEBGPU_MODULE!);
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
const tf = await import('@tensorflow/tfjs');
const { selectBackend } = await import('../src/backend'); // patches the webgpu AddN kernel
const { attribute } = await import('../src/attribution');
const { parseReferenceSet, referenceGrids } = await import('../src/attribution/reference');
const { loadModelFromDir } = await import('../src/model/folder-node');
const { instantiate } = await import('../src/model/runtime');
const adapter = await (globalThis as any).navigator.gpu.requestAdapter();
console.log('adapter', JSON.stringify(adapter?.info ?? {}));
console.log('backend', await selectBackend('webgpu'), tf.getBackend());
const folder = await loadModelFromDir(dir + '/exbehrt');
const patient = JSON.parse(readFileSync(dir + '/patient.json', 'utf8'));
const m = instantiate(folder);
const reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
for (const samples of [8, 128, 128]) {
  const t0 = performance.now();
  let first = NaN;
  const r = await attribute(m, { patient, task: 'hf_12m', method: 'eg', reference, samples, seed: samples === 8 ? 1 : 0, onProgress: () => { if (Number.isNaN(first)) first = performance.now() - t0; } });
  console.log(JSON.stringify({ samples, seconds: (performance.now() - t0) / 1000, first: first / 1000, gap: r.gap, plainGap: r.plainGap, logit: r.logit, tokens: r.token.diagnosis.length }));
}
process.exit(0);
