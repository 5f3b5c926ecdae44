// Soak benchmark in Chromium (the counterpart of tests/unit/soak.test.ts): 100 consecutive
// expected-gradients runs in the built app's engine worker (wasm backend), every third (4x longer)
// cancelled with engine.cancel() at its first progress report, as the page's Cancel button does.
// Records the worker's tfjs memory (engine.memory(): live tensors and bytes) and the page's JS heap
// (performance.memory, after a forced GC) after each run, and prints one JSON line.
// usage: npx vite build && node bench/soak.mjs
//   SOAK_DIST=<dir>   serve another build folder (vite build --outDir <dir>); default dist
//   SOAK_RUNS=100, SOAK_SAMPLES=8, SOAK_BATCH=4
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startPreview } from './preview.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env.SOAK_RUNS ?? 100);
const samples = Number(process.env.SOAK_SAMPLES ?? 8);
const batchSize = Number(process.env.SOAK_BATCH ?? 4);
const dist = process.env.SOAK_DIST ?? 'dist';
const patients = readFileSync(join(ROOT, 'public/cohort/patients.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .slice(0, 20)
  .map((l) => JSON.parse(l));
const server = await startPreview({ outDir: dist });
const { origin } = server;
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
      // gc() before each heap reading, and heap sizes that are not bucketed
      '--js-flags=--expose-gc', '--enable-precise-memory-info',
    ],
  });
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(600_000);
  await page.goto(origin + '/?backend=wasm');
  // the shipped model is loaded and a prediction is on screen
  await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
  const out = await page.evaluate(
    async ({ patients, runs, samples, batchSize }) => {
      const { engine, proxy } = globalThis.exbehrt;
      // a job to cancel is 4x longer: a cancel crosses two message hops, and a two-batch job can
      // finish before it lands
      const job = (i, cancel = false) => ({ patient: patients[i % patients.length], task: i % 2 ? 'death_6m' : 'hf_12m', method: 'eg', samples: cancel ? 4 * samples : samples, batchSize, seed: i });
      const heap = () => {
        globalThis.gc?.();
        return performance.memory?.usedJSHeapSize ?? null;
      };
      // warm-up: one pass over the patient/task pairs (sizes the wasm heap for the longest)
      for (let i = 0; i < patients.length; i++) await engine.attribute(`warm-${i}`, 'exbehrt', job(i));
      const first = { ...(await engine.memory()), pageHeap: heap() };
      const trace = [];
      let cancelled = 0;
      let finished = 0;
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) {
        const id = `soak-${i}`;
        const cancel = i % 3 === 2;
        let asked = false;
        const onProgress = proxy(() => {
          if (cancel && !asked) {
            asked = true;
            void engine.cancel(id);
          }
        });
        const r = await engine.attribute(id, 'exbehrt', job(i, cancel), onProgress);
        onProgress[Symbol.for('comlink.releaseProxy')]?.();
        if (r.result.cancelled) cancelled++;
        else if (r.result.done) finished++;
        trace.push({ i, ...(await engine.memory()), pageHeap: heap(), cancelled: r.result.cancelled, samplesDone: r.result.samplesDone });
      }
      const seconds = (performance.now() - t0) / 1000;
      const last = trace[trace.length - 1];
      return {
        backend: await engine.backend(),
        seconds,
        finished,
        cancelled,
        cancelRequested: trace.filter((t, k) => k % 3 === 2).length,
        cancelledAt: [...new Set(trace.filter((t) => t.cancelled).map((t) => t.samplesDone))],
        numTensors: { first: first.numTensors, last: last.numTensors, max: Math.max(...trace.map((t) => t.numTensors)), min: Math.min(...trace.map((t) => t.numTensors)) },
        numBytes: { first: first.numBytes, last: last.numBytes, max: Math.max(...trace.map((t) => t.numBytes)) },
        pageHeapBytes: { first: first.pageHeap, last: last.pageHeap, max: Math.max(...trace.map((t) => t.pageHeap ?? 0)) },
      };
    },
    { patients, runs, samples, batchSize },
  );
  console.log(JSON.stringify({ bench: 'soak (Chromium worker)', runs, samples, batchSize, ...out, seconds: +out.seconds.toFixed(1) }));
  const flat = out.numTensors.first === out.numTensors.last && out.numTensors.max === out.numTensors.first && out.numBytes.first === out.numBytes.last;
  if (!flat) {
    console.error('soak: the worker\'s tensor count or bytes changed over the runs');
    process.exitCode = 1;
  }
} finally {
  await browser?.close();
  server.stop();
}
