// The cohort view's engine in one call after the representations: project (UMAP), cluster, summarize.
// Shared by the CLI (`exbehrt cohort`) and the worker.
import { dbscan, kmeans, suggestEps } from './cluster';
import { umap2d } from './project';
import type { CohortRepresentation } from './represent';
import { summarizeClusters, type CohortSummary, type PatientProfile } from './summary';

export * from './attribution';
export * from './cluster';
export * from './lasso';
export * from './project';
export * from './represent';
export * from './summary';

export interface ClusterOptions {
  method: 'kmeans' | 'dbscan';
  /** k-means: number of clusters (default 4) */
  k?: number;
  /** DBSCAN: radius (default suggestEps) and core size (default 10) */
  eps?: number;
  minPts?: number;
  /** 'umap' (default: the 2-D coordinates) or 'raw' (the H-dim representations) */
  space?: 'umap' | 'raw';
  seed?: number;
  nNeighbors?: number;
  minDist?: number;
  topCodes?: number;
  /** UMAP coordinates from an earlier call with the same representations, seed, nNeighbors and
   *  minDist: skips the projection (re-clustering with another k is then instant) */
  xy?: Float32Array;
  onProgress?: (stage: 'umap' | 'cluster' | 'summary', done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CohortAnalysis {
  /** n x 2 UMAP coordinates, rows as the representation */
  xy: Float32Array;
  labels: Int32Array;
  summary: CohortSummary;
  /** mean UMAP position per cluster label (for labels in the scatter) */
  centres: Record<number, [number, number]>;
  params: { method: 'kmeans' | 'dbscan'; k?: number; eps?: number; minPts?: number; space: 'umap' | 'raw'; seed: number; nNeighbors: number; minDist: number; representation: string };
  timings: { umapMs: number; clusterMs: number; summaryMs: number };
}

export async function analyzeCohort(rep: CohortRepresentation, profiles: PatientProfile[], opts: ClusterOptions): Promise<CohortAnalysis> {
  const n = rep.ids.length;
  if (profiles.length !== n) throw new Error(`analyzeCohort: ${profiles.length} profiles for ${n} representations`);
  if (opts.xy && opts.xy.length !== 2 * n) throw new Error(`analyzeCohort: xy has ${opts.xy.length / 2} points for ${n} representations`);
  const seed = opts.seed ?? 0;
  const space = opts.space ?? 'umap';
  const nNeighbors = opts.nNeighbors ?? 15;
  const minDist = opts.minDist ?? 0.1;
  let t = performance.now();
  const xy = opts.xy ?? await umap2d(rep.cls, n, rep.hidden, { seed, nNeighbors, minDist, signal: opts.signal, onProgress: (e, E) => opts.onProgress?.('umap', e, E) });
  const umapMs = performance.now() - t;
  t = performance.now();
  const [pts, dim] = space === 'umap' ? [xy, 2] : [rep.cls, rep.hidden];
  let labels: Int32Array;
  const params: CohortAnalysis['params'] = { method: opts.method, space, seed, nNeighbors, minDist, representation: rep.representation };
  if (opts.method === 'kmeans') {
    params.k = opts.k ?? 4;
    labels = kmeans(pts, n, dim, params.k, seed).labels;
  } else {
    params.minPts = opts.minPts ?? 10;
    params.eps = opts.eps ?? suggestEps(pts, n, dim, params.minPts, seed);
    labels = dbscan(pts, n, dim, params.eps, params.minPts).labels;
  }
  opts.onProgress?.('cluster', 1, 1);
  const clusterMs = performance.now() - t;
  t = performance.now();
  const summary = summarizeClusters(labels, profiles, rep.risks, { topCodes: opts.topCodes });
  const centres: Record<number, [number, number]> = {};
  const cnt: Record<number, number> = {};
  labels.forEach((l, i) => {
    centres[l] ??= [0, 0];
    centres[l][0] += xy[2 * i];
    centres[l][1] += xy[2 * i + 1];
    cnt[l] = (cnt[l] ?? 0) + 1;
  });
  for (const l of Object.keys(centres)) centres[+l] = [centres[+l][0] / cnt[+l], centres[+l][1] / cnt[+l]];
  opts.onProgress?.('summary', 1, 1);
  return { xy, labels, summary, centres, params, timings: { umapMs, clusterMs, summaryMs: performance.now() - t } };
}
