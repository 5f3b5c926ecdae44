// Chromium part of `npm run bench` for the workbench view (issue 4): the 2,000-event timeline's
// first render and zoom frames, main-thread long tasks during a 128-sample EG run from the page's
// Explain button (timeline refining live), and the JS bundle size. Needs `vite build` first.
// usage: node bench/workbench.mjs <patient.json> [<long patient.json>]  -> one JSON line per measurement
// (the long patient, e.g. 2,000 events as `npm run bench` writes it, is opened from the workbench's patient list)
// BENCH_VIEW=timeline,open,import,explain (default all) picks the parts; BENCH_TIMELINE_MODES=warm,remount,cold (default all) the timeline's cases;
// BENCH_TIMELINE_RUNS (default 5), BENCH_OPEN_RUNS (default 3) and BENCH_EXPLAIN_RUNS (default 3): how many fresh pages each case is
// measured on (a frame's work moves by 2x between identical runs on a small machine); BENCH_DIST=<folder> serves another build
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startPreview } from './preview.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const patientFile = process.argv[2];
const samples = Number(process.env.BENCH_SAMPLES ?? 128);
const events = Number(process.env.BENCH_TIMELINE_EVENTS ?? 2000);
const out = (o) => console.log(JSON.stringify(o));
const view = (part) => (process.env.BENCH_VIEW ?? 'timeline,open,import,explain').split(',').includes(part);
const quantile = (xs, q) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

// bundle: the page's and the worker's JavaScript (no model weights; wasm binaries listed apart)
const assets = join(process.env.BENCH_DIST ?? join(ROOT, 'dist'), 'assets');
const files = readdirSync(assets).map((f) => ({ f, bytes: statSync(join(assets, f)).size, gz: gzipSync(readFileSync(join(assets, f))).length }));
const sum = (xs) => xs.reduce((s, x) => s + x, 0);
const js = files.filter((x) => x.f.endsWith('.js'));
const worker = js.filter((x) => /worker/i.test(x.f));
const page = js.filter((x) => !/worker/i.test(x.f));
const wasm = files.filter((x) => x.f.endsWith('.wasm'));
out({ measure: 'bundle', pageJsKB: sum(page.map((x) => x.bytes)) / 1024, pageJsGzKB: sum(page.map((x) => x.gz)) / 1024, workerJsKB: sum(worker.map((x) => x.bytes)) / 1024, workerJsGzKB: sum(worker.map((x) => x.gz)) / 1024, wasmKB: sum(wasm.map((x) => x.bytes)) / 1024, files: js.map((x) => `${x.f} ${(x.bytes / 1024).toFixed(0)} KB`) });

// BENCH_DIST: another build's output folder (an A/B of two builds; default dist/)
const server = await startPreview({ outDir: process.env.BENCH_DIST });
const { origin } = server;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
/** A fresh workbench page (wasm) that has imported `file` (a timeline JSON). */
async function workbenchWith(file, timeout) {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.setDefaultTimeout(timeout);
  await page.goto(`${origin}/?backend=wasm`);
  await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
  await page.locator('[data-testid=import-files]').setInputFiles(file);
  await page.waitForFunction(() => document.querySelector('[data-testid=import-status]')?.getAttribute('data-status') === 'done');
  return page;
}
try {

  // 1. the timeline alone with a long patient: first render (frames while marks are drawn) and zoom
  // frames. Warm: the long patient replaces a short one already on screen, as opening a patient in
  // the workbench does (the timeline alone, its model built a frame before; 1b measures the
  // workbench's whole click); cold: the long timeline is the first thing the fresh page lays out.
  const timelineRuns = Number(process.env.BENCH_TIMELINE_RUNS ?? 5);
  for (const mode of view('timeline') ? (process.env.BENCH_TIMELINE_MODES ?? 'warm,remount,cold').split(',') : []) {
    const runs = [];
    for (let run = 0; run < timelineRuns; run++) {
      // each run opens the page twice: without tracing for the frame intervals the user gets
      // (a frame that misses its vsync shows as an interval of ~33 ms instead of ~17) and the zoom
      // frames, and traced for the work inside each frame (tracing adds its own work)
      const open = async (traced) => {
        const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
        page.setDefaultTimeout(120_000);
        await page.addInitScript((events) => {
          // frame-to-frame intervals from the last frame before the long timeline is committed until it
          // is complete, read when each frame's callbacks actually run (performance.now()): the rAF
          // timestamp is the frame's scheduled begin time, which stays on the vsync grid even when a
          // long task delays the frame
          const w = globalThis;
          w.__frames = [];
          w.__longTasks = [];
          new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__longTasks.push({ at: e.startTime, ms: e.duration }))).observe({ entryTypes: ['longtask'] });
          let last = null;
          const tick = () => {
            const t = performance.now();
            const root = document.querySelector('[data-render-complete]');
            if (root?.getAttribute('data-marks') === String(events)) {
              if (last !== null) w.__frames.push(t - last);
              if (w.__t0 === undefined) {
                w.__t0 = last ?? t;
                performance.mark('bench-first-render-start', { startTime: w.__t0 }); // for the trace
              }
              if (root.getAttribute('data-render-complete') === 'true') {
                performance.mark('bench-first-render-end');
                return void (w.__done = t);
              }
            }
            last = t;
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }, events);
        // the trace: the work inside each frame (frame intervals read 16-17 ms when every frame is
        // on time, so they cannot show how much of the frame the work took)
        const traceFile = traced && join(mkdtempSync(join(tmpdir(), 'exbehrt-bench-trace-')), 'trace.json');
        if (traced) await browser.startTracing(page, { path: traceFile, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
        await page.goto(`${origin}/?bench=timeline&events=${events}${mode === 'cold' ? '&warm=0' : mode === 'remount' ? '&remount=1' : ''}`);
        await page.waitForFunction(() => globalThis.__done !== undefined);
        if (!traced) return page;
        await browser.stopTracing();
        const work = frameWork(JSON.parse(readFileSync(traceFile, 'utf8')).traceEvents);
        rmSync(dirname(traceFile), { recursive: true, force: true });
        await page.context().close(); // (the context too: a closed page's renderer otherwise stays alive)
        return work;
      };
      const page = await open(false);
      const first = await page.evaluate(() => ({ ms: globalThis.__done - globalThis.__t0, frames: globalThis.__frames, marks: Number(document.querySelector('[data-marks]')?.getAttribute('data-marks')), longTasks: globalThis.__longTasks.filter((l) => l.at >= globalThis.__t0 - 1).map((l) => l.ms) }));
      // a zoom frame's cost without the wait for the next vsync: the wheel handler's own time (it runs
      // inside dispatchEvent) plus style, layout and paint (from the rAF callback to a message posted
      // from it, which runs after the frame is produced)
      const zoom = await page.evaluate(async () => {
        const plot = document.querySelector('[data-testid=timeline-plot]');
        const box = plot.getBoundingClientRect();
        const times = [];
        for (let i = 0; i < 40; i++) {
          const t0 = performance.now();
          plot.dispatchEvent(new WheelEvent('wheel', { deltaY: i < 20 ? -120 : 120, clientX: box.left + box.width * 0.6, clientY: box.top + box.height / 2, bubbles: true, cancelable: true }));
          const handler = performance.now() - t0;
          const render = await new Promise((r) =>
            requestAnimationFrame(() => {
              const t1 = performance.now();
              const ch = new MessageChannel();
              ch.port1.onmessage = () => r(performance.now() - t1);
              ch.port2.postMessage(0);
            }),
          );
          times.push(handler + render);
          await new Promise((r) => setTimeout(r, 20));
        }
        return times;
      });
      await page.context().close();
      const work = await open(true);
      runs.push({ events: first.marks, firstRenderMs: first.ms, firstRenderFrames: first.frames.length, firstRenderMaxFrameMs: Math.max(...first.frames), firstRenderMaxFrameWorkMs: work.maxFrameWorkMs, firstRenderLongestTaskMs: work.longestTaskMs, firstRenderFrameWorkMs: work.workMs, longTasksOver50ms: first.longTasks.filter((d) => d > 50).length, zoomFrameMedianMs: quantile(zoom, 0.5), zoomFrameP95Ms: quantile(zoom, 0.95), zoomFrameMaxMs: Math.max(...zoom) });
    }
    // per run: the busiest frame's main-thread work (traced: the target's measure, an upper bound),
    // the longest frame interval (untraced; under 25 ms: no frame missed its vsync), zoom frames
    const of = (k) => runs.map((r) => +r[k].toFixed(1));
    const busiest = of('firstRenderMaxFrameWorkMs');
    const intervals = of('firstRenderMaxFrameMs');
    out({ measure: { warm: 'timeline (opened after a short one)', remount: 'timeline (a new timeline after a short one, as side by side)', cold: 'timeline (cold: first thing on a fresh page)' }[mode], events: runs[0].events, runs: runs.length, busiestFrameWorkMs: busiest, busiestFrameWorkMedianMs: quantile(busiest, 0.5), runsWithin16ms: busiest.filter((x) => x <= 16).length, longestTaskMs: of('firstRenderLongestTaskMs'), longestFrameIntervalMs: intervals, runsWithoutMissedFrame: intervals.filter((x) => x < 25).length, firstRenderMs: of('firstRenderMs'), longTasksOver50ms: runs.map((r) => r.longTasksOver50ms), zoomFrameP95Ms: of('zoomFrameP95Ms'), zoomFrameMaxMs: of('zoomFrameMaxMs'), lastRunFrameWorkMs: runs.at(-1).firstRenderFrameWorkMs });
  }

  // 1b. the workbench's own path: a long patient (imported as a timeline file) opened from the patient
  // list while another patient is on screen, frames from the pointer's move onto its row until its
  // timeline is painted and every panel under it shows the patient. Unlike the timeline alone, the
  // click's frame also holds the rest of the page's update for the new patient (risk card, panels)
  // and the timeline model's build. Per run also the main thread's work over that window, and its
  // frames.
  const longFile = process.argv[3];
  const openRuns = Number(process.env.BENCH_OPEN_RUNS ?? 3);
  if (view('open') && longFile) {
    const long = JSON.parse(readFileSync(longFile, 'utf8'));
    const longId = long.id;
    const longEvents = long.visits.reduce((n, v) => n + v.events.length, 0);
    const runs = [];
    for (let run = 0; run < openRuns; run++) {
      const open = async (traced) => {
        const page = await workbenchWith(longFile, 120_000);
        await page.waitForSelector(`.tl[data-patient-id="${longId}"][data-render-complete=true]`);
        const other = await page.locator('[data-testid=patient-list] [role=option]').nth(1).getAttribute('data-patient-id');
        await page.locator(`[data-testid="patient-${other}"]`).click();
        await page.waitForSelector(`.tl[data-patient-id="${other}"][data-render-complete=true]`);
        await page.locator(`[data-testid="patient-${longId}"]`).scrollIntoViewIfNeeded();
        const row = await page.locator(`[data-testid="patient-${longId}"]`).boundingBox();
        await page.mouse.move(row.x + row.width / 2, Math.max(1, row.y - 40)); // the pointer starts off the row
        await page.waitForTimeout(1000); // its idle work and the worker's prediction settle
        const traceFile = traced && join(mkdtempSync(join(tmpdir(), 'exbehrt-bench-trace-')), 'trace.json');
        if (traced) await browser.startTracing(page, { path: traceFile, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
        await page.evaluate(({ id, n }) => {
          const w = globalThis;
          w.__frames = [];
          w.__done = undefined;
          let last = performance.now();
          performance.mark('bench-first-render-start');
          const tick = () => {
            const t = performance.now();
            w.__frames.push(t - last);
            last = t;
            const root = document.querySelector(`.tl[data-patient-id="${id}"]`);
            // the opening is done when the timeline is drawn and every panel under it shows the patient
            const panels = [...document.querySelectorAll('.later-part')];
            if (root?.getAttribute('data-render-complete') === 'true' && root.getAttribute('data-marks') === String(n) && panels.length > 0 && panels.every((p) => p.getAttribute('data-patient-id') === id)) {
              performance.mark('bench-first-render-end');
              return void (w.__done = t);
            }
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }, { id: longId, n: longEvents });
        // a person's click: the pointer moves onto the row, the button is held ~100 ms (press and release
        // in different frames) and released. Not locator.click(): its actionability checks (a hit test
        // from script, listeners on the pointer events) run in the page's main thread in the measured
        // frames, and it presses and releases in one frame
        await page.mouse.move(row.x + row.width / 2, row.y + row.height / 2, { steps: 2 });
        await page.waitForTimeout(50);
        await page.mouse.down();
        await page.waitForTimeout(100);
        await page.mouse.up();
        await page.waitForFunction(() => globalThis.__done !== undefined);
        const frames = await page.evaluate(() => globalThis.__frames);
        let work = null;
        if (traced) {
          await browser.stopTracing();
          work = frameWork(JSON.parse(readFileSync(traceFile, 'utf8')).traceEvents);
          rmSync(dirname(traceFile), { recursive: true, force: true });
        }
        await page.context().close();
        return { frames, work };
      };
      const cpu0 = hostCpu();
      const untraced = await open(false);
      const { work } = await open(true);
      const cpu1 = hostCpu();
      runs.push({ longestFrameIntervalMs: Math.max(...untraced.frames), busiestFrameWorkMs: work.maxFrameWorkMs, busiestFrameCpuMs: work.maxFrameCpuMs, longestTaskMs: work.longestTaskMs, frameWorkMs: work.workMs, workMs: work.workMs.reduce((a, b) => a + b, 0), frames: work.frames, hostStealPercent: stealPercent(cpu0, cpu1) });
    }
    const of = (k) => runs.map((r) => +r[k].toFixed(1));
    const busiest = of('busiestFrameWorkMs');
    const busiestCpu = of('busiestFrameCpuMs');
    const intervals = of('longestFrameIntervalMs');
    out({ measure: 'timeline (workbench: a long patient opened from the patient list)', events: longEvents, runs: runs.length, busiestFrameWorkMs: busiest, busiestFrameWorkMedianMs: quantile(busiest, 0.5), runsWithin16ms: busiest.filter((x) => x <= 16).length, busiestFrameCpuMs: busiestCpu, runsWithin16msCpu: busiestCpu.filter((x) => x <= 16).length, longestTaskMs: of('longestTaskMs'), mainThreadWorkMs: of('workMs'), frames: runs.map((r) => r.frames), longestFrameIntervalMs: intervals, runsWithoutMissedFrame: intervals.filter((x) => x < 25).length, hostStealPercent: runs.map((r) => r.hostStealPercent), lastRunFrameWorkMs: runs.at(-1).frameWorkMs });
  }

  // 2. import of a ~100 MB FHIR bulk-data export (generated here): time, progress reports, main-thread long tasks
  if (view('import')) {
    const dir = mkdtempSync(join(tmpdir(), 'exbehrt-bench-import-'));
    try {
      const nPatients = 2000;
      writeFileSync(join(dir, 'Patient.ndjson'), Array.from({ length: nPatients }, (_, i) => JSON.stringify({ resourceType: 'Patient', id: `b${i}`, gender: i % 2 ? 'male' : 'female', birthDate: `19${40 + (i % 50)}-01-01`, name: [{ family: 'Doe' }] })).join('\n') + '\n');
      const obs = (i) => `{"resourceType":"Observation","id":"o${i}","status":"final","subject":{"reference":"Patient/b${i % nPatients}"},"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"effectiveDateTime":"20${10 + (i % 10)}-0${1 + (i % 9)}-1${i % 10}","valueQuantity":{"value":${60 + (i % 40)},"unit":"/min"}}`;
      const lines = 440_000;
      const chunk = Array.from({ length: 20_000 }, (_, i) => obs(i)).join('\n') + '\n';
      writeFileSync(join(dir, 'Observation.ndjson'), chunk.repeat(lines / 20_000));
      const mb = (statSync(join(dir, 'Observation.ndjson')).size + statSync(join(dir, 'Patient.ndjson')).size) / 2 ** 20;
      const page = await (await browser.newContext()).newPage();
      page.setDefaultTimeout(900_000);
      await page.goto(`${origin}/?backend=wasm`);
      await page.locator('[data-testid=risk-card] [data-testid^=risk-]').first().waitFor();
      await page.evaluate(() => {
        const w = globalThis;
        w.__lt = [];
        new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__lt.push(e.duration))).observe({ entryTypes: ['longtask'] });
        w.__t0 = performance.now();
      });
      await page.locator('[data-testid=import-files]').setInputFiles([join(dir, 'Patient.ndjson'), join(dir, 'Observation.ndjson')]);
      await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid=import-status]')?.getAttribute('data-status')), null, { polling: 50 });
      const r = await page.evaluate(() => ({ seconds: (performance.now() - globalThis.__t0) / 1000, lt: globalThis.__lt, status: document.querySelector('[data-testid=import-status]').getAttribute('data-status'), patients: document.querySelector('[data-testid=coverage-patients]')?.textContent }));
      out({ measure: 'import FHIR bulk NDJSON in the page', megabytes: mb, resources: lines + nPatients, status: r.status, patients: Number(r.patients), seconds: r.seconds, longTasksOver50ms: r.lt.filter((d) => d > 50).length, longestTaskMs: r.lt.length ? Math.max(...r.lt) : 0 });
      await page.context().close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // 3. the app: import the 256-token patient as a timeline file, Explain with EG, watch the main thread
  const explainRuns = Number(process.env.BENCH_EXPLAIN_RUNS ?? 3);
  const explained = [];
  for (let run = 0; patientFile && view('explain') && run < explainRuns; run++) {
    const page = await workbenchWith(patientFile, 900_000);
    const id = JSON.parse(readFileSync(patientFile, 'utf8')).id;
    await page.waitForSelector(`[data-testid=risk-card][data-patient-id="${id}"] [data-testid^=risk-]`);
    await page.locator('[data-testid=samples-input]').fill(String(samples));
    await page.evaluate(() => {
      const w = globalThis;
      w.__lt = [];
      w.__ltObs = new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__lt.push(e.duration)));
      w.__ltObs.observe({ entryTypes: ['longtask'] });
      w.__tStart = performance.now();
    });
    await page.locator('[data-testid=explain-button]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done');
    const r = await page.evaluate(() => ({ seconds: (performance.now() - globalThis.__tStart) / 1000, longTasks: globalThis.__lt }));
    explained.push({ seconds: +r.seconds.toFixed(2), longTasksOver50ms: r.longTasks.filter((d) => d > 50).length, longestTaskMs: r.longTasks.length ? Math.max(...r.longTasks) : 0 });
    await page.context().close();
  }
  if (explained.length)
    out({ measure: 'explain in the page', samples, runs: explained.length, seconds: explained.map((e) => e.seconds), longTasksOver50ms: explained.map((e) => e.longTasksOver50ms), longestTaskMs: explained.map((e) => e.longestTaskMs), runsWithoutLongTasks: explained.filter((e) => e.longTasksOver50ms === 0).length });
} finally {
  await browser.close();
  server.stop();
}

/** The machine's CPU time so far (Linux /proc/stat, in clock ticks): all of it, and the steal (time
 *  the hypervisor gave the virtual cores to others). null elsewhere. */
function hostCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}

/** The share of the machine's time stolen between two hostCpu() readings (%): a run whose main thread
 *  waited while the host ran others shows busy (wall) time well over its CPU time */
function stealPercent(a, b) {
  return a && b && b.total > a.total ? +((100 * (b.steal - a.steal)) / (b.total - a.total)).toFixed(1) : null;
}

/** From a Chromium trace of the first render (between the page's bench-first-render-start and -end
 *  marks): the main thread's busy time inside each frame, a frame being the span from one
 *  requestAnimationFrame callback (FireAnimationFrame) to the next, and the longest single task.
 *  Busy time is the top-level tasks' (RunTask) time clipped to the frame; a frame whose work fits in
 *  16 ms is drawn on time at 60 Hz. Also the busiest frame by the main thread's CPU time: busy time
 *  counts the moments the thread waited for a core while another process ran (2 cores here); CPU
 *  time does not, so the two apart tell the page's work from the machine's. */
function frameWork(events) {
  const mark = (name) => events.find((e) => e.name === name && e.cat?.includes('blink.user_timing'));
  const start = mark('bench-first-render-start');
  const end = mark('bench-first-render-end');
  if (!start || !end) throw new Error('trace: the first-render marks are missing');
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && e.pid === start.pid);
  const onMain = (e) => e.pid === start.pid && e.tid === (main?.tid ?? start.tid) && e.ph === 'X';
  const tasks = events.filter((e) => onMain(e) && e.name === 'RunTask' && e.ts + e.dur > start.ts && e.ts < end.ts);
  // a frame starts with the task that runs its animation-frame callbacks (several callbacks, one task)
  const frameTasks = new Set();
  for (const f of events.filter((e) => onMain(e) && e.name === 'FireAnimationFrame' && e.ts > start.ts && e.ts <= end.ts)) {
    const task = tasks.find((t) => t.ts <= f.ts && f.ts <= t.ts + t.dur);
    frameTasks.add(task ? task.ts : f.ts);
  }
  const bounds = [start.ts, ...[...frameTasks].sort((a, b) => a - b), end.ts];
  const work = [];
  const cpu = [];
  for (let i = 1; i < bounds.length; i++) {
    const [a, b] = [bounds[i - 1], bounds[i]];
    const inFrame = (t) => Math.max(0, Math.min(b, t.ts + t.dur) - Math.max(a, t.ts));
    work.push(tasks.reduce((s, t) => s + inFrame(t), 0) / 1000);
    // the thread's CPU time (tdur) in the frame, a task's share in proportion to its wall time here
    cpu.push(tasks.reduce((s, t) => s + (t.dur ? (t.tdur ?? t.dur) * (inFrame(t) / t.dur) : 0), 0) / 1000);
  }
  return { maxFrameWorkMs: Math.max(0, ...work), maxFrameCpuMs: Math.max(0, ...cpu), longestTaskMs: Math.max(0, ...tasks.map((t) => t.dur / 1000)), frames: work.length, workMs: work.map((w) => +w.toFixed(1)) };
}
