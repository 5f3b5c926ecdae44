// Per-batch times of EG in the page's worker on WebGPU (SwiftShader on a machine without a GPU):
// `npx vite build && B=4 S=12 node bench/webgpu-batches.mjs` prints when each batch's progress arrived.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startPreview } from './preview.mjs';
const server = await startPreview();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu'] });
try {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(600_000);
  await page.goto(server.origin + '/');
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.textContent === 'WebGPU');
  await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
  const patient = JSON.parse(readFileSync('public/cohort/patients.jsonl', 'utf8').split('\n')[1]);
  const out = await page.evaluate(async ({ patient, B, S }) => {
    const { engine, proxy } = globalThis.exbehrt;
    const t0 = performance.now();
    const ts = [];
    await engine.attribute('x', 'exbehrt', { patient, task: 'hf_12m', method: 'eg', samples: S, seed: 3, batchSize: B }, proxy((p) => ts.push(Math.round(performance.now() - t0))));
    return ts;
  }, { patient, B: Number(process.env.B ?? 4), S: Number(process.env.S ?? 12) });
  console.log('progress at ms', JSON.stringify(out));
} finally {
  await browser.close();
  server.stop();
}
