// Rank agreement between attributions. Pure (no tfjs), so the page can compare methods and models
// without pulling the engine into its bundle.
import type { AttributionResult } from './types';

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: number[], b: number[]): number {
  const rank = (x: number[]) => {
    const idx = x.map((_, i) => i).sort((i, j) => x[i] - x[j]);
    const r = new Array<number>(x.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da && db ? num / Math.sqrt(da * db) : 0;
}

/** Spearman correlation of two results over the events both rank, matched by visit and event (so
 *  two models with different layouts, e.g. ExBEHRT and diagnosis-only BEHRT, compare on the events
 *  both see); NaN when fewer than 3 events are shared. */
export function eventRankAgreement(a: AttributionResult, b: AttributionResult): { rho: number; n: number } {
  const key = (e: AttributionResult['events'][number]) => `${e.visit}:${e.event}`;
  const other = new Map(b.events.map((e) => [key(e), e.value]));
  const xs: number[] = [];
  const ys: number[] = [];
  for (const e of a.events) {
    const v = other.get(key(e));
    if (v !== undefined) xs.push(e.value), ys.push(v);
  }
  return { rho: xs.length >= 3 ? spearman(xs, ys) : NaN, n: xs.length };
}

/** Fraction of the top-k events (by attribution) that two results share. */
export function topKOverlap(a: AttributionResult, b: AttributionResult, k = 5): number {
  const top = (r: AttributionResult) => new Set(r.events.filter((e) => e.event >= 0).sort((x, y) => y.value - x.value).slice(0, k).map((e) => `${e.visit}:${e.event}`));
  const ta = top(a);
  const tb = top(b);
  const n = Math.min(ta.size, tb.size);
  if (!n) return NaN;
  let hit = 0;
  for (const x of ta) if (tb.has(x)) hit++;
  return hit / n;
}
