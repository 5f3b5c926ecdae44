// The cohort scatter with lasso selection. Small cohorts are SVG circles (each with a tooltip);
// large ones (over CANVAS_THRESHOLD points) one canvas. Both draw the same ScatterLayout and share
// the pointer handling: a drag draws a free-hand polygon and selects the points inside it, a click
// (the pointer barely moved) opens the point under it. The per-cluster table and the selection list
// next to it are the text equivalent of the picture.
import { memo, useLayoutEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { nearestPoint, pathExtent, selectInPolygon } from '../../cohort/lasso';
import { CANVAS_THRESHOLD, POINT_RADIUS, SELECTED_PATIENT_RADIUS, type ScatterLayout } from './scatter-model';

/** a press that moves less than this (pixels) is a click, not a lasso */
const CLICK_SLOP = 4;
/** a click this close to a point's centre (pixels) opens it */
const HIT_RADIUS = 6;
const OUTLINE = '#1b1f24';

export interface ScatterPlotProps {
  layout: ScatterLayout;
  /** the patient open in the timeline view (drawn larger, outlined) */
  selectedId: string | null;
  /** indices of the lasso-selected points (outlined) */
  selection: ReadonlySet<number>;
  ariaLabel: string;
  /** a point's tooltip (SVG only) */
  describePoint: (i: number) => string;
  onOpen: (patientId: string) => void;
  onLasso: (indices: number[]) => void;
}

export const ScatterPlot = memo(function ScatterPlot({ layout, selectedId, selection, ariaLabel, describePoint, onOpen, onLasso }: ScatterPlotProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const drag = useRef<{ pointerId: number; path: number[]; targetId: string | null } | null>(null);
  const [lassoPath, setLassoPath] = useState<number[] | null>(null);
  const onCanvas = layout.ids.length > CANVAS_THRESHOLD;
  const { width, height } = layout;

  /** the pointer in the layout's pixel space (the box may be scaled by CSS) */
  const local = (e: PointerEvent): [number, number] => {
    const r = wrap.current!.getBoundingClientRect();
    return [((e.clientX - r.left) * width) / (r.width || width), ((e.clientY - r.top) * height) / (r.height || height)];
  };
  const stop = () => {
    drag.current = null;
    setLassoPath(null);
  };

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    const target = (e.target as Element).closest?.('[data-patient-id]')?.getAttribute('data-patient-id') ?? null;
    drag.current = { pointerId: e.pointerId, path: local(e), targetId: target };
    e.currentTarget.setPointerCapture?.(e.pointerId);
    e.currentTarget.focus();
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.pointerId !== e.pointerId) return;
    const [x, y] = local(e);
    const n = d.path.length;
    // skip sub-pixel jitter: the polygon stays short and the overlay re-renders less
    if (Math.hypot(x - d.path[n - 2], y - d.path[n - 1]) < 2) return;
    d.path.push(x, y);
    if (pathExtent(d.path) >= CLICK_SLOP) setLassoPath(d.path.slice());
  };
  const onPointerUp = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.pointerId !== e.pointerId) return;
    stop();
    d.path.push(...local(e));
    if (pathExtent(d.path) < CLICK_SLOP) {
      // a circle under the pointer (SVG) wins; on the canvas, the nearest point within reach
      const i = d.targetId ? -1 : nearestPoint(layout.xy, d.path[0], d.path[1], HIT_RADIUS);
      const id = d.targetId ?? (i >= 0 ? layout.ids[i] : null);
      if (id) onOpen(id);
      return;
    }
    onLasso(selectInPolygon(layout.xy, d.path));
  };
  const onKeyDown = (e: KeyboardEvent) => {
    // Escape abandons a lasso being drawn; the panel clears the selection as the event bubbles on
    if (e.key === 'Escape' && drag.current) stop();
  };

  return (
    <div
      ref={wrap}
      className="cohort-scatter-wrap"
      style={{ width, height }}
      tabIndex={0}
      role="group"
      aria-label="Cohort scatter: drag to lasso patients, click a point to open it, Escape clears the selection"
      data-renderer={onCanvas ? 'canvas' : 'svg'}
      data-testid="cohort-scatter-wrap"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={stop}
      onKeyDown={onKeyDown}
    >
      {onCanvas ? (
        <CanvasPoints layout={layout} selectedId={selectedId} selection={selection} ariaLabel={ariaLabel} />
      ) : (
        <SvgPoints layout={layout} selectedId={selectedId} selection={selection} ariaLabel={ariaLabel} describePoint={describePoint} />
      )}
      <svg className="cohort-lasso-overlay" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
        {lassoPath && lassoPath.length >= 4 && <path d={pathD(lassoPath)} data-testid="cohort-lasso-path" />}
      </svg>
    </div>
  );
});

const pathD = (p: number[]) => {
  let d = `M${p[0].toFixed(1)},${p[1].toFixed(1)}`;
  for (let i = 2; i < p.length; i += 2) d += `L${p[i].toFixed(1)},${p[i + 1].toFixed(1)}`;
  return d + 'Z';
};

type PointsProps = Pick<ScatterPlotProps, 'layout' | 'selectedId' | 'selection' | 'ariaLabel'>;

const SvgPoints = memo(function SvgPoints({ layout, selectedId, selection, ariaLabel, describePoint }: PointsProps & Pick<ScatterPlotProps, 'describePoint'>) {
  const { width, height, xy, ids } = layout;
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={ariaLabel} data-testid="cohort-scatter" className="cohort-scatter">
      <rect width={width} height={height} fill="#ffffff" stroke="#d0d7de" />
      {ids.map((id, i) => {
        const open = id === selectedId;
        const chosen = selection.has(i);
        return (
          <circle
            key={id}
            cx={xy[2 * i]}
            cy={xy[2 * i + 1]}
            r={open ? SELECTED_PATIENT_RADIUS : POINT_RADIUS}
            fill={layout.fills[i]}
            stroke={open || chosen ? OUTLINE : 'none'}
            strokeWidth={open ? 2 : 1.2}
            data-patient-id={id}
            data-cluster={layout.labels[i]}
            data-selected={chosen || undefined}
          >
            <title>{describePoint(i)}</title>
          </circle>
        );
      })}
    </svg>
  );
});

const CanvasPoints = memo(function CanvasPoints({ layout, selectedId, selection, ariaLabel }: PointsProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { width, height, xy, ids, fills } = layout;
  useLayoutEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx) return;
    // a backing store at device resolution, drawn in CSS pixels: sharp points on high-DPI screens
    const dpr = globalThis.devicePixelRatio || 1;
    el.width = Math.round(width * dpr);
    el.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.strokeStyle = '#d0d7de';
    ctx.lineWidth = 1;
    ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
    // one path per colour: a few fills instead of one per point
    const byFill = new Map<string, number[]>();
    ids.forEach((_, i) => {
      const list = byFill.get(fills[i]);
      if (list) list.push(i);
      else byFill.set(fills[i], [i]);
    });
    for (const [fill, list] of byFill) {
      ctx.beginPath();
      for (const i of list) {
        ctx.moveTo(xy[2 * i] + POINT_RADIUS, xy[2 * i + 1]);
        ctx.arc(xy[2 * i], xy[2 * i + 1], POINT_RADIUS, 0, 2 * Math.PI);
      }
      ctx.fillStyle = fill;
      ctx.fill();
    }
    // selected points on top, outlined, as the SVG draws them
    if (selection.size) {
      ctx.beginPath();
      for (const i of selection) {
        ctx.moveTo(xy[2 * i] + POINT_RADIUS, xy[2 * i + 1]);
        ctx.arc(xy[2 * i], xy[2 * i + 1], POINT_RADIUS, 0, 2 * Math.PI);
      }
      ctx.strokeStyle = OUTLINE;
      ctx.lineWidth = 1.2;
      ctx.stroke();
    }
    const open = selectedId === null ? -1 : ids.indexOf(selectedId);
    if (open >= 0) {
      ctx.beginPath();
      ctx.arc(xy[2 * open], xy[2 * open + 1], SELECTED_PATIENT_RADIUS, 0, 2 * Math.PI);
      ctx.fillStyle = fills[open];
      ctx.fill();
      ctx.strokeStyle = OUTLINE;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
  }, [width, height, xy, ids, fills, selection, selectedId]);
  return (
    <canvas
      ref={canvas}
      width={width}
      height={height}
      style={{ width, height }}
      role="img"
      aria-label={ariaLabel}
      data-testid="cohort-scatter"
      data-points={ids.length}
      className="cohort-scatter"
    />
  );
});
