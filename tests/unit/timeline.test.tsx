// The attribution timeline: the pure view model (marks, lanes, colour, summaries) and the static
// frame of the chart and summaries rendered to HTML in Node (the d3 parts run in layout effects,
// which server rendering skips; the browser checks cover them).
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { AttributionResult, EventAttribution } from '../../src/attribution/types';
import type { Patient } from '../../src/data/schema';
import { ModalityBars } from '../../src/app/timeline/ModalityBars';
import {
  attributionColour,
  buildTimeline,
  describeMark,
  formatAttribution,
  LANES,
  modalityTotals,
  niceDomain,
  NO_ATTRIBUTION_COLOUR,
  topCodes,
} from '../../src/app/timeline/model';
import { COLOUR_STEPS, drawOverviewScene, drawPlotScene, geometryOf, hitTest, LANE_INDEX, MARK_W, markBox, OVERVIEW_FILL, overviewScene, overviewSceneSvg, plotScene, plotSceneSvg, sceneParts, STRIPES, type SceneContext } from '../../src/app/timeline/scene';
import { stressPatient, stressResult } from '../../src/app/timeline/stress';
import { Timeline } from '../../src/app/timeline/Timeline';
import { TopCodesTable } from '../../src/app/timeline/TopCodesTable';

const patient: Patient = {
  id: 'p1',
  sex: 'F',
  birthDate: '1950-06-01',
  visits: [
    {
      date: '2019-03-04',
      events: [
        { modality: 'diagnosis', code: 'I10' },
        { modality: 'lab', code: '2160-0', value: 1.4, unit: 'mg/dL' },
        { modality: 'diagnosis', code: 'E11.9' },
        { modality: 'smoking', code: 'SMOKING:current' },
      ],
    },
    // no diagnosis: its medication sits on a placeholder slot (event -1)
    { date: '2020-01-15', events: [{ modality: 'medication', code: 'A10BA02' }] },
    { date: '2021-07-01', events: [{ modality: 'diagnosis', code: 'I10' }, { modality: 'vital', code: '8480-6', value: 150 }] },
  ],
};

function ev(visit: number, event: number, part: string, modality: string, code: string, value: number, stderr: number, t: number): EventAttribution {
  return { visit, event, part, row: 0, t, modality, code, value, stderr };
}

/** A hand-made result for `patient` (numbers chosen, not computed by a model). */
function resultFor(p: Patient): AttributionResult {
  const events = [
    ev(0, 0, 'diagnosis', 'diagnosis', 'I10', 0.231, 0.012, 1),
    ev(0, 2, 'diagnosis', 'diagnosis', 'E11.9', -0.05, 0.01, 2),
    ev(0, 1, 'lab', 'lab', '2160-0', 0.1, 0.02, 1),
    ev(0, 3, 'smoking', 'smoking', 'SMOKING:current', 0.04, 0.005, 1),
    ev(1, -1, 'diagnosis', 'diagnosis', '[no diagnosis]', -0.02, 0.003, 4),
    ev(1, 0, 'medication', 'medication', 'A10BA02', -0.3, 0.03, 4),
    ev(2, 0, 'diagnosis', 'diagnosis', 'I10', 0.1, 0.01, 6),
    // vital 8480-6 is not in the model's input: no entry
  ];
  const code: Record<string, number> = {};
  for (const e of events) code[`${e.modality}:${e.code}`] = (code[`${e.modality}:${e.code}`] ?? 0) + e.value;
  return {
    method: 'eg',
    task: 'hf_12m',
    patientId: p.id,
    logit: 0.4,
    referenceLogit: -1,
    referenceSize: 10,
    samplesDone: 32,
    samplesTotal: 128,
    token: {},
    tokenStderr: {},
    visit: { [-1]: 0.01, 0: 0.35, 1: -0.33, 2: 0.12 },
    modality: { diagnosis: 0.27, lab: 0.1, smoking: 0.04, medication: -0.3, age: 0.5, segment: -0.01, position: 0.02, static: 0.03 },
    code,
    events,
    gap: 0,
    plainGap: 0,
    stderr: 0.01,
    truncatedVisits: 0,
    done: false,
    cancelled: false,
  };
}

describe('buildTimeline', () => {
  const result = resultFor(patient);
  const model = buildTimeline(patient, result);

  it('makes one mark per event (placeholders are not marks), with id, lane, description, value and unit', () => {
    expect(model.marks).toHaveLength(7);
    expect(model.marks.map((m) => m.id).sort()).toEqual(['0:0', '0:1', '0:2', '0:3', '1:0', '2:0', '2:1']);
    const hyper = model.marks[model.markIndex.get('0:0')!];
    expect(hyper).toMatchObject({ visit: 0, event: 0, date: '2019-03-04', lane: 'diagnosis', modality: 'diagnosis', code: 'I10', description: 'Essential (primary) hypertension', attribution: 0.231, stderr: 0.012 });
    const lab = model.marks[model.markIndex.get('0:1')!];
    expect(lab).toMatchObject({ lane: 'lab', value: 1.4, unit: 'mg/dL', attribution: 0.1 });
    expect(model.marks[model.markIndex.get('0:3')!].lane).toBe('other');
    // a value without a unit in the record takes the catalogue's unit
    expect(model.marks[model.markIndex.get('2:1')!]).toMatchObject({ lane: 'vital', unit: 'mm[Hg]', attribution: null, stderr: null });
  });

  it('stacks the marks of one visit in one lane, and orders lanes for keyboard navigation by time', () => {
    const dx = ['0:0', '0:2'].map((id) => model.marks[model.markIndex.get(id)!]);
    expect(dx.map((m) => [m.stack, m.stackSize])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(model.laneOrder.diagnosis.map((i) => model.marks[i].id)).toEqual(['0:0', '0:2', '2:0']);
    expect(model.lanes.map((l) => l.id)).toEqual(['diagnosis', 'procedure', 'medication', 'lab', 'vital', 'other']);
    expect(model.lanes.find((l) => l.id === 'diagnosis')).toMatchObject({ markCount: 3, maxStack: 2 });
    expect(model.lanes.find((l) => l.id === 'procedure')?.markCount).toBe(0);
  });

  it('takes visit contributions from result.visit (the placeholder is in there) and the static strip from result.modality', () => {
    expect(model.visits.map((v) => [v.index, v.contribution, v.eventCount])).toEqual([
      [0, 0.35, 4],
      [1, -0.33, 1],
      [2, 0.12, 2],
    ]);
    expect(model.staticParts.map((p) => [p.part, p.attribution])).toEqual([
      ['age', 0.5],
      ['segment', -0.01],
      ['position', 0.02],
      ['static', 0.03],
    ]);
    expect(model.markMax).toBeCloseTo(0.3);
    expect(model.visitMax).toBeCloseTo(0.35);
    expect(model.timeExtent).toEqual([Date.parse('2019-03-04T00:00:00Z'), Date.parse('2021-07-01T00:00:00Z')]);
  });

  it('without a result (or with a stale one for another patient) has no attributions', () => {
    for (const m of [buildTimeline(patient, null), buildTimeline(patient, { ...result, patientId: 'other' })]) {
      expect(m.result).toBeNull();
      expect(m.marks.every((x) => x.attribution === null && x.stderr === null)).toBe(true);
      expect(m.visits.every((v) => v.contribution === null)).toBe(true);
      expect(m.markMax).toBe(0);
    }
  });

  it('keeps the structure key across progressive results and changes it with the events', () => {
    expect(buildTimeline(patient, null).structureKey).toBe(model.structureKey);
    const edited: Patient = { ...patient, visits: [patient.visits[0], patient.visits[1], { ...patient.visits[2], events: patient.visits[2].events.slice(0, 1) }] };
    expect(buildTimeline(edited, null).structureKey).not.toBe(model.structureKey);
  });

  it('describes a mark in one sentence for screen readers', () => {
    expect(describeMark(model.marks[model.markIndex.get('0:0')!], true)).toBe('2019-03-04, diagnosis I10 Essential (primary) hypertension, attribution +0.231 ± 0.012');
    expect(describeMark(model.marks[model.markIndex.get('0:1')!], true)).toMatch(/^2019-03-04, lab 2160-0 Creatinine .*, 1\.4 mg\/dL, attribution \+0\.100 ± 0\.020$/);
    expect(describeMark(model.marks[model.markIndex.get('2:1')!], true)).toMatch(/not in the model input$/);
    expect(describeMark(buildTimeline(patient, null).marks[0], false)).toMatch(/no attribution yet$/);
  });
});

describe('attributionColour', () => {
  const rgb = (s: string) => s.match(/\d+/g)!.map(Number);
  it('is centred at zero: zero is the pale centre, positive is warm (red), negative is cool (blue)', () => {
    const c = attributionColour(0.5);
    const [r0, g0, b0] = rgb(c(0));
    expect(Math.min(r0, g0, b0)).toBeGreaterThan(220);
    const [rp, , bp] = rgb(c(0.4));
    const [rn, , bn] = rgb(c(-0.4));
    expect(rp).toBeGreaterThan(bp);
    expect(bn).toBeGreaterThan(rn);
    // symmetric: ±x are equally far from the centre, and beyond the domain clamps
    expect(c(0.5)).toBe(c(5));
    expect(c(-0.5)).toBe(c(-5));
  });
  it('is robust to an all-zero or invalid domain, and greys out missing attributions', () => {
    for (const max of [0, NaN, -1, Infinity]) {
      const c = attributionColour(max);
      expect(c(0)).toBe(attributionColour(1)(0));
      expect(c(0.3)).toMatch(/^rgb/);
    }
    expect(attributionColour(1)(null)).toBe(NO_ATTRIBUTION_COLOUR);
    expect(attributionColour(1)(NaN)).toBe(NO_ATTRIBUTION_COLOUR);
  });
  it('quantises into classes on each side of a neutral centre, and rounds domains to nice values', () => {
    const q = attributionColour(1, 4);
    expect(q(0.05)).toBe(q(0));
    expect(q(0.2)).toBe(q(0.3));
    expect(q(0.2)).toBe(attributionColour(1)(0.25));
    expect(q(-0.9)).toBe(attributionColour(1)(-1));
    expect(new Set([-1, -0.6, -0.3, 0, 0.3, 0.6, 1].map(q)).size).toBe(7);
    expect([0.00123, 0.2, 0.21, 0.26, 0.7, 3, 10, 0, -1, NaN].map(niceDomain)).toEqual([0.002, 0.2, 0.25, 0.5, 1, 5, 10, 0, 0, 0]);
  });
  it('formats attributions with a sign and small ones with an exponent', () => {
    expect(formatAttribution(0.2314)).toBe('+0.231');
    expect(formatAttribution(-0.05)).toBe('\u22120.050');
    expect(formatAttribution(0)).toBe('0.000');
    expect(formatAttribution(0.00002)).toBe('+2.0e-5');
  });
});

describe('summaries', () => {
  const result = resultFor(patient);
  it('topCodes orders by |total|, totals are result.code, counts and mean s.e. from the events', () => {
    const rows = topCodes(result, patient, 50);
    expect(rows.map((r) => r.rank)).toEqual(rows.map((_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) expect(Math.abs(rows[i - 1].total)).toBeGreaterThanOrEqual(Math.abs(rows[i].total));
    expect(rows.length).toBe(Object.keys(result.code).length);
    for (const r of rows) expect(r.total).toBe(result.code[`${r.modality}:${r.code}`]);
    const i10 = rows.find((r) => r.code === 'I10')!;
    expect(i10).toMatchObject({ modality: 'diagnosis', count: 2, description: 'Essential (primary) hypertension' });
    expect(i10.total).toBeCloseTo(0.331);
    expect(i10.meanStderr).toBeCloseTo(0.011);
    expect(rows[0]).toMatchObject({ code: 'I10', rank: 1 });
    expect(rows.find((r) => r.code === '[no diagnosis]')?.description).toMatch(/placeholder/i);
    expect(topCodes(result, patient, 3)).toHaveLength(3);
    expect(topCodes(result, { ...patient, id: 'other' }, 3)).toEqual([]);
  });
  it('topCodes has no mean s.e. for a method without sampling', () => {
    const noSe = { ...result, events: result.events.map((e) => ({ ...e, stderr: 0 })) };
    expect(topCodes(noSe, null).every((r) => r.meanStderr === null)).toBe(true);
  });
  it('modalityTotals lists every part in display order and sums to the sum of result.modality', () => {
    const rows = modalityTotals({ ...result, modality: { ...result.modality, mystery: 0.01 } });
    expect(rows.map((r) => r.part)).toEqual(['diagnosis', 'medication', 'lab', 'smoking', 'age', 'segment', 'position', 'static', 'mystery']);
    expect(rows.find((r) => r.part === 'static')?.label).toBe('Sex');
    const sum = Object.values(result.modality).reduce((s, x) => s + x, 0) + 0.01;
    expect(rows.reduce((s, r) => s + r.total, 0)).toBeCloseTo(sum, 12);
  });
});

describe('stress fixture', () => {
  it('is a long patient with every modality and a consistent fake result', () => {
    const { patient: p, result: r } = stressPatient(2000, 1);
    const events = p.visits.flatMap((v) => v.events);
    expect(events).toHaveLength(2000);
    expect(p.visits.length).toBe(300);
    const years = (Date.parse(p.visits[p.visits.length - 1].date) - Date.parse(p.visits[0].date)) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(14);
    expect(new Set(events.map((e) => e.modality)).size).toBe(7);
    // every event attributed once; part sums, visit sums and code sums agree
    expect(r.events.filter((e) => e.event >= 0)).toHaveLength(2000);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    expect(sum(Object.values(r.visit))).toBeCloseTo(sum(Object.values(r.modality)), 9);
    expect(sum(Object.values(r.code))).toBeCloseTo(sum(r.events.map((e) => e.value)), 9);
    expect(stressPatient(2000, 1).patient).toEqual(p); // seeded
    expect(stressResult(p, 7).patientId).toBe(p.id);
  });

  it('colours on a robust domain: one dominant event does not wash the others out', () => {
    const { patient: p, result: r } = stressPatient(2000, 1);
    const events = r.events.map((e, i) => (i === 0 ? { ...e, value: 1000 } : e));
    const m = buildTimeline(p, { ...r, events });
    const abs = events.filter((e) => e.event >= 0).map((e) => Math.abs(e.value)).sort((a, b) => a - b);
    expect(m.markMax).toBe(abs[Math.floor(0.95 * (abs.length - 1))]);
    expect(m.markMax).toBeLessThan(1000);
    expect(m.marks.find((x) => x.id === `${events[0].visit}:${events[0].event}`)?.attribution).toBe(1000);
  });

  it('builds its view model quickly (a progressive result every ~200 ms must cost little)', () => {
    const { patient: p, result: r } = stressPatient(2000, 1);
    buildTimeline(p, r); // warm-up
    const runs = 20;
    const start = performance.now();
    for (let i = 0; i < runs; i++) buildTimeline(p, r);
    const ms = (performance.now() - start) / runs;
    const model = buildTimeline(p, r);
    expect(model.marks).toHaveLength(2000);
    expect(model.marks.every((m) => m.attribution !== null)).toBe(true);
    // generous bound for a loaded CI core; typically a few ms
    expect(ms).toBeLessThan(50);
  });
});

/** A 2D context that records its calls (fills with their style, outline rects, strokes). */
function recordingContext() {
  const calls: string[] = [];
  const fills: [string, number, number, number, number][] = [];
  const ctx = {
    fillStyle: '',
    strokeStyle: '',
    lineWidth: 1,
    setTransform() {},
    fillRect(x0: number, y0: number, w: number, h: number) {
      fills.push([String(this.fillStyle), x0, y0, w, h]);
      calls.push(`fill ${String(this.fillStyle)} ${x0} ${y0} ${w} ${h}`);
    },
    beginPath() {
      calls.push('begin');
    },
    rect(x0: number, y0: number, w: number, h: number) {
      calls.push(`rect ${x0} ${y0} ${w} ${h}`);
    },
    stroke() {
      calls.push(`stroke ${String(this.strokeStyle)} ${this.lineWidth}`);
    },
  } satisfies SceneContext;
  return { ctx, calls, fills };
}

describe('plot scene (shared by the canvas, the export and hit testing)', () => {
  const result = resultFor(patient);
  const model = buildTimeline(patient, result);
  const g = geometryOf(960, undefined);
  const [t0, t1] = model.timeExtent;
  // a linear time scale over the plot, as the chart's unzoomed scale
  const x = (t: number) => g.plotLeft + 20 + ((t - t0) / (t1 - t0)) * (g.plotRight - g.plotLeft - 40);
  const invert = (px: number) => t0 + ((px - g.plotLeft - 20) / (g.plotRight - g.plotLeft - 40)) * (t1 - t0);

  it('has one box per mark, coloured by the model colour scale, stacked in its lane, and one bar per visit', () => {
    const scene = plotScene(model, g, x);
    expect(scene.marks.map((m) => m.id).sort()).toEqual(model.marks.map((m) => m.id).sort());
    expect(scene.bars.map((b) => b.visit)).toEqual([0, 1, 2]);
    expect(scene.stripes.map((s) => s.fill)).toEqual(LANES.map((_, i) => STRIPES[i % 2]));
    const colour = attributionColour(niceDomain(model.markMax), COLOUR_STEPS);
    for (const sm of scene.marks) {
      const m = model.marks[model.markIndex.get(sm.id)!];
      expect(sm.fill).toBe(colour(m.attribution));
      expect(sm.x).toBeCloseTo(x(m.time) - MARK_W / 2);
      expect(sm.y).toBeGreaterThanOrEqual(g.lanesTop + LANE_INDEX[m.lane] * g.laneH);
      expect(sm.y + sm.height).toBeLessThanOrEqual(g.lanesTop + (LANE_INDEX[m.lane] + 1) * g.laneH);
    }
    // the vital sign is not in the model input: grey, not the pale "zero" centre
    expect(scene.marks.find((m) => m.id === '2:1')?.fill).toBe(NO_ATTRIBUTION_COLOUR);
    // the two diagnoses of visit 0 share the lane, one above the other
    const [a, b] = ['0:0', '0:2'].map((id) => scene.marks.find((m) => m.id === id)!);
    expect(b.y).toBeGreaterThanOrEqual(a.y + a.height);
    // each bar's marks follow it (visit order: later visits on top)
    for (const bar of scene.bars) expect(scene.marks.slice(bar.firstMark, bar.endMark).map((m) => m.id)).toEqual(model.visits[bar.visit].markIds);
    // positive visit totals rise above the zero line, negative ones hang below it
    const [v0, v1] = scene.bars;
    expect(v0.y + v0.height).toBeCloseTo(g.barsZero);
    expect(v1.y).toBeCloseTo(g.barsZero);
  });

  it('leaves out visits outside the plot (zoomed in)', () => {
    const zoomed = (t: number) => x(t) * 4 - 3 * g.plotLeft; // the first visit stays, the rest move off to the right
    const scene = plotScene(model, g, zoomed);
    expect(scene.bars.map((b) => b.visit)).toEqual([0]);
    expect(scene.marks.every((m) => m.id.startsWith('0:'))).toBe(true);
  });

  it('hit-tests by position: each mark at its centre, a visit bar, and nothing in between', () => {
    for (const m of model.marks) {
      const b = markBox(m, g, x(m.time) - MARK_W / 2);
      const hit = hitTest(model, g, x, invert, b.x + b.width / 2, b.y + b.height / 2);
      expect(hit).toMatchObject({ kind: 'mark', id: m.id });
    }
    const bar = plotScene(model, g, x).bars[1];
    expect(hitTest(model, g, x, invert, bar.x + 2, bar.y + bar.height / 2)).toMatchObject({ kind: 'visit', index: 1 });
    // between visits, in an empty lane, or left of the plot: nothing
    const mid = (x(model.visits[0].time) + x(model.visits[1].time)) / 2;
    expect(hitTest(model, g, x, invert, mid, g.lanesTop + 5)).toBeNull();
    expect(hitTest(model, g, x, invert, x(model.visits[0].time), g.lanesTop + LANE_INDEX.procedure * g.laneH + g.laneH / 2)).toBeNull();
    expect(hitTest(model, g, x, invert, g.plotLeft - 20, g.lanesTop + 5)).toBeNull();
  });

  it('hit-tests 2,000 marks quickly (a pointer move must cost little)', () => {
    const { patient: p, result: r } = stressPatient(2000, 1);
    const big = buildTimeline(p, r);
    const [b0, b1] = big.timeExtent;
    const bx = (t: number) => g.plotLeft + ((t - b0) / (b1 - b0)) * (g.plotRight - g.plotLeft);
    const binv = (px: number) => b0 + ((px - g.plotLeft) / (g.plotRight - g.plotLeft)) * (b1 - b0);
    const m = big.marks[1234];
    const box = markBox(m, g, bx(m.time) - MARK_W / 2);
    const start = performance.now();
    let hit = null;
    for (let i = 0; i < 200; i++) hit = hitTest(big, g, bx, binv, box.x + box.width / 2, box.y + box.height / 2);
    expect((performance.now() - start) / 200).toBeLessThan(2);
    // the topmost mark there (several visits may overlap at this zoom) is in the same lane
    expect(hit?.kind).toBe('mark');
    expect(big.marks[big.markIndex.get((hit as { id: string }).id)!].lane).toBe(m.lane);
  });

  it('paints the scene on a canvas in one pass, boxes snapped to device pixels', () => {
    const scene = plotScene(model, g, x);
    const { ctx, fills, calls } = recordingContext();
    drawPlotScene(ctx, scene, 2, 2);
    // white ground, 6 stripes, zero line, 3 bars (all non-zero), 7 marks
    expect(fills).toHaveLength(1 + 6 + 1 + 3 + 7);
    expect(fills.every(([, ...n]) => n.every(Number.isInteger))).toBe(true);
    const mark = scene.marks.find((m) => m.id === '0:0')!;
    expect(fills).toContainEqual([mark.fill, Math.round((mark.x - scene.clip.x) * 2), Math.round((mark.y - scene.clip.y) * 2), MARK_W * 2, expect.any(Number)]);
    expect(calls.filter((c) => c.startsWith('rect ')).length).toBe(3 + 7);
    expect(calls.filter((c) => c.startsWith('stroke ')).length).toBe(1);
  });

  it('paints a scene in parts (a first paint spread over frames) with the same calls as one paint', () => {
    const { patient: sp, result: sr } = stressPatient(2000);
    const long = buildTimeline(sp, sr);
    const [t0, t1] = long.timeExtent;
    const scene = plotScene(long, g, (t: number) => g.plotLeft + ((t - t0) / (t1 - t0)) * (g.plotRight - g.plotLeft));
    const whole = recordingContext();
    drawPlotScene(whole.ctx, scene, 1.5, 1.5);
    const parts = sceneParts(scene, 1000);
    expect(parts).toHaveLength(2);
    expect(parts[0].from).toBe(0);
    expect(parts[1]).toEqual({ from: parts[0].to, to: scene.bars.length });
    const marksIn = (p: { from: number; to: number }) => scene.bars.slice(p.from, p.to).reduce((n, b) => n + b.endMark - b.firstMark, 0);
    expect(Math.abs(marksIn(parts[0]) - 1000)).toBeLessThan(50);
    const split = recordingContext();
    for (const p of parts) drawPlotScene(split.ctx, scene, 1.5, 1.5, p);
    expect(split.calls).toEqual(whole.calls);
    // only the last part outlines, only the first lays the ground
    const first = recordingContext();
    drawPlotScene(first.ctx, scene, 1.5, 1.5, parts[0]);
    expect(first.calls.some((c) => c.startsWith('stroke'))).toBe(false);
    expect(first.calls[0]).toMatch(/^fill #ffffff 0 0 /);
    expect(sceneParts(scene, 5000)).toEqual([{ from: 0, to: scene.bars.length }]);
  });

  it('writes the same scene as SVG for the export: stripes, bars and marks with their fills', () => {
    const scene = plotScene(model, g, x);
    const svg = plotSceneSvg(scene, 'c1');
    expect(svg).toMatch(/^<clipPath id="c1">/);
    expect((svg.match(/data-mark="/g) ?? []).length).toBe(7);
    expect((svg.match(/data-visit="/g) ?? []).length).toBe(3);
    for (const m of scene.marks) expect(svg).toContain(`fill="${m.fill}" data-mark="${m.id}"`);
    expect(svg).toContain('shape-rendering="crispEdges"');
    // well-formed enough to parse as XML
    expect(svg.split('<g').length).toBe(svg.split('</g>').length);
  });

  it('draws the overview strip (ground and one bar per visit) for the canvas and the export alike', () => {
    const ov = overviewScene(model, g, x);
    expect(ov.bars.map((b) => b.visit)).toEqual([0, 1, 2]);
    expect(ov.bars.map((b) => b.fill)).toEqual(model.visits.map((v) => attributionColour(niceDomain(model.visitMax), COLOUR_STEPS)(v.contribution)));
    const mid = g.overviewTop + ov.clip.height / 2;
    expect(ov.bars[0].y + ov.bars[0].height).toBeCloseTo(mid); // positive: above the middle
    expect(ov.bars[1].y).toBeCloseTo(mid); // negative: below it
    const fills: string[] = [];
    const ctx = { fillStyle: '', strokeStyle: '', lineWidth: 1, setTransform() {}, fillRect() { fills.push(String(this.fillStyle)); }, beginPath() {}, rect() {}, stroke() {} } satisfies SceneContext;
    drawOverviewScene(ctx, ov, 1, 1);
    expect(fills).toEqual([OVERVIEW_FILL, ...ov.bars.map((b) => b.fill)]);
    const svg = overviewSceneSvg(ov);
    expect((svg.match(/data-visit="/g) ?? []).length).toBe(3);
    expect(svg).toContain(`fill="${OVERVIEW_FILL}"`);
  });
});

describe('rendered frame (server-side, no DOM)', () => {
  const result = resultFor(patient);
  const model = buildTimeline(patient, result);

  it('renders the lanes, legend, static strip and an accessible name without running d3', () => {
    const html = renderToStaticMarkup(<Timeline model={model} />);
    for (const lane of LANES) expect(html).toContain(`data-lane="${lane.id}"`);
    expect(html).toContain('>Diagnoses<');
    expect(html).toContain('>Labs<');
    expect(html).toContain('data-testid="timeline-legend"');
    expect(html).toMatch(/raises risk/);
    expect(html).toMatch(/lowers risk/);
    expect(html).toMatch(/aria-label="Attribution timeline of patient p1: 7 events in 3 visits, 2019-03-04 to 2021-07-01\."/);
    expect(html).toMatch(/role="group"/);
    expect(html).toMatch(/tabindex="0"/);
    expect(html).toMatch(/aria-label="Age: \+0\.500"/);
    expect(html).toMatch(/32\/128 samples/);
    expect(html).toContain('Reset zoom');
    // the marks are painted on a canvas under the SVG, with no element of their own
    expect(html).toMatch(/<canvas[^>]*data-testid="timeline-canvas"/);
    expect(html).not.toContain('data-mark=');
    // one keyboard stop for the marks, the export fills the scene layer
    expect(html).toMatch(/<rect[^>]*tabindex="0"[^>]*role="img"[^>]*data-testid="timeline-focus"/);
    expect(html).toContain('data-export-layer="plot"');
    expect(html).toContain('data-export-layer="overview"');
    // self-contained SVG: fonts and fills are attributes
    expect(html).toMatch(/<svg[^>]*font-family="system-ui/);
    expect(html).toMatch(/<stop offset="0" stop-color="rgb\(5, 48, 97\)"/);
  });

  it('renders without a result, and shows a controlled pinned event with a what-if action', () => {
    expect(renderToStaticMarkup(<Timeline model={buildTimeline(patient, null)} />)).toMatch(/no attribution yet/);
    const html = renderToStaticMarkup(<Timeline model={model} pinnedId="0:0" onMarkContextAction={() => {}} />);
    expect(html).toMatch(/Pinned event/);
    expect(html).toMatch(/Essential \(primary\) hypertension/);
    expect(html).toMatch(/\+0\.231 ± 0\.012/);
    expect(html).toContain('Remove this event (what-if)');
  });

  it('renders ModalityBars with a title and a description that lists the values', () => {
    const html = renderToStaticMarkup(<ModalityBars rows={modalityTotals(result)} />);
    expect(html).toMatch(/role="img"/);
    expect(html).toMatch(/<title id="mb-title-[^"]+">Contribution per part<\/title>/);
    expect(html).toMatch(/<desc[^>]*>Diagnoses \+0\.270; .*Sex \+0\.030\. Sum/);
    expect(html).toContain('data-part="age"');
    expect(html).toMatch(/aria-labelledby="mb-title-\S+ mb-desc-\S+"/);
  });

  it('renders TopCodesTable with caption, sortable headers and descriptions', () => {
    const html = renderToStaticMarkup(<TopCodesTable rows={topCodes(result, patient, 10)} />);
    expect(html).toMatch(/<caption>Top contributing codes/);
    expect(html).toMatch(/<th scope="col" aria-sort="ascending" class="num"><button type="button" class="sort-button">Rank/);
    expect((html.match(/<button/g) ?? []).length).toBe(7);
    expect(html).toMatch(/<th scope="row" class="code">I10<\/th><td>Essential \(primary\) hypertension<\/td><td class="num pos">\+0\.331<\/td><td class="num">± 0\.011<\/td><td class="num">2<\/td>/);
    expect(html).toMatch(/metformin/);
    expect(renderToStaticMarkup(<TopCodesTable rows={[]} />)).toMatch(/No attribution yet/);
  });
});
