// The attribution timeline: one lane per modality on a real time axis, each event a mark coloured
// by its attribution, visit contribution bars above, an overview strip with a brush below.
//
// Split for speed: React renders the static frame (lanes, labels, legend, static strip, toolbar,
// tooltip, pinned details); d3 owns the marks, bars, axis, overview bars, zoom and brush inside
// ref'd groups that React renders empty and never touches. Marks sit in one <g> per visit, so a
// zoom frame moves ~one transform per visit (not per event) and redraws the axis. A new model (a
// progressive result, a few per second) re-joins by key and only recolours; zoom, brush, focus and
// the pinned event live in d3's node state and refs and survive it. All visual properties of the
// SVG are attributes (fills, strokes, fonts), not CSS classes, so a serialised SVG looks the same
// standalone (export).
//
// Timing: the root carries data-render-ms (last join + recolour + position pass, JS only) and
// data-zoom-ms (last zoom frame, JS only). A frame's full cost (style, layout, paint) in Chromium:
//   const t0 = performance.now();
//   plot.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, clientX, clientY, bubbles: true, cancelable: true }));
//   await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));   // after the frame's paint
//   const ms = performance.now() - t0;
// where plot is root.querySelector('[data-testid=timeline-plot]'); first render likewise from
// mounting until the first rAF + setTimeout after data-render-ms appears.
import { axisBottom, brushX, scaleUtc, select, zoom, zoomIdentity, type BrushBehavior, type D3BrushEvent, type D3ZoomEvent, type Selection, type ZoomBehavior, type ZoomTransform } from 'd3';
import {
  useCallback,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type FocusEvent as ReactFocusEvent,
  type KeyboardEvent as ReactKeyboardEvent,
  type MouseEvent as ReactMouseEvent,
  type PointerEvent as ReactPointerEvent,
} from 'react';
import { attributionColour, describeAttribution, describeMark, formatAttribution, formatStderr, LANES, niceDomain, NO_ATTRIBUTION_COLOUR, type LaneId, type TimelineMark, type TimelineModel, type TimelineVisit } from './model';
import './timeline.css';

export interface TimelineProps {
  model: TimelineModel;
  /** SVG width in px (the SVG scales down to its container via viewBox); default 960 */
  width?: number;
  /** SVG height in px; lanes share what the fixed rows leave; default fits 36 px lanes */
  height?: number;
  /** controlled pinned event id (`${visit}:${event}`); leave undefined for internal state */
  pinnedId?: string | null;
  onPin?: (id: string | null) => void;
  /** e.g. the what-if "remove this event": right-click, Delete on a focused mark, or the pinned panel's button */
  onMarkContextAction?: (id: string) => void;
}

// ---- geometry -----------------------------------------------------------------------------------

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const INK = '#1b1f24';
const MUTED = '#57606a';
const LINE = '#d0d7de';
const FOCUS = '#1f6feb';
const MARK_W = 5;
const MARK_STROKE = 'rgba(27,31,36,0.2)';
const LABEL_W = 112;
const STATIC_W = 74;
const LEGEND_H = 34;
const BARS_H = 76;
const AXIS_H = 26;
const OVERVIEW_H = 34;
const OVERVIEW_AXIS_H = 20;
const DEFAULT_LANE_H = 36;
const FIXED_H = LEGEND_H + BARS_H + 6 + AXIS_H + OVERVIEW_H + OVERVIEW_AXIS_H + 8;
const DAY = 86_400_000;
/** new marks per animation frame while a structure is first drawn */
const MARKS_PER_FRAME = 300;
/** colour classes on each side of zero (plus a neutral one): fewer recolours per progressive batch */
const COLOUR_STEPS = 8;

interface Geometry {
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

function geometryOf(width: number, height: number | undefined): Geometry {
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

const LANE_INDEX = Object.fromEntries(LANES.map((l, i) => [l.id, i])) as Record<LaneId, number>;

/** A mark's rectangle inside its visit group: the visit-lane's marks share the lane height. */
function markBox(m: TimelineMark, g: Geometry) {
  const pad = 3;
  const inner = g.laneH - 2 * pad;
  const h = inner / m.stackSize;
  const gap = h > 4 ? 1 : 0;
  return { x: 0, y: g.lanesTop + LANE_INDEX[m.lane] * g.laneH + pad + m.stack * h, width: MARK_W, height: Math.max(0.5, h - gap) };
}

function setAttr(el: Element, name: string, value: string) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** Text that stays readable (AA) on a fill: dark on light fills, white on dark ones. */
function inkOn(fill: string): string {
  const m = fill.match(/\d+(\.\d+)?/g);
  if (!m || m.length < 3) return INK;
  const [r, g, b] = m.slice(0, 3).map((x) => {
    const c = Number(x) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.2 ? INK : '#ffffff';
}

const fmtDomain = (x: number) => (x > 0 ? formatAttribution(x) : '0');

/** Where the tooltip sits (root-relative px); flip: left of the anchor instead of right of it. */
interface Anchor {
  x: number;
  y: number;
  flip: boolean;
}
type Hover = ({ kind: 'mark'; id: string } | { kind: 'visit'; index: number }) & Anchor;

// ---- component ----------------------------------------------------------------------------------

export function Timeline({ model, width = 960, height, pinnedId, onPin, onMarkContextAction }: TimelineProps) {
  const uid = useId().replace(/[^a-zA-Z0-9_-]/g, '');
  const geo = useMemo(() => geometryOf(width, height), [width, height]);
  const [t0, t1] = model.timeExtent;
  const xBase = useMemo(() => {
    const pad = Math.max(15 * DAY, (t1 - t0) * 0.02);
    return scaleUtc()
      .domain([new Date(t0 - pad), new Date(t1 + pad)])
      .range([geo.plotLeft, geo.plotRight]);
  }, [t0, t1, geo]);

  const [internalPinned, setInternalPinned] = useState<string | null>(null);
  const pinned = pinnedId !== undefined ? pinnedId : internalPinned;
  const [hover, setHover] = useState<Hover | null>(null);
  const [announcement, setAnnouncement] = useState('');

  const rootRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const plotRef = useRef<SVGGElement>(null);
  const layerRef = useRef<SVGGElement>(null);
  const axisRef = useRef<SVGGElement>(null);
  const overviewBarsRef = useRef<SVGGElement>(null);
  const overviewAxisRef = useRef<SVGGElement>(null);
  const brushRef = useRef<SVGGElement>(null);

  // what d3 handlers read: always the latest, without re-creating the behaviours
  const modelRef = useRef(model);
  modelRef.current = model;
  const xBaseRef = useRef(xBase);
  xBaseRef.current = xBase;
  const geoRef = useRef(geo);
  geoRef.current = geo;
  const pinnedRef = useRef(pinned);
  pinnedRef.current = pinned;

  const zoomRef = useRef<ZoomBehavior<SVGGElement, unknown> | null>(null);
  const brushBehaviourRef = useRef<BrushBehavior<unknown> | null>(null);
  const transformRef = useRef<ZoomTransform>(zoomIdentity);
  const brushingRef = useRef(false);
  const visitSelRef = useRef<Selection<SVGGElement, TimelineVisit, SVGGElement, unknown> | null>(null);
  const markElRef = useRef(new Map<string, SVGRectElement>());
  const activeIdRef = useRef<string | null>(null);
  const hoverRef = useRef<Hover | null>(null);
  hoverRef.current = hover;
  const patientRef = useRef<string | null>(null);
  const geoJoinedRef = useRef<Geometry | null>(null);
  const structureRef = useRef<string | null>(null);
  /** how many visits (a prefix of model.visits) are drawn; less than all while a slice is pending */
  const shownRef = useRef(0);
  const positionedRef = useRef(0);
  const frameRef = useRef(0);

  const setPinned = useCallback(
    (id: string | null) => {
      if (pinnedId === undefined) setInternalPinned(id);
      onPin?.(id);
      const m = id ? modelRef.current.marks[modelRef.current.markIndex.get(id) ?? -1] : undefined;
      setAnnouncement(m ? `Pinned: ${describeMark(m, modelRef.current.result !== null)}` : 'Unpinned');
    },
    [pinnedId, onPin],
  );

  /** Position everything that depends on the x scale: one transform per visit, the axis, the brush. */
  const applyTransform = useCallback((t: ZoomTransform, fromZoom = true) => {
    const start = performance.now();
    transformRef.current = t;
    const g = geoRef.current;
    const xz = t.rescaleX(xBaseRef.current);
    const visits = visitSelRef.current;
    if (visits) {
      const left = g.plotLeft - MARK_W - 2;
      const right = g.plotRight + 2;
      visits.each(function (d) {
        const x = xz(d.time) - MARK_W / 2;
        // off-screen visits leave the render tree: less to paint when zoomed in
        const show = x >= left && x <= right;
        setAttr(this, 'transform', `translate(${x.toFixed(1)},0)`);
        if (show !== (this.getAttribute('display') !== 'none')) this.setAttribute('display', show ? 'inline' : 'none');
      });
    }
    if (axisRef.current) {
      select(axisRef.current)
        .call(axisBottom(xz).ticks(Math.max(2, Math.floor((g.plotRight - g.plotLeft) / 110))).tickSizeOuter(0))
        .attr('font-family', FONT)
        .attr('font-size', 11)
        .call((a) => a.selectAll('text').attr('fill', INK))
        .call((a) => a.selectAll('line,path').attr('stroke', MUTED));
    }
    if (brushRef.current && brushBehaviourRef.current && !brushingRef.current) {
      const full = t.k === 1 && t.x === 0;
      select(brushRef.current).call(brushBehaviourRef.current.move, full ? null : [t.invertX(g.plotLeft), t.invertX(g.plotRight)]);
    }
    if (!fromZoom) return;
    // the tooltip's anchor moved: hide it rather than chase the mark every frame
    if (hoverRef.current) setHover(null);
    rootRef.current?.setAttribute('data-zoom-ms', (performance.now() - start).toFixed(2));
    rootRef.current?.setAttribute('data-zoom-k', t.k.toFixed(3));
  }, []);

  // zoom and brush behaviours: created per geometry only; their state lives on the DOM nodes
  useLayoutEffect(() => {
    const plot = plotRef.current;
    const brushG = brushRef.current;
    if (!plot || !brushG) return;
    const g = geo;
    const plotW = g.plotRight - g.plotLeft;
    const z = zoom<SVGGElement, unknown>()
      .extent([
        [g.plotLeft, 0],
        [g.plotRight, g.height],
      ])
      .translateExtent([
        [g.plotLeft, -Infinity],
        [g.plotRight, Infinity],
      ])
      .on('zoom', (e: D3ZoomEvent<SVGGElement, unknown>) => {
        // keep y at 0: lanes are fixed, only time zooms
        applyTransform(zoomIdentity.translate(e.transform.x, 0).scale(e.transform.k));
      });
    zoomRef.current = z;
    const plotSel = select(plot);
    plotSel.call(z).on('dblclick.zoom', null);
    const b = brushX<unknown>()
      .extent([
        [g.plotLeft, g.overviewTop],
        [g.plotRight, g.overviewTop + OVERVIEW_H],
      ])
      .on('brush end', (e: D3BrushEvent<unknown>) => {
        if (!e.sourceEvent) return; // our own brush.move from a zoom frame
        const s = e.selection as [number, number] | null;
        brushingRef.current = e.type !== 'end';
        if (!s || s[1] - s[0] < 1) plotSel.call(z.transform, zoomIdentity);
        else {
          const k = plotW / (s[1] - s[0]);
          plotSel.call(z.transform, zoomIdentity.translate(g.plotLeft - k * s[0], 0).scale(k));
        }
      });
    brushBehaviourRef.current = b;
    const brushSel = select(brushG).call(b);
    brushSel.select('.selection').attr('fill', FOCUS).attr('fill-opacity', 0.18).attr('stroke', FOCUS).attr('stroke-width', 1.5);
    // a new geometry keeps the current zoom (the transform is stored on the plot node)
    plotSel.call(z.transform, transformRef.current);
    return () => {
      plotSel.on('.zoom', null);
      brushSel.on('.brush', null);
    };
  }, [geo, applyTransform]);

  // the scale extent depends on the data span: at most two weeks across the plot
  useLayoutEffect(() => {
    const z = zoomRef.current;
    if (!z) return;
    const days = (xBase.domain()[1].getTime() - xBase.domain()[0].getTime()) / DAY;
    z.scaleExtent([1, Math.max(1, days / 14)]);
  }, [xBase]);

  /** Draw marks, bars and overview for the latest model: keyed joins, positions only for new
   *  elements or a new geometry, attributes only where they changed. A new structure (patient,
   *  what-if edit) is drawn in slices of about MARKS_PER_FRAME marks, one slice per animation
   *  frame, so that no single frame pays for thousands of new SVG elements. */
  const draw = useCallback(() => {
    const layer = layerRef.current;
    const overview = overviewBarsRef.current;
    if (!layer || !overview) return;
    const start = performance.now();
    const model = modelRef.current;
    const g = geoRef.current;
    const xBase = xBaseRef.current;
    const structural = structureRef.current !== model.structureKey || geoJoinedRef.current !== g;
    if (structureRef.current !== model.structureKey) shownRef.current = 0;
    structureRef.current = model.structureKey;
    geoJoinedRef.current = g;
    // advance the revealed prefix of visits by one slice
    let shown = shownRef.current;
    if (shown < model.visits.length) {
      let added = 0;
      while (shown < model.visits.length && (added === 0 || added + model.visits[shown].markIds.length <= MARKS_PER_FRAME)) added += model.visits[shown++].markIds.length;
      shownRef.current = shown;
    }
    const markColour = attributionColour(niceDomain(model.markMax), COLOUR_STEPS);
    const visitDomain = niceDomain(model.visitMax);
    const visitColour = attributionColour(visitDomain, COLOUR_STEPS);
    const barScale = visitDomain > 0 ? g.barsHalf / visitDomain : 0;
    const byId = (id: string) => model.marks[model.markIndex.get(id)!];

    const visits = select(layer)
      .selectAll<SVGGElement, TimelineVisit>('g.tl-visit')
      .data(shown === model.visits.length ? model.visits : model.visits.slice(0, shown), (d) => String(d.index))
      .join((enter) => {
        const v = enter.append('g').attr('class', 'tl-visit');
        v.append('rect').attr('class', 'tl-bar').attr('data-visit', (d) => d.index).attr('width', MARK_W);
        return v;
      });
    // attributes are set only when they change: an unchanged fill costs no style recalc
    visits.select<SVGRectElement>('rect.tl-bar').each(function (d) {
      const c = d.contribution ?? 0;
      setAttr(this, 'y', (c > 0 ? g.barsZero - c * barScale : g.barsZero).toFixed(1));
      setAttr(this, 'height', Math.max(d.contribution === null ? 0 : 1, Math.abs(c) * barScale).toFixed(1));
      setAttr(this, 'fill', visitColour(d.contribution));
    });
    const marks = visits
      .selectAll<SVGRectElement, TimelineMark>('rect.tl-mark')
      .data((v) => v.markIds.map(byId), (m) => m.id)
      .join((enter) => enter.append('rect').attr('class', 'tl-mark').attr('data-mark', (m) => m.id));
    const els = markElRef.current;
    els.clear();
    marks.each(function (m) {
      const b = markBox(m, g);
      setAttr(this, 'y', b.y.toFixed(1));
      setAttr(this, 'width', String(b.width));
      setAttr(this, 'height', b.height.toFixed(1));
      setAttr(this, 'fill', markColour(m.attribution));
      els.set(m.id, this);
    });
    visitSelRef.current = visits;

    const ovMid = g.overviewTop + OVERVIEW_H / 2;
    const ovScale = visitDomain > 0 ? (OVERVIEW_H / 2 - 3) / visitDomain : 0;
    select(overview)
      .selectAll<SVGRectElement, TimelineVisit>('rect')
      .data(model.visits, (d) => String(d.index))
      .join((enter) => enter.append('rect').attr('width', 2))
      .each(function (d) {
        const c = d.contribution ?? 0;
        setAttr(this, 'x', (xBase(d.time) - 1).toFixed(1));
        setAttr(this, 'y', (c > 0 ? ovMid - c * ovScale : ovMid).toFixed(1));
        setAttr(this, 'height', Math.max(1, Math.abs(c) * ovScale).toFixed(1));
        setAttr(this, 'fill', d.contribution === null ? NO_ATTRIBUTION_COLOUR : visitColour(d.contribution));
      });

    if (structural) {
      if (overviewAxisRef.current) {
        select(overviewAxisRef.current)
          .call(axisBottom(xBase).ticks(Math.max(2, Math.floor((g.plotRight - g.plotLeft) / 90))).tickSizeOuter(0))
          .attr('font-family', FONT)
          .attr('font-size', 10)
          .call((a) => a.selectAll('text').attr('fill', MUTED))
          .call((a) => a.selectAll('line,path').attr('stroke', LINE));
      }
      // another patient starts at the full view; a what-if revision of the same patient keeps it
      if (patientRef.current !== model.patientId && patientRef.current !== null && plotRef.current && zoomRef.current) {
        select(plotRef.current).call(zoomRef.current.transform, zoomIdentity);
      }
      patientRef.current = model.patientId;
    }
    // new visit groups need their x (unchanged ones are skipped inside)
    if (structural || visits.size() !== positionedRef.current) applyTransform(transformRef.current, false);
    positionedRef.current = visits.size();

    // roving tabindex: exactly one mark is in the tab order, and it carries the spoken label
    const activeId = activeIdRef.current && model.markIndex.has(activeIdRef.current) ? activeIdRef.current : firstMarkId(model);
    activeIdRef.current = activeId;
    const activeEl = activeId ? els.get(activeId) : undefined;
    if (activeId && activeEl) {
      activeEl.setAttribute('tabindex', '0');
      activeEl.setAttribute('role', 'img');
      setAttr(activeEl, 'aria-label', describeMark(byId(activeId), model.result !== null));
    }
    const root = rootRef.current;
    if (root) {
      const complete = shown === model.visits.length;
      root.setAttribute('data-render-ms', (performance.now() - start).toFixed(2));
      root.setAttribute('data-marks', String(els.size));
      root.setAttribute('data-render-complete', String(complete));
    }
    if (shown < model.visits.length && frameRef.current === 0) {
      frameRef.current = requestAnimationFrame(() => {
        frameRef.current = 0;
        draw();
      });
    }
    // the pinned mark may have appeared in this slice
    placeRing(layer, 'tl-pin-ring', pinnedRef.current ? els.get(pinnedRef.current) ?? null : null, INK);
  }, [applyTransform]);

  useLayoutEffect(() => {
    draw();
  }, [model, geo, xBase, draw]);
  useEffect(() => () => cancelAnimationFrame(frameRef.current), []);

  // pinned ring: a d3-owned rect moved into the pinned mark's visit group, so zoom carries it
  useLayoutEffect(() => {
    placeRing(layerRef.current, 'tl-pin-ring', pinned ? markElRef.current.get(pinned) ?? null : null, INK);
  }, [pinned, model, geo]);

  // a pinned event that no longer exists (another patient) is unpinned
  useEffect(() => {
    if (pinned && !model.markIndex.has(pinned)) setPinned(null);
  }, [model, pinned, setPinned]);

  /** Make a mark the roving tab stop (the one mark in the tab order, with the spoken label). */
  const activate = (id: string, focus: boolean) => {
    const m = modelRef.current;
    const prev = activeIdRef.current ? markElRef.current.get(activeIdRef.current) : undefined;
    const el = markElRef.current.get(id);
    if (!el) return;
    if (prev && prev !== el) {
      prev.removeAttribute('tabindex');
      prev.removeAttribute('role');
      prev.removeAttribute('aria-label');
    }
    activeIdRef.current = id;
    el.setAttribute('tabindex', '0');
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', describeMark(m.marks[m.markIndex.get(id)!], m.result !== null));
    if (focus) {
      ensureVisible(id);
      el.focus({ preventScroll: true });
    }
  };

  /** Pan (not zoom) so that a mark is inside the plot. */
  const ensureVisible = (id: string) => {
    const m = modelRef.current.marks[modelRef.current.markIndex.get(id) ?? -1];
    const z = zoomRef.current;
    if (!m || !z || !plotRef.current) return;
    const g = geoRef.current;
    const t = transformRef.current;
    const x = t.rescaleX(xBaseRef.current)(m.time);
    if (x < g.plotLeft + 12 || x > g.plotRight - 12) z.translateBy(select(plotRef.current), ((g.plotLeft + g.plotRight) / 2 - x) / t.k, 0);
  };

  const zoomBy = (factor: number, centreX?: number) => {
    const z = zoomRef.current;
    if (!z || !plotRef.current) return;
    const g = geoRef.current;
    z.scaleBy(select(plotRef.current), factor, [centreX ?? (g.plotLeft + g.plotRight) / 2, 0]);
  };
  const panBy = (fraction: number) => {
    const z = zoomRef.current;
    if (!z || !plotRef.current) return;
    const g = geoRef.current;
    z.translateBy(select(plotRef.current), (fraction * (g.plotRight - g.plotLeft)) / transformRef.current.k, 0);
  };
  const resetZoom = () => {
    if (zoomRef.current && plotRef.current) select(plotRef.current).call(zoomRef.current.transform, zoomIdentity);
  };

  /** The next mark from `id`: along its lane in time (dx ±1), or the time-nearest in the lane above/below (dy ±1). */
  const neighbour = (id: string, dx: number, dy: number): string | null => {
    const m = modelRef.current;
    const i = m.markIndex.get(id);
    if (i === undefined) return null;
    const mark = m.marks[i];
    if (dx) {
      const order = m.laneOrder[mark.lane];
      const at = order.indexOf(i);
      const next = order[at + dx];
      return next === undefined ? null : m.marks[next].id;
    }
    for (let li = LANE_INDEX[mark.lane] + dy; li >= 0 && li < LANES.length; li += dy) {
      const order = m.laneOrder[LANES[li].id];
      if (!order.length) continue;
      let best = order[0];
      for (const j of order) if (Math.abs(m.marks[j].time - mark.time) < Math.abs(m.marks[best].time - mark.time)) best = j;
      return m.marks[best].id;
    }
    return null;
  };

  const markIdOf = (target: EventTarget | null): string | null => (target instanceof Element ? target.getAttribute('data-mark') : null);

  const onKeyDown = (e: ReactKeyboardEvent<SVGSVGElement>) => {
    const onMark = markIdOf(e.target);
    const t = transformRef.current;
    const markX = () => {
      const m = onMark ? modelRef.current.marks[modelRef.current.markIndex.get(onMark)!] : undefined;
      return m ? t.rescaleX(xBaseRef.current)(m.time) : undefined;
    };
    let handled = true;
    switch (e.key) {
      case '+':
      case '=':
        zoomBy(1.5, markX());
        break;
      case '-':
      case '_':
        zoomBy(1 / 1.5, markX());
        break;
      case '0':
      case 'Home':
        resetZoom();
        if (onMark) ensureVisible(onMark);
        break;
      case 'ArrowLeft':
      case 'ArrowRight': {
        const dir = e.key === 'ArrowLeft' ? -1 : 1;
        if (onMark && !e.shiftKey) {
          const next = neighbour(onMark, dir, 0);
          if (next) activate(next, true);
        } else panBy(-dir * 0.15);
        break;
      }
      case 'ArrowUp':
      case 'ArrowDown': {
        const dir = e.key === 'ArrowUp' ? -1 : 1;
        if (onMark) {
          const next = neighbour(onMark, 0, dir);
          if (next) activate(next, true);
        } else if (dir > 0 && activeIdRef.current) activate(activeIdRef.current, true);
        else handled = false;
        break;
      }
      case 'Enter':
      case ' ':
        if (onMark) setPinned(pinnedRef.current === onMark ? null : onMark);
        else if (activeIdRef.current) activate(activeIdRef.current, true);
        break;
      case 'Escape':
        if (pinnedRef.current) setPinned(null);
        setHover(null);
        break;
      case 'Delete':
      case 'Backspace':
        if (onMark && onMarkContextAction) onMarkContextAction(onMark);
        else handled = false;
        break;
      default:
        handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  };

  /** Tooltip anchor: right of the element, or left of it near the right edge. */
  const anchorOf = (el: Element): Anchor => {
    const root = rootRef.current;
    if (!root) return { x: 0, y: 0, flip: false };
    const r = el.getBoundingClientRect();
    const rr = root.getBoundingClientRect();
    const flip = r.right - rr.left + 300 > rr.width;
    return { x: flip ? r.left - rr.left - 8 : r.right - rr.left + 8, y: r.top - rr.top, flip };
  };

  const onPointerOver = (e: ReactPointerEvent<SVGGElement>) => {
    const target = e.target as Element;
    const id = markIdOf(target);
    if (id) return setHover({ kind: 'mark', id, ...anchorOf(target) });
    const visit = target.getAttribute('data-visit');
    if (visit !== null) setHover({ kind: 'visit', index: Number(visit), ...anchorOf(target) });
  };
  const onPointerOut = (e: ReactPointerEvent<SVGGElement>) => {
    const related = e.relatedTarget as Element | null;
    if (!related || (!markIdOf(related) && related.getAttribute?.('data-visit') === null)) setHover(null);
  };
  const onClick = (e: ReactMouseEvent<SVGGElement>) => {
    const id = markIdOf(e.target);
    if (!id) return;
    activate(id, false);
    setPinned(pinnedRef.current === id ? null : id);
  };
  const onContextMenu = (e: ReactMouseEvent<SVGGElement>) => {
    const id = markIdOf(e.target);
    if (!id || !onMarkContextAction) return;
    e.preventDefault();
    onMarkContextAction(id);
  };
  const onFocus = (e: ReactFocusEvent<SVGGElement>) => {
    const id = markIdOf(e.target);
    if (!id) return;
    activate(id, false);
    placeRing(layerRef.current, 'tl-focus-ring', e.target as unknown as SVGRectElement, FOCUS);
    setHover({ kind: 'mark', id, ...anchorOf(e.target as Element) });
  };
  const onBlur = (e: ReactFocusEvent<SVGGElement>) => {
    if (markIdOf(e.relatedTarget)) return; // moving between marks: onFocus repositions
    placeRing(layerRef.current, 'tl-focus-ring', null, FOCUS);
    setHover(null);
  };

  // ---- static frame (React) ----

  const hasResult = model.result !== null;
  const markDomain = niceDomain(model.markMax);
  const markColour = attributionColour(markDomain, COLOUR_STEPS);
  const staticColour = attributionColour(niceDomain(model.staticMax), COLOUR_STEPS);
  const g = geo;
  const clipId = `tl-clip-${uid}`;
  const gradId = `tl-grad-${uid}`;
  const helpId = `tl-help-${uid}`;
  const span = model.visits.length ? `${model.visits.reduce((a, v) => (v.date < a ? v.date : a), model.visits[0].date)} to ${model.visits.reduce((a, v) => (v.date > a ? v.date : a), model.visits[0].date)}` : 'no visits';
  const summary = `Attribution timeline of patient ${model.patientId}: ${model.marks.length} events in ${model.visits.length} visits, ${span}.`;
  const pinnedMark = pinned ? model.marks[model.markIndex.get(pinned) ?? -1] : undefined;
  const hoverMark = hover?.kind === 'mark' ? model.marks[model.markIndex.get(hover.id) ?? -1] : undefined;
  const hoverVisit = hover?.kind === 'visit' ? model.visits[hover.index] : undefined;
  const legendX = g.plotLeft;
  const legendW = Math.min(220, (g.plotRight - g.plotLeft) / 3);
  // the legend shows the classes as hard-edged bands, as the marks use them
  const legendClasses = Array.from({ length: 2 * COLOUR_STEPS + 1 }, (_, i) => (i - COLOUR_STEPS) / COLOUR_STEPS);
  const classW = 1 / legendClasses.length;
  const staticCellH = (g.lanesBottom - g.lanesTop) / Math.max(1, model.staticParts.length);

  return (
    <div className="tl" ref={rootRef} data-testid="timeline" data-patient-id={model.patientId}>
      <div className="tl-toolbar">
        <button type="button" onClick={() => zoomBy(1.5)} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => zoomBy(1 / 1.5)} aria-label="Zoom out">
          −
        </button>
        <button type="button" onClick={resetZoom} data-testid="timeline-reset">
          Reset zoom
        </button>
        <p id={helpId} className="tl-help">
          Keys on the chart: ← → pan, + − zoom, 0 or Home resets. Tab or ↓ moves to the events: arrows go along a lane (← →) and across lanes (↑ ↓), Enter pins, Esc unpins
          {onMarkContextAction ? ', Delete removes the event (what-if)' : ''}. Drag on the overview strip to focus a period.
        </p>
      </div>
      <svg
        ref={svgRef}
        className="tl-svg"
        width={g.width}
        height={g.height}
        viewBox={`0 0 ${g.width} ${g.height}`}
        xmlns="http://www.w3.org/2000/svg"
        fontFamily={FONT}
        fontSize={12}
        role="group"
        aria-label={summary}
        aria-describedby={helpId}
        tabIndex={0}
        onKeyDown={onKeyDown}
        data-testid="timeline-svg"
      >
        <title>{summary}</title>
        <defs>
          <clipPath id={clipId}>
            <rect x={g.plotLeft - 1} y={g.barsTop} width={g.plotRight - g.plotLeft + 2} height={g.lanesBottom - g.barsTop} />
          </clipPath>
          <linearGradient id={gradId} x1="0" x2="1" y1="0" y2="0">
            {legendClasses.flatMap((v, i) => [
              <stop key={`${i}a`} offset={i * classW} stopColor={attributionColour(1, COLOUR_STEPS)(v)} />,
              <stop key={`${i}b`} offset={(i + 1) * classW} stopColor={attributionColour(1, COLOUR_STEPS)(v)} />,
            ])}
          </linearGradient>
        </defs>
        <rect x={0} y={0} width={g.width} height={g.height} fill="#ffffff" />

        {/* legend */}
        <g className="tl-legend" data-testid="timeline-legend" aria-hidden="true">
          <text x={8} y={20} fill={INK} fontWeight={600}>
            Attribution
          </text>
          <text x={legendX - 8} y={20} fill={MUTED} textAnchor="end" fontSize={11}>
            lowers risk
          </text>
          <rect x={legendX} y={8} width={legendW} height={12} fill={`url(#${gradId})`} stroke={MUTED} strokeWidth={0.5} />
          <text x={legendX + legendW + 8} y={20} fill={MUTED} fontSize={11}>
            raises risk
          </text>
          <text x={legendX} y={31} fill={MUTED} fontSize={10}>
            {hasResult ? `−${fmtDomain(markDomain).replace(/^\+/, '')}` : ''}
          </text>
          <text x={legendX + legendW / 2} y={31} fill={MUTED} fontSize={10} textAnchor="middle">
            0
          </text>
          <text x={legendX + legendW} y={31} fill={MUTED} fontSize={10} textAnchor="end">
            {hasResult ? fmtDomain(markDomain) : ''}
          </text>
          <rect x={legendX + legendW + 86} y={8} width={12} height={12} fill={markColour(null)} stroke={MARK_STROKE} />
          <text x={legendX + legendW + 104} y={20} fill={MUTED} fontSize={11}>
            {hasResult ? 'not in the model input' : 'no attribution yet'}
          </text>
          {model.result && (
            <text x={g.plotRight} y={20} fill={MUTED} fontSize={11} textAnchor="end" data-testid="timeline-samples">
              {model.result.samplesDone}/{model.result.samplesTotal} samples{model.result.done ? '' : '…'}
            </text>
          )}
        </g>

        {/* row labels */}
        <g aria-hidden="true">
          <text x={8} y={g.barsZero - 4} fill={INK} fontWeight={600}>
            Visit total
          </text>
          <text x={8} y={g.barsZero + 12} fill={MUTED} fontSize={10}>
            {hasResult ? `bars ±${fmtDomain(niceDomain(model.visitMax)).replace(/^\+/, '')}` : ''}
          </text>
          <line x1={g.plotLeft} x2={g.plotRight} y1={g.barsZero} y2={g.barsZero} stroke={MUTED} strokeWidth={1} />
          {model.lanes.map((lane, i) => (
            <g key={lane.id} data-lane={lane.id}>
              <rect x={g.plotLeft} y={g.lanesTop + i * g.laneH} width={g.plotRight - g.plotLeft} height={g.laneH} fill={i % 2 ? '#f6f7f9' : '#ffffff'} />
              <line x1={8} x2={g.plotRight} y1={g.lanesTop + i * g.laneH} y2={g.lanesTop + i * g.laneH} stroke={LINE} strokeWidth={1} />
              <text x={8} y={g.lanesTop + i * g.laneH + g.laneH / 2 + 4} fill={INK}>
                {lane.label}
                <tspan fill={MUTED} fontSize={10}>
                  {' '}
                  ({lane.markCount})
                </tspan>
              </text>
            </g>
          ))}
          <line x1={8} x2={g.plotRight} y1={g.lanesBottom} y2={g.lanesBottom} stroke={LINE} strokeWidth={1} />
        </g>

        {/* static strip: the parts that belong to no event */}
        <g data-testid="timeline-static" aria-label="Static parts (whole sequence)" role="list">
          <text x={LABEL_W + 8 + STATIC_W / 2} y={g.lanesTop - 6} fill={MUTED} fontSize={10} textAnchor="middle" aria-hidden="true">
            static
          </text>
          {model.staticParts.map((p, i) => {
            const fill = staticColour(p.attribution);
            const label = `${p.label}: ${p.attribution === null ? (hasResult ? 'not used by the model' : 'no attribution yet') : formatAttribution(p.attribution)}`;
            return (
              <g key={p.part} role="listitem" aria-label={label}>
                <title>{label}</title>
                <rect x={LABEL_W + 8} y={g.lanesTop + i * staticCellH + 1} width={STATIC_W} height={staticCellH - 2} fill={fill} stroke={MARK_STROKE} strokeWidth={0.5} />
                <text x={LABEL_W + 8 + STATIC_W / 2} y={g.lanesTop + i * staticCellH + staticCellH / 2 - 1} fill={inkOn(fill)} fontSize={10} textAnchor="middle">
                  {p.label}
                </text>
                <text x={LABEL_W + 8 + STATIC_W / 2} y={g.lanesTop + i * staticCellH + staticCellH / 2 + 11} fill={inkOn(fill)} fontSize={10} textAnchor="middle">
                  {p.attribution === null ? '–' : formatAttribution(p.attribution)}
                </text>
              </g>
            );
          })}
        </g>

        {/* plot: zoom surface, d3-owned marks layer, axis */}
        <g
          ref={plotRef}
          className="tl-plot"
          data-testid="timeline-plot"
          onPointerOver={onPointerOver}
          onPointerOut={onPointerOut}
          onClick={onClick}
          onContextMenu={onContextMenu}
          onFocus={onFocus}
          onBlur={onBlur}
        >
          <rect className="tl-zoom-surface" x={g.plotLeft} y={g.barsTop} width={g.plotRight - g.plotLeft} height={g.lanesBottom - g.barsTop} fill="transparent" />
          {/* stroke and cursor are inherited by every mark and bar: set once here, not 2,000 times */}
          <g ref={layerRef} clipPath={`url(#${clipId})`} stroke={MARK_STROKE} strokeWidth={0.5} shapeRendering="crispEdges" cursor="pointer" data-testid="timeline-marks" />
        </g>
        <g ref={axisRef} transform={`translate(0,${g.lanesBottom})`} aria-hidden="true" />

        {/* overview (context) with the brush */}
        <g aria-hidden="true">
          <text x={8} y={g.overviewTop + OVERVIEW_H / 2 + 4} fill={MUTED} fontSize={11}>
            Overview
          </text>
          <rect x={g.plotLeft} y={g.overviewTop} width={g.plotRight - g.plotLeft} height={OVERVIEW_H} fill="#f6f7f9" stroke={LINE} />
          <g ref={overviewBarsRef} />
          <g ref={overviewAxisRef} transform={`translate(0,${g.overviewTop + OVERVIEW_H})`} />
          <g ref={brushRef} className="tl-brush" data-testid="timeline-brush" />
        </g>
      </svg>

      {hover && (hoverMark || hoverVisit) && (
        <div className={hover.flip ? 'tl-tooltip tl-tooltip-flip' : 'tl-tooltip'} style={{ left: hover.x, top: hover.y }} aria-hidden="true" data-testid="timeline-tooltip">
          {hoverMark ? <MarkDetails mark={hoverMark} hasResult={hasResult} /> : hoverVisit ? <VisitDetails visit={hoverVisit} hasResult={hasResult} /> : null}
          {hoverMark && <p className="tl-hint">{pinned === hoverMark.id ? 'Pinned (click or Enter to unpin)' : 'Click or Enter to pin'}</p>}
        </div>
      )}

      <section className="tl-pinned" aria-label="Pinned event" data-testid="timeline-pinned">
        {pinnedMark ? (
          <>
            <h3>Pinned event</h3>
            <MarkDetails mark={pinnedMark} hasResult={hasResult} visit={model.visits[pinnedMark.visit]} />
            <div className="tl-pinned-actions">
              <button type="button" onClick={() => setPinned(null)}>
                Unpin
              </button>
              {onMarkContextAction && (
                <button type="button" onClick={() => onMarkContextAction(pinnedMark.id)} data-testid="timeline-remove-event">
                  Remove this event (what-if)
                </button>
              )}
            </div>
          </>
        ) : (
          <p className="muted small">Click an event (or focus it and press Enter) to pin its details here.</p>
        )}
      </section>
      <p className="tl-sr-only" role="status" aria-live="polite">
        {announcement}
      </p>
    </div>
  );
}

function MarkDetails({ mark, hasResult, visit }: { mark: TimelineMark; hasResult: boolean; visit?: TimelineVisit }) {
  return (
    <dl className="tl-details">
      <dt>Date</dt>
      <dd>{mark.date}</dd>
      <dt>Event</dt>
      <dd>
        {mark.modality} <code>{mark.code}</code>
      </dd>
      <dt>Description</dt>
      <dd>{mark.description ?? 'not in the code catalogue'}</dd>
      {mark.value !== undefined && (
        <>
          <dt>Value</dt>
          <dd>
            {mark.value}
            {mark.unit ? ` ${mark.unit}` : ''}
          </dd>
        </>
      )}
      <dt>Attribution</dt>
      <dd className="tl-num">
        {mark.attribution === null ? describeAttribution(mark, hasResult) : `${formatAttribution(mark.attribution)}${mark.stderr !== null && mark.stderr > 0 ? ` ± ${formatStderr(mark.stderr)} (s.e.)` : ''}`}
      </dd>
      {visit && (
        <>
          <dt>Visit total</dt>
          <dd className="tl-num">
            {visit.contribution === null ? '–' : formatAttribution(visit.contribution)} ({visit.eventCount} event{visit.eventCount === 1 ? '' : 's'})
          </dd>
        </>
      )}
    </dl>
  );
}

function VisitDetails({ visit, hasResult }: { visit: TimelineVisit; hasResult: boolean }) {
  return (
    <dl className="tl-details">
      <dt>Visit</dt>
      <dd>{visit.date}</dd>
      <dt>Events</dt>
      <dd>{visit.eventCount}</dd>
      <dt>Visit total</dt>
      <dd className="tl-num">{visit.contribution === null ? (hasResult ? 'not in the model input' : 'no attribution yet') : formatAttribution(visit.contribution)}</dd>
    </dl>
  );
}

/** The first mark in time of the first non-empty lane: where keyboard navigation starts. */
function firstMarkId(model: TimelineModel): string | null {
  for (const lane of LANES) {
    const order = model.laneOrder[lane.id];
    if (order.length) return model.marks[order[0]].id;
  }
  return null;
}

/** Put a ring (focus or pin) around a mark, inside the mark's visit group so zoom moves it along;
 *  null hides it. The ring is d3-owned: React never renders inside the layer. */
function placeRing(layer: SVGGElement | null, cls: string, target: SVGRectElement | null, colour: string) {
  if (!layer) return;
  let ring = layer.querySelector<SVGRectElement>(`rect.${cls}`);
  if (!target) {
    ring?.setAttribute('display', 'none');
    return;
  }
  if (!ring) {
    ring = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    ring.setAttribute('class', cls);
    ring.setAttribute('fill', 'none');
    ring.setAttribute('pointer-events', 'none');
    ring.setAttribute('stroke', colour);
    ring.setAttribute('stroke-width', '2');
  }
  const x = Number(target.getAttribute('x') ?? 0);
  const y = Number(target.getAttribute('y') ?? 0);
  const w = Number(target.getAttribute('width') ?? MARK_W);
  const h = Number(target.getAttribute('height') ?? 0);
  ring.setAttribute('x', String(x - 2));
  ring.setAttribute('y', String(y - 2));
  ring.setAttribute('width', String(w + 4));
  ring.setAttribute('height', String(h + 4));
  ring.setAttribute('display', 'inline');
  target.parentNode?.appendChild(ring);
}

