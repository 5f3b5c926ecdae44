#!/usr/bin/env node
// Browser checks of the built app (run `vite build` first; `npm run test:browser` does both).
// Serves dist/ with `vite preview`, drives Debian's Chromium with playwright-core, and runs every
// check in CHECKS once per entry of RUNS (WebGPU on, WebGPU off). Expected numbers come from the
// Node CLI on the same model folder and patients the page is served, so page and CLI must agree.
//
// To add a check: append { name, run } to CHECKS (`only: 'webgpu'` limits it to one run). `run(ctx)` throws to fail; ctx is
//   { page, run, origin, requests, cspViolations, pageErrors, expected, fixture } (fixture: { model, patient, cohort: the sample patients by id }).
// Env: CHROMIUM_PATH (default /usr/bin/chromium), CI=true (a missing Chromium fails instead of
// skipping), BROWSER_TIMEOUT_MS (per wait, default 120000), BROWSER_RUNS=webgpu,wasm (a subset), BROWSER_ONLY=<regex> (only matching checks, while developing).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, 'dist');
const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CI = process.env.CI === 'true';
const TIMEOUT = Number(process.env.BROWSER_TIMEOUT_MS ?? 120_000);
const TOLERANCE = 1e-4;
/** BROWSER_ONLY=<regex>: run only the matching checks (and the essential first one), while developing */
const ONLY = process.env.BROWSER_ONLY ? new RegExp(process.env.BROWSER_ONLY, 'i') : null;
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

/** One browser session each: the same checks, different Chromium flags and expected backend. */
const RUNS = [
  { name: 'webgpu', flags: ['--enable-unsafe-webgpu'], backendLabel: 'WebGPU' },
  { name: 'wasm', flags: [], backendLabel: 'wasm' },
].filter((r) => !process.env.BROWSER_RUNS || process.env.BROWSER_RUNS.split(',').includes(r.name));

/** The checks, in order, on one page per run. A failed `essential` check stops the run's later checks. */
const CHECKS = [
  {
    name: 'app loads and shows the model card',
    essential: true,
    async run({ page, pageErrors, fixture }) {
      await page.waitForSelector('h1');
      const title = await page.title();
      if (title !== 'ExBEHRT Workbench') throw new Error(`page title is ${JSON.stringify(title)}`);
      await page.locator('[data-testid=model-select]').selectOption(fixture.model.id);
      await page.waitForSelector('[data-testid=model-card]');
      const use = (await page.locator('[data-testid=intended-use]').textContent()) ?? '';
      if (!use.includes('Intended use')) throw new Error(`intended use not shown (got ${JSON.stringify(use)})`);
      const rows = await page.locator('[data-testid=metrics-table] tbody tr').count();
      if (rows === 0) throw new Error('the model card has no metrics rows');
      if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
    },
  },
  {
    name: 'backend label names the expected backend',
    async run({ page, run }) {
      const label = page.locator('[data-testid=backend]');
      await page.waitForFunction(() => {
        const t = document.querySelector('[data-testid=backend]')?.textContent;
        return t === 'WebGPU' || t === 'wasm' || t === 'cpu';
      });
      const text = await label.textContent();
      if (text !== run.backendLabel)
        throw new Error(`backend label is ${JSON.stringify(text)}, expected ${JSON.stringify(run.backendLabel)}${run.name === 'webgpu' ? ' (no WebGPU adapter in this Chromium?)' : ''}`);
      // without WebGPU the user is told why the model runs on wasm
      if (run.name === 'wasm') {
        const notice = (await page.locator('[data-testid=notice]').textContent()) ?? '';
        if (!/webgpu was skipped/.test(notice)) throw new Error(`no notice that WebGPU was skipped: ${JSON.stringify(notice)}`);
      }
    },
  },
  {
    name: 'faults: the WebGPU adapter request fails; the app says so, runs on wasm and predicts as the CLI does',
    only: 'webgpu', // only a run with WebGPU has an adapter request to fail
    async run({ page, origin, fixture, expected }) {
      const faulty = await page.context().newPage();
      try {
        faulty.setDefaultTimeout(TIMEOUT);
        await faulty.goto(origin + '/?fault=webgpu-adapter');
        await faulty.waitForFunction(() => ['WebGPU', 'wasm', 'cpu'].includes(document.querySelector('[data-testid=backend]')?.textContent ?? ''));
        const label = await faulty.locator('[data-testid=backend]').textContent();
        const notice = (await faulty.locator('[data-testid=notice]').textContent()) ?? '';
        const problems = [];
        if (label !== 'wasm') problems.push(`backend ${label}, expected wasm`);
        if (!/adapter request failed \(injected fault/.test(notice)) problems.push(`the notice does not say why: ${JSON.stringify(notice)}`);
        await faulty.locator('[data-testid=model-select]').selectOption(fixture.model.id);
        await selectPatient(faulty, fixture.patient.id);
        for (const row of expected) {
          if (row.probability === null) {
            await expectOutside(faulty.locator('[data-testid=risk-card]'), row, problems);
            continue;
          }
          const got = Number(await faulty.locator(`[data-testid=risk-card] [data-testid="risk-${row.task}"]`).textContent());
          if (!(Math.abs(got - row.probability) <= TOLERANCE)) problems.push(`${row.task}: ${got}, CLI ${row.probability}`);
        }
        if (problems.length) throw new Error(problems.join('; '));
      } finally {
        await faulty.close();
      }
    },
  },
  {
    name: 'selected patient: risk equals the CLI within 1e-4',
    async run({ page, fixture, expected }) {
      const id = fixture.patient.id;
      await page.locator('[data-testid=patient-search]').fill(id);
      const option = page.locator(`[data-testid="patient-${id}"]`);
      // opening a patient leaves the fields of the explain and cohort forms alone: React re-sets a
      // re-rendered field's attributes, and the click's script re-rendered both forms for nothing
      // (BENCHMARKS.md, 2026-12-07, ninth session)
      const fields = await page.evaluate(() => {
        const w = globalThis;
        w.__fieldChanges = [];
        w.__fieldObserver = new MutationObserver((records) => {
          for (const r of records) w.__fieldChanges.push(`${r.target.closest('[data-testid$=-panel]')?.getAttribute('data-testid')} ${r.target.tagName.toLowerCase()}[${r.attributeName}]`);
        });
        const els = document.querySelectorAll('[data-testid=explain-panel] form :is(input, select), [data-testid=cohort-panel] form :is(input, select)');
        for (const el of els) w.__fieldObserver.observe(el, { attributes: true });
        return els.length;
      });
      await option.click();
      if ((await option.getAttribute('aria-selected')) !== 'true') throw new Error(`patient ${id} not shown as selected`);
      // the new patient's marks are on the canvas (painted two frames after the commit, or at once
      // where the canvas was resized)
      await expectMarksPainted(page, fixture.patient.visits.reduce((s, v) => s + v.events.length, 0), id);
      const problems = [];
      const changed = await page.evaluate(() => {
        globalThis.__fieldObserver.disconnect();
        return globalThis.__fieldChanges;
      });
      if (fields < 7) problems.push(`the explain and cohort forms have ${fields} fields, expected 7 or more`);
      if (changed.length) problems.push(`opening ${id} changed the explain or cohort form's fields: ${[...new Set(changed)].join(', ')}`);
      for (const row of expected) {
        if (row.probability === null) {
          // outside the task's population (the CLI gives no risk either): the card says why
          await expectOutside(page.locator(`[data-testid=risk-card][data-patient-id="${id}"]`), row, problems);
          continue;
        }
        const cell = page.locator(`[data-testid=risk-card][data-patient-id="${id}"] [data-testid="risk-${row.task}"]`);
        const text = (await cell.textContent()) ?? '';
        const value = Number(text);
        if (!/^\d\.\d{4}$/.test(text)) problems.push(`${row.task}: shown as ${JSON.stringify(text)}, expected 4 decimals`);
        else if (!(Math.abs(value - row.probability) <= TOLERANCE))
          problems.push(`${row.task}: page ${text}, CLI ${row.probability.toFixed(6)} (difference ${Math.abs(value - row.probability).toExponential(2)})`);
      }
      // a task the patient is outside of: choosing it turns Explain off and says why
      const outside = expected.find((r) => r.probability === null);
      if (outside) {
        const before = await page.locator('[data-testid=task-select]').inputValue();
        await page.locator('[data-testid=task-select]').selectOption(outside.task);
        const note = (await page.locator('[data-testid=explain-unavailable]').textContent({ timeout: TIMEOUT })) ?? '';
        if (!note.includes(outside.outside)) problems.push(`explain with ${outside.task}: the panel says ${JSON.stringify(note)}`);
        if (!(await page.locator('[data-testid=explain-button]').isDisabled())) problems.push(`explain with ${outside.task}: the Explain button is enabled`);
        await page.locator('[data-testid=task-select]').selectOption(before);
        if (await page.locator('[data-testid=explain-unavailable]').count()) problems.push(`back on ${before}: Explain still says there is nothing to explain`);
      }
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'timeline: a long patient opened after a short one, in the same timeline or a new one, is painted on the canvas (in parts, in the frames after the commit and its layout) and on the overview strip, both by the time it says its render is complete',
    only: 'wasm', // the view alone (the benchmark's page), no engine
    async run({ page, origin }) {
      // the page shows 40 events, then 1,500 in the same timeline (the deferred paint of a new
      // patient, in three parts), or in a newly mounted one (`remount=1`, as side by side: its first
      // draw, once it is live, also deferred)
      // (in the workbench a switch may also resize the canvas, which paints at once)
      for (const query of ['', '&remount=1']) {
        const bench = await page.context().newPage();
        try {
          // what the canvases show at the moment the root says "render complete" (a mutation observer
          // runs before anything else can paint): by then the plot's last part and the overview
          // strip's idle paint must be on them
          await bench.addInitScript(() => {
            const ground = (d, i) => (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255) || (d[i] === 246 && d[i + 1] === 247 && d[i + 2] === 249);
            new MutationObserver(() => {
              const root = document.querySelector('[data-marks="1500"][data-render-complete=true]');
              if (!root || globalThis.__atComplete) return;
              const plot = root.querySelector('[data-testid=timeline-canvas]');
              const p = plot.getContext('2d').getImageData(0, 0, plot.width, plot.height).data;
              const half = [0, 0];
              for (let i = 0; i < p.length; i += 4) if (!ground(p, i)) half[(i / 4) % plot.width < plot.width / 2 ? 0 : 1]++;
              const strip = root.querySelector('[data-testid=timeline-overview-canvas]');
              const o = strip.getContext('2d').getImageData(0, 0, strip.width, strip.height).data;
              const columns = new Set();
              for (let i = 0; i < o.length; i += 4) if (!ground(o, i)) columns.add((i / 4) % strip.width);
              globalThis.__atComplete = { half, columns: columns.size };
            }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-render-complete'] });
          });
          await bench.goto(origin + '/?bench=timeline&events=1500' + query);
          await bench.waitForSelector('[data-marks="1500"][data-render-complete=true]');
          const at = await bench.evaluate(() => globalThis.__atComplete);
          // the plot as expectMarksPainted asks (10 pixels per mark, 2.5 per mark in each half); the
          // overview strip repainted for the new patient: its visit bars cover many more pixel
          // columns than the short patient's (measured 12 -> 361)
          if (!at || at.half[0] + at.half[1] < 10 * 1500 || Math.min(...at.half) < 2.5 * 1500 || at.columns < 200)
            throw new Error(`"render complete" before the canvases show the 1,500 events and their visits${query}: ${JSON.stringify(at)}`);
        } finally {
          await bench.close();
        }
      }
    },
  },
  {
    name: 'opening a patient: the click updates the risk card at once; the timeline follows in a render of its own two frames later, and the panels below it after the timeline, one per frame, all on the new patient (the second reference reset in the same controls); an action in a panel not yet updated does nothing',
    only: 'wasm', // the page's rendering order, not the engine
    async run({ page, fixture }) {
      await selectPatient(page, fixture.patient.id);
      await page.locator('[data-testid=patient-search]').fill('');
      await page.waitForSelector(`.tl[data-patient-id="${fixture.patient.id}"][data-render-complete=true]`);
      // the patient to open: the listed one whose time span differs most from this patient's, so that
      // the axes must change
      const spanOf = (id) => visitSpan(fixture.cohort.get(id));
      const listed = await page.locator('[data-testid=patient-list] [role=option]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-patient-id')));
      const [a0, a1] = spanOf(fixture.patient.id);
      const other = listed
        .filter((id) => id !== fixture.patient.id && fixture.cohort.get(id)?.visits.length)
        .map((id) => [id, Math.abs(spanOf(id)[0] - a0) + Math.abs(spanOf(id)[1] - a1)])
        .sort((x, y) => y[1] - x[1])[0][0];
      const problems = [];
      await expectAxesOn(page, spanOf(fixture.patient.id), `the first patient (${fixture.patient.id})`, problems);
      // a second reference chosen for this patient; the next patient starts again at "same sex and
      // age", in the same form controls (a remount would replace them, and Chromium's autofill then
      // forces a layout of the page in the frames of the switch)
      await page.locator('[data-testid=reference-b-mode]').selectOption('all');
      await page.locator('[data-testid=reference-b-mode]').evaluate((el) => (el.dataset.before = 'yes'));
      // the cards the click's own task changes: React renders and commits a click's update in a
      // microtask of the click; a deferred render and an idle one come in later tasks
      const visits = fixture.cohort.get(other).visits.length;
      const touched = await page.evaluate(async ({ id, visits }) => {
        const records = [];
        const mo = new MutationObserver((ms) => records.push(...ms));
        mo.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        document.querySelector(`[data-testid="patient-${id}"]`).click();
        // the animation frame (1: the first after the click) in which each part is first seen on the
        // new patient (Later.tsx: the timeline renders in frame 2, the panels from frame 9 on, one
        // per frame), and each panel's wrapper (.later-part) names the patient it shows
        const parts = document.querySelectorAll('.later-part');
        const seen = (globalThis.__opened = { timeline: null, panels: null, parts: [...parts].map(() => null), partsShown: [...parts].map((p) => p.childElementCount > 0) });
        let frame = 0;
        const look = () => {
          frame++;
          if (seen.timeline === null && document.querySelector(`.tl[data-patient-id="${id}"]`)) seen.timeline = frame;
          if (seen.panels === null && document.querySelector('[data-testid=feedback-target] option[value=visit]')?.textContent === `A visit (1 to ${visits})`) seen.panels = frame;
          document.querySelectorAll('.later-part').forEach((p, i) => {
            if (seen.parts[i] === null && p.getAttribute('data-patient-id') === id) seen.parts[i] = frame;
          });
          if ((seen.timeline === null || seen.panels === null || seen.parts.includes(null)) && frame < 600) requestAnimationFrame(look);
        };
        requestAnimationFrame(look);
        await Promise.resolve();
        await Promise.resolve();
        records.push(...mo.takeRecords());
        mo.disconnect();
        // the what-if panel still shows the previous patient: adding an event there now must not
        // edit the patient just opened
        document.querySelector('[data-testid=whatif-panel] [data-testid=add-event]').click();
        return [...new Set(records.map((m) => (m.target.nodeType === 1 ? m.target : m.target.parentElement)?.closest('section[data-testid]')?.getAttribute('data-testid')).filter(Boolean))];
      }, { id: other, visits });
      if (!touched.includes('risk-card')) problems.push(`the click did not update the risk card (changed: ${touched.join(', ')})`);
      for (const later of ['timeline-card', 'feedback-panel', 'whatif-panel', 'compare-panel']) if (touched.includes(later)) problems.push(`the click's own render changed ${later}`);
      // then everything shows the new patient: the timeline, and the feedback panel's targets (the
      // whole explanation, and a visit by its number, 1 to the patient's visit count)
      await page.waitForSelector(`.tl[data-patient-id="${other}"][data-render-complete=true]`, { timeout: 10_000 }).catch(() => problems.push('the timeline did not follow to the new patient'));
      // (the chart is drawn a frame after the timeline's commit)
      await expectAxesOn(page, spanOf(other), `the patient opened (${other})`, problems);
      await page
        .waitForFunction((n) => document.querySelector('[data-testid=feedback-target] option[value=visit]')?.textContent === `A visit (1 to ${n})`, visits, { timeout: 10_000 })
        .catch(async () => problems.push(`the feedback panel did not follow: its visit target reads ${JSON.stringify(await page.locator('[data-testid=feedback-target] option[value=visit]').textContent())}, expected 1 to ${visits}`));
      await page.waitForTimeout(500);
      const opened = await page.evaluate(() => globalThis.__opened);
      // frames 1 and 2 are the click's layout and paint, and the timeline's render (seen from 3 on)
      if (!(opened.timeline >= 3)) problems.push(`the timeline showed the new patient in frame ${opened.timeline} after the click, before its render's own frame`);
      if (!(opened.panels > opened.timeline)) problems.push(`the panels below the timeline followed in frame ${opened.panels}, not after the timeline (frame ${opened.timeline})`);
      // one panel per frame, in order, each after the timeline (all five are shown here)
      if (opened.parts.length !== 5 || opened.partsShown.includes(false)) problems.push(`expected the five panels under the timeline, each shown, found ${JSON.stringify(opened.partsShown)}`);
      if (!opened.parts.every((f, i) => f !== null && f > opened.timeline && (i === 0 || f > opened.parts[i - 1])))
        problems.push(`the panels under the timeline followed in frames ${JSON.stringify(opened.parts)}, not one per frame after the timeline (frame ${opened.timeline})`);
      const refB = await page.locator('[data-testid=reference-b-mode]').evaluate((el) => ({ same: el.dataset.before === 'yes', value: el.value }));
      if (!refB.same) problems.push('the second reference\'s form controls were replaced for the new patient');
      if (refB.value !== 'matched') problems.push(`the second reference reads ${refB.value} for the new patient, not "matched"`);
      if (await page.locator('[data-testid=whatif-panel] [data-testid=edit-log]').count()) problems.push('an add-event from the previous patient\'s what-if panel edited the new patient');
      if (await page.locator('[data-testid=risk-card] .edited-flag').count()) problems.push('the risk card says the new patient has what-if edits');
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'timeline: zoom and pan by wheel, drag, keys and buttons; a brush on the overview focuses a period; another patient starts at the full view',
    only: 'wasm', // the chart's interactions, not the engine
    async run({ page, fixture }) {
      await selectPatient(page, fixture.patient.id);
      await page.waitForSelector(`.tl[data-patient-id="${fixture.patient.id}"][data-render-complete=true]`);
      const tl = page.locator('.tl');
      const k = async () => Number((await tl.getAttribute('data-zoom-k')) ?? '1');
      /** the main axis's first and last tick (ms): the span on screen */
      const ticks = () => page.$$eval('[data-testid=timeline-axis] .tick', (g) => g.map((x) => +x.__data__));
      const problems = [];
      const expectK = async (want, what) => {
        const ok = await page.waitForFunction((w) => Math.abs(Number(document.querySelector('.tl').getAttribute('data-zoom-k') ?? '1') - w) < 0.01 * w, want, { timeout: 5_000 }).catch(() => false);
        if (!ok) problems.push(`${what}: zoom ${await k()}, expected ${want.toFixed(3)}`);
      };
      // keys on the focused chart: + zooms 1.5x, - back, 0 resets
      await page.locator('[data-testid=timeline-svg]').focus();
      await page.keyboard.press('+');
      await expectK(1.5, 'the + key');
      await page.keyboard.press('+');
      await expectK(2.25, 'the + key twice');
      await page.keyboard.press('-');
      await expectK(1.5, 'the - key');
      // → pans later in time: the span on screen moves right
      const before = await ticks();
      await page.keyboard.press('Shift+ArrowRight');
      await page.waitForFunction((t0) => +document.querySelector('[data-testid=timeline-axis] .tick').__data__ !== t0, before[0], { timeout: 5_000 }).catch(() => {});
      const after = await ticks();
      if (!(after[0] > before[0])) problems.push(`Shift+→ did not pan later in time (first tick ${new Date(before[0]).toISOString()} -> ${new Date(after[0]).toISOString()})`);
      await page.keyboard.press('0');
      await expectK(1, 'the 0 key');
      // the buttons
      await page.getByRole('button', { name: 'Zoom in' }).click();
      await expectK(1.5, 'the Zoom in button');
      await page.locator('[data-testid=timeline-reset]').click();
      await expectK(1, 'Reset zoom');
      // the wheel over the plot zooms in; a drag to the right pans earlier in time
      const plot = await page.locator('.tl-zoom-surface').boundingBox();
      const [cx, cy] = [plot.x + plot.width / 2, plot.y + plot.height / 2];
      await page.mouse.move(cx, cy);
      await page.mouse.wheel(0, -200);
      await page.waitForFunction(() => Number(document.querySelector('.tl').getAttribute('data-zoom-k') ?? '1') > 1.2, null, { timeout: 5_000 }).catch(() => problems.push('the wheel did not zoom in'));
      const beforeDrag = await ticks();
      await page.mouse.move(cx, cy);
      await page.mouse.down();
      await page.mouse.move(cx + plot.width / 8, cy, { steps: 5 });
      await page.mouse.up();
      const afterDrag = await ticks();
      if (!(afterDrag[0] < beforeDrag[0])) problems.push(`a drag to the right did not pan earlier in time (first tick ${new Date(beforeDrag[0]).toISOString()} -> ${new Date(afterDrag[0]).toISOString()})`);
      // a brush over the middle half of the overview strip: that half fills the plot (zoom 2)
      await page.locator('[data-testid=timeline-reset]').click();
      await expectK(1, 'Reset zoom before the brush');
      const strip = await page.locator('[data-testid=timeline-brush] .overlay').boundingBox();
      await page.mouse.move(strip.x + strip.width / 4, strip.y + strip.height / 2);
      await page.mouse.down();
      await page.mouse.move(strip.x + (strip.width * 3) / 4, strip.y + strip.height / 2, { steps: 5 });
      await page.mouse.up();
      await expectK(2, 'a brush over half the overview');
      // the plot shows the brushed half of the chart's domain (the visit span, padded)
      const [lo, hi] = chartDomain(visitSpan(fixture.patient));
      await expectAxisSpan(page, 'timeline-axis', [lo + (hi - lo) / 4, lo + (3 * (hi - lo)) / 4], 'the brushed plot does not show the middle half of the span', problems);
      // zoomed in, another patient opens at the full view, with its own axes
      const other = [...fixture.cohort.values()].find((p) => p.id !== fixture.patient.id && p.visits.length > 1).id;
      await selectPatient(page, other);
      await page.waitForSelector(`.tl[data-patient-id="${other}"][data-render-complete=true]`);
      await expectK(1, 'another patient');
      await expectAxesOn(page, visitSpan(fixture.cohort.get(other)), `the patient opened zoomed in (${other})`, problems);
      await page.locator('[data-testid=patient-search]').fill('');
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'worker: expected gradients equal the CLI for the same seed; progress and cancel work',
    // the WebGPU run proves EG on WebGPU through the page (Explain) and the lost-device check; on
    // SwiftShader each batch costs 35-45 s, and progress and cancel are the same engine code on wasm
    only: 'wasm',
    async run({ page, fixture, expectedEg }) {
      const out = await page.evaluate(async ({ patient, modelId, job, batchSize }) => {
        const { engine, proxy } = globalThis.exbehrt;
        const seen = [];
        const full = await engine.attribute('check-eg', modelId, { patient, ...job, batchSize }, proxy((p) => seen.push(p.samplesDone)));
        // a long job cancelled after its first progress report
        let cancelled = null;
        const long = engine.attribute('check-cancel', modelId, { patient, ...job, samples: 2048, batchSize }, proxy(() => void engine.cancel('check-cancel')));
        cancelled = await long;
        return { full: { modality: full.result.modality, gap: full.result.gap, logit: full.result.logit, backend: full.backend }, seen, cancelled: { cancelled: cancelled.result.cancelled, done: cancelled.result.samplesDone } };
      }, { patient: fixture.patient, modelId: fixture.model.id, job: EG_JOB, batchSize: WORKER_BATCH });
      const problems = [];
      for (const [part, v] of Object.entries(expectedEg.modality)) {
        const got = out.full.modality[part];
        if (!(Math.abs(got - v) <= TOLERANCE)) problems.push(`${part}: worker ${got}, CLI ${v}`);
      }
      if (!(Math.abs(out.full.logit - expectedEg.logit) <= TOLERANCE)) problems.push(`logit: worker ${out.full.logit}, CLI ${expectedEg.logit}`);
      if (out.seen.join() !== `${WORKER_BATCH},${2 * WORKER_BATCH}`) problems.push(`progress reports ${JSON.stringify(out.seen)}`);
      if (!out.cancelled.cancelled || out.cancelled.done >= 2048) problems.push(`cancel: ${JSON.stringify(out.cancelled)}`);
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'workbench: Explain in the page shows the CLI\'s numbers for the same seed, with progress',
    async run({ page, run, fixture, expectedUi }) {
      await selectPatient(page, fixture.patient.id);
      await page.locator('[data-testid=task-select]').selectOption(UI_JOB.task);
      await page.locator('[data-testid=method-select]').selectOption(UI_JOB.method);
      await page.locator('[data-testid=samples-input]').fill(String(UI_JOB.samples));
      await page.locator('[data-testid=seed-input]').fill(String(UI_JOB.seed));
      await page.locator('[data-testid=explain-button]').click();
      // the progress bar moves before the end (progressive estimate), then the job is done
      await page.waitForFunction(() => document.querySelector('[data-testid=explain-progress]'));
      // On the WebGPU run the GPU is SwiftShader, a CPU emulation: an EG batch's first run compiles
      // every shader pipeline of the backward pass: 65-93 s for this one batch in recent suite runs, and
      // once over the default 120 s wait on a loaded 2-core CI machine. The check is about the
      // numbers; the time is the benchmark's, so the WebGPU run waits longer for the end.
      await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done', null, { timeout: run.name === 'webgpu' ? 3 * TIMEOUT : TIMEOUT });
      const problems = [];
      const logit = Number(await page.locator('[data-testid=explain-logit]').textContent());
      if (!(Math.abs(logit - expectedUi.logit) <= 1e-4)) problems.push(`logit: page ${logit}, CLI ${expectedUi.logit}`);
      const gap = Number(await page.locator('[data-testid=explain-gap]').evaluate((e) => e.firstChild.textContent));
      if (!(Math.abs(gap - expectedUi.gap) <= 1e-4)) problems.push(`gap: page ${gap}, CLI ${expectedUi.gap}`);
      // on the run's backend (the WebGPU run's only EG on WebGPU compared with the CLI)
      const status = (await page.locator('[data-testid=explain-status]').textContent()) ?? '';
      if (!status.includes(`on ${run.backendLabel}.`)) problems.push(`the explanation did not run on ${run.backendLabel}: ${JSON.stringify(status)}`);
      const done = (await page.locator('[data-testid=samples-done]').textContent()) ?? '';
      if (!done.startsWith(`${UI_JOB.samples} / ${UI_JOB.samples}`)) problems.push(`samples done shown as ${JSON.stringify(done)}`);
      // every part's total as the page shows it (full precision in data-value) against the CLI
      for (const [part, v] of Object.entries(expectedUi.modality)) {
        const el = page.locator(`[data-testid=modality-bars] [data-part="${part}"]`);
        if (!(await el.count())) {
          problems.push(`no bar for ${part}`);
          continue;
        }
        const got = Number(await el.first().getAttribute('data-value'));
        if (!(Math.abs(got - v) <= TOLERANCE)) problems.push(`${part}: page ${got}, CLI ${v}`);
      }
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'workbench: export CSV has one row per event with the CLI\'s attributions',
    async run({ page, expectedUi }) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=export-csv]').click()]);
      const text = readFileSync(await download.path(), 'utf8');
      const lines = text.trim().split(/\r\n/);
      const header = lines.findIndex((l) => l.startsWith('patient_id,'));
      if (header < 0) throw new Error(`no header row in the CSV: ${lines.slice(0, 6).join(' | ')}`);
      if (!lines.some((l) => l.includes(`seed ${UI_JOB.seed}`) && l.includes(`method ${UI_JOB.method}`))) throw new Error('the CSV does not state method and seed');
      const rows = lines.slice(header + 1).map((l) => l.split(','));
      if (rows.length !== expectedUi.events.length) throw new Error(`${rows.length} rows, the CLI has ${expectedUi.events.length} events`);
      const byKey = new Map(expectedUi.events.map((e) => [`${e.visit}:${e.event}:${e.code}`, e.value]));
      for (const r of rows) {
        const v = byKey.get(`${r[1]}:${r[3]}:${r[5]}`);
        const got = Number(r[r.length - 2]);
        if (v === undefined || !(Math.abs(got - v) <= TOLERANCE)) throw new Error(`row ${r.join(',')}: CLI ${v}`);
      }
      if (!download.suggestedFilename().endsWith('.csv')) throw new Error(`file name ${download.suggestedFilename()}`);
    },
  },
  {
    name: 'workbench: hover shows an event\'s details; pin and remove it (what-if) re-predicts as the CLI does',
    async run({ page, fixture, expectedUi, expectedWhatIf }) {
      const { visit, event } = WHAT_IF_EVENT(fixture.patient);
      const ev = fixture.patient.visits[visit].events[event];
      const mark = await markPoint(page, `${visit}:${event}`);
      await page.mouse.move(mark.x, mark.y);
      const tip = page.locator('[data-testid=timeline-tooltip]');
      await tip.waitFor();
      const text = (await tip.textContent()) ?? '';
      const want = expectedUi.events.find((e) => e.visit === visit && e.event === event);
      if (!text.includes(ev.code)) throw new Error(`tooltip does not name ${ev.code}: ${JSON.stringify(text)}`);
      if (!/±/.test(text)) throw new Error(`tooltip shows no standard error: ${JSON.stringify(text)}`);
      const shown = Number((text.match(/attribution\s*([+\-−]?[0-9.e\-]+)/i)?.[1] ?? 'NaN').replace('−', '-'));
      if (!(Math.abs(shown - want.value) <= 5e-4 + 1e-3 * Math.abs(want.value))) throw new Error(`tooltip attribution ${shown}, CLI ${want.value} (${JSON.stringify(text)})`);
      await page.mouse.click(mark.x, mark.y);
      await page.locator('[data-testid=timeline-pinned] h3').waitFor();
      await page.locator('[data-testid=timeline-remove-event]').click();
      await page.locator('[data-testid=edit-log] li').first().waitFor();
      const cell = page.locator('[data-testid=risk-card] [data-testid="risk-hf_12m"]');
      await page.waitForFunction((v) => Math.abs(Number(document.querySelector('[data-testid=risk-card] [data-testid="risk-hf_12m"]')?.textContent) - v) <= 1e-4, expectedWhatIf.probability, { timeout: 60_000 }).catch(() => {});
      const got = Number(await cell.textContent());
      if (!(Math.abs(got - expectedWhatIf.probability) <= TOLERANCE)) throw new Error(`after removing ${ev.code}: page ${got}, CLI ${expectedWhatIf.probability}`);
      // and back
      await page.locator('[data-testid=undo]').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid=edit-log]'));
    },
  },
  {
    name: 'lost WebGPU device mid-job: the job moves to wasm, finishes, and says so',
    only: 'webgpu', // only a WebGPU run has a device to lose
    // after the page's own checks: the engine stays on wasm once the device is gone
    async run({ page, fixture, expectedEg }) {
      const out = await page.evaluate(async ({ patient, modelId, job, batchSize }) => {
        const { engine, proxy } = globalThis.exbehrt;
        let lost = false;
        const r = await engine.attribute('check-lost', modelId, { patient, ...job, batchSize }, proxy(async () => {
          if (!lost) lost = await engine.loseDevice();
        }));
        return { lost, backend: r.backend, fellBack: r.fellBack ?? null, modality: r.result.modality, done: r.result.done, after: await engine.backend() };
      }, { patient: fixture.patient, modelId: fixture.model.id, job: EG_JOB, batchSize: WORKER_BATCH });
      const problems = [];
      if (!out.lost) problems.push('the device was not destroyed');
      if (out.backend !== 'wasm' || out.after !== 'wasm') problems.push(`finished on ${out.backend}, engine now on ${out.after}`);
      if (!out.fellBack) problems.push('the outcome does not say that it fell back');
      if (!out.done) problems.push('the job did not finish');
      for (const [part, v] of Object.entries(expectedEg.modality))
        if (!(Math.abs(out.modality[part] - v) <= TOLERANCE)) problems.push(`${part}: ${out.modality[part]} vs CLI ${v}`);
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'teaching mode: the five-step walk runs on the live engine, end to end',
    only: 'wasm', // 256-sample runs in batches of 8 take minutes on an emulated GPU; the engine code is the same
    async run({ page, fixture, expectedEg, expectedTeach }) {
      await selectPatient(page, fixture.patient.id);
      await page.locator('[data-testid=task-select]').selectOption('hf_12m');
      await page.locator('[data-testid=seed-input]').fill(String(TEACH_JOB.seed)); // the walk uses the page's seed
      await page.locator('[data-testid=teaching-toggle]').click();
      const runStep = async (id) => {
        await page.locator(`[data-testid=teach-step-${id}]`).click();
        await page.locator(`[data-testid=teach-panel-${id}] [data-testid=teach-run]`).click();
        await page.waitForFunction((id) => ['done', 'error'].includes(document.querySelector(`[data-testid=teach-panel-${id}]`)?.getAttribute('data-status')), id);
        const error = await page.locator('[data-testid=teach-error]').count();
        if (error) throw new Error(`${id}: ${await page.locator('[data-testid=teach-error]').textContent()}`);
      };
      const problems = [];
      // 1. the path ends at the patient's own logit (the CLI's), and the integrand integrates to the rise
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=teach-ref] option').length > 0);
      await page.locator('[data-testid=teach-ref]').selectOption('2');
      await runStep('path');
      const path = page.locator('[data-testid=teach-path-numbers]');
      const [l0, l1, integral] = await Promise.all(['data-logit0', 'data-logit1', 'data-integral'].map(async (a) => Number(await path.getAttribute(a))));
      if (!(Math.abs(l1 - expectedEg.logit) <= TOLERANCE)) problems.push(`path: f(x) ${l1}, CLI logit ${expectedEg.logit}`);
      if (!(Math.abs(integral - (l1 - l0)) <= 0.05 * Math.max(1, Math.abs(l1 - l0)))) problems.push(`path: integral ${integral} vs rise ${l1 - l0}`);
      if ((await page.locator('[data-testid=teach-path-logit] circle').count()) !== 21) problems.push('path: the logit chart does not have 21 points');
      // 2. convergence: 256 samples in batches of 8, the gap shrinks
      await runStep('convergence');
      const conv = page.locator('[data-testid=teach-convergence-numbers]');
      const samples = Number(await conv.getAttribute('data-samples'));
      const num = async (a) => Number(await conv.getAttribute(a));
      const [gap, se] = [await num('data-gap'), await num('data-last-stderr')];
      if (samples !== TEACH_JOB.samples) problems.push(`convergence: ${samples} samples`);
      if ((await page.locator('[data-testid=teach-gap-chart] circle').count()) !== 32) problems.push('convergence: the gap chart does not have 32 points');
      // the walk's final estimate is the engine's: the CLI's EG for the same seed and samples
      if (!(Math.abs(gap - expectedTeach.gap) <= TOLERANCE && Math.abs(se - expectedTeach.stderr) <= TOLERANCE))
        problems.push(`convergence: gap ${gap} / s.e. ${se}, CLI ${expectedTeach.gap} / ${expectedTeach.stderr}`);
      // 3. two references, two answers
      await runStep('reference');
      const refRows = await page.$$eval('[data-testid=teach-reference-table] tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent)));
      if (refRows.length !== 2 || refRows[0][1] === refRows[1][1]) problems.push(`reference: mean f(x') per reference ${JSON.stringify(refRows)}`);
      if (!(await page.locator('[data-testid=teach-reference-shifts] tbody tr').count())) problems.push('reference: no code shifts');
      // 4. the sanity check: agreement falls once the encoder is random
      await runStep('sanity');
      const rhos = await page.$$eval('[data-testid=teach-sanity-table] tbody tr', (rows) => rows.map((r) => Number(r.getAttribute('data-rho'))));
      if (rhos.length < 4 || !(Math.abs(rhos[rhos.length - 1]) < 0.5)) problems.push(`sanity: Spearman per stage ${JSON.stringify(rhos)}`);
      // 5. EG against IG and occlusion
      await runStep('methods');
      for (const m of ['ig', 'occlusion']) {
        const rho = Number(await page.locator(`[data-testid=teach-method-${m}]`).getAttribute('data-rho'));
        if (!(rho >= -1 && rho <= 1)) problems.push(`methods: ${m} agreement ${rho}`);
      }
      const ticks = await page.$$eval('[data-testid^=teach-step-]', (b) => b.filter((x) => x.textContent.endsWith('✓')).length);
      if (ticks !== 5) problems.push(`${ticks} of 5 steps marked done`);
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'workbench: no accessibility violations (axe)',
    async run({ page }) {
      // injected through the DevTools protocol, which the page's CSP does not govern
      await page.evaluate(readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8'));
      const res = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
      const v = res.violations.map((x) => `${x.id} (${x.impact}): ${x.help} — ${x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
      if (v.length) throw new Error(`${v.length} violations:\n${v.join('\n')}`);
      // the patient list's options are named by their text with hidden words that say what each
      // number is; the words are hidden in the rows' flow (at most 1 px, not positioned boxes, which
      // the browser would hit-test one by one under the pointer on every frame that moves anything)
      const named = await page.getByRole('option', { name: /^\S+ ?, age (\d+|–) ?, sex [FMU]/ }).count();
      const rows = await page.locator('[data-testid=patient-list] [role=option]').count();
      if (named !== rows) throw new Error(`${named} of ${rows} patient options are named with their age and sex`);
      const hidden = await page.$$eval('[data-testid=patient-list] [role=option] .visually-hidden', (els) =>
        els.map((e) => ({ position: getComputedStyle(e).position, w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height })),
      );
      const shown = hidden.filter((h) => h.position !== 'static' || h.w > 1 || h.h > 1);
      if (!hidden.length || shown.length) throw new Error(`the list's hidden words: ${hidden.length} found, ${shown.length} positioned or over 1 px (e.g. ${JSON.stringify(shown[0])})`);
    },
  },
  {
    name: 'reference populations: switching to an age- and sex-matched reference shows its size and changes the explanation',
    only: 'wasm',
    async run({ page, fixture }) {
      // an explanation with the whole reference set first (its own, so that the check also runs alone)
      await selectPatient(page, fixture.patient.id);
      await page.locator('[data-testid=reference-mode]').selectOption('all');
      await page.locator('[data-testid=task-select]').selectOption(UI_JOB.task);
      await page.locator('[data-testid=method-select]').selectOption(UI_JOB.method);
      await page.locator('[data-testid=samples-input]').fill(String(UI_JOB.samples));
      await page.locator('[data-testid=seed-input]').fill(String(UI_JOB.seed));
      await page.locator('[data-testid=explain-button]').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done');
      const before = Number(await page.locator('[data-testid=explain-logit]').textContent());
      const refBefore = (await page.locator('[data-testid=explain-status] dd').nth(1).textContent()) ?? '';
      await page.locator('[data-testid=reference-mode]').selectOption('matched');
      await page.waitForFunction(() => {
        const n = Number(document.querySelector('[data-testid=reference-stats]')?.getAttribute('data-size'));
        return n > 0 && n < 300;
      });
      const size = Number(await page.locator('[data-testid=reference-stats]').getAttribute('data-size'));
      await page.locator('[data-testid=explain-button]').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done');
      const refAfter = (await page.locator('[data-testid=explain-status] dd').nth(1).textContent()) ?? '';
      const after = Number(await page.locator('[data-testid=explain-logit]').textContent());
      if (after !== before) throw new Error(`the patient's logit changed with the reference (${before} -> ${after})`);
      if (refAfter === refBefore) throw new Error(`the mean reference logit did not change (${refAfter}) with a reference of ${size} patients`);
      const shown = (await page.locator('[data-testid=explain-status]').textContent()) ?? '';
      if (!shown.includes(String(size))) throw new Error(`the explanation does not state its ${size} reference patients`);
      await page.locator('[data-testid=reference-mode]').selectOption('all');
    },
  },
  {
    name: 'workbench: compare runs all four methods and shows their rank agreement',
    only: 'wasm', // four methods on an emulated GPU would take minutes; the engine paths are the same
    async run({ page }) {
      await page.locator('[data-testid=compare-button]').click();
      await page.waitForFunction(() => ['ig', 'gxi', 'occlusion'].every((m) => document.querySelector(`[data-testid=compare-${m}]`)?.getAttribute('data-rho')));
      const rhos = await page.$$eval('[data-testid^=compare-][data-rho]', (els) => els.map((e) => [e.getAttribute('data-testid'), Number(e.getAttribute('data-rho'))]));
      const bad = rhos.filter(([id, r]) => id !== 'compare-eg' && !(r >= -1 && r <= 1));
      if (bad.length || rhos.length < 3) throw new Error(`rank agreement not shown: ${JSON.stringify(rhos)}`);
    },
  },
  {
    name: 'cohort: the cancer patients\' representations cluster; outcome rates per cluster; a point opens its patient',
    only: 'wasm',
    async run({ page }) {
      await page.locator('[data-testid=cohort-diagnosis]').fill('C');
      await page.locator('[data-testid=cohort-k]').fill('3');
      await page.locator('[data-testid=cohort-run]').click();
      await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid=cohort-status]')?.getAttribute('data-status')));
      const status = await page.locator('[data-testid=cohort-status]').getAttribute('data-status');
      if (status !== 'done') throw new Error(`cohort run ended ${status}: ${await page.locator('[data-testid=cohort-status]').textContent()}`);
      const rates = await page.$$eval('[data-testid=cohort-clusters] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-rate')));
      if (rates.length !== 3 || rates.some((r) => r === '')) throw new Error(`cluster rates ${JSON.stringify(rates)}`);
      const point = page.locator('[data-testid=cohort-scatter] circle').nth(3);
      const id = await point.getAttribute('data-patient-id');
      await point.click();
      await page.waitForSelector(`[data-testid=risk-card][data-patient-id="${id}"]`);
      if (!(await page.locator('[data-testid=cohort-km] path').count())) throw new Error('no Kaplan-Meier curve');

      // lasso: drag a polygon over the upper part of the scatter (the topmost point is always in it)
      const box = await page.locator('[data-testid=cohort-scatter]').boundingBox();
      const region = { x0: 0.02, x1: 0.98, y0: 0.02, y1: 0.6 };
      const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
      await page.mouse.move(...at(region.x0, region.y0));
      await page.mouse.down();
      for (const [fx, fy] of [[region.x1, region.y0], [region.x1, region.y1], [region.x0, region.y1], [region.x0, region.y0 + 0.01]]) await page.mouse.move(...at(fx, fy), { steps: 6 });
      await page.mouse.up();
      const count = Number(await page.locator('[data-testid=cohort-selection]').getAttribute('data-count'));
      // the points whose circles lie in the dragged rectangle (layout pixels = CSS pixels here)
      const inside = await page.$$eval('[data-testid=cohort-scatter] circle', (cs, r) => {
        const svg = cs[0].ownerSVGElement.getBoundingClientRect();
        return cs.filter((c) => {
          const x = Number(c.getAttribute('cx')) / svg.width;
          const y = Number(c.getAttribute('cy')) / svg.height;
          return x > r.x0 && x < r.x1 && y > r.y0 && y < r.y1;
        }).length;
      }, region);
      if (!(count > 0) || count !== inside) throw new Error(`the lasso selected ${count} patients; ${inside} points lie inside it`);
      const outlined = await page.locator('[data-testid=cohort-scatter] circle[data-selected=true]').count();
      if (outlined !== count) throw new Error(`${outlined} points drawn as selected, ${count} in the selection`);
      const rate = (await page.locator('[data-testid=cohort-selection-rate]').textContent()) ?? '';
      const risk = Number(await page.locator('[data-testid=cohort-selection-risk]').textContent());
      if (!/%$/.test(rate) || !(risk >= 0 && risk <= 1)) throw new Error(`selection outcome rate ${JSON.stringify(rate)}, mean risk ${risk}`);
      const listed = page.locator(`[data-testid=cohort-selection] li button:not([data-patient-id="${id}"])`).first();
      const other = await listed.getAttribute('data-patient-id');
      await listed.click();
      await page.waitForSelector(`[data-testid=risk-card][data-patient-id="${other}"]`);
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid=cohort-selection]', { state: 'detached' });

      // mean attribution per code for the smallest cluster, 8 samples; first a cancelled run of the largest
      const sizes = await page.$$eval('[data-testid=cohort-clusters] tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-cluster'), Number(r.querySelector('td')?.textContent)]));
      const [small] = sizes.reduce((a, b) => (b[1] < a[1] ? b : a));
      const [large] = sizes.reduce((a, b) => (b[1] > a[1] ? b : a));
      const tensors = () => page.evaluate(() => globalThis.exbehrt.engine.memory().then((m) => m.numTensors));
      const before = await tensors();
      await page.locator('[data-testid=cohort-attr-samples]').fill('8');
      await page.locator(`[data-testid=cohort-attr-run-${large}]`).click();
      await page.waitForFunction((c) => /^[1-9]\d*\//.test(document.querySelector(`[data-testid=cohort-attr-${c}] [data-testid=cohort-attr-progress]`)?.textContent ?? ''), large);
      await page.locator(`[data-testid=cohort-attr-${large}] [data-testid=cohort-attr-cancel]`).click();
      await page.waitForFunction((c) => document.querySelector(`[data-testid=cohort-attr-${c}]`)?.getAttribute('data-status') === 'cancelled', large);
      if ((await tensors()) !== before) throw new Error(`after the cancel the worker holds ${await tensors()} tensors, ${before} before`);
      await page.locator(`[data-testid=cohort-attr-run-${small}]`).click();
      await page.waitForFunction((c) => ['done', 'error'].includes(document.querySelector(`[data-testid=cohort-attr-${c}]`)?.getAttribute('data-status')), small);
      const means = await page.$$eval(`[data-testid=cohort-attr-table-${small}] tbody tr`, (rows) => rows.map((r) => Number(r.getAttribute('data-mean'))));
      if (!means.length || !means.every(Number.isFinite) || means.every((m) => m === 0)) throw new Error(`mean attribution table of cluster ${small}: ${JSON.stringify(means)}`);
      if ((await tensors()) !== before) throw new Error(`after the mean attribution the worker holds ${await tensors()} tensors, ${before} before`);
    },
  },
  {
    name: 'import: FHIR bundles dropped in become de-identified patients with a coverage report, and get a risk',
    only: 'wasm',
    async run({ page }) {
      const dir = join(ROOT, '../shared/ehr-samples/synthea-fhir-r4');
      if (!existsSync(dir)) {
        if (CI) throw new Error(`${dir} is missing; CI=true requires ../shared`);
        console.log(`       skipped: ${dir} is missing`);
        return;
      }
      const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().slice(0, 3).map((f) => join(dir, f));
      const names = files.map((f) => JSON.parse(readFileSync(f, 'utf8')).entry.find((e) => e.resource.resourceType === 'Patient').resource.name?.[0]?.family).filter(Boolean);
      await page.locator('[data-testid=import-files]').setInputFiles(files);
      await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid=import-status]')?.getAttribute('data-status')));
      const status = await page.locator('[data-testid=import-status]').getAttribute('data-status');
      if (status !== 'done') throw new Error(`import ended ${status}: ${await page.locator('[data-testid=import-status]').textContent()}`);
      const n = Number(await page.locator('[data-testid=coverage-patients]').textContent());
      if (n !== files.length) throw new Error(`coverage says ${n} patients for ${files.length} bundles`);
      // the first imported patient is selected and predicted
      const pid = await page.locator('[data-testid=risk-card]').getAttribute('data-patient-id');
      if (!/^P[0-9a-f]{16}$/.test(pid ?? '')) throw new Error(`selected patient id ${pid} is not a pseudonym`);
      await page.waitForSelector(`[data-testid=risk-card][data-patient-id="${pid}"] [data-testid^=risk-]`);
      const body = (await page.textContent('body')) ?? '';
      const leaked = names.filter((nm) => body.includes(nm));
      if (leaked.length) throw new Error(`patient names reached the page: ${leaked.join(', ')}`);
    },
  },
  {
    name: 'import: a large file shows progress and can be cancelled; nothing is added, and the next import works',
    only: 'wasm',
    async run({ page }) {
      const dir = mkdtempSync(join(tmpdir(), 'exbehrt-big-'));
      try {
        // ~60 MB of bulk-data Observations for 200 patients, written here so the repo stays small
        const patients = Array.from({ length: 200 }, (_, i) => JSON.stringify({ resourceType: 'Patient', id: `b${i}`, gender: i % 2 ? 'male' : 'female', birthDate: '1950-01-01' })).join('\n');
        writeFileSync(join(dir, 'Patient.ndjson'), patients + '\n');
        const obs = (i) => `{"resourceType":"Observation","id":"o${i}","status":"final","subject":{"reference":"Patient/b${i % 200}"},"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"effectiveDateTime":"20${10 + (i % 10)}-0${1 + (i % 9)}-1${i % 10}","valueQuantity":{"value":${60 + (i % 40)},"unit":"/min"}}`;
        const chunk = Array.from({ length: 20000 }, (_, i) => obs(i)).join('\n') + '\n';
        writeFileSync(join(dir, 'Observation.ndjson'), chunk.repeat(12));
        const before = await page.locator('[data-testid=patient-list] [role=option]').count();
        await page.locator('[data-testid=import-files]').setInputFiles([join(dir, 'Patient.ndjson'), join(dir, 'Observation.ndjson')]);
        await page.locator('[data-testid=import-status][data-status=running] progress').waitFor();
        // the page stays responsive while the worker parses: a frame comes within 200 ms
        const frameMs = await page.evaluate(() => new Promise((r) => { const t = performance.now(); requestAnimationFrame(() => r(performance.now() - t)); }));
        if (frameMs > 200) throw new Error(`the page froze during the import (${frameMs.toFixed(0)} ms to the next frame)`);
        await page.locator('[data-testid=import-cancel]').click();
        await page.locator('[data-testid=import-status][data-status=cancelled]').waitFor({ timeout: 10_000 });
        const after = await page.locator('[data-testid=patient-list] [role=option]').count();
        if (after !== before) throw new Error(`the cancelled import changed the patient list (${before} -> ${after})`);
        // a fresh worker takes the next import
        await page.locator('[data-testid=import-files]').setInputFiles([join(dir, 'Patient.ndjson')]);
        await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid=import-status]')?.getAttribute('data-status')));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'models: BEHRT next to ExBEHRT on the same patient, with their rank agreement',
    only: 'wasm',
    async run({ page, fixture }) {
      await selectPatient(page, fixture.patient.id);
      await page.locator('[data-testid=samples-input]').fill('16');
      await page.locator('[data-testid=second-model]').selectOption('behrt');
      await page.locator('[data-testid=explain-both]').click();
      await page.locator('[data-testid=sbs-agreement]').waitFor();
      const rho = Number(await page.locator('[data-testid=sbs-agreement]').getAttribute('data-rho'));
      if (!(rho >= -1 && rho <= 1)) throw new Error(`rank agreement ${rho}`);
      const panes = await page.locator('[data-testid=sbs-pane] [data-testid=timeline-svg]').count();
      if (panes !== 2) throw new Error(`${panes} timelines side by side`);
      await page.locator('[data-testid=second-model]').selectOption('');
    },
  },
  {
    name: 'models: a broken folder lists its problems; a dropped folder can be kept, survives a reload, and is deleted',
    only: 'wasm',
    async run({ page, fixture }) {
      const dir = join(DIST, fixture.model.path);
      // no weights: refused with the missing file named, nothing added
      await page.locator('[data-testid=model-files]').setInputFiles([join(dir, 'config.json'), join(dir, 'vocab.json')]);
      await page.waitForFunction(() => /model.safetensors/.test(document.querySelector('[data-testid=error]')?.textContent ?? ''));
      if (await page.locator('[data-testid=model-entries] li').count() !== 2) throw new Error('a broken folder was added to the list');
      // the shipped ExBEHRT's files, dropped: same risk as the shipped model
      const files = ['config.json', 'vocab.json', 'model.safetensors', 'model-card.json', 'reference.json'].map((f) => join(dir, f));
      await page.locator('[data-testid=model-files]').setInputFiles(files);
      await page.locator('[data-testid=keep-local-1]').click();
      await page.waitForFunction(() => /kept in this browser/.test(document.querySelector('[data-model-id=local-1]')?.textContent ?? ''));
      await page.reload();
      await page.locator('[data-model-id=local-1]').waitFor();
      const label = (await page.locator('[data-model-id=local-1]').textContent()) ?? '';
      if (!label.includes('kept in this browser')) throw new Error(`after reload: ${label}`);
      await page.locator('[data-testid=model-select]').selectOption('local-1');
      await page.waitForSelector('[data-testid=risk-card] [data-testid^=risk-]');
      await page.locator('[data-testid=forget-local-1]').click();
      await page.waitForFunction(() => !document.querySelector('[data-model-id=local-1]'));
      const left = await page.evaluate(() => new Promise((r) => { const q = indexedDB.open('exbehrt-workbench'); q.onsuccess = () => { const tx = q.result.transaction('models', 'readonly'); const g = tx.objectStore('models').count(); g.onsuccess = () => r(g.result); }; }));
      if (left !== 0) throw new Error(`${left} models still stored after delete`);
    },
  },
  {
    name: 'models: a checkpoint exported from PyTorch (tools/export) loads by drop-in and predicts as PyTorch does',
    only: 'wasm',
    async run({ page }) {
      const dir = join(ROOT, 'tests/fixtures/export/behrt-exported');
      const golden = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/export/behrt-exported-golden.json'), 'utf8'));
      await page.locator('[data-testid=model-files]').setInputFiles(readdirSync(dir).map((f) => join(dir, f)));
      await page.waitForFunction(() => /behrt-exported|exported/i.test(document.querySelector('[data-testid=model-entries]')?.textContent ?? ''));
      // the golden patient, imported as a timeline file (the file must outlive the import)
      const tmp = mkdtempSync(join(tmpdir(), 'exbehrt-export-'));
      const id = golden.patient.id;
      const problems = [];
      try {
        writeFileSync(join(tmp, 'patient.json'), JSON.stringify(golden.patient));
        await page.locator('[data-testid=import-files]').setInputFiles(join(tmp, 'patient.json'));
        for (const row of golden.predictions) {
          const cell = `[data-testid=risk-card][data-patient-id="${id}"] [data-testid="risk-${row.task}"]`;
          await page.waitForSelector(cell);
          const got = Number(await page.locator(cell).textContent());
          if (!(Math.abs(got - row.probability) <= TOLERANCE)) problems.push(`${row.task}: page ${got}, PyTorch ${row.probability}`);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      const selected = await page.locator('[data-testid=model-select]').inputValue();
      if (!selected.startsWith('local-')) problems.push(`the dropped model is not the selected one (${selected})`);
      if (problems.length) throw new Error(problems.join('; '));
      await page.locator('[data-testid=model-select]').selectOption('exbehrt');
    },
  },
  {
    name: 'faults: the engine worker dies mid-explanation; the job is reported as cancelled, a fresh worker takes over and explains correctly',
    only: 'wasm',
    async run({ page, fixture, expectedUi }) {
      await selectPatient(page, fixture.patient.id);
      await page.locator('[data-testid=samples-input]').fill('4096');
      await page.locator('[data-testid=explain-button]').click();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=explain-progress]')?.getAttribute('value')) > 0);
      await page.evaluate(() => globalThis.exbehrt.killEngine('killed by the browser check'));
      await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'cancelled');
      const notice = (await page.locator('[data-testid=notice]').textContent()) ?? '';
      if (!/engine stopped/.test(notice)) throw new Error(`no notice of the restart: ${JSON.stringify(notice)}`);
      // the fresh worker has the models again: the same explanation as the CLI
      await page.waitForSelector('[data-testid=model-card]');
      await page.locator('[data-testid=samples-input]').fill(String(UI_JOB.samples));
      await page.locator('[data-testid=seed-input]').fill(String(UI_JOB.seed));
      await page.locator('[data-testid=explain-button]').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done');
      const logit = Number(await page.locator('[data-testid=explain-logit]').textContent());
      if (!(Math.abs(logit - expectedUi.logit) <= 1e-4)) throw new Error(`after the restart: logit ${logit}, CLI ${expectedUi.logit}`);
    },
  },
  {
    name: 'offline: after one visit the app starts and explains with the network off',
    only: 'wasm',
    async run({ page, fixture, expectedUi }) {
      await page.evaluate(() => navigator.serviceWorker.ready);
      // the service worker precached everything once it is active; now cut the network
      await page.context().setOffline(true);
      try {
        await page.reload();
        await selectPatient(page, fixture.patient.id);
        await page.locator('[data-testid=samples-input]').fill(String(UI_JOB.samples));
        await page.locator('[data-testid=seed-input]').fill(String(UI_JOB.seed));
        await page.locator('[data-testid=explain-button]').click();
        await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done');
        const logit = Number(await page.locator('[data-testid=explain-logit]').textContent());
        if (!(Math.abs(logit - expectedUi.logit) <= 1e-4)) throw new Error(`offline logit ${logit}, CLI ${expectedUi.logit}`);
      } finally {
        await page.context().setOffline(false);
      }
    },
  },
  {
    name: 'feedback: add on an event, a visit and the explanation; kept across a reload; export, clear, import gives the same back',
    only: 'wasm', // no engine work beyond one explanation: one run covers it
    async run({ page, fixture }) {
      const problems = [];
      const items = () => page.locator('[data-testid=feedback-item]').count();
      await page.locator('[data-testid=model-select]').selectOption(fixture.model.id);
      await selectPatient(page, fixture.patient.id);
      const status = page.locator('[data-testid=explain-status]');
      if (!(await status.count()) || (await status.getAttribute('data-status')) !== 'done') {
        await page.locator('[data-testid=samples-input]').fill(String(UI_JOB.samples));
        await page.locator('[data-testid=explain-button]').click();
        await page.waitForFunction(() => document.querySelector('[data-testid=explain-status]')?.getAttribute('data-status') === 'done');
      }
      // pin an event: it becomes the default target
      const { visit, event } = WHAT_IF_EVENT(fixture.patient);
      const ev = fixture.patient.visits[visit].events[event];
      const mark = await markPoint(page, `${visit}:${event}`);
      await page.mouse.click(mark.x, mark.y);
      await page.locator('[data-testid=timeline-pinned] h3').waitFor();
      const target = await page.locator('[data-testid=feedback-target]').inputValue();
      if (target !== `event:${visit}:${event}`) problems.push(`the pinned event is not the default target (${target})`);
      const add = async (targetValue, verdict, note) => {
        const n = await items();
        // a visit is chosen by its number (1-based) in a field of its own
        const [value, visitNumber] = targetValue.split('#');
        await page.locator('[data-testid=feedback-target]').selectOption(value);
        if (visitNumber) await page.locator('[data-testid=feedback-visit]').fill(visitNumber);
        await page.locator(`[data-testid=feedback-verdict-${verdict}]`).check();
        await page.locator('[data-testid=feedback-note]').fill(note);
        await page.locator('[data-testid=feedback-add]').click();
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid=feedback-item]').length === n + 1, n);
      };
      await add(`event:${visit}:${event}`, 'implausible', `${ev.code} here is not a risk factor, it was resolved`);
      await add('explanation', 'plausible', 'overall the story fits');
      // a visit number out of range names the range and cannot be added
      await page.locator('[data-testid=feedback-target]').selectOption('visit');
      await page.locator('[data-testid=feedback-visit]').fill(String(fixture.patient.visits.length + 1));
      const rangeText = (await page.locator('[data-testid=feedback-visit-text]').textContent()) ?? '';
      if (rangeText !== `The visit number must be a whole number from 1 to ${fixture.patient.visits.length}.`) problems.push(`an out-of-range visit number reads ${JSON.stringify(rangeText)}`);
      await page.locator('[data-testid=feedback-verdict-unsure]').check();
      if (!(await page.locator('[data-testid=feedback-add]').isDisabled())) problems.push('Add feedback is enabled with an out-of-range visit number');
      await add('visit#1', 'unsure', '');
      const visitItem = `Visit 1 (${fixture.patient.visits[0].date})`;
      if (!(await page.locator('[data-testid=feedback-item]', { hasText: visitItem }).count())) problems.push(`no feedback item on ${visitItem}`);
      // the disagreement summary puts the implausible, model-weighted event first
      const top = (await page.locator('[data-testid=feedback-summary] tbody tr').first().textContent()) ?? '';
      if (!top.includes(ev.code)) problems.push(`the summary's first row is not ${ev.code}: ${JSON.stringify(top)}`);
      // kept in this browser: survives a reload
      await page.locator('[data-testid=feedback-persist]').check();
      await page.waitForFunction(() => new Promise((r) => { const q = indexedDB.open('exbehrt-workbench'); q.onsuccess = () => { const g = q.result.transaction('feedback').objectStore('feedback').count(); g.onsuccess = () => (q.result.close(), r(g.result === 3)); }; }));
      await page.reload();
      await page.locator('[data-testid=model-select]').selectOption(fixture.model.id);
      await selectPatient(page, fixture.patient.id);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=feedback-item]').length === 3).catch(() => problems.push('the kept feedback is not back after a reload'));
      if (!(await page.locator('[data-testid=feedback-persist]').isChecked())) problems.push('"keep feedback" is off after a reload');
      // export, clear, import
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=feedback-export]').click()]);
      const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
      const entries = exported.entries ?? [];
      if (exported.format !== 'exbehrt-feedback' || entries.length !== 3) problems.push(`exported ${exported.format} with ${entries.length} entries`);
      for (const e of entries) {
        const c = e.context ?? {};
        if (c.modelId !== fixture.model.id || c.task !== 'hf_12m' || !c.method || !c.reference?.description || c.patientId !== fixture.patient.id)
          problems.push(`entry ${e.id} lacks model/task/method/reference/patient: ${JSON.stringify(c).slice(0, 200)}`);
      }
      page.once('dialog', (d) => d.accept());
      await page.locator('[data-testid=feedback-clear]').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=feedback-item]').length === 0);
      await page.locator('[data-testid=feedback-import]').setInputFiles(await download.path());
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=feedback-item]').length === 3);
      const [again] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=feedback-export]').click()]);
      const back = JSON.parse(readFileSync(await again.path(), 'utf8')).entries;
      const byId = (a) => JSON.stringify([...a].sort((x, y) => (x.id < y.id ? -1 : 1)));
      if (byId(back) !== byId(entries)) problems.push('the imported feedback differs from the exported');
      // a damaged file is refused with a specific message, and changes nothing
      const tmp = mkdtempSync(join(tmpdir(), 'exbehrt-feedback-'));
      writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ ...exported, entries: [{ ...entries[0], verdict: 'maybe' }] }));
      await page.locator('[data-testid=feedback-import]').setInputFiles(join(tmp, 'bad.json'));
      // Chromium reads a picked file when the page asks for it: keep it until the error is shown
      const err = (await page.locator('[data-testid=feedback-error]').textContent()) ?? '';
      rmSync(tmp, { recursive: true, force: true });
      if (!/bad\.json.*entries\[0\]\.verdict/.test(err)) problems.push(`bad file error: ${JSON.stringify(err)}`);
      if ((await items()) !== 3) problems.push(`${await items()} entries after a refused import`);
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'forget everything: kept models, kept feedback and imported patients are gone after it',
    only: 'wasm',
    async run({ page, fixture }) {
      await page.reload();
      const dir = join(DIST, fixture.model.path);
      await page.locator('[data-testid=model-files]').setInputFiles(['config.json', 'vocab.json', 'model.safetensors'].map((f) => join(dir, f)));
      await page.locator('[data-testid=keep-local-1]').click();
      await page.waitForFunction(() => /kept in this browser/.test(document.querySelector('[data-model-id=local-1]')?.textContent ?? ''));
      const tmp = mkdtempSync(join(tmpdir(), 'exbehrt-forget-'));
      writeFileSync(join(tmp, 'mine.jsonl'), JSON.stringify({ ...fixture.patient, id: 'forget-me' }) + '\n');
      await page.locator('[data-testid=import-files]').setInputFiles(join(tmp, 'mine.jsonl'));
      await page.locator('[data-testid="patient-forget-me"]').waitFor();
      rmSync(tmp, { recursive: true, force: true });
      page.once('dialog', (d) => d.accept());
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid=forget-everything]').click()]);
      await page.locator('[data-testid=model-entries]').waitFor();
      const problems = [];
      if (await page.locator('[data-model-id=local-1]').count()) problems.push('the kept model is still listed');
      await page.locator('[data-testid=patient-search]').fill('forget-me');
      if (await page.locator('[data-testid="patient-forget-me"]').count()) problems.push('the imported patient is still listed');
      const dbs = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
      const left = await page.evaluate(() => new Promise((r) => { const q = indexedDB.open('exbehrt-workbench'); q.onupgradeneeded = () => r(0); q.onsuccess = () => { const names = q.result.objectStoreNames; if (!names.contains('models')) return r(0); const g = q.result.transaction('models').objectStore('models').count(); g.onsuccess = () => r(g.result); }; }));
      if (left) problems.push(`${left} models still stored (databases: ${dbs.join(', ')})`);
      // the feedback kept by the previous check is gone, and keeping it is off again
      if (await page.evaluate(() => localStorage.getItem('exbehrt-feedback-enabled'))) problems.push('"keep feedback" is still on');
      const feedbackLeft = await page.evaluate(() => new Promise((r) => { const q = indexedDB.open('exbehrt-workbench'); q.onupgradeneeded = () => r(0); q.onsuccess = () => { if (!q.result.objectStoreNames.contains('feedback')) return r(0); const g = q.result.transaction('feedback').objectStore('feedback').count(); g.onsuccess = () => r(g.result); }; }));
      if (feedbackLeft) problems.push(`${feedbackLeft} feedback entries still stored`);
      if (problems.length) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'no request leaves the origin',
    async run({ origin, requests, cspViolations }) {
      // the recorder must see the worker's fetches, or this check would pass blind
      if (!requests.some((u) => u.endsWith('/model.safetensors'))) throw new Error(`the model's weights fetch was not observed; requests: ${requests.join(', ')}`);
      const outside = requests.filter((u) => !sameOrigin(u, origin));
      if (outside.length) throw new Error(`requests outside ${origin}: ${[...new Set(outside)].join(', ')}`);
      // the page's CSP stops such requests before they reach the network: a violation is an attempt
      if (cspViolations.length) throw new Error(`blocked by the Content-Security-Policy: ${cspViolations.join(' | ')}`);
    },
  },
];

/** The EG job the worker checks run and the CLI computes for comparison: two batches of
 *  WORKER_BATCH, no more than progress needs (the lost-device check loses the device after the
 *  first and finishes on wasm). */
const EG_JOB = { task: 'hf_12m', method: 'eg', samples: 8, seed: 3 };
/** The worker checks' batch. On SwiftShader (CI's only WebGPU) a batch costs 35-45 s whatever its
 *  size (bench/webgpu-batches.mjs), so the checks run as few batches as they can. */
const WORKER_BATCH = 4;
/** The EG job run through the page's controls (Explain button), also computed by the CLI. */
const UI_JOB = { task: 'hf_12m', method: 'eg', samples: 16, seed: 5 };
/** The teaching walk's convergence run (256 samples at the page's seed), also computed by the CLI. */
const TEACH_JOB = { task: 'hf_12m', method: 'eg', samples: 256, seed: UI_JOB.seed };

/** The event the what-if check removes: the first event of the last visit. */
const WHAT_IF_EVENT = (p) => ({ visit: p.visits.length - 1, event: 0 });

/** The timeline's canvas shows the patient's marks: pixels that are neither white nor the lane
 *  stripe's grey, at least 10 per event (a mark is 5 px wide, outlined); with `bothHalves`, at
 *  least 2.5 per event in each half of the plot (a first paint in parts fills the earlier visits,
 *  on the left, first). */
async function expectMarksPainted(page, events, what, bothHalves = false) {
  const painted = await page
    .waitForFunction(
      ({ events, bothHalves }) => {
        const c = document.querySelector('[data-testid=timeline-canvas]');
        const d = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
        const half = [0, 0];
        for (let i = 0; d && i < d.length; i += 4)
          if (!(d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255) && !(d[i] === 246 && d[i + 1] === 247 && d[i + 2] === 249)) half[(i / 4) % c.width < c.width / 2 ? 0 : 1]++;
        return half[0] + half[1] >= 10 * events && (!bothHalves || Math.min(...half) >= 2.5 * events) && half;
      },
      { events, bothHalves },
      { timeout: 10_000 },
    )
    .catch(() => null);
  if (!painted) throw new Error(`the timeline canvas does not show the ${events} events of ${what}${bothHalves ? ' in both halves of the plot' : ''}`);
}

/** A patient's first and last visit dates (ms). */
const visitSpan = (patient) => [Math.min(...patient.visits.map((v) => Date.parse(v.date))), Math.max(...patient.visits.map((v) => Date.parse(v.date)))];

/** The chart's time domain for a visit span [t0, t1] (ms): padded as the chart pads it (2%, at
 *  least 15 days a side). */
function chartDomain([t0, t1]) {
  const pad = Math.max(15 * 864e5, (t1 - t0) * 0.02);
  return [t0 - pad, t1 + pad];
}

/** Both time axes of the timeline show the span [t0, t1] (ms), padded as the chart pads it. */
async function expectAxesOn(page, span, who, problems) {
  for (const axis of ['timeline-axis', 'timeline-overview-axis']) await expectAxisSpan(page, axis, chartDomain(span), `the ${axis} does not show ${who}`, problems);
}

/** An axis shows the domain [lo, hi] (ms, within 0.5% of it): every tick inside it, and the first
 *  and last ticks within a tick step of its ends (an axis left from another span fails one or the
 *  other). */
async function expectAxisSpan(page, axis, [lo, hi], what, problems) {
  const tol = (hi - lo) * 0.005;
  const ok = await page
    .waitForFunction(
      ({ axis, lo, hi }) => {
        const t = [...document.querySelectorAll(`[data-testid=${axis}] .tick`)].map((g) => +g.__data__);
        if (t.length < 2) return false;
        const step = Math.max(...t.slice(1).map((x, i) => x - t[i])) * 1.1;
        return t.every((x) => x >= lo && x <= hi) && t[0] - lo <= step && hi - t.at(-1) <= step;
      },
      { axis, lo: lo - tol, hi: hi + tol },
      { timeout: 5_000 },
    )
    .catch(() => false);
  const day = (t) => new Date(t).toISOString().slice(0, 10);
  if (!ok) problems.push(`${what}, ${day(lo)} to ${day(hi)}: ticks ${(await page.$$eval(`[data-testid=${axis}] .tick`, (g) => g.map((x) => +x.__data__))).map(day).join(' ')}`);
}

/** Where the workbench's timeline draws mark `id` (`visit:event`), in the viewport, with the chart
 *  scrolled into view: a point a pointer can hover or click (the marks are canvas pixels; the
 *  timeline's root answers for them, `markCentre` in Timeline.tsx). */
async function markPoint(page, id) {
  const root = page.locator('[data-testid=timeline-card] [data-testid=timeline]');
  await root.locator('[data-testid=timeline-plot]').scrollIntoViewIfNeeded();
  const p = await root.evaluate((el, id) => el.markCentre?.(id) ?? null, id);
  if (!p) throw new Error(`the timeline does not say where mark ${id} is`);
  return p;
}

async function selectPatient(page, id) {
  await page.locator('[data-testid=patient-search]').fill(id);
  const option = page.locator(`[data-testid="patient-${id}"]`);
  await option.click();
  await page.waitForSelector(`[data-testid=risk-card][data-patient-id="${id}"] [data-testid^=risk-]`);
}

const sameOrigin = (url, origin) => url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `vite preview` of dist/ on 127.0.0.1; resolves once it answers. */
async function startPreview() {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(origin + '/')).ok) return { origin, stop: () => child.kill('SIGTERM') };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  throw new Error(`vite preview did not answer on ${origin} within 30 s:\n${output}`);
}

/** A task the CLI gives no risk for (the patient is outside its population): the risk card shows
 *  no number for it and says the CLI's reason. */
async function expectOutside(card, row, problems) {
  const text = (await card.locator(`[data-testid="risk-outside-${row.task}"]`).textContent({ timeout: TIMEOUT })) ?? '';
  if (!row.outside || !text.includes(row.outside)) problems.push(`${row.task}: the card says ${JSON.stringify(text)}, the CLI ${JSON.stringify(row.outside)}`);
  if (await card.locator(`[data-testid="risk-${row.task}"]`).count()) problems.push(`${row.task}: a risk is shown outside the task's population`);
}

/** The model and patient the checks use, read from dist/ (what the page is served), and the CLI's
 *  predictions for them. */
async function prepareFixture() {
  const need = (rel, hint) => {
    const p = join(DIST, rel);
    if (!existsSync(p)) throw new Error(`${p} is missing: ${hint}`);
    return p;
  };
  need('index.html', 'run `vite build` first (npm run test:browser does)');
  const index = JSON.parse(readFileSync(need('models/index.json', 'the shipped models (public/models) are missing'), 'utf8'));
  const model = index.find((m) => m.id === 'exbehrt') ?? index[0];
  if (!model) throw new Error('dist/models/index.json lists no models');
  const lines = readFileSync(need('cohort/patients.jsonl', 'the sample patients (public/cohort) are missing'), 'utf8').split('\n').filter((l) => l.trim());
  const cohort = new Map(lines.map((l) => JSON.parse(l)).map((p) => [p.id, p]));
  // the second patient, so that selecting it changes the app's default (the first)
  const patient = JSON.parse(lines[Math.min(1, lines.length - 1)]);
  const tmp = mkdtempSync(join(tmpdir(), 'exbehrt-browser-'));
  const file = join(tmp, 'patient.jsonl');
  writeFileSync(file, JSON.stringify(patient) + '\n');
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/exbehrt.mjs'), 'predict', '--model', join(DIST, model.path), '--patients', file], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const expected = stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.patient_id === patient.id);
    if (!expected.length) throw new Error(`the CLI printed no prediction for ${patient.id}:\n${stdout}`);
    const cliAttribute = (job) =>
      promisify(execFile)(process.execPath, [join(ROOT, 'bin/exbehrt.mjs'), 'attribute', '--model', join(DIST, model.path), '--patients', file, '--task', job.task, '--method', job.method, '--samples', String(job.samples), '--seed', String(job.seed)], { cwd: ROOT, maxBuffer: 64 << 20 }).then((r) => JSON.parse(r.stdout));
    const [expectedEg, expectedUi, expectedTeach] = await Promise.all([cliAttribute(EG_JOB), cliAttribute(UI_JOB), cliAttribute(TEACH_JOB)]);
    // the what-if check's edited patient, predicted by the CLI
    const { visit, event } = WHAT_IF_EVENT(patient);
    const edited = structuredClone(patient);
    edited.visits[visit].events.splice(event, 1);
    const editedFile = join(tmp, 'edited.jsonl');
    writeFileSync(editedFile, JSON.stringify(edited) + '\n');
    const wi = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/exbehrt.mjs'), 'predict', '--model', join(DIST, model.path), '--patients', editedFile], { cwd: ROOT });
    const expectedWhatIf = wi.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.task === 'hf_12m');
    return { fixture: { model, patient, cohort }, expected, expectedEg, expectedUi, expectedWhatIf, expectedTeach };
  } catch (e) {
    throw new Error(`computing the expected risk with the CLI failed: ${e.stderr || e.message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const fmtMs = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  if (!existsSync(CHROMIUM)) {
    const msg = `Chromium not found at ${CHROMIUM} (install Debian's: apt-get install -y chromium; or set CHROMIUM_PATH)`;
    if (CI) {
      console.error(`browser: FAILED: ${msg}. CI=true requires the browser checks to run.`);
      console.log('browser: 0 passed, 1 failed');
      process.exit(1);
    }
    console.log(`browser: SKIPPED, ${msg}. The browser checks did not run.`);
    return;
  }
  const { chromium } = await import('playwright-core');
  let passed = 0;
  let failed = 0;
  const fail = (label, message) => {
    failed++;
    console.log(`  FAIL ${label}\n       ${String(message).split('\n').join('\n       ')}`);
  };

  let preview = null;
  try {
    const [prep, server] = await Promise.all([prepareFixture(), startPreview()]);
    preview = server;
    const { fixture, expected, expectedEg, expectedUi, expectedWhatIf, expectedTeach } = prep;
    console.log(`browser: ${preview.origin}, model ${fixture.model.id}, patient ${fixture.patient.id}, CLI: ${expected.map((r) => `${r.task}=${r.probability === null ? "none (outside its population)" : r.probability.toFixed(4)}`).join(' ')}`);
    for (const run of RUNS) {
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...run.flags], timeout: 60_000 });
      try {
        const context = await browser.newContext({ acceptDownloads: true });
        const requests = [];
        const pageErrors = [];
        const cspViolations = [];
        context.on('request', (r) => requests.push(r.url()));
        // belt and braces: nothing outside the origin is even attempted by the test browser
        await context.route((url) => !sameOrigin(url.href, preview.origin), (route) => route.abort('blockedbyclient'));
        const page = await context.newPage();
        page.setDefaultTimeout(TIMEOUT);
        page.on('pageerror', (e) => pageErrors.push(e.message));
        page.on('console', (m) => {
          if (m.type() !== 'error') return;
          console.log(`       [${run.name} console] ${m.text()}`);
          if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
        });
        await page.goto(preview.origin + '/');
        let stop = null;
        for (const check of CHECKS.filter((c) => (!c.only || c.only === run.name) && (c.essential || !ONLY || ONLY.test(c.name)))) {
          const label = `${run.name} › ${check.name}`;
          if (stop) {
            fail(label, `not run: ${stop}`);
            continue;
          }
          const t0 = Date.now();
          try {
            await check.run({ page, run, origin: preview.origin, requests, cspViolations, pageErrors, expected, expectedEg, expectedUi, expectedWhatIf, expectedTeach, fixture });
            passed++;
            console.log(`  ok   ${label} (${fmtMs(Date.now() - t0)})`);
          } catch (e) {
            fail(label, e?.message ?? e);
            mkdirSync(RESULTS, { recursive: true });
            const shot = join(RESULTS, `browser-${run.name}-${CHECKS.indexOf(check)}.png`);
            await page.screenshot({ path: shot, fullPage: true }).then(() => console.log(`       screenshot: ${shot}`), () => {});
            if (check.essential) stop = `"${check.name}" failed`;
          }
        }
      } finally {
        await browser.close();
      }
    }
  } catch (e) {
    fail('set-up', e?.message ?? e);
  } finally {
    preview?.stop();
  }
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
