// Chromium part of `npm run bench`: EG (128 samples) for the same 256-token patient in the built
// app's worker, on wasm and on WebGPU (SwiftShader without a GPU), and the time from navigation
// to the first prediction on screen. Needs `vite build` first (npm run bench does it).
// usage: node bench/browser.mjs <patient.json>  -> prints one JSON line per run
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPreview } from './preview.mjs';

const patient = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const samples = Number(process.env.BENCH_SAMPLES ?? 128);
const server = await startPreview();
const { origin } = server;
try {
  // SwiftShader emulates a GPU on the CPU: correct, not fast; it gets fewer samples (stated per row)
  const runs = [
    { name: 'wasm', flags: [], query: '?backend=wasm', samples },
    { name: 'webgpu (SwiftShader)', flags: ['--enable-unsafe-webgpu'], query: '', samples: Number(process.env.BENCH_WEBGPU_SAMPLES ?? 16) },
  ].filter((r) => !process.env.BENCH_BROWSER_RUNS || process.env.BENCH_BROWSER_RUNS.split(',').includes(r.name.split(' ')[0]));
  for (const run of runs) {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', ...run.flags],
    });
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
      return { seconds: (performance.now() - t0) / 1000, first: first / 1000, gap: r.result.gap, backend: r.backend, tokens: r.result.token.diagnosis.length, longTasksOver50ms: longTasks.filter((d) => d > 50).length };
    }, { patient, samples: run.samples });
    console.log(JSON.stringify({ impl: `tfjs ${run.name} (Chromium worker)`, samples: run.samples, firstPrediction, ...out }));
    await browser.close();
  }
} finally {
  server.stop();
}
