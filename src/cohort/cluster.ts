// Clustering of patient points: k-means (k-means++ initialisation, seeded) and DBSCAN (noise = -1).
// Both take n x dim row-major points, so they run on the 2-D UMAP coordinates or on the raw H-dim
// representations alike.
//
// Default space: the 2-D UMAP coordinates. That is what the ExBEHRT paper does (UMAP, then
// clustering of the embedded points) and what the user sees: a cluster is a contiguous region of
// the scatter, and density-based clustering needs the low-dimensional, locally-scaled space that
// UMAP makes (in 64 dimensions distances concentrate and one eps does not fit all regions). The
// raw space stays available (CLI `--space raw`) for a check that a cluster is not a UMAP artefact.
//
// Labels are renumbered by cluster size, largest first (0, 1, ...), so the same partition always
// gets the same numbers; DBSCAN noise stays -1.
import { rng } from '../data/random';

export interface KMeansResult {
  labels: Int32Array;
  /** k x dim row-major */
  centroids: Float64Array;
  /** sum of squared distances to the assigned centroid */
  inertia: number;
  iterations: number;
}

export interface KMeansOptions {
  /** restarts with different k-means++ draws; the lowest inertia wins (default 4) */
  nInit?: number;
  maxIter?: number;
}

const sq = (p: ArrayLike<number>, i: number, c: ArrayLike<number>, j: number, dim: number) => {
  let s = 0;
  for (let d = 0; d < dim; d++) {
    const x = p[i * dim + d] - c[j * dim + d];
    s += x * x;
  }
  return s;
};

/** Renumber labels by cluster size (descending; ties by first appearance); -1 stays -1. */
export function relabelBySize(labels: Int32Array): { labels: Int32Array; map: Map<number, number> } {
  const count = new Map<number, number>();
  const first = new Map<number, number>();
  labels.forEach((l, i) => {
    if (l < 0) return;
    count.set(l, (count.get(l) ?? 0) + 1);
    if (!first.has(l)) first.set(l, i);
  });
  const order = [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)! || first.get(a)! - first.get(b)!);
  const map = new Map(order.map((l, r) => [l, r]));
  return { labels: labels.map((l) => (l < 0 ? l : map.get(l)!)), map };
}

function kmeansOnce(points: ArrayLike<number>, n: number, dim: number, k: number, rand: () => number, maxIter: number): KMeansResult {
  const C = new Float64Array(k * dim);
  // k-means++: first centre uniform, then proportional to the squared distance to the nearest centre
  const d2 = new Float64Array(n).fill(Infinity);
  let c0 = Math.floor(rand() * n);
  for (let j = 0; j < k; j++) {
    for (let d = 0; d < dim; d++) C[j * dim + d] = points[c0 * dim + d];
    let total = 0;
    for (let i = 0; i < n; i++) {
      d2[i] = Math.min(d2[i], sq(points, i, C, j, dim));
      total += d2[i];
    }
    if (j === k - 1) break;
    if (total === 0) {
      c0 = Math.floor(rand() * n);
      continue;
    }
    let u = rand() * total;
    c0 = n - 1;
    for (let i = 0; i < n; i++) {
      u -= d2[i];
      if (u < 0) {
        c0 = i;
        break;
      }
    }
  }
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  let it = 0;
  for (; it < maxIter; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bd = Infinity;
      for (let j = 0; j < k; j++) {
        const s = sq(points, i, C, j, dim);
        if (s < bd) {
          bd = s;
          best = j;
        }
      }
      dist[i] = bd;
      if (labels[i] !== best) {
        labels[i] = best;
        changed++;
      }
    }
    if (changed === 0 && it > 0) break;
    const sum = new Float64Array(k * dim);
    const cnt = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      cnt[labels[i]]++;
      for (let d = 0; d < dim; d++) sum[labels[i] * dim + d] += points[i * dim + d];
    }
    for (let j = 0; j < k; j++) {
      if (cnt[j] === 0) {
        // empty cluster: move its centre to the point farthest from its own centre
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
        for (let d = 0; d < dim; d++) C[j * dim + d] = points[far * dim + d];
        dist[far] = 0;
      } else for (let d = 0; d < dim; d++) C[j * dim + d] = sum[j * dim + d] / cnt[j];
    }
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += sq(points, i, C, labels[i], dim);
  return { labels, centroids: C, inertia, iterations: it };
}

/** k-means with k-means++ seeding; deterministic for (points, k, seed, options). */
export function kmeans(points: ArrayLike<number>, n: number, dim: number, k: number, seed: number, opts: KMeansOptions = {}): KMeansResult {
  if (points.length !== n * dim) throw new Error(`kmeans: ${points.length} values for ${n} x ${dim}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`kmeans: k must be a positive integer, got ${k}`);
  if (n === 0) return { labels: new Int32Array(0), centroids: new Float64Array(0), inertia: 0, iterations: 0 };
  k = Math.min(k, n);
  const rand = rng(seed);
  let best: KMeansResult | null = null;
  for (let r = 0; r < Math.max(1, opts.nInit ?? 4); r++) {
    const res = kmeansOnce(points, n, dim, k, rand, opts.maxIter ?? 300);
    if (!best || res.inertia < best.inertia) best = res;
  }
  const { labels, map } = relabelBySize(best!.labels);
  const centroids = new Float64Array(best!.centroids.length);
  for (const [old, nu] of map) centroids.set(best!.centroids.subarray(old * dim, (old + 1) * dim), nu * dim);
  return { ...best!, labels, centroids };
}

/** Neighbours within eps (inclusive) of every point: a uniform grid for 2-D, brute force above. */
function neighbourFn(points: ArrayLike<number>, n: number, dim: number, eps: number): (i: number) => number[] {
  const e2 = eps * eps;
  if (dim !== 2) {
    return (i) => {
      const out: number[] = [];
      for (let j = 0; j < n; j++) if (sq(points, i, points, j, dim) <= e2) out.push(j);
      return out;
    };
  }
  const cell = (v: number) => Math.floor(v / eps);
  const grid = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = `${cell(points[2 * i])},${cell(points[2 * i + 1])}`;
    const list = grid.get(key);
    if (list) list.push(i);
    else grid.set(key, [i]);
  }
  return (i) => {
    const cx = cell(points[2 * i]);
    const cy = cell(points[2 * i + 1]);
    const out: number[] = [];
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++) for (const j of grid.get(`${cx + dx},${cy + dy}`) ?? []) if (sq(points, i, points, j, 2) <= e2) out.push(j);
    return out.sort((a, b) => a - b);
  };
}

/** DBSCAN (Ester et al. 1996): a core point has >= minPts points (itself included) within eps;
 *  clusters are the core points reachable from each other plus their border points; the rest is
 *  noise (-1). Points are visited in index order, so a border point reachable from two clusters
 *  joins the first; the result is deterministic. */
export function dbscan(points: ArrayLike<number>, n: number, dim: number, eps: number, minPts: number): { labels: Int32Array; clusters: number; noise: number } {
  if (points.length !== n * dim) throw new Error(`dbscan: ${points.length} values for ${n} x ${dim}`);
  if (!(eps > 0)) throw new Error(`dbscan: eps must be > 0, got ${eps}`);
  if (!(minPts >= 1)) throw new Error(`dbscan: minPts must be >= 1, got ${minPts}`);
  const neighbours = neighbourFn(points, n, dim, eps);
  const UNSEEN = -2;
  const labels = new Int32Array(n).fill(UNSEEN);
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== UNSEEN) continue;
    const nb = neighbours(i);
    if (nb.length < minPts) {
      labels[i] = -1;
      continue;
    }
    labels[i] = c;
    const queue = nb.filter((j) => j !== i);
    for (let q = 0; q < queue.length; q++) {
      const j = queue[q];
      if (labels[j] === -1) labels[j] = c; // noise becomes border
      if (labels[j] !== UNSEEN) continue;
      labels[j] = c;
      const nj = neighbours(j);
      if (nj.length >= minPts) for (const m of nj) if (labels[m] === UNSEEN || labels[m] === -1) queue.push(m);
    }
    c++;
  }
  const { labels: out } = relabelBySize(labels);
  let noise = 0;
  out.forEach((l) => (noise += l < 0 ? 1 : 0));
  return { labels: out, clusters: c, noise };
}

/** A default eps for DBSCAN: the 90th percentile of every point's distance to its minPts-th nearest
 *  neighbour (itself counted), i.e. 90% of the points would be core points. A starting value for
 *  the user to adjust, not a tuned one. Samples at most 2,000 points (seeded) for large n. */
export function suggestEps(points: ArrayLike<number>, n: number, dim: number, minPts: number, seed = 0): number {
  if (n < 2) return 1;
  const rand = rng(seed);
  const m = Math.min(n, 2000);
  const pick = m === n ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: m }, () => Math.floor(rand() * n));
  const kd = pick.map((i) => {
    const d: number[] = [];
    for (let j = 0; j < n; j++) d.push(sq(points, i, points, j, dim));
    d.sort((a, b) => a - b);
    return Math.sqrt(d[Math.min(minPts - 1, n - 1)]);
  });
  kd.sort((a, b) => a - b);
  return kd[Math.floor(0.9 * (kd.length - 1))] || 1;
}

/** Mean silhouette width (Rousseeuw 1987) over points in clusters (noise ignored), on at most
 *  `sample` points (seeded); a guide for choosing k. In [-1, 1]; higher is better separated. */
export function silhouette(points: ArrayLike<number>, n: number, dim: number, labels: Int32Array, sample = 1000, seed = 0): number {
  const ks = [...new Set(Array.from(labels).filter((l) => l >= 0))];
  if (ks.length < 2) return 0;
  const rand = rng(seed);
  const idx = Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] >= 0);
  const pick = idx.length <= sample ? idx : Array.from({ length: sample }, () => idx[Math.floor(rand() * idx.length)]);
  let total = 0;
  for (const i of pick) {
    const sum = new Map<number, number>();
    const cnt = new Map<number, number>();
    for (const j of idx) {
      if (j === i) continue;
      const l = labels[j];
      sum.set(l, (sum.get(l) ?? 0) + Math.sqrt(sq(points, i, points, j, dim)));
      cnt.set(l, (cnt.get(l) ?? 0) + 1);
    }
    const own = labels[i];
    const a = cnt.get(own) ? sum.get(own)! / cnt.get(own)! : 0;
    let b = Infinity;
    for (const [l, s] of sum) if (l !== own) b = Math.min(b, s / cnt.get(l)!);
    total += cnt.get(own) ? (b - a) / Math.max(a, b) : 0;
  }
  return total / pick.length;
}
