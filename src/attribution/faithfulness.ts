// Faithfulness checks: does the attribution point at what the model (and the data) really use?
// 1. planted-factor recovery against the synthetic generator's ground truth;
// 2. deletion curve: remove events in attribution order and watch the logit fall, vs random order;
// 3. model-randomisation sanity check (Adebayo et al. 2018): re-initialise layers top-down; the
//    attribution of a faithful method must stop resembling the original.
import * as tf from '@tensorflow/tfjs';
import type { Patient } from '../data/schema';
import { disposeModel, logitsForGrids, type LoadedModel } from '../model/runtime';
import { rng, shuffle } from '../data/random';
import { tokenize } from '../tokens/layout';
import { attribute } from './index';
import { spearman } from './rank';
import type { AttributeRequest, AttributionResult, EventAttribution } from './types';

export interface TruthEvent {
  visitIndex: number;
  eventIndex: number;
}

/** Events ranked by attribution, highest (most risk-raising) first; placeholders excluded. */
export function rankedEvents(r: AttributionResult): EventAttribution[] {
  return r.events.filter((e) => e.event >= 0).sort((a, b) => b.value - a.value);
}

/** precision@k of truth events among the top-k attributed events, with k = min(k, #truth events)
 *  so that a patient with two true risk events can still score 1. NaN when there is no truth. */
export function precisionAtK(r: AttributionResult, truth: TruthEvent[], k = 5): number {
  if (truth.length === 0) return NaN;
  const keff = Math.min(k, truth.length);
  const set = new Set(truth.map((t) => `${t.visitIndex}:${t.eventIndex}`));
  const top = rankedEvents(r).slice(0, keff);
  return top.filter((e) => set.has(`${e.visit}:${e.event}`)).length / keff;
}

function removeEvents(p: Patient, remove: Array<{ visit: number; event: number }>): Patient {
  const gone = new Set(remove.map((e) => `${e.visit}:${e.event}`));
  return { ...p, visits: p.visits.map((v, vi) => ({ ...v, events: v.events.filter((_, ei) => !gone.has(`${vi}:${ei}`)) })) };
}

/** Logit after removing the first 0..n events of an order; area = mean logit over the steps. */
export async function deletionCurve(model: LoadedModel, patient: Patient, task: string, order: Array<{ visit: number; event: number }>, steps: number): Promise<number[]> {
  const n = Math.min(steps, order.length);
  const variants = Array.from({ length: n + 1 }, (_, i) => removeEvents(patient, order.slice(0, i)));
  const grids = variants.map((p) => tokenize(p, model.folder.vocab, model.folder.config));
  return Array.from((await logitsForGrids(model, grids))[task]);
}

export const curveArea = (c: number[]) => c.reduce((a, b) => a + b, 0) / c.length;

export async function deletionCheck(model: LoadedModel, patient: Patient, r: AttributionResult, opts: { steps?: number; randomOrders?: number; seed?: number } = {}) {
  const steps = opts.steps ?? 10;
  const ranked = rankedEvents(r);
  const attributed = await deletionCurve(model, patient, r.task, ranked, steps);
  const rand = rng(opts.seed ?? 1);
  const randomAreas: number[] = [];
  for (let k = 0; k < (opts.randomOrders ?? 5); k++) {
    const order = shuffle(ranked.slice(), rand);
    randomAreas.push(curveArea(await deletionCurve(model, patient, r.task, order, steps)));
  }
  return { attributedCurve: attributed, attributedArea: curveArea(attributed), randomArea: randomAreas.reduce((a, b) => a + b, 0) / randomAreas.length };
}

/** Layer groups from the top of the network down, as the cascading randomisation removes them. */
export function randomisationStages(model: LoadedModel): Array<{ name: string; prefixes: string[] }> {
  const c = model.folder.config;
  const stages = [{ name: 'heads', prefixes: ['heads.'] }, { name: 'pooler', prefixes: ['bert.pooler.'] }];
  for (let i = c.num_hidden_layers - 1; i >= 0; i--) stages.push({ name: `layer ${i}`, prefixes: [`bert.encoder.layer.${i}.`] });
  stages.push({ name: 'embeddings', prefixes: ['bert.embeddings.'] });
  return stages;
}

/** A copy of the model whose tensors under `prefixes` are re-drawn (N(0, 0.02), LayerNorm kept). */
export function randomisedModel(model: LoadedModel, prefixes: string[], seed: number): LoadedModel {
  const weights = new Map<string, tf.Tensor>();
  let s = seed;
  for (const [name, t] of model.weights) {
    const hit = prefixes.some((p) => name.startsWith(p)) && !name.includes('LayerNorm');
    weights.set(name, hit ? (name.endsWith('.bias') ? tf.zeros(t.shape) : tf.truncatedNormal(t.shape, 0, 0.02, 'float32', s++)) : t.clone());
  }
  return { folder: model.folder, weights };
}

export interface RandomisationStage {
  /** the lowest layer group randomised so far ("heads", "pooler", "layer 3", ..., "embeddings") */
  stage: string;
  /** mean over the requests of the Spearman correlation between the original and the randomised
   *  model's event attributions (same events, matched by visit, event, part and row) */
  spearman: number;
  /** the randomised model's logit for each request's patient */
  logits: number[];
}

/** Cascading randomisation: for each stage, a copy of the model randomised from the top down to
 *  that stage explains the same requests; a faithful method's ranks stop resembling `originals`.
 *  One randomised copy per stage, freed before the next. */
export async function randomisationCascade(
  model: LoadedModel,
  requests: AttributeRequest[],
  originals: AttributionResult[],
  opts: { seed: number; signal?: AbortSignal; onStage?: (s: RandomisationStage, done: number, total: number) => void },
): Promise<RandomisationStage[]> {
  const stages = randomisationStages(model);
  const out: RandomisationStage[] = [];
  for (let s = 0; s < stages.length; s++) {
    if (opts.signal?.aborted) break;
    const prefixes = stages.slice(0, s + 1).flatMap((x) => x.prefixes);
    const rm = randomisedModel(model, prefixes, opts.seed + 1000 * (s + 1));
    try {
      const rhos: number[] = [];
      const logits: number[] = [];
      for (const [i, req] of requests.entries()) {
        const r = await attribute(rm, { ...req, onProgress: undefined, signal: opts.signal });
        if (r.cancelled) break;
        const key = (e: EventAttribution) => `${e.visit}:${e.event}:${e.part}:${e.row}`;
        const orig = new Map(originals[i].events.map((e) => [key(e), e.value]));
        const a: number[] = [];
        const b: number[] = [];
        for (const e of r.events) if (orig.has(key(e))) a.push(orig.get(key(e))!), b.push(e.value);
        rhos.push(spearman(a, b));
        logits.push(r.logit);
      }
      if (rhos.length < requests.length) break;
      const stage = { stage: stages[s].name, spearman: rhos.reduce((x, y) => x + y, 0) / rhos.length, logits };
      out.push(stage);
      opts.onStage?.(stage, s + 1, stages.length);
    } finally {
      disposeModel(rm);
    }
  }
  return out;
}
