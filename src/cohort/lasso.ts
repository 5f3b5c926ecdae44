// Lasso selection on the cohort scatter: which points a free-hand polygon encloses, the point
// nearest a click, and what the selected patients look like for one task. Pure functions over flat
// coordinate arrays (x0 y0 x1 y1 ...), in whatever space the caller draws in (the page uses the
// scatter's pixel space, so the polygon and the points are compared where the user sees them).

/** Even-odd rule (ray casting to +x): a point is inside when a ray from it crosses the polygon's
 *  edges an odd number of times, so a self-crossing lasso (a figure eight) selects both loops and
 *  not the part drawn over twice. `polygon` is flat x0 y0 x1 y1 ..., implicitly closed; fewer than
 *  three vertices enclose nothing. */
export function pointInPolygon(x: number, y: number, polygon: ArrayLike<number>): boolean {
  const n = polygon.length >> 1;
  if (n < 3) return false;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = polygon[2 * i];
    const yi = polygon[2 * i + 1];
    const xj = polygon[2 * j];
    const yj = polygon[2 * j + 1];
    // the edge straddles the ray's height (half-open, so a vertex on the ray counts once)
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Indices (ascending) of the points inside the polygon. Points outside the polygon's bounding box
 *  are skipped without the edge walk: a lasso usually covers a small part of a large cohort. */
export function selectInPolygon(xy: ArrayLike<number>, polygon: ArrayLike<number>): number[] {
  const m = polygon.length >> 1;
  if (m < 3) return [];
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < m; i++) {
    x0 = Math.min(x0, polygon[2 * i]);
    x1 = Math.max(x1, polygon[2 * i]);
    y0 = Math.min(y0, polygon[2 * i + 1]);
    y1 = Math.max(y1, polygon[2 * i + 1]);
  }
  const out: number[] = [];
  for (let i = 0; i < xy.length >> 1; i++) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (x < x0 || x > x1 || y < y0 || y > y1) continue;
    if (pointInPolygon(x, y, polygon)) out.push(i);
  }
  return out;
}

/** The point nearest (x, y) within `maxDistance`, or -1. Ties go to the later point, the one drawn
 *  on top. */
export function nearestPoint(xy: ArrayLike<number>, x: number, y: number, maxDistance: number): number {
  let best = -1;
  let bestD = maxDistance * maxDistance;
  for (let i = 0; i < xy.length >> 1; i++) {
    const d = (xy[2 * i] - x) ** 2 + (xy[2 * i + 1] - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** The extent of a drawn path, to tell a click (the pointer barely moved) from a lasso. */
export function pathExtent(path: ArrayLike<number>): number {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < path.length >> 1; i++) {
    x0 = Math.min(x0, path[2 * i]);
    x1 = Math.max(x1, path[2 * i]);
    y0 = Math.min(y0, path[2 * i + 1]);
    y1 = Math.max(y1, path[2 * i + 1]);
  }
  return path.length >= 2 ? Math.max(x1 - x0, y1 - y0) : 0;
}

export interface SelectionStats {
  /** selected patients */
  count: number;
  /** of them, with a recorded outcome for the task */
  known: number;
  positives: number;
  /** positives / known; null when no outcome is known */
  outcomeRate: number | null;
  /** mean predicted probability for the task; null without risks or patients */
  meanRisk: number | null;
}

/** Count, recorded outcome rate and mean predicted risk of the selected patients for one task
 *  (`risks` and `outcomes` indexed like the scatter's points; either may be missing for a task). */
export function selectionStats(indices: readonly number[], risks: ArrayLike<number> | undefined, outcomes: ArrayLike<0 | 1 | null> | undefined): SelectionStats {
  let known = 0;
  let positives = 0;
  let riskSum = 0;
  let riskN = 0;
  for (const i of indices) {
    const label = outcomes?.[i];
    if (label === 0 || label === 1) {
      known++;
      positives += label;
    }
    const r = risks?.[i];
    if (r !== undefined && Number.isFinite(r)) {
      riskSum += r;
      riskN++;
    }
  }
  return { count: indices.length, known, positives, outcomeRate: known ? positives / known : null, meanRisk: riskN ? riskSum / riskN : null };
}
