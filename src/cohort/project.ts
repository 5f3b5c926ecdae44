// 2-D UMAP of patient representations (umap-js), seeded: every random choice of umap-js (random
// projection trees, NN-descent, the initial layout, negative sampling) goes through its `random`
// option, which gets a mulberry32 stream from src/data/random.ts. Same vectors + same seed = the same
// coordinates, within one JS engine.
import { UMAP } from 'umap-js';
import { rng } from '../data/random';
import { CohortCancelled } from './represent';

export interface UmapOptions {
  seed: number;
  /** default 15, capped at n - 1 */
  nNeighbors?: number;
  /** default 0.1 */
  minDist?: number;
  /** default: umap-js's (500 epochs up to 2,500 points, fewer above) */
  nEpochs?: number;
  onProgress?: (epoch: number, epochs: number) => void;
  signal?: AbortSignal;
}

/** `vectors` is n x dim row-major; returns n x 2 row-major. */
export async function umap2d(vectors: ArrayLike<number>, n: number, dim: number, opts: UmapOptions): Promise<Float32Array> {
  if (vectors.length !== n * dim) throw new Error(`umap2d: ${vectors.length} values for ${n} x ${dim}`);
  const out = new Float32Array(n * 2);
  if (n === 0) return out;
  // too few points for a neighbour graph: a line, in input order
  if (n < 4) {
    for (let i = 0; i < n; i++) out[2 * i] = i;
    return out;
  }
  const X: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: dim }, (_, k) => vectors[i * dim + k]));
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(opts.nNeighbors ?? 15, n - 1)),
    minDist: opts.minDist ?? 0.1,
    nEpochs: opts.nEpochs,
    random: rng(opts.seed),
  });
  const epochs = umap.initializeFit(X);
  for (let e = 0; e < epochs; e++) {
    if (opts.signal?.aborted) throw new CohortCancelled();
    umap.step();
    if (e % 10 === 9 || e === epochs - 1) {
      opts.onProgress?.(e + 1, epochs);
      // let a cancel message in (worker) between chunks of epochs
      if (opts.signal) await new Promise((r) => setTimeout(r, 0));
    }
  }
  const Y = umap.getEmbedding();
  for (let i = 0; i < n; i++) {
    out[2 * i] = Y[i][0];
    out[2 * i + 1] = Y[i][1];
  }
  return out;
}
