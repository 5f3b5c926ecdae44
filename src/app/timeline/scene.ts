// The timeline's plot area as data: geometry (rows, lanes, mark boxes), and the shapes with their
// colours — lane stripes, the visit bars' zero line, visit bars, event marks — for a model at a
// given x scale. One code path for three consumers: the on-screen <canvas> (drawPlotScene, once per
// zoom frame or data update), the exported SVG (plotSceneSvg) and pointer hit testing (hitTest, a
// binary search by x instead of thousands of DOM nodes). No React, no DOM: it runs in unit tests.
import { LANES, NO_ATTRIBUTION_COLOUR, attributionColour, niceDomain, type LaneId, type TimelineMark, type TimelineModel } from './model';

export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
export const INK = '#1b1f24';
export const MUTED = '#57606a';
export const LINE = '#d0d7de';
export const FOCUS = '#1f6feb';
export const MARK_W = 5;
export const MARK_STROKE = 'rgba(27,31,36,0.2)';
export const MARK_STROKE_W = 0.5;
export const LABEL_W = 112;
export const STATIC_W = 74;
export const LEGEND_H = 34;
export const BARS_H = 76;
export const AXIS_H = 26;
export const OVERVIEW_H = 34;
export const OVERVIEW_AXIS_H = 20;
export const DEFAULT_LANE_H = 36;
const FIXED_H = LEGEND_H + BARS_H + 6 + AXIS_H + OVERVIEW_H + OVERVIEW_AXIS_H + 8;
/** colour classes on each side of zero (plus a neutral one): fewer recolours per progressive batch */
export const COLOUR_STEPS = 8;
/** lane background fills, alternating */
export const STRIPES = ['#ffffff', '#f6f7f9'] as const;

export interface Geometry {
  width: number;
  height: number;
  plotLeft: number;
  plotRight: number;
  barsTop: number;
  barsZero: number;
  barsHalf: number;
  lanesTop: number;
  laneH: number;
  lanesBottom: number;
  overviewTop: number;
}

export function geometryOf(width: number, height: number | undefined): Geometry {
  const laneH = height ? Math.max(18, (height - FIXED_H) / LANES.length) : DEFAULT_LANE_H;
  const h = height ?? FIXED_H + laneH * LANES.length;
  const barsTop = LEGEND_H;
  const lanesTop = barsTop + BARS_H + 6;
  const lanesBottom = lanesTop + laneH * LANES.length;
  return {
    width,
    height: h,
    plotLeft: LABEL_W + STATIC_W + 16,
    plotRight: width - 14,
    barsTop,
    barsZero: barsTop + BARS_H / 2,
    barsHalf: BARS_H / 2 - 4,
    lanesTop,
    laneH,
    lanesBottom,
    overviewTop: lanesBottom + AXIS_H,
  };
}

export const LANE_INDEX = Object.fromEntries(LANES.map((l, i) => [l.id, i])) as Record<LaneId, number>;

/** A mark's box in plot coordinates, its left edge at x: the visit-lane's marks share the lane height. */
export function markBox(m: Pick<TimelineMark, 'lane' | 'stack' | 'stackSize'>, g: Geometry, x = 0) {
  const pad = 3;
  const inner = g.laneH - 2 * pad;
  const h = inner / m.stackSize;
  const gap = h > 4 ? 1 : 0;
  return { x, y: g.lanesTop + LANE_INDEX[m.lane] * g.laneH + pad + m.stack * h, width: MARK_W, height: Math.max(0.5, h - gap) };
}

/** The clip of everything zoomable (bars and lanes). */
export const plotClip = (g: Geometry) => ({ x: g.plotLeft - 1, y: g.barsTop, width: g.plotRight - g.plotLeft + 2, height: g.lanesBottom - g.barsTop });

/** The x of a visit's left edge (marks and bar) under an x scale. */
export type XScale = (t: number) => number;
export const visitLeft = (x: XScale, time: number) => x(time) - MARK_W / 2;

// ---- colours, once per model ----------------------------------------------------------------------

export interface ScenePaint {
  /** fill per mark index */
  markFill: string[];
  /** fill per visit index */
  barFill: string[];
  /** overview bars: no-contribution visits grey */
  overviewFill: string[];
  /** the visit colour domain (bars are scaled to it) */
  visitDomain: number;
}

const paints = new WeakMap<TimelineModel, ScenePaint>();

/** Mark and bar colours of a model (cached per model object: zoom frames only move shapes). */
export function paintOf(model: TimelineModel): ScenePaint {
  const cached = paints.get(model);
  if (cached) return cached;
  const markColour = attributionColour(niceDomain(model.markMax), COLOUR_STEPS);
  const visitDomain = niceDomain(model.visitMax);
  const visitColour = attributionColour(visitDomain, COLOUR_STEPS);
  const paint: ScenePaint = {
    markFill: model.marks.map((m) => markColour(m.attribution)),
    barFill: model.visits.map((v) => visitColour(v.contribution)),
    overviewFill: model.visits.map((v) => (v.contribution === null ? NO_ATTRIBUTION_COLOUR : visitColour(v.contribution))),
    visitDomain,
  };
  paints.set(model, paint);
  return paint;
}

// ---- the scene ------------------------------------------------------------------------------------

export interface SceneRect {
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
}
export interface SceneBar extends SceneRect {
  visit: number;
  /** this visit's marks: scene.marks[firstMark, endMark) */
  firstMark: number;
  endMark: number;
}
export interface SceneMark extends SceneRect {
  id: string;
}

export interface PlotScene {
  width: number;
  height: number;
  clip: { x: number; y: number; width: number; height: number };
  stripes: SceneRect[];
  zeroLine: { x1: number; x2: number; y: number; stroke: string };
  /** drawn in visit order, each visit's bar then its marks: later visits on top */
  bars: SceneBar[];
  marks: SceneMark[];
  /** the outline of every bar and mark */
  stroke: string;
  strokeWidth: number;
}

/** A visit's bar box (y and height) for the current paint. */
export function barBox(contribution: number | null, g: Geometry, visitDomain: number) {
  const scale = visitDomain > 0 ? g.barsHalf / visitDomain : 0;
  const c = contribution ?? 0;
  return { y: c > 0 ? g.barsZero - c * scale : g.barsZero, height: Math.max(contribution === null ? 0 : 1, Math.abs(c) * scale) };
}

/** Everything the plot area shows for `model` under the x scale `x` (zoom applied). Visits whose
 *  marks fall outside the plot are left out. */
export function plotScene(model: TimelineModel, g: Geometry, x: XScale): PlotScene {
  const paint = paintOf(model);
  const stripes = LANES.map((_, i) => ({ x: g.plotLeft, y: g.lanesTop + i * g.laneH, width: g.plotRight - g.plotLeft, height: g.laneH, fill: STRIPES[i % 2] }));
  const bars: SceneBar[] = [];
  const marks: SceneMark[] = [];
  const left = g.plotLeft - MARK_W - 2;
  const right = g.plotRight + 2;
  for (const v of model.visits) {
    const vx = visitLeft(x, v.time);
    if (!(vx >= left && vx <= right)) continue;
    const b = barBox(v.contribution, g, paint.visitDomain);
    const bar: SceneBar = { visit: v.index, x: vx, y: b.y, width: MARK_W, height: b.height, fill: paint.barFill[v.index], firstMark: marks.length, endMark: 0 };
    // a visit's marks are contiguous in model.marks (no id lookups: this runs every zoom frame)
    for (let i = v.firstMark, end = v.firstMark + v.markIds.length; i < end; i++) {
      const m = model.marks[i];
      const box = markBox(m, g, vx);
      marks.push({ id: m.id, x: box.x, y: box.y, width: box.width, height: box.height, fill: paint.markFill[i] });
    }
    bar.endMark = marks.length;
    bars.push(bar);
  }
  return { width: g.width, height: g.height, clip: plotClip(g), stripes, zeroLine: { x1: g.plotLeft, x2: g.plotRight, y: g.barsZero, stroke: MUTED }, bars, marks, stroke: MARK_STROKE, strokeWidth: MARK_STROKE_W };
}

/** The minimal 2D-context surface drawPlotScene uses (a CanvasRenderingContext2D, or a recorder in tests). */
export type SceneContext = Pick<CanvasRenderingContext2D, 'setTransform' | 'fillRect' | 'beginPath' | 'rect' | 'stroke'> & {
  fillStyle: CanvasRenderingContext2D['fillStyle'];
  strokeStyle: CanvasRenderingContext2D['strokeStyle'];
  lineWidth: number;
};

/** Which visits (scene bars, with their marks) one drawPlotScene call paints: bars [from, to). */
export interface ScenePart {
  from: number;
  to: number;
}

/** Split a scene's bars into parts of about `marksPerPart` marks each (at least one part), for a
 *  first paint spread over several frames. */
export function sceneParts(scene: PlotScene, marksPerPart: number): ScenePart[] {
  const n = Math.max(1, Math.ceil(scene.marks.length / marksPerPart));
  const parts: ScenePart[] = [];
  let from = 0;
  for (let i = 0; i < scene.bars.length && parts.length < n - 1; i++) {
    if (scene.bars[i].endMark >= ((parts.length + 1) * scene.marks.length) / n) {
      parts.push({ from, to: i + 1 });
      from = i + 1;
    }
  }
  parts.push({ from, to: scene.bars.length });
  return parts;
}

/** Paint a scene onto a canvas that covers the scene's clip (the plot area) with `sx` × `sy`
 *  device pixels per scene unit: stripes, zero line, then bars and marks (fills in visit order,
 *  one outline path for all). Boxes are snapped to device pixels (the SVG's crispEdges). With
 *  `part`, only bars [from, to) are filled; the ground comes with the part that starts at 0 and
 *  all the outlines with the part that ends at the last bar, so painting the parts in order gives
 *  the same pixels as one call. */
export function drawPlotScene(ctx: SceneContext, scene: PlotScene, sx: number, sy: number, part: ScenePart = { from: 0, to: scene.bars.length }): void {
  const c = scene.clip;
  const ox = c.x;
  const oy = c.y;
  const X = (x: number) => Math.round((x - ox) * sx);
  const Y = (y: number) => Math.round((y - oy) * sy);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  let fill = '';
  const fillBox = (r: SceneRect) => {
    const x0 = X(r.x);
    const y0 = Y(r.y);
    const w = Math.max(1, X(r.x + r.width) - x0);
    const h = Math.max(r.height > 0 ? 1 : 0, Y(r.y + r.height) - y0);
    if (!h) return;
    if (r.fill !== fill) ctx.fillStyle = fill = r.fill;
    ctx.fillRect(x0, y0, w, h);
  };
  if (part.from === 0) {
    ctx.fillStyle = fill = '#ffffff';
    ctx.fillRect(0, 0, Math.ceil(c.width * sx), Math.ceil(c.height * sy));
    scene.stripes.forEach(fillBox);
    const z = scene.zeroLine;
    ctx.fillStyle = fill = z.stroke;
    ctx.fillRect(X(z.x1), Y(z.y - 0.5), X(z.x2) - X(z.x1), Math.max(1, Math.round(sy)));
  }
  // bars and marks in visit order (the scene's order), as the SVG stacks them
  const marks = scene.marks;
  for (let bi = part.from; bi < part.to; bi++) {
    const b = scene.bars[bi];
    fillBox(b);
    for (let i = b.firstMark; i < b.endMark; i++) fillBox(marks[i]);
  }
  if (part.to < scene.bars.length) return;
  ctx.beginPath();
  const outline = (r: SceneRect) => {
    const x0 = X(r.x);
    const y0 = Y(r.y);
    ctx.rect(x0 + 0.5, y0 + 0.5, Math.max(1, X(r.x + r.width) - x0) - 1, Math.max(1, Y(r.y + r.height) - y0) - 1);
  };
  for (const r of scene.bars) if (r.height > 0) outline(r);
  marks.forEach(outline);
  ctx.strokeStyle = scene.stroke;
  // a hairline inside the pixel-snapped box: the SVG's 0.5-unit outline, crisp
  ctx.lineWidth = Math.max(1, Math.round(scene.strokeWidth * Math.min(sx, sy)));
  ctx.stroke();
}

const n1 = (v: number) => String(Math.round(v * 10) / 10);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The same scene as SVG markup (for the export), clipped like the screen: stripes, zero line, then
 *  a crisp-edged, outlined group of bars and marks in visit order. */
export function plotSceneSvg(scene: PlotScene, clipId: string): string {
  const c = scene.clip;
  const rect = (r: SceneRect, extra = '') => `<rect x="${n1(r.x)}" y="${n1(r.y)}" width="${n1(r.width)}" height="${n1(r.height)}" fill="${esc(r.fill)}"${extra}/>`;
  const out: string[] = [];
  out.push(`<clipPath id="${esc(clipId)}"><rect x="${n1(c.x)}" y="${n1(c.y)}" width="${n1(c.width)}" height="${n1(c.height)}"/></clipPath>`);
  out.push(`<g clip-path="url(#${esc(clipId)})">`);
  for (const s of scene.stripes) out.push(rect(s));
  const z = scene.zeroLine;
  out.push(`<line x1="${n1(z.x1)}" x2="${n1(z.x2)}" y1="${n1(z.y)}" y2="${n1(z.y)}" stroke="${esc(z.stroke)}" stroke-width="1"/>`);
  out.push(`<g stroke="${esc(scene.stroke)}" stroke-width="${scene.strokeWidth}" shape-rendering="crispEdges">`);
  for (const b of scene.bars) {
    out.push(rect(b, ` data-visit="${b.visit}"`));
    for (let i = b.firstMark; i < b.endMark; i++) out.push(rect(scene.marks[i], ` data-mark="${esc(scene.marks[i].id)}"`));
  }
  out.push('</g></g>');
  return out.join('');
}

// ---- the overview strip ----------------------------------------------------------------------------

export const OVERVIEW_FILL = '#f6f7f9';

export interface OverviewScene {
  clip: { x: number; y: number; width: number; height: number };
  background: string;
  /** one thin bar per visit at the unzoomed scale, up for positive totals, down for negative */
  bars: (SceneRect & { visit: number })[];
}

/** The overview strip's box. */
export const overviewClip = (g: Geometry) => ({ x: g.plotLeft, y: g.overviewTop, width: g.plotRight - g.plotLeft, height: OVERVIEW_H });

/** The overview strip under the lanes: its ground and one bar per visit (x: the unzoomed scale). */
export function overviewScene(model: TimelineModel, g: Geometry, x: XScale): OverviewScene {
  const paint = paintOf(model);
  const mid = g.overviewTop + OVERVIEW_H / 2;
  const scale = paint.visitDomain > 0 ? (OVERVIEW_H / 2 - 3) / paint.visitDomain : 0;
  const bars = model.visits.map((v) => {
    const c = v.contribution ?? 0;
    return { visit: v.index, x: x(v.time) - 1, y: c > 0 ? mid - c * scale : mid, width: 2, height: Math.max(1, Math.abs(c) * scale), fill: paint.overviewFill[v.index] };
  });
  return { clip: overviewClip(g), background: OVERVIEW_FILL, bars };
}

/** Paint the overview on a canvas that covers its clip, `sx` × `sy` device pixels per unit. */
export function drawOverviewScene(ctx: SceneContext, scene: OverviewScene, sx: number, sy: number): void {
  const c = scene.clip;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = scene.background;
  ctx.fillRect(0, 0, Math.ceil(c.width * sx), Math.ceil(c.height * sy));
  let fill = scene.background;
  for (const r of scene.bars) {
    const x0 = Math.round((r.x - c.x) * sx);
    const y0 = Math.round((r.y - c.y) * sy);
    if (r.fill !== fill) ctx.fillStyle = fill = r.fill;
    ctx.fillRect(x0, y0, Math.max(1, Math.round((r.x + r.width - c.x) * sx) - x0), Math.max(1, Math.round((r.y + r.height - c.y) * sy) - y0));
  }
}

/** The overview as SVG markup (for the export): its ground and bars. */
export function overviewSceneSvg(scene: OverviewScene): string {
  const c = scene.clip;
  const out = [`<rect x="${n1(c.x)}" y="${n1(c.y)}" width="${n1(c.width)}" height="${n1(c.height)}" fill="${esc(scene.background)}"/>`];
  for (const r of scene.bars) out.push(`<rect x="${n1(r.x)}" y="${n1(r.y)}" width="${n1(r.width)}" height="${n1(r.height)}" fill="${esc(r.fill)}" data-visit="${r.visit}"/>`);
  return out.join('');
}

// ---- hit testing ------------------------------------------------------------------------------------

const visitOrders = new WeakMap<ReadonlyMap<string, number>, { order: number[]; times: number[] }>();

/** Visit indices sorted by time (then index), cached per structure (the model's markIndex is shared
 *  by every model of the same patient object). */
function visitsByTime(model: TimelineModel) {
  let o = visitOrders.get(model.markIndex);
  if (!o || o.order.length !== model.visits.length) {
    const order = model.visits.map((v) => v.index).sort((a, b) => model.visits[a].time - model.visits[b].time || a - b);
    o = { order, times: order.map((i) => model.visits[i].time) };
    visitOrders.set(model.markIndex, o);
  }
  return o;
}

/** first index in sorted `xs` with xs[i] >= v */
function lowerBound(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export type Hit = { kind: 'mark'; id: string; box: { x: number; y: number; width: number; height: number } } | { kind: 'visit'; index: number; box: { x: number; y: number; width: number; height: number } };

/** What is under the plot point (px, py) (scene units) with `x` the zoomed scale and `invert` its
 *  inverse: the topmost mark (the latest visit drawn), else a visit bar, else null. A binary search
 *  by time finds the few visits near px; no DOM is involved. */
export function hitTest(model: TimelineModel, g: Geometry, x: XScale, invert: (px: number) => number, px: number, py: number, slop = 1): Hit | null {
  if (px < g.plotLeft - 1 || px > g.plotRight + 1 || py < g.barsTop || py > g.lanesBottom) return null;
  const { order, times } = visitsByTime(model);
  const lo = lowerBound(times, invert(px - MARK_W / 2 - slop));
  const hi = lowerBound(times, invert(px + MARK_W / 2 + slop) + 1);
  const candidates = order.slice(lo, hi).sort((a, b) => b - a);
  const paint = paintOf(model);
  for (const vi of candidates) {
    const v = model.visits[vi];
    const vx = visitLeft(x, v.time);
    if (px < vx - slop || px > vx + MARK_W + slop) continue;
    if (py >= g.lanesTop) {
      for (let i = v.firstMark, end = v.firstMark + v.markIds.length; i < end; i++) {
        const m = model.marks[i];
        const b = markBox(m, g, vx);
        if (py >= b.y - 0.5 && py <= b.y + b.height + 0.5) return { kind: 'mark', id: m.id, box: b };
      }
    } else {
      const b = barBox(v.contribution, g, paint.visitDomain);
      if (b.height > 0 && py >= b.y - 2 && py <= b.y + b.height + 2) return { kind: 'visit', index: vi, box: { x: vx, y: b.y, width: MARK_W, height: b.height } };
    }
  }
  return null;
}
