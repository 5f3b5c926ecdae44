// ExBEHRT forward pass as plain functions over a weights map (PyTorch names and [out, in] Linear
// shapes), so that the same code runs in Node (CLI, tests, training) and in the worker.
// Split in two on purpose: embeddingParts() gives the per-modality embeddings that expected
// gradients attributes to; encode() runs LayerNorm, the encoder and the heads from their sum.
import * as tf from '@tensorflow/tfjs';
import './gradients'; // Sum, Mean and 2-D matMul gradients (see there)
import type { ModelConfig } from './config';
import type { TokenBatch } from '../tokens/layout';

export type { TokenBatch };
export type Weights = Map<string, tf.Tensor>;

export interface ForwardOptions {
  /** dropout on (training only); the seed makes the masks reproducible */
  training?: boolean;
  seed?: number;
  /** training on wasm: embedding lookups with a JS scatter-add gradient (wasm has no gather gradient) */
  scatterGrad?: boolean;
}

export type EncoderOutput = {
  sequence: tf.Tensor3D;
  pooled: tf.Tensor2D;
  /** per task [batch, num_labels] */
  logits: Record<string, tf.Tensor2D>;
};

export class MissingTensorError extends Error {}

function W(w: Weights, name: string): tf.Tensor {
  const t = w.get(name);
  if (!t) throw new MissingTensorError(`model weights: tensor ${name} is missing`);
  return t;
}

/** Order of the attributable parts: diagnosis, modalities in config order, age, segment, position, static. */
export function partNames(c: ModelConfig): string[] {
  return ['diagnosis', ...c.modalities.map((m) => m.name), 'age', 'segment', 'position', ...(c.static ? ['static'] : [])];
}

function lookup(table: tf.Tensor, ids: tf.Tensor, scatterGrad: boolean): tf.Tensor {
  const H = table.shape[1]!;
  if (!scatterGrad) return tf.gather(table as tf.Tensor2D, ids.flatten()).reshape([...ids.shape, H]);
  // gather whose table gradient is a scatter-add done in JS: the wasm backend has no
  // UnsortedSegmentSum, and a one-hot matMul costs a third of a training step there.
  const flat = ids.flatten() as tf.Tensor1D;
  const idx = flat.dataSync();
  const f = tf.customGrad(((t: tf.Tensor) => {
    return {
      value: tf.gather(t as tf.Tensor2D, flat),
      gradFunc: (dy: tf.Tensor) => {
        const g = new Float32Array(table.shape[0]! * H);
        const d = dy.dataSync();
        for (let i = 0; i < idx.length; i++) {
          const o = idx[i] * H;
          for (let k = 0; k < H; k++) g[o + k] += d[i * H + k];
        }
        return tf.tensor2d(g, [table.shape[0]!, H]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (t: tf.Tensor) => tf.Tensor;
  return f(table).reshape([...ids.shape, H]);
}

/** Per-part embeddings [B, L, H]. Extra modalities sum their rows; PAD ids (0) of extra modalities
 *  and of the static table contribute exactly zero, whatever row 0 of the table holds. */
export function embeddingParts(w: Weights, c: ModelConfig, b: TokenBatch, opts: ForwardOptions = {}): Record<string, tf.Tensor3D> {
  return tf.tidy(() => {
    const { batch: B, length: L } = b;
    const oh = !!opts.scatterGrad;
    const ids = (a: Int32Array, shape: number[]) => tf.tensor(a, shape, 'int32');
    const e = 'bert.embeddings.';
    const masked = (table: tf.Tensor, idT: tf.Tensor): tf.Tensor => tf.mul(lookup(table, idT, oh), tf.notEqual(idT, 0).cast('float32').expandDims(-1));
    const parts: Record<string, tf.Tensor3D> = {};
    parts.diagnosis = lookup(W(w, e + 'word_embeddings.weight'), ids(b.diagnosis, [B, L]), oh) as tf.Tensor3D;
    for (const m of c.modalities) {
      const idT = ids(b.modalities[m.name], [B, m.rows, L]);
      parts[m.name] = tf.sum(masked(W(w, `${e}${m.name}_embeddings.weight`), idT), 1) as tf.Tensor3D;
    }
    parts.age = lookup(W(w, e + 'age_embeddings.weight'), ids(b.age, [B, L]), oh) as tf.Tensor3D;
    parts.segment = lookup(W(w, e + 'segment_embeddings.weight'), ids(b.segment, [B, L]), oh) as tf.Tensor3D;
    parts.position = lookup(W(w, e + 'posi_embeddings.weight'), ids(b.position, [B, L]), oh) as tf.Tensor3D;
    if (c.static) {
      if (!b.static) throw new Error('token batch: static ids missing, config.json has static ' + c.static.name);
      parts.static = masked(W(w, `${e}${c.static.name}_embeddings.weight`), ids(b.static, [B, L])) as tf.Tensor3D;
    }
    return parts;
  });
}

function layerNorm(x: tf.Tensor, w: Weights, prefix: string, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), W(w, prefix + '.weight')), W(w, prefix + '.bias'));
}

/** y = x W^T + b over the last axis, W in PyTorch's [out, in] layout */
function linear(x: tf.Tensor, w: Weights, prefix: string): tf.Tensor {
  const weight = W(w, prefix + '.weight');
  const inDim = x.shape[x.shape.length - 1]!;
  // (2-D and untransposed: its gradient is the XNNPACK-friendly one of gradients.ts)
  const y = tf.matMul(x.reshape([-1, inDim]) as tf.Tensor2D, tf.transpose(weight) as tf.Tensor2D);
  return tf.add(y, W(w, prefix + '.bias')).reshape([...x.shape.slice(0, -1), weight.shape[0]!]);
}

/** exact erf GELU, as BERT */
const gelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));

/** LayerNorm, encoder, pooler and heads, from the embedding parts (their sum is the embedding). */
export function encode(w: Weights, c: ModelConfig, parts: Record<string, tf.Tensor3D>, attentionMask: tf.Tensor2D, opts: ForwardOptions = {}): EncoderOutput {
  return tf.tidy(() => {
    let seed = opts.seed ?? 0;
    const drop = (x: tf.Tensor, rate: number) => (opts.training && rate > 0 ? tf.dropout(x, rate, undefined, seed++) : x);
    const H = c.hidden_size;
    const A = c.num_attention_heads;
    const d = H / A;
    const eps = c.layer_norm_eps;
    const [B, L] = attentionMask.shape;
    let h: tf.Tensor = tf.addN(partNames(c).map((n) => parts[n]));
    h = drop(layerNorm(h, w, 'bert.embeddings.LayerNorm', eps), c.hidden_dropout_prob);
    // finite additive mask on PAD keys: [B, 1, 1, L]
    const ext = tf.mul(tf.sub(1, attentionMask), c.attention_mask_value).reshape([B, 1, 1, L]);
    const heads = (x: tf.Tensor) => x.reshape([B, L, A, d]).transpose([0, 2, 1, 3]);
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `bert.encoder.layer.${i}.`;
      const q = heads(linear(h, w, p + 'attention.self.query'));
      const k = heads(linear(h, w, p + 'attention.self.key'));
      const v = heads(linear(h, w, p + 'attention.self.value'));
      const scores = tf.add(tf.div(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), Math.sqrt(d)), ext);
      const probs = drop(tf.softmax(scores, -1), c.attention_probs_dropout_prob);
      const ctx = tf.matMul(probs as tf.Tensor4D, v as tf.Tensor4D).transpose([0, 2, 1, 3]).reshape([B, L, H]);
      const a = layerNorm(tf.add(drop(linear(ctx, w, p + 'attention.output.dense'), c.hidden_dropout_prob), h), w, p + 'attention.output.LayerNorm', eps);
      const inter = gelu(linear(a, w, p + 'intermediate.dense'));
      h = layerNorm(tf.add(drop(linear(inter, w, p + 'output.dense'), c.hidden_dropout_prob), a), w, p + 'output.LayerNorm', eps);
    }
    const sequence = h as tf.Tensor3D;
    const cls = tf.slice(sequence, [0, 0, 0], [B, 1, H]).reshape([B, H]);
    const pooled = tf.tanh(linear(cls, w, 'bert.pooler.dense')) as tf.Tensor2D;
    const pooledDrop = drop(pooled, c.hidden_dropout_prob);
    const logits: Record<string, tf.Tensor2D> = {};
    for (const t of c.tasks) logits[t.name] = linear(pooledDrop, w, `heads.${t.name}`) as tf.Tensor2D;
    return { sequence, pooled, logits };
  });
}

/** MLM head: LayerNorm(GELU(dense(h))) @ E_word^T + bias, decoder tied to the diagnosis table. */
export function mlmLogits(w: Weights, c: ModelConfig, sequence: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const t = layerNorm(gelu(linear(sequence, w, 'cls.predictions.transform.dense')), w, 'cls.predictions.transform.LayerNorm', c.layer_norm_eps);
    const [B, L, H] = sequence.shape;
    const logits = tf.add(tf.matMul(t.reshape([B * L, H]) as tf.Tensor2D, tf.transpose(W(w, 'bert.embeddings.word_embeddings.weight')) as tf.Tensor2D), W(w, 'cls.predictions.bias'));
    return logits.reshape([B, L, c.vocab_size]) as tf.Tensor3D;
  });
}

export function maskTensor(b: TokenBatch): tf.Tensor2D {
  return tf.tensor2d(b.attentionMask, [b.batch, b.length], 'float32');
}

/** Whole forward from token ids. Caller disposes the result. */
export function forward(w: Weights, c: ModelConfig, b: TokenBatch, opts: ForwardOptions = {}): EncoderOutput {
  return tf.tidy(() => encode(w, c, embeddingParts(w, c, b, opts), maskTensor(b), opts));
}
