// The straight path from one reference x' to the patient x in embedding space, as expected and
// integrated gradients walk it: the logit f(x' + alpha (x - x')) and the integrand
// (x - x') . grad f at each alpha. The integrand's mean over alpha in [0, 1] is f(x) - f(x')
// (completeness for one reference), which is what the teaching walk shows. Same conventions as
// path.ts: the reference is laid on the patient's length and the patient's own attention mask.
import * as tf from '@tensorflow/tfjs';
import type { Patient } from '../data/schema';
import { embeddingParts, encode, partNames } from '../model/exbehrt';
import type { LoadedModel } from '../model/runtime';
import { stackGrids, tokenize, type TokenGrid } from '../tokens/layout';
import { inTaskPopulation, populationSentence } from '../model/population';
import { activeGpuLimits, AttributionError, batchPlan } from './path';

export interface InterpolationPath {
  alphas: number[];
  /** f(x' + alpha (x - x')) per alpha */
  logits: number[];
  /** (x - x') . grad f(x' + alpha (x - x')), summed over every embedding part, per alpha */
  integrand: number[];
  /** trapezoid rule of the integrand over the alphas (equals logits[last] - logits[0] as the grid refines) */
  integral: number;
}

/** `points` evenly spaced alphas from 0 to 1 inclusive. */
export const evenAlphas = (points: number): number[] => Array.from({ length: points }, (_, i) => i / (points - 1));

export async function interpolationPath(model: LoadedModel, patient: Patient, task: string, reference: TokenGrid, alphas: number[]): Promise<InterpolationPath> {
  const c = model.folder.config;
  if (!c.tasks.some((t) => t.name === task)) throw new AttributionError(`unknown task ${JSON.stringify(task)}: this model has ${c.tasks.map((t) => t.name).join(', ')}`);
  if (alphas.length < 2 || alphas.some((a) => !(a >= 0 && a <= 1))) throw new AttributionError('an interpolation path needs at least two alphas in [0, 1]');
  const w = model.weights;
  const grid = tokenize(patient, model.folder.vocab, c);
  // a task with a population: the path runs between two of its patients (the head knows no other)
  const t = c.tasks.find((x) => x.name === task)!;
  if (!inTaskPopulation(t, grid, model.folder.vocab)) throw new AttributionError(`patient ${patient.id}: ${populationSentence(t)}; this patient has no such diagnosis`);
  if (!inTaskPopulation(t, reference, model.folder.vocab)) throw new AttributionError(`reference patient ${reference.patientId}: ${populationSentence(t)}; choose a reference patient with such a diagnosis`);
  const L = grid.realLength;
  const parts = partNames(c);
  const xParts = embeddingParts(w, c, stackGrids([grid], c, L));
  const rParts = embeddingParts(w, c, stackGrids([reference], c, L));
  const logits: number[] = [];
  const integrand: number[] = [];
  try {
    // in batches of alphas, as the attribution does, so a long patient fits in memory
    const B = batchPlan(L, c, activeGpuLimits()).size;
    for (let s = 0; s < alphas.length; s += B) {
      const chunk = alphas.slice(s, s + B);
      const k = chunk.length;
      const out = tf.tidy(() => {
        const mask = tf.tile(tf.tensor2d(grid.attentionMask.subarray(0, L), [1, L]), [k, 1]) as tf.Tensor2D;
        const alpha = tf.tensor1d(chunk).reshape([k, 1, 1]);
        const diff = parts.map((p) => tf.sub(xParts[p], rParts[p]));
        const interp = parts.map((p, i) => tf.add(rParts[p], tf.mul(alpha, diff[i])));
        const f = (...ps: tf.Tensor[]) => encode(w, c, Object.fromEntries(parts.map((p, i) => [p, ps[i] as tf.Tensor3D])), mask).logits[task].slice([0, 0], [k, 1]).reshape([k]);
        // each sample's logit depends only on its own row, so the gradient of the sum is per-row
        const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(f(...ps)))(interp);
        const dot = parts.map((_, i) => tf.sum(tf.mul(diff[i], grads[i]), [1, 2])).reduce((a, b) => tf.add(a, b));
        return { logits: f(...interp), dot };
      });
      const [l, d] = await Promise.all([out.logits.data(), out.dot.data()]);
      tf.dispose([out.logits, out.dot]);
      logits.push(...l);
      integrand.push(...d);
    }
  } finally {
    tf.dispose([...Object.values(xParts), ...Object.values(rParts)]);
  }
  const k = alphas.length;
  let integral = 0;
  for (let i = 1; i < k; i++) integral += ((alphas[i] - alphas[i - 1]) * (integrand[i] + integrand[i - 1])) / 2;
  return { alphas: alphas.slice(), logits, integrand, integral };
}
