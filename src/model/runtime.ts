// A model folder made ready to run: weights on the active tfjs backend, predict for patients.
import * as tf from '@tensorflow/tfjs';
import type { Patient } from '../data/schema';
import { stackGrids, tokenize, type TokenGrid } from '../tokens/layout';
import { forward, type Weights } from './exbehrt';
import type { ModelFolder } from './folder';
import { inTaskPopulation, populationSentence } from './population';
import { disposeTfWeights, toTfWeights } from './weights';

export interface LoadedModel {
  folder: ModelFolder;
  weights: Weights;
}

export interface PredictionRow {
  patient_id: string;
  task: string;
  /** null when the patient is outside the task's population (`outside` says why) */
  logit: number | null;
  probability: number | null;
  /** set when the task is defined for a population the patient is not in (src/model/population.ts) */
  outside?: string;
}

export function instantiate(folder: ModelFolder): LoadedModel {
  return { folder, weights: toTfWeights(folder.weights) };
}

export function disposeModel(m: LoadedModel): void {
  disposeTfWeights(m.weights);
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Logits [task][patient] for token grids, in batches of similar length. */
export async function logitsForGrids(m: LoadedModel, grids: TokenGrid[], batchSize = 32): Promise<Record<string, Float32Array>> {
  const c = m.folder.config;
  const out: Record<string, Float32Array> = Object.fromEntries(c.tasks.map((t) => [t.name, new Float32Array(grids.length)]));
  // sort by length so a batch pads little; results go back to input order
  const order = grids.map((_, i) => i).sort((a, b) => grids[a].realLength - grids[b].realLength);
  for (let s = 0; s < order.length; s += batchSize) {
    const idx = order.slice(s, s + batchSize);
    const batch = stackGrids(idx.map((i) => grids[i]), c);
    const logits = tf.tidy(() => {
      const o = forward(m.weights, c, batch);
      return c.tasks.map((t) => o.logits[t.name].slice([0, 0], [batch.batch, 1]).reshape([batch.batch]));
    });
    const values = await Promise.all(logits.map((l) => l.data()));
    tf.dispose(logits);
    c.tasks.forEach((t, k) => idx.forEach((i, j) => (out[t.name][i] = values[k][j])));
  }
  return out;
}

/** Risk per patient and task. `grids` (the patients' token grids) may be passed when the caller
 *  already tokenized them, e.g. to report unknown codes. */
export async function predict(m: LoadedModel, patients: Patient[], grids = patients.map((p) => tokenize(p, m.folder.vocab, m.folder.config))): Promise<PredictionRow[]> {
  const { config } = m.folder;
  const logits = await logitsForGrids(m, grids);
  return patients.flatMap((p, i) =>
    config.tasks.map((t) =>
      inTaskPopulation(t, grids[i], m.folder.vocab)
        ? { patient_id: p.id, task: t.name, logit: logits[t.name][i], probability: sigmoid(logits[t.name][i]) }
        : { patient_id: p.id, task: t.name, logit: null, probability: null, outside: populationSentence(t) },
    ),
  );
}
