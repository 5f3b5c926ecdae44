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

/** Samples per forward+backward on the CPU backends (wasm, cpu): about 4,096 tokens a batch,
 *  1..64 samples (a batch of 16 at 256 tokens is ~2 s of wasm work, so progress shows often). */
export function defaultBatchSize(length: number): number {
  return Math.max(1, Math.min(64, Math.floor(4096 / Math.max(1, length))));
}

/** The working set a GPU batch may use, or the device's largest buffer (maxBufferSize) where that is
 *  smaller (tfjs keeps every intermediate of the forward and backward passes until the read-back). */
export const GPU_WORKING_SET_BYTES = 8 * 2 ** 30;
/** Samples per GPU batch at most (progress still shows every so often on short patients). */
export const GPU_MAX_BATCH = 1024;

/** Bytes one EG sample keeps alive during its forward+backward pass: a per-token part (the
 *  activations of every layer and the embedding parts) and a per-token-pair part (attention scores
 *  and their gradients). Coefficients fitted to tfjs's peak bytes (tf.profile) for the shipped model
 *  (H 64, I 256, 2 layers, 4 heads) at 33, 65, 131 and 254 tokens: 4.5, 9.2, 20.8 and 49 MiB a
 *  sample, within 2% of this estimate. */
export function sampleWorkingSetBytes(length: number, c: Pick<ModelConfig, 'hidden_size' | 'intermediate_size' | 'num_hidden_layers' | 'num_attention_heads'>): number {
  const perToken = 4 * 32 * c.num_hidden_layers * (4 * c.hidden_size + c.intermediate_size);
  const perPair = 4 * 8.5 * c.num_hidden_layers * c.num_attention_heads;
  return length * perToken + length * length * perPair;
}

/** What the active WebGPU device allows, in bytes, or null on the CPU backends. */
export interface GpuLimits {
  /** maxStorageBufferBindingSize: one shader's largest buffer (the attention scores must fit) */
  binding: number;
  /** maxBufferSize */
  buffer: number;
}

export interface BatchPlan {
  /** samples per forward+backward */
  size: number;
  /** samples in the first batch (smaller on the CPU backends, so a first estimate shows sooner) */
  first: number;
}

/** How a path attribution's samples are cut into batches.
 *  On the CPU backends the cost of a batch is its arithmetic, so batches stay small and the first is
 *  a quarter size. On a GPU it is mostly a fixed cost per batch (encoding and submitting ~1,000
 *  kernels): on an H100, 128 samples at 254 tokens took 2.5-2.8 s in batches of 16, 0.8 s in two
 *  of 64 and 0.55 s in one of 128, and a first batch of 32 reported no sooner (0.49 s) than one of
 *  128 (BENCHMARKS.md). So a GPU batch is as large as memory allows (the working set within
 *  GPU_WORKING_SET_BYTES and the device's largest buffer, the attention scores within one binding),
 *  and the first is full size. WebGPU does not say how much memory a device has; a device whose
 *  largest buffer is small gets small batches. */
export function batchPlan(length: number, c: ModelConfig, gpu: GpuLimits | null): BatchPlan {
  const L = Math.max(1, length);
  if (gpu === null) {
    const size = defaultBatchSize(L);
    return { size, first: Math.max(1, Math.ceil(size / 4)) };
  }
  const scoresPerSample = 4 * c.num_attention_heads * L * L;
  const byMemory = Math.floor(Math.min(GPU_WORKING_SET_BYTES, gpu.buffer) / sampleWorkingSetBytes(L, c));
  const byBinding = Math.floor(gpu.binding / scoresPerSample);
  const size = Math.max(1, Math.min(GPU_MAX_BATCH, byMemory, byBinding));
  return { size, first: size };
}

/** The active WebGPU device's limits, or null when the active backend is not WebGPU. */
export function activeGpuLimits(): GpuLimits | null {
  if (tf.engine().backendName !== 'webgpu') return null;
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } } }).device?.limits;
  // WebGPU's defaults where the device does not say
  return { binding: limits?.maxStorageBufferBindingSize ?? 2 ** 27, buffer: limits?.maxBufferSize ?? 2 ** 28 };
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
  const plan = batchPlan(L, c, activeGpuLimits());
  const B = opts.batchSize ?? plan.size;
  const firstB = opts.batchSize ?? plan.first;

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
