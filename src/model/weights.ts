// Float32 weights <-> tfjs tensors on the active backend.
import * as tf from '@tensorflow/tfjs';
import type { TensorData } from './safetensors';

/** One tensor per weight. On the CPU backend tfjs may keep a reference to `data` rather than copy
 *  it: treat the source arrays as read-only afterwards. All-or-nothing: on failure the tensors made
 *  so far are disposed. */
export function toTfWeights(weights: Map<string, TensorData>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, { shape, data }] of weights) out.set(name, tf.tensor(data, shape, 'float32'));
  } catch (e) {
    disposeTfWeights(out);
    throw e;
  }
  return out;
}

/** Free every tensor and empty the map, so a later use fails loudly instead of on a disposed tensor. */
export function disposeTfWeights(map: Map<string, tf.Tensor>): void {
  for (const t of map.values()) if (!t.isDisposed) t.dispose();
  map.clear();
}

/** Download tensors (e.g. trained variables) back to float32 arrays. */
export async function fromTfWeights(map: Map<string, tf.Tensor>): Promise<Map<string, TensorData>> {
  const out = new Map<string, TensorData>();
  for (const [name, t] of map) {
    const v = await t.data();
    out.set(name, { shape: t.shape.slice(), data: v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>) });
  }
  return out;
}
