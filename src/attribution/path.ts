// The path-integral core shared by expected gradients and integrated gradients:
// phi = mean_k (x - x'_k) * df/dx (x'_k + alpha_k (x - x'_k)), in embedding space, per part,
// with one (x'_k, alpha_k) pair shared by all parts of sample k and the patient's own mask.
// Per-row attributions of laid-on modalities come from the same gradient: the modality part is
// the sum of its rows, so each row's share is (row_x - row_x') . grad.
import * as tf from '@tensorflow/tfjs';
import type { Patient } from '../data/schema';
import type { ModelConfig } from '../model/config';
import { embeddingParts, encode, partNames, type Weights } from '../model/exbehrt';
import type { LoadedModel } from '../model/runtime';
import { stackGrids, type TokenBatch, type TokenGrid } from '../tokens/layout';
import { rollup, type TokenAttribution } from './rollup';
import type { AttributionResult, Method } from './types';

export interface PathDraw {
  /** index into the reference grids */
  ref: number;
  alpha: number;
}

export class AttributionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttributionError';
  }
}

/** The patient is outside the task's population: the model gives no risk, so nothing to explain.
 *  `reason` is the population's sentence, for callers that list such patients instead of failing. */
export class OutsidePopulationError extends AttributionError {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Samples per forward+backward: about 4,096 tokens a batch, 1..64 samples. */
export function defaultBatchSize(length: number): number {
  return Math.max(1, Math.min(64, Math.floor(4096 / Math.max(1, length))));
}

/** Per-row embeddings of a laid-on modality [B, rows, L, H]; PAD ids contribute zero. */
function rowEmbeddings(w: Weights, c: ModelConfig, b: TokenBatch, m: { name: string; rows: number }): tf.Tensor4D {
  return tf.tidy(() => {
    const ids = tf.tensor(b.modalities[m.name], [b.batch, m.rows, b.length], 'int32');
    const table = w.get(`bert.embeddings.${m.name}_embeddings.weight`) as tf.Tensor2D;
    const e = tf.gather(table, ids.flatten()).reshape([b.batch, m.rows, b.length, c.hidden_size]);
    return tf.mul(e, tf.notEqual(ids, 0).cast('float32').expandDims(-1)) as tf.Tensor4D;
  });
}

export async function pathAttribution(opts: {
  method: Method;
  model: LoadedModel;
  patient: Patient;
  grid: TokenGrid;
  task: string;
  /** reference grids, or 'zero' for an all-zero embedding (gradient x input is alpha=1 from zero) */
  references: TokenGrid[] | 'zero';
  /** reported in the result (AttributionResult.referenceSize) */
  referenceSize: number;
  draws: PathDraw[];
  batchSize?: number;
  onProgress?: (r: AttributionResult) => void;
  signal?: AbortSignal;
  /** correct each element's mean by its regression on the completeness residual (EG only) */
  controlVariate?: boolean;
}): Promise<AttributionResult> {
  const { model, grid, task, draws } = opts;
  const w = model.weights;
  const c = model.folder.config;
  const L = grid.realLength;
  const parts = partNames(c);
  const x = stackGrids([grid], c, L);
  const refs = opts.references === 'zero' ? null : opts.references;
  const B = opts.batchSize ?? defaultBatchSize(L);
  // by default the first batch is a quarter size, so that a first estimate shows up sooner
  const firstB = opts.batchSize ?? Math.max(1, Math.ceil(B / 4));

  // running sums (float64) per part per token, and per modality row
  const sum: Record<string, Float64Array> = {};
  const sq: Record<string, Float64Array> = {};
  for (const p of parts) (sum[p] = new Float64Array(L)), (sq[p] = new Float64Array(L));
  const rowSum: Record<string, Float64Array> = {};
  const rowSq: Record<string, Float64Array> = {};
  for (const m of c.modalities) (rowSum[m.name] = new Float64Array(m.rows * L)), (rowSq[m.name] = new Float64Array(m.rows * L));
  let refLogitSum = 0;
  let n = 0;
  // control variate (EG): C_k = sum(phi_k) - (f(x) - f(x'_k)) has mean zero over alpha for every
  // reference, so each element's mean can be corrected by its regression on C (see cvEstimate)
  const cv = opts.controlVariate ?? false;
  let cSum = 0;
  let cSq = 0;
  const sumC: Record<string, Float64Array> = {};
  for (const p of parts) sumC[p] = new Float64Array(L);
  const rowSumC: Record<string, Float64Array> = {};
  for (const m of c.modalities) rowSumC[m.name] = new Float64Array(m.rows * L);

  const xParts = embeddingParts(w, c, x);
  const xRows = Object.fromEntries(c.modalities.map((m) => [m.name, rowEmbeddings(w, c, x, m)]));
  const mask = tf.tensor2d(x.attentionMask, [1, L]);
  const fx = tf.tidy(() => encode(w, c, xParts, mask).logits[task].slice([0, 0], [1, 1]).reshape([]));
  const logit = (await fx.data())[0];
  fx.dispose();

  const snapshot = (done: boolean, cancelled: boolean): AttributionResult => {
    const est = (s: Float64Array, q: Float64Array, sc: Float64Array) => cvEstimate(s, q, sc, { n, cSum, cSq, on: cv });
    const a: TokenAttribution = { token: {}, tokenStderr: {}, rows: {}, rowsStderr: {} };
    let total = 0;
    for (const p of parts) {
      [a.token[p], a.tokenStderr[p]] = est(sum[p], sq[p], sumC[p]);
      total += a.token[p].reduce((s, v) => s + v, 0);
    }
    for (const m of c.modalities) [a.rows[m.name], a.rowsStderr[m.name]] = est(rowSum[m.name], rowSq[m.name], rowSumC[m.name]);
    const referenceLogit = n ? refLogitSum / n : NaN;
    return rollup(opts.method, task, opts.patient, grid, a, {
      logit,
      referenceLogit,
      referenceSize: opts.referenceSize,
      samplesDone: n,
      samplesTotal: draws.length,
      gap: total - (logit - referenceLogit),
      // the plain mean's gap is the mean of the per-sample residuals
      plainGap: n ? cSum / n : NaN,
      done,
      cancelled,
    });
  };

  try {
    for (let s = 0; s < draws.length; ) {
      if (opts.signal?.aborted) return snapshot(false, true);
      const chunk = draws.slice(s, s + (s === 0 ? firstB : B));
      s += chunk.length;
      const k = chunk.length;
      const rb = refs ? stackGrids(chunk.map((d) => refs[d.ref]), c, L) : null;
      const out = tf.tidy(() => {
        const rParts = rb ? embeddingParts(w, c, rb) : Object.fromEntries(parts.map((p) => [p, tf.zerosLike(xParts[p]).tile([k, 1, 1]) as tf.Tensor3D]));
        const alpha = tf.tensor1d(chunk.map((d) => d.alpha)).reshape([k, 1, 1]);
        const maskK = tf.tile(mask, [k, 1]) as tf.Tensor2D;
        const diff = parts.map((p) => tf.sub(xParts[p], rParts[p]));
        const interp = parts.map((p, i) => tf.add(rParts[p], tf.mul(alpha, diff[i])));
        const f = (...ps: tf.Tensor[]) => {
          const dict = Object.fromEntries(parts.map((p, i) => [p, ps[i] as tf.Tensor3D]));
          return tf.sum(encode(w, c, dict, maskK).logits[task].slice([0, 0], [k, 1]));
        };
        const grads = tf.grads(f)(interp);
        const phi = parts.map((_, i) => tf.sum(tf.mul(diff[i], grads[i]), -1)); // [k, L]
        const rowPhi = c.modalities.map((m) => {
          const g = grads[parts.indexOf(m.name)].expandDims(1); // [k, 1, L, H]
          const rRows = rb ? rowEmbeddings(w, c, rb, m) : tf.zerosLike(xRows[m.name]);
          return tf.sum(tf.mul(tf.sub(xRows[m.name], rRows), g), -1); // [k, rows, L]
        });
        const fRef = encode(w, c, rParts, maskK).logits[task].slice([0, 0], [k, 1]).reshape([k]);
        // one read-back per batch: on WebGPU each read maps a buffer and waits for the queue
        return tf.concat([...phi.map((t) => t.flatten()), ...rowPhi.map((t) => t.flatten()), fRef]);
      });
      const flat = await out.data();
      out.dispose();
      let offset = 0;
      const take = (size: number) => flat.subarray(offset, (offset += size));
      const phiData = parts.map(() => take(k * L));
      const rowData = c.modalities.map((m) => take(k * m.rows * L));
      const fRefData = take(k);
      const cK = new Float64Array(k); // C_j = sum(phi_j) - (f(x) - f(x'_j))
      for (let j = 0; j < k; j++) {
        let sumPhi = 0;
        for (const d of phiData) for (let t = 0; t < L; t++) sumPhi += d[j * L + t];
        cK[j] = sumPhi - (logit - fRefData[j]);
        cSum += cK[j];
        cSq += cK[j] * cK[j];
        refLogitSum += fRefData[j];
      }
      parts.forEach((p, i) => {
        const d = phiData[i];
        for (let j = 0; j < k; j++)
          for (let t = 0; t < L; t++) {
            const v = d[j * L + t];
            sum[p][t] += v;
            sq[p][t] += v * v;
            sumC[p][t] += v * cK[j];
          }
      });
      c.modalities.forEach((m, i) => {
        const d = rowData[i];
        const per = m.rows * L;
        for (let j = 0; j < k; j++)
          for (let q = 0; q < per; q++) {
            const v = d[j * per + q];
            rowSum[m.name][q] += v;
            rowSq[m.name][q] += v * v;
            rowSumC[m.name][q] += v * cK[j];
          }
      });
      n += k;
      opts.onProgress?.(snapshot(n === draws.length, false));
      // yield so that a cancel message (worker) or timer can get in between batches
      await new Promise((r) => setTimeout(r, 0));
    }
    return snapshot(true, false);
  } finally {
    tf.dispose([...Object.values(xParts), ...Object.values(xRows), mask]);
  }
}

/** Below this many samples the slope on C is too noisy to help (its estimation inflates the
 *  variance by about 1/(n-3)): the first progressive estimate of a long patient is the plain mean. */
export const CV_MIN_SAMPLES = 8;

/** Mean and standard error of one element's samples, from running sums (sum, sum of squares, sum
 *  of products with C). With the control variate on and at least CV_MIN_SAMPLES samples with spread in C, the
 *  mean is corrected by beta * mean(C), beta = cov(phi, C) / var(C) (the regression estimator,
 *  whose expectation is the plain mean's because E[C] = 0), and the standard error is that of the
 *  regression residual. */
export function cvEstimate(
  s: Float64Array,
  q: Float64Array,
  sc: Float64Array,
  c: { n: number; cSum: number; cSq: number; on: boolean },
): [Float64Array, Float64Array] {
  const { n } = c;
  const mean = new Float64Array(s.length);
  const se = new Float64Array(s.length);
  if (!n) return [mean, se];
  const cMean = c.cSum / n;
  const cVar = c.cSq - n * cMean * cMean; // sum of squared deviations of C
  const use = c.on && n >= CV_MIN_SAMPLES && cVar > 1e-12 * Math.max(1, c.cSq);
  for (let i = 0; i < s.length; i++) {
    const m = s[i] / n;
    const ssd = Math.max(0, q[i] - n * m * m);
    if (!use) {
      mean[i] = m;
      se[i] = n > 1 ? Math.sqrt(ssd / (n - 1) / n) : 0;
      continue;
    }
    const cov = sc[i] - n * m * cMean;
    const beta = cov / cVar;
    mean[i] = m - beta * cMean;
    se[i] = Math.sqrt(Math.max(0, ssd - beta * cov) / (n - 2) / n);
  }
  return [mean, se];
}
