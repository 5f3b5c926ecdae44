// Soak: 100 consecutive expected-gradients runs on the shipped ExBEHRT (wasm backend, as the CLI
// and the worker without WebGPU), every third cancelled through its AbortSignal at the first
// progress report, as the page's Cancel does. Nothing may accumulate: the tensor count and the
// bytes tfjs tracks are identical before and after, and the wasm heap (which never shrinks) does
// not grow after the warm-up. The Chromium counterpart is bench/soak.mjs.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/attribution';
import { parseReferenceSet, referenceGrids } from '../../src/attribution/reference';
import { useBackend } from '../../src/cli/node-tf';
import { parsePatientsText } from '../../src/data/schema';
import { isCancerPatient } from '../../src/data/synthetic';
import { loadModelFromDir } from '../../src/model/folder-node';
import { disposeModel, instantiate, type LoadedModel } from '../../src/model/runtime';

const RUNS = Number(process.env.SOAK_RUNS ?? 100);
const SAMPLES = 8;
const BATCH = 4;
let model: LoadedModel;
let reference: ReturnType<typeof referenceGrids>;
const patients = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'patients.jsonl');
const cancer = patients.filter(isCancerPatient);

/** the wasm module's linear memory (grows, never shrinks): what a leak inside kernels would show */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

beforeAll(async () => {
  await useBackend('wasm');
  const folder = await loadModelFromDir('public/models/exbehrt');
  model = instantiate(folder);
  reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
});
afterAll(() => disposeModel(model));

describe('soak', { timeout: 120_000 }, () => {
  it(`${RUNS} attributions, every third cancelled: tensors, bytes and the wasm heap stay flat`, async () => {
    // death_6m on cancer patients (its population), hf_12m on anyone
    const job = (i: number) => ({ patient: i % 2 ? cancer[i % 20] : patients[i % 20], task: i % 2 ? 'death_6m' : 'hf_12m', method: 'eg' as const, reference, samples: SAMPLES, batchSize: BATCH, seed: i });
    // warm-up: one pass over the 20 patient/task pairs the loop cycles through sizes the wasm heap
    // for the longest of them (measured: with a 3-run warm-up the heap grew once, 20.2 -> 29.1 MB,
    // at the first longer patient, then stayed flat for the remaining 88 runs)
    for (let i = 0; i < 20; i++) await attribute(model, job(i));
    const before = { ...tf.memory(), heap: wasmHeapBytes() };
    const t0 = performance.now();
    let cancelled = 0;
    let finished = 0;
    const trace: Array<{ i: number; numTensors: number; numBytes: number; heap: number | null }> = [];
    for (let i = 0; i < RUNS; i++) {
      const cancel = i % 3 === 2;
      const ctl = new AbortController();
      const r = await attribute(model, { ...job(i), signal: ctl.signal, onProgress: cancel ? () => ctl.abort() : undefined });
      if (cancel) {
        expect(r.cancelled, `run ${i}`).toBe(true);
        expect(r.samplesDone).toBe(BATCH);
        cancelled++;
      } else {
        expect(r.done, `run ${i}`).toBe(true);
        expect(r.samplesDone).toBe(SAMPLES);
        finished++;
      }
      const m = tf.memory();
      trace.push({ i, numTensors: m.numTensors, numBytes: m.numBytes, heap: wasmHeapBytes() });
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = { ...tf.memory(), heap: wasmHeapBytes() };
    console.log(
      JSON.stringify({
        soak: 'node wasm, shipped exbehrt',
        runs: RUNS, finished, cancelled, samples: SAMPLES, batchSize: BATCH, seconds: +seconds.toFixed(1),
        numTensors: [before.numTensors, after.numTensors], numBytes: [before.numBytes, after.numBytes], wasmHeapBytes: [before.heap, after.heap],
        maxNumTensors: Math.max(...trace.map((t) => t.numTensors)),
        heapTrace: trace.filter((t, k) => k === 0 || t.heap !== trace[k - 1].heap).map((t) => [t.i, t.heap]),
      }),
    );
    expect(cancelled).toBe(Math.floor(RUNS / 3));
    // every run (finished or cancelled) frees every tensor it made
    for (const t of trace) expect(t.numTensors, `after run ${t.i}`).toBe(before.numTensors);
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    // the wasm heap is sized by the warm-up: no growth at all over the runs
    if (before.heap !== null) expect(after.heap).toBe(before.heap);
  });
});
