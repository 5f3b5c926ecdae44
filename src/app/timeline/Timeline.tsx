// The attribution timeline: one lane per modality on a real time axis, each event a mark coloured
// by its attribution, visit contribution bars above, an overview strip with a brush below.
//
// Split for speed: the zoomable plot area (lane stripes, visit bars, event marks) is painted on a
// <canvas> under the SVG, in one pass per zoom frame or data update, from a scene (scene.ts) that
// is also what the SVG/PNG export writes and what pointer hit testing searches (by x, no DOM per
// mark). The overview strip's ground and bars are a second canvas, repainted on data updates only.
// React renders the static SVG frame on top (labels, legend, static strip, toolbar, tooltip,
// pinned details); d3 owns the axes, zoom and brush inside ref'd groups that React renders empty
// and never touches. Keyboard focus is one SVG element (the roving tab stop, with the spoken
// label) moved over the active mark; the pin ring is another. For tests and automation the root
// element answers where a mark is drawn (`markCentre`, TimelineElement): no DOM per mark (2,000
// invisible rects, made in idle slices, cost 4-8 ms of style, layout and paint in each of ~55
// frames after a long patient's first paint; BENCHMARKS.md, 2026-12-07).
// A new timeline mounts in steps, each in a frame of its own: React commits the static frame, the
// browser lays it out (the canvases get their size, no context yet), then a task makes it live (d3
// axes, zoom and brush, the first draw) and the first paint follows in parts.
// A new model (a progressive result, a few per second) only repaints; zoom, brush, focus and the
// pinned event live in d3's node state and refs and survive it. All visual properties of the SVG
// are attributes (fills, strokes, fonts), not CSS classes, so a serialised SVG looks the same
// standalone (export).
//
// Timing: the root carries data-render-ms (last data paint, JS only), data-zoom-ms (last zoom
// frame, JS only) and data-render-complete ("true" once the plot and the overview strip are painted
// for the latest data, its parts and idle steps included). A frame's full cost (style, layout,
// paint) in Chromium:
//   const t0 = performance.now();
//   plot.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, clientX, clientY, bubbles: true, cancelable: true }));
//   await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));   // after the frame's paint
//   const ms = performance.now() - t0;
// where plot is root.querySelector('[data-testid=timeline-plot]'); first render likewise from
// mounting until the first rAF + setTimeout after data-render-complete is "true".
import { axisBottom, brushX, scaleUtc, select, zoom, zoomIdentity, zoomTransform, type BrushBehavior, type D3BrushEvent, type D3ZoomEvent, type ScaleTime, type ZoomBehavior, type ZoomTransform } from 'd3';
import {
  memo,
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
import { registerExportLayer } from '../export';
import { attributionColour, describeAttribution, describeMark, formatAttribution, formatStderr, LANES, niceDomain, type TimelineMark, type TimelineModel, type TimelineVisit } from './model';
import {
  COLOUR_STEPS,
  drawOverviewScene,
  drawPlotScene,
  FOCUS,
  FONT,
  geometryOf,
  hitTest,
  INK,
  LABEL_W,
  LANE_INDEX,
  LINE,
  MARK_STROKE,
  markBox,
  MUTED,
  OVERVIEW_H,
  overviewScene,
  overviewSceneSvg,
  overviewClip,
  plotClip,
  plotScene,
  plotSceneSvg,
  sceneParts,
  STATIC_W,
  visitLeft,
  type Geometry,
  type Hit,
  type PlotScene,
  type ScenePart,
} from './scene';
import { afterFrames, IDLE_NEED_MS, whenIdle } from './idle';
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

/** The timeline's root element (`[data-testid=timeline]`) as tests and automation see it: the marks
 *  are pixels on a canvas, so it answers where one is drawn. */
export interface TimelineElement extends HTMLDivElement {
  /** The centre of mark `id` (`${visit}:${event}`) at the current zoom, in client (viewport CSS px)
   *  coordinates, where a pointer finds it; null when there is no such mark or it is zoomed out of
   *  the plot. */
  markCentre?: (id: string) => { x: number; y: number } | null;
}

const DAY = 86_400_000;

/** The `width` that draws the chart 1:1 in a container `containerPx` wide: less the SVG's 1 px
 *  border on each side (timeline.css). Unscaled, the canvases have whole-pixel sizes, so their
 *  device-pixel size does not change when the page above them moves by a fraction of a pixel. */
export const svgWidthFor = (containerPx: number) => Math.floor(containerPx) - 2;
/** a new patient's first paint: marks per animation frame. Each part's frame also pays the
 *  compositor's copy of the whole canvas; on a slow 2-core machine 500 kept the busiest frame of a
 *  new timeline lower than 1,000 did (median of 10 A/B runs 15.1 against 20.6 ms) */
const FIRST_PAINT_MARKS = 500;

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

const isIdentity = (t: ZoomTransform) => t.k === 1 && t.x === 0 && t.y === 0;

/** How a time axis looks: px of plot width per tick, font size, label and line colours. */
interface AxisStyle {
  pxPerTick: number;
  fontSize: number;
  text: string;
  line: string;
}
const MAIN_AXIS: AxisStyle = { pxPerTick: 110, fontSize: 11, text: INK, line: MUTED };
const OVERVIEW_AXIS: AxisStyle = { pxPerTick: 90, fontSize: 10, text: MUTED, line: LINE };

/** Draw a time axis for `x` into `el` (d3 joins the ticks; attributes, not CSS, for the export). */
function drawTimeAxis(el: SVGGElement, x: ScaleTime<number, number>, g: Geometry, style: AxisStyle) {
  select(el)
    .call(axisBottom(x).ticks(Math.max(2, Math.floor((g.plotRight - g.plotLeft) / style.pxPerTick))).tickSizeOuter(0))
    .attr('font-family', FONT)
    .attr('font-size', style.fontSize)
    .call((a) => a.selectAll('text').attr('fill', style.text))
    .call((a) => a.selectAll('line,path').attr('stroke', style.line));
}

const fmtDomain = (x: number) => (x > 0 ? formatAttribution(x) : '0');

/** Where the tooltip sits (root-relative px); flip: left of the anchor instead of right of it. */
interface Anchor {
  x: number;
  y: number;
  flip: boolean;
}
type Hover = ({ kind: 'mark'; id: string } | { kind: 'visit'; index: number }) & Anchor;
type Box = { x: number; y: number; width: number; height: number };

// ---- component ----------------------------------------------------------------------------------

/** A memo component: the page re-renders on every store change (a progress report, another patient
 *  selected while this one's model is deferred), and the static frame's diff is a few ms. */
export const Timeline = memo(function Timeline({ model, width = 960, height, pinnedId, onPin, onMarkContextAction }: TimelineProps) {
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
  /** false while a new timeline's static frame is first laid out: d3 (axes, zoom, brush) and the
   *  first paint start two frames after the mount, so that React's commit, the browser's first
   *  layout of the frame and the d3 work each get a frame of their own */
  const [live, setLive] = useState(false);
  const liveRef = useRef(live);
  liveRef.current = live;

  const rootRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const plotRef = useRef<SVGGElement>(null);
  const surfaceRef = useRef<SVGRectElement>(null);
  const focusRef = useRef<SVGRectElement>(null);
  const pinRingRef = useRef<SVGRectElement>(null);
  const exportLayerRef = useRef<SVGGElement>(null);
  const axisRef = useRef<SVGGElement>(null);
  const overviewCanvasRef = useRef<HTMLCanvasElement>(null);
  const overviewLayerRef = useRef<SVGGElement>(null);
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
  const activeIdRef = useRef<string | null>(null);
  const focusedRef = useRef(false);
  const hoverRef = useRef<Hover | null>(null);
  hoverRef.current = hover;
  const patientRef = useRef<string | null>(null);
  const geoJoinedRef = useRef<Geometry | null>(null);
  const structureRef = useRef<string | null>(null);
  /** what is still to be painted for the latest data: the plot's parts, the overview's idle paint */
  const pendingRef = useRef({ plot: false, overview: false });
  /** cancels the pending idle paint of a new patient's overview strip */
  const overviewIdleRef = useRef<(() => void) | null>(null);
  /** each canvas's CSS size at its last size report (none before its first) */
  const cssSizeRef = useRef(new WeakMap<HTMLCanvasElement, [number, number]>());
  /** the plot canvases that have been painted (have a context and pixels) */
  const paintedRef = useRef(new WeakSet<HTMLCanvasElement>());
  /** device pixels per SVG unit of the canvases' backing stores (x, y) */
  const canvasScaleRef = useRef<[number, number] | null>(null);
  /** set while a new patient or geometry is committed: paint() then clears the canvas and paints
   *  in the frames after the next */
  const deferPaintRef = useRef(false);
  const paintFrameRef = useRef<number | null>(null);
  const overviewScaleRef = useRef<[number, number] | null>(null);

  const setPinned = useCallback(
    (id: string | null) => {
      if (pinnedId === undefined) setInternalPinned(id);
      onPin?.(id);
      const m = id ? modelRef.current.marks[modelRef.current.markIndex.get(id) ?? -1] : undefined;
      setAnnouncement(m ? `Pinned: ${describeMark(m, modelRef.current.result !== null)}` : 'Unpinned');
    },
    [pinnedId, onPin],
  );

  /** The zoomed x scale. */
  const xNow = () => transformRef.current.rescaleX(xBaseRef.current);

  /** A mark's box at the current zoom, or null when it is not in the model. */
  const boxOf = useCallback((id: string | null): Box | null => {
    const m = id ? modelRef.current.marks[modelRef.current.markIndex.get(id) ?? -1] : undefined;
    if (!m) return null;
    const xz = transformRef.current.rescaleX(xBaseRef.current);
    return markBox(m, geoRef.current, visitLeft(xz, m.time));
  }, []);

  /** data-render-complete: "true" once nothing is left to paint for the latest data (automation and
   *  the benchmark wait for it) */
  const settle = useCallback(() => {
    const p = pendingRef.current;
    if (rootRef.current) setAttr(rootRef.current, 'data-render-complete', String(!p.plot && !p.overview));
  }, []);

  /** Clear the plot canvas if it shows an earlier paint (a new one is blank, and stays without a
   *  context until its first paint: making one, and a cleared frame to composite, cost a few ms). */
  const clearPlot = useCallback(() => {
    const canvas = canvasRef.current;
    const shown = canvas && paintedRef.current.has(canvas) ? canvas.getContext('2d', { alpha: false }) : null;
    if (!canvas || !shown) return;
    shown.setTransform(1, 0, 0, 1, 0, 0);
    shown.fillStyle = '#ffffff';
    shown.fillRect(0, 0, canvas.width, canvas.height);
  }, []);

  /** Paint the plot area (stripes, bars, marks) on the canvas for the latest model and zoom. With
   *  `deferPaintRef` set (a new patient or geometry is being committed, or a new timeline's canvas
   *  has its first size), the canvas is cleared now (a new one is blank already) and painted from
   *  the second animation frame on instead: the browser's layout of the new SVG
   *  takes one frame, the first paint of thousands of marks (JIT still cold) and its raster the
   *  next ones, so that no frame runs long. */
  const paint = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const g = geoRef.current;
    const clip = plotClip(g);
    let scale = canvasScaleRef.current;
    if (!scale) {
      // the first size report (before the first frame's paint) sizes the canvas and paints
      if (typeof ResizeObserver !== 'undefined') {
        pendingRef.current.plot = true;
        return;
      }
      const dpr = globalThis.devicePixelRatio || 1;
      canvas.width = Math.round(clip.width * dpr);
      canvas.height = Math.round(clip.height * dpr);
      scale = canvasScaleRef.current = [canvas.width / clip.width, canvas.height / clip.height];
    }
    if (paintFrameRef.current !== null) cancelAnimationFrame(paintFrameRef.current);
    paintFrameRef.current = null;
    if (deferPaintRef.current && typeof requestAnimationFrame === 'function') {
      clearPlot();
      // the next frame lays out the committed SVG (the canvas blank and cheap to composite); the
      // frames after it paint the scene in parts of FIRST_PAINT_MARKS marks, in order, so that the
      // pixels are those of one paint (any paint() in between cancels the rest and paints it all)
      deferPaintRef.current = false; // (a draw() that throws must not leave every paint deferred)
      pendingRef.current.plot = true;
      const paintPart = (scene: PlotScene, parts: ScenePart[], i: number) => {
        paintFrameRef.current = requestAnimationFrame(() => {
          paintFrameRef.current = null;
          const sc = canvasScaleRef.current;
          const c = canvasRef.current;
          const c2 = c?.getContext('2d', { alpha: false });
          if (sc && c && c2) {
            paintedRef.current.add(c);
            drawPlotScene(c2, scene, sc[0], sc[1], parts[i]);
            if (i + 1 < parts.length) return paintPart(scene, parts, i + 1);
          }
          pendingRef.current.plot = false;
          settle();
        });
      };
      paintFrameRef.current = requestAnimationFrame(() => {
        const scene = plotScene(modelRef.current, geoRef.current, transformRef.current.rescaleX(xBaseRef.current));
        paintPart(scene, sceneParts(scene, FIRST_PAINT_MARKS), 0);
      });
      return;
    }
    const ctx = canvas.getContext('2d', { alpha: false });
    if (ctx) {
      paintedRef.current.add(canvas);
      drawPlotScene(ctx, plotScene(modelRef.current, g, transformRef.current.rescaleX(xBaseRef.current)), scale[0], scale[1]);
    }
    pendingRef.current.plot = false;
    settle();
  }, [clearPlot, settle]);

  /** Draw the overview strip's time axis (the whole span, at the base scale). */
  const drawOverviewAxis = useCallback(() => {
    if (overviewAxisRef.current) drawTimeAxis(overviewAxisRef.current, xBaseRef.current, geoRef.current, OVERVIEW_AXIS);
  }, []);

  /** Paint the overview strip (its ground and one bar per visit): on data updates only. `later`:
   *  a new patient or a new timeline, whose strip (and its axis) is drawn when the page is next idle
   *  from the next frame on, not in the frame of the plot's draw (a few ms that would lengthen it);
   *  a progressive result recolours it at once. */
  const paintOverview = useCallback((later = false) => {
    overviewIdleRef.current?.();
    overviewIdleRef.current = null;
    const now = () => {
      overviewIdleRef.current = null;
      if (later) drawOverviewAxis();
      const ctx = overviewCanvasRef.current?.getContext('2d', { alpha: false });
      const scale = overviewScaleRef.current;
      // (without a size yet, its first size report paints it)
      if (ctx && scale) drawOverviewScene(ctx, overviewScene(modelRef.current, geoRef.current, xBaseRef.current), scale[0], scale[1]);
      pendingRef.current.overview = !scale;
      settle();
    };
    if (later) {
      pendingRef.current.overview = true;
      overviewIdleRef.current = whenIdle(now, IDLE_NEED_MS, 1);
    } else now();
  }, [drawOverviewAxis, settle]);

  /** Move the focus target and the pin ring onto their marks at the current zoom. */
  const placeOverlays = useCallback(() => {
    const place = (el: SVGRectElement | null, box: Box | null, show: boolean) => {
      if (!el) return;
      if (!box) return setAttr(el, 'display', show ? 'inline' : 'none');
      setAttr(el, 'x', (box.x - 2).toFixed(1));
      setAttr(el, 'y', (box.y - 2).toFixed(1));
      setAttr(el, 'width', (box.width + 4).toFixed(1));
      setAttr(el, 'height', (box.height + 4).toFixed(1));
      setAttr(el, 'display', show ? 'inline' : 'none');
    };
    const pinBox = boxOf(pinnedRef.current);
    place(pinRingRef.current, pinBox, pinBox !== null);
    place(focusRef.current, boxOf(activeIdRef.current), activeIdRef.current !== null);
  }, [boxOf]);

  /** Draw the time axis at the current zoom. */
  const drawAxis = useCallback(() => {
    if (axisRef.current) drawTimeAxis(axisRef.current, transformRef.current.rescaleX(xBaseRef.current), geoRef.current, MAIN_AXIS);
  }, []);

  /** Position everything that depends on the x scale: the canvas, the overlays, the axis, the
   *  brush. */
  const applyTransform = useCallback(
    (t: ZoomTransform, fromZoom = true) => {
      const start = performance.now();
      transformRef.current = t;
      const g = geoRef.current;
      paint();
      placeOverlays();
      drawAxis();
      if (brushRef.current && brushBehaviourRef.current && !brushingRef.current) {
        select(brushRef.current).call(brushBehaviourRef.current.move, isIdentity(t) ? null : [t.invertX(g.plotLeft), t.invertX(g.plotRight)]);
      }
      if (!fromZoom) return;
      // the tooltip's anchor moved: hide it rather than chase the mark every frame
      if (hoverRef.current) setHover(null);
      rootRef.current?.setAttribute('data-zoom-ms', (performance.now() - start).toFixed(2));
      rootRef.current?.setAttribute('data-zoom-k', t.k.toFixed(3));
    },
    [paint, placeOverlays, drawAxis],
  );

  // the canvases' backing stores follow their displayed size (the SVG scales down with its
  // container) at device resolution
  useLayoutEffect(() => {
    const plot = canvasRef.current;
    const overview = overviewCanvasRef.current;
    if (!plot || !overview || typeof ResizeObserver === 'undefined') return;
    canvasScaleRef.current = null;
    overviewScaleRef.current = null;
    const ro = new ResizeObserver((entries) => {
      const g = geoRef.current;
      for (const e of entries) {
        const canvas = e.target as HTMLCanvasElement;
        const isPlot = canvas === plot;
        const clip = isPlot ? plotClip(g) : overviewClip(g);
        const scaleRef = isPlot ? canvasScaleRef : overviewScaleRef;
        const dpr = globalThis.devicePixelRatio || 1;
        const box = e.contentBoxSize?.[0];
        const cssW = box ? box.inlineSize : e.contentRect.width;
        const cssH = box ? box.blockSize : e.contentRect.height;
        // the exact device-pixel size where the browser reports one that agrees with CSS px × ratio
        // (an emulated ratio may not be reflected in it)
        const device = e.devicePixelContentBoxSize?.[0];
        const exact = device && Math.abs(device.inlineSize - cssW * dpr) <= 1 && Math.abs(device.blockSize - cssH * dpr) <= 1;
        const w = Math.max(1, exact ? device.inlineSize : Math.round(cssW * dpr));
        const h = Math.max(1, exact ? device.blockSize : Math.round(cssH * dpr));
        const css = cssSizeRef.current.get(canvas);
        cssSizeRef.current.set(canvas, [cssW, cssH]);
        if (scaleRef.current && canvas.width === w && canvas.height === h) continue;
        // a scaled chart's canvas has a fractional CSS size, which snaps to one device pixel more or
        // less as the page above it moves (text growing above the chart): keep the backing store
        // then, rather than clear and repaint it all in that frame
        const sameCss = css !== undefined && Math.abs(css[0] - cssW) < 0.01 && Math.abs(css[1] - cssH) < 0.01;
        if (scaleRef.current && sameCss && Math.abs(canvas.width - w) <= 1 && Math.abs(canvas.height - h) <= 1) continue;
        canvas.width = w;
        canvas.height = h;
        scaleRef.current = [w / clip.width, h / clip.height];
        // a new timeline's first size report comes in the frame of its first layout, before it is
        // live: it only sizes the canvases, and the first draw paints them (in parts, from the
        // frames after it, as for a new patient). Later resizes repaint at once
        const first = css === undefined;
        if (!liveRef.current) continue;
        if (isPlot) {
          deferPaintRef.current = first;
          paint();
          deferPaintRef.current = false;
        } else paintOverview(first);
      }
    });
    for (const c of [plot, overview]) {
      try {
        ro.observe(c, { box: 'device-pixel-content-box' });
      } catch {
        ro.observe(c);
      }
    }
    return () => ro.disconnect();
  }, [paint, paintOverview, geo]);

  // a new timeline goes live in a task after its second frame (the first lays out its static frame)
  useLayoutEffect(() => {
    if (typeof requestAnimationFrame !== 'function') {
      setLive(true);
      return;
    }
    let task: ReturnType<typeof setTimeout> | undefined;
    let frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => {
        task = setTimeout(() => setLive(true), 0);
      });
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(task);
    };
  }, []);

  // zoom and brush behaviours: created per geometry only; their state lives on the DOM nodes
  useLayoutEffect(() => {
    const plot = plotRef.current;
    const brushG = brushRef.current;
    if (!plot || !brushG || !live) return;
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
    // a new geometry keeps the current zoom (the transform is stored on the plot node). Unzoomed,
    // nothing needs constraining and the draw effect lays out the new geometry anyway: no zoom
    // event then (on a new timeline it drew the axis twice in the frame of its first commit)
    if (!isIdentity(transformRef.current) || !isIdentity(zoomTransform(plot))) plotSel.call(z.transform, transformRef.current);
    return () => {
      plotSel.on('.zoom', null);
      brushSel.on('.brush', null);
    };
  }, [geo, applyTransform, live]);

  // the scale extent depends on the data span: at most two weeks across the plot
  useLayoutEffect(() => {
    const z = zoomRef.current;
    if (!z) return;
    const days = (xBase.domain()[1].getTime() - xBase.domain()[0].getTime()) / DAY;
    z.scaleExtent([1, Math.max(1, days / 14)]);
  }, [xBase, live]);

  // the export draws the plot area from the same scene as the canvas, at the current zoom
  useLayoutEffect(() => {
    const layer = exportLayerRef.current;
    if (!layer) return;
    const unregister = registerExportLayer(layer, () => plotSceneSvg(plotScene(modelRef.current, geoRef.current, transformRef.current.rescaleX(xBaseRef.current)), `tl-export-clip-${uid}`));
    const overview = overviewLayerRef.current;
    const unregisterOverview = overview ? registerExportLayer(overview, () => overviewSceneSvg(overviewScene(modelRef.current, geoRef.current, xBaseRef.current))) : undefined;
    return () => {
      unregister();
      unregisterOverview?.();
    };
  }, [uid]);

  /** Draw for the latest model: repaint the canvas, recolour the overview, update the roving tab
   *  stop and the rings. */
  const draw = useCallback(() => {
    const start = performance.now();
    const model = modelRef.current;
    const g = geoRef.current;
    const structural = structureRef.current !== model.structureKey || geoJoinedRef.current !== g;
    structureRef.current = model.structureKey;
    geoJoinedRef.current = g;

    // another patient starts at the full view (the zoom event repaints everything x-dependent);
    // a what-if revision of the same patient keeps it. At the full view already, no zoom event: its
    // handlers (brush, tooltip, gesture end) cost a millisecond or two in the frame of the commit
    const newPatient = structural && patientRef.current !== model.patientId && patientRef.current !== null;
    const zoomed = !isIdentity(transformRef.current) || (!!plotRef.current && !isIdentity(zoomTransform(plotRef.current)));
    const reset = newPatient && zoomed && !!plotRef.current && !!zoomRef.current;
    deferPaintRef.current = structural;
    if (structural) {
      if (reset) select(plotRef.current!).call(zoomRef.current!.transform, zoomIdentity);
      // a tooltip names a mark by its id, which another patient may have too
      else if (newPatient && hoverRef.current) setHover(null);
      patientRef.current = model.patientId;
    }

    // roving tabindex: one element in the tab order, over the active mark, with the spoken label
    const activeId = activeIdRef.current && model.markIndex.has(activeIdRef.current) ? activeIdRef.current : firstMarkId(model);
    activeIdRef.current = activeId;
    const focusEl = focusRef.current;
    if (focusEl) {
      const m = activeId ? model.marks[model.markIndex.get(activeId)!] : undefined;
      if (m) {
        setAttr(focusEl, 'data-focus-mark', m.id);
        setAttr(focusEl, 'aria-label', describeMark(m, model.result !== null));
      } else {
        focusEl.removeAttribute('data-focus-mark');
        setAttr(focusEl, 'aria-label', 'No events');
      }
    }
    // a new structure or geometry: everything x-dependent (canvas, overlays, axis, brush); a
    // progressive result only repaints the canvas and moves the rings
    if (structural && !reset) applyTransform(transformRef.current, false);
    else if (!structural) {
      paint();
      placeOverlays();
    }
    deferPaintRef.current = false;

    paintOverview(structural);

    const root = rootRef.current;
    if (root) {
      root.setAttribute('data-render-ms', (performance.now() - start).toFixed(2));
      root.setAttribute('data-marks', String(model.marks.length));
    }
    settle();
  }, [applyTransform, paint, paintOverview, placeOverlays, settle]);

  useLayoutEffect(() => {
    const onItsWay = () => {
      // what is on its way, for automation and the benchmark
      pendingRef.current = { plot: true, overview: true };
      rootRef.current?.setAttribute('data-marks', String(model.marks.length));
      settle();
    };
    if (!live) return onItsWay();
    // another patient is drawn in the second frame after its commit (d3's axes, zoom and brush, the
    // canvas: 2.4-3.4 ms in traces of a 2,000-event patient): the frame of the commit
    // holds React's render and commit for it already, the next one the browser's layout of what
    // React changed (Later.tsx). Until then the canvas is blank, and nothing of the earlier patient
    // goes on
    if (patientRef.current !== null && patientRef.current !== model.patientId && typeof requestAnimationFrame === 'function') {
      onItsWay();
      overviewIdleRef.current?.();
      overviewIdleRef.current = null;
      if (paintFrameRef.current !== null) cancelAnimationFrame(paintFrameRef.current);
      paintFrameRef.current = null;
      clearPlot();
      return afterFrames(2, draw);
    }
    return draw();
  }, [model, geo, xBase, draw, live, clearPlot, settle]);
  useEffect(
    () => () => {
      overviewIdleRef.current?.();
      if (paintFrameRef.current !== null) cancelAnimationFrame(paintFrameRef.current);
    },
    [],
  );

  // automation: where a mark is drawn (TimelineElement)
  useLayoutEffect(() => {
    const root = rootRef.current as TimelineElement | null;
    if (!root) return;
    root.markCentre = (id) => {
      const box = boxOf(id);
      const ctm = svgRef.current?.getScreenCTM();
      const g = geoRef.current;
      if (!box || !ctm) return null;
      const x = box.x + box.width / 2;
      if (x < g.plotLeft || x > g.plotRight) return null;
      const p = new DOMPoint(x, box.y + box.height / 2).matrixTransform(ctm);
      return { x: p.x, y: p.y };
    };
    return () => void delete root.markCentre;
  }, [boxOf]);

  // pinned ring follows the pinned mark
  useLayoutEffect(() => {
    placeOverlays();
  }, [pinned, model, geo, placeOverlays]);

  // a pinned event that no longer exists (another patient) is unpinned
  useEffect(() => {
    if (pinned && !model.markIndex.has(pinned)) setPinned(null);
  }, [model, pinned, setPinned]);

  /** Tooltip anchor: right of a plot box (SVG units), or left of it near the right edge. */
  const anchorOf = (box: Box): Anchor => {
    const root = rootRef.current;
    const ctm = svgRef.current?.getScreenCTM();
    if (!root || !ctm) return { x: 0, y: 0, flip: false };
    const p0 = new DOMPoint(box.x, box.y).matrixTransform(ctm);
    const p1 = new DOMPoint(box.x + box.width, box.y + box.height).matrixTransform(ctm);
    const rr = root.getBoundingClientRect();
    const flip = p1.x - rr.left + 300 > rr.width;
    return { x: flip ? p0.x - rr.left - 8 : p1.x - rr.left + 8, y: p0.y - rr.top, flip };
  };

  /** Show the focused mark: its ring (the focus target's outline) and its tooltip. */
  const showFocused = (id: string) => {
    const el = focusRef.current;
    if (el) {
      setAttr(el, 'stroke', FOCUS);
      setAttr(el, 'stroke-width', '2');
    }
    const box = boxOf(id);
    if (box) setHover({ kind: 'mark', id, ...anchorOf(box) });
  };

  /** Make a mark the roving tab stop (the focus target moves onto it and takes its label). */
  const activate = (id: string, focus: boolean) => {
    const m = modelRef.current;
    const i = m.markIndex.get(id);
    const el = focusRef.current;
    if (i === undefined || !el) return;
    const moved = activeIdRef.current !== id;
    activeIdRef.current = id;
    el.setAttribute('data-focus-mark', id);
    const label = describeMark(m.marks[i], m.result !== null);
    el.setAttribute('aria-label', label);
    placeOverlays();
    if (focus) {
      ensureVisible(id);
      if (document.activeElement !== el) el.focus({ preventScroll: true });
      else {
        // the same element stays focused: say and show the new mark
        if (moved) setAnnouncement(label);
        showFocused(id);
      }
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

  /** The mark the keyboard is on: the focus target's mark, when it has focus. */
  const markIdOf = (target: EventTarget | null): string | null => (target instanceof Element && target === focusRef.current ? target.getAttribute('data-focus-mark') : null);

  /** What is under a pointer event: a hit test on the scene, in SVG units. */
  const hitAt = (e: { clientX: number; clientY: number }): Hit | null => {
    const ctm = svgRef.current?.getScreenCTM();
    if (!ctm) return null;
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse());
    const xz = xNow();
    return hitTest(modelRef.current, geoRef.current, xz, (px) => xz.invert(px).getTime(), p.x, p.y);
  };

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

  const sameHover = (h: Hover | null, hit: Hit) => (h?.kind === 'mark' && hit.kind === 'mark' && h.id === hit.id) || (h?.kind === 'visit' && hit.kind === 'visit' && h.index === hit.index);

  const onPointerMove = (e: ReactPointerEvent<SVGGElement>) => {
    if (e.buttons) return; // a drag pans: no hover work per move
    const hit = hitAt(e);
    if (surfaceRef.current) setAttr(surfaceRef.current, 'cursor', hit?.kind === 'mark' ? 'pointer' : 'inherit');
    if (!hit) {
      if (hoverRef.current && !focusedRef.current) setHover(null);
      return;
    }
    if (sameHover(hoverRef.current, hit)) return;
    setHover(hit.kind === 'mark' ? { kind: 'mark', id: hit.id, ...anchorOf(hit.box) } : { kind: 'visit', index: hit.index, ...anchorOf(hit.box) });
  };
  const onPointerLeave = () => {
    if (hoverRef.current && !focusedRef.current) setHover(null);
  };
  const onClick = (e: ReactMouseEvent<SVGGElement>) => {
    const hit = hitAt(e);
    if (hit?.kind !== 'mark') return;
    activate(hit.id, false);
    setPinned(pinnedRef.current === hit.id ? null : hit.id);
  };
  const onContextMenu = (e: ReactMouseEvent<SVGGElement>) => {
    const hit = hitAt(e);
    if (hit?.kind !== 'mark' || !onMarkContextAction) return;
    e.preventDefault();
    onMarkContextAction(hit.id);
  };
  const onFocus = (e: ReactFocusEvent<SVGRectElement>) => {
    const id = markIdOf(e.target);
    if (!id) return;
    focusedRef.current = true;
    ensureVisible(id);
    showFocused(id);
  };
  const onBlur = () => {
    focusedRef.current = false;
    const el = focusRef.current;
    if (el) setAttr(el, 'stroke', 'none');
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
  // the canvases cover the plot clip and the overview strip of the SVG's content box (inside its
  // 1 px border), as fractions so that they scale with the SVG
  const clip = plotClip(g);
  const canvasStyle = (c: { x: number; y: number; width: number; height: number }) => ({
    left: `calc(1px + (100% - 2px) * ${c.x / g.width})`,
    top: `calc(1px + (100% - 2px) * ${c.y / g.height})`,
    width: `calc((100% - 2px) * ${c.width / g.width})`,
    height: `calc((100% - 2px) * ${c.height / g.height})`,
  });

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
      <div className="tl-stage">
        <canvas ref={canvasRef} className="tl-canvas" aria-hidden="true" data-testid="timeline-canvas" style={canvasStyle(clip)} />
        <canvas ref={overviewCanvasRef} className="tl-canvas" aria-hidden="true" data-testid="timeline-overview-canvas" style={canvasStyle(overviewClip(g))} />
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
          {/* the white ground, lane stripes, zero line, visit bars and marks are painted on the canvas
              under this SVG; an export writes them here, from the same scene */}
          <g ref={exportLayerRef} data-export-layer="plot" />

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
            {model.lanes.map((lane, i) => (
              <g key={lane.id} data-lane={lane.id}>
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

          {/* plot: zoom surface (pointer events hit-test the scene), focus target and pin ring, axis */}
          <g
            ref={plotRef}
            className="tl-plot"
            data-testid="timeline-plot"
            onPointerMove={onPointerMove}
            onPointerLeave={onPointerLeave}
            onClick={onClick}
            onContextMenu={onContextMenu}
          >
            <rect ref={surfaceRef} className="tl-zoom-surface" x={g.plotLeft} y={g.barsTop} width={g.plotRight - g.plotLeft} height={g.lanesBottom - g.barsTop} fill="transparent" />
            <g clipPath={`url(#${clipId})`} fill="none" pointerEvents="none">
              <rect ref={pinRingRef} className="tl-pin-ring" stroke={INK} strokeWidth={2} data-testid="timeline-pin-ring" />
              {/* the one keyboard stop among the marks: moved over the active mark, outlined when focused */}
              <rect ref={focusRef} className="tl-focus-target" tabIndex={0} role="img" onFocus={onFocus} onBlur={onBlur} data-testid="timeline-focus" />
            </g>
          </g>
          <g ref={axisRef} transform={`translate(0,${g.lanesBottom})`} aria-hidden="true" data-testid="timeline-axis" />

          {/* overview (context) with the brush */}
          <g aria-hidden="true">
            <text x={8} y={g.overviewTop + OVERVIEW_H / 2 + 4} fill={MUTED} fontSize={11}>
              Overview
            </text>
            {/* ground and bars are painted on the overview canvas; an export writes them here */}
            <g ref={overviewLayerRef} data-export-layer="overview" />
            <rect x={g.plotLeft} y={g.overviewTop} width={g.plotRight - g.plotLeft} height={OVERVIEW_H} fill="none" stroke={LINE} />
            <g ref={overviewAxisRef} transform={`translate(0,${g.overviewTop + OVERVIEW_H})`} data-testid="timeline-overview-axis" />
            <g ref={brushRef} className="tl-brush" data-testid="timeline-brush" />
          </g>
        </svg>
      </div>

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
});

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
