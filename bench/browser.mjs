// Chromium part of `npm run bench`: EG (128 samples) for the same 256-token patient in the built
// app's worker, on wasm and on WebGPU (SwiftShader without a GPU), and the time from navigation
// to the first prediction on screen; then the cohort view's engine on 1,000 synthetic patients
// (generateCohort n 1000 seed 11, as bench/cohort.ts) in the page's worker on wasm: predictions +
// pooled representations, UMAP and k-means. Needs `vite build` first (npm run bench does it).
// usage: node bench/browser.mjs <patient.json> [cohort.jsonl]  -> prints one JSON line per run
//   BENCH_BROWSER_RUNS=wasm,webgpu,cohort picks runs; without cohort.jsonl the patients are generated
//   (BENCH_COHORT_N, default 1000)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startPreview } from './preview.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const wanted = (name) => !process.env.BENCH_BROWSER_RUNS || process.env.BENCH_BROWSER_RUNS.split(',').includes(name);
const samples = Number(process.env.BENCH_SAMPLES ?? 128);
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const server = await startPreview();
const { origin } = server;
try {
  // SwiftShader emulates a GPU on the CPU: correct, not fast; it gets fewer samples (stated per row)
  const runs = [
    { name: 'wasm', flags: [], query: '?backend=wasm', samples },
    { name: 'webgpu (SwiftShader)', flags: ['--enable-unsafe-webgpu'], query: '', samples: Number(process.env.BENCH_WEBGPU_SAMPLES ?? 16) },
  ].filter((r) => wanted(r.name.split(' ')[0]));
  const patient = runs.length ? JSON.parse(readFileSync(process.argv[2], 'utf8')) : null;
  for (const run of runs) {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...run.flags] });
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(600_000);
    // first visit fills the HTTP cache; the second navigation is the "model cached" case
    await page.goto(origin + '/' + run.query);
    await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
    const t0 = Date.now();
    await page.goto(origin + '/' + run.query);
    await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
    const firstPrediction = (Date.now() - t0) / 1000;
    const out = await page.evaluate(async ({ patient, samples }) => {
      const { engine, proxy } = globalThis.exbehrt;
      const job = { patient, task: 'hf_12m', method: 'eg', samples: 8, seed: 1 };
      await engine.attribute('warm', 'exbehrt', job); // warm-up: shader compilation, wasm growth
      // long tasks on the main thread while the worker computes
      const longTasks = [];
      const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration)));
      obs.observe({ entryTypes: ['longtask'] });
      const t0 = performance.now();
      let first = null;
      const r = await engine.attribute('bench', 'exbehrt', { ...job, samples, seed: 0 }, proxy(() => (first ??= performance.now() - t0)));
      obs.disconnect();
      return { seconds: (performance.now() - t0) / 1000, first: first / 1000, gap: r.result.gap, plainGap: r.result.plainGap, backend: r.backend, tokens: r.result.token.diagnosis.length, longTasksOver50ms: longTasks.filter((d) => d > 50).length };
    }, { patient, samples: run.samples });
    console.log(JSON.stringify({ impl: `tfjs ${run.name} (Chromium worker)`, samples: run.samples, firstPrediction, ...out }));
    await browser.close();
  }
  if (wanted('cohort')) console.log(JSON.stringify(await cohortBench(origin, process.argv[3])));
} finally {
  server.stop();
}

/** The cohort view's engine on n synthetic patients in the page's worker (wasm), called as the
 *  Cohort panel calls it: predictions + pooled [CLS] representations in batches, then the seeded
 *  UMAP and k-means (k 4) on it; then DBSCAN on the cached representations and projection. */
async function cohortBench(origin, file) {
  const n = Number(process.env.BENCH_COHORT_N ?? 1000);
  let tmp = null;
  if (!file) {
    tmp = mkdtempSync(join(tmpdir(), 'exbehrt-bench-cohort-'));
    file = join(tmp, 'cohort.jsonl');
    const gen = spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'bench/cohort-patients.ts'), file, String(n), '11'], { cwd: ROOT, encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`generating the cohort failed: ${gen.stderr}`);
  }
  const text = readFileSync(file, 'utf8');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(900_000);
    await page.goto(origin + '/?backend=wasm');
    await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
    // the page's own warm-up (bundled cohort and reference risks) shares the worker: let it finish
    const idle = () => page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent?.startsWith('Ready.'));
    await idle();
    await page.waitForTimeout(1000);
    await idle();
    const loadBefore = loadavg()[0];
    const r = await page.evaluate(async (text) => {
      const { engine, proxy } = globalThis.exbehrt;
      const patients = text.trim().split('\n').map((l) => JSON.parse(l));
      // warm-up on a few patients (kernels, wasm memory growth), not timed
      await engine.cohort('bench-cohort-warm', 'exbehrt', { patients: patients.slice(0, 16), method: 'kmeans', k: 2, seed: 0 });
      const longTasks = [];
      const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration)));
      obs.observe({ entryTypes: ['longtask'] });
      const stageStart = {};
      const t0 = performance.now();
      const out = await engine.cohort('bench-cohort', 'exbehrt', { patients, method: 'kmeans', k: 4, seed: 0 }, proxy((stage) => (stageStart[stage] ??= performance.now() - t0)));
      const seconds = (performance.now() - t0) / 1000;
      obs.disconnect();
      const t1 = performance.now();
      const db = await engine.cohort('bench-cohort-dbscan', 'exbehrt', { patients, method: 'dbscan', minPts: 10, seed: 0 });
      const dbscanSeconds = (performance.now() - t1) / 1000;
      return {
        patients: out.ids.length,
        seconds,
        // the worker's own timings: representMs covers predictions and representations (one pass)
        representationsMs: out.timings.representMs,
        umapMs: out.timings.umapMs,
        kmeansMs: out.timings.clusterMs,
        summariesMs: out.timings.summaryMs,
        firstUmapProgressMs: stageStart.umap ?? null,
        kmeansSizes: out.summary.clusters.map((c) => c.size),
        dbscan: { seconds: dbscanSeconds, clusterMs: db.timings.clusterMs, clusters: db.summary.clusters.filter((c) => c.cluster >= 0).length, noise: db.labels.filter((l) => l < 0).length },
        backend: await engine.backend(),
        longTasksOver50ms: longTasks.filter((d) => d > 50).length,
      };
    }, text);
    return { measure: 'cohort in Chromium', seed: 11, ...r, loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0], cpus: cpus().length, cpu: cpus()[0]?.model };
  } finally {
    await browser.close();
  }
}
