// Cohort-level attribution for the cohort view: expected gradients for every patient of a group (a
// cluster), one patient after another, averaged per code. The worker runs it for the page; it runs
// in Node as well, so the tests compare it with single-patient attributions on the shipped model.
import { attribute } from '../attribution';
import type { AttributionResult } from '../attribution/types';
import type { Patient } from '../data/schema';
import { inTaskPopulation, populationReferences } from '../model/population';
import type { LoadedModel } from '../model/runtime';
import { tokenize, type TokenGrid } from '../tokens/layout';
import { meanAttributionPerCode, type CodeAttribution } from './summary';

export interface CohortAttributionOptions {
  task: string;
  /** the reference population EG draws from (grids of the model's reference set, maybe filtered) */
  reference: TokenGrid[];
  /** EG samples per patient (default 32: a cohort mean needs less per patient than one explanation) */
  samples?: number;
  /** the same seed for every patient (default 0), as a single-patient explanation with that seed */
  seed?: number;
  /** keep the `top` codes by |mean per patient| (default: all) */
  top?: number;
  /** after each patient (and once with 0 before the first) */
  onProgress?: (done: number, total: number) => void;
  /** checked between patients and between a patient's batches; a cancelled patient is left out */
  signal?: AbortSignal;
}

export interface CohortAttribution {
  task: string;
  samples: number;
  seed: number;
  /** ids of the patients whose explanations are in the mean (all of them in the task's population
   *  unless cancelled) */
  patients: string[];
  /** patients left out because they are outside the task's population (no risk to explain) */
  outsidePopulation: number;
  /** patients asked for */
  total: number;
  /** the references each explanation compared with (those in the task's population) */
  referenceSize: number;
  /** mean EG per code over `patients`, largest |mean per patient| first */
  codes: CodeAttribution[];
  cancelled: boolean;
}

export const COHORT_ATTRIBUTION_SAMPLES = 32;

/** Mean expected-gradients attribution per code over `patients`, in sequence. Each patient's
 *  explanation frees its tensors before the next starts (attribute's own hygiene), so a cancel
 *  between patients leaves nothing behind. */
export async function cohortAttribution(model: LoadedModel, patients: Patient[], opts: CohortAttributionOptions): Promise<CohortAttribution> {
  const samples = opts.samples ?? COHORT_ATTRIBUTION_SAMPLES;
  const seed = opts.seed ?? 0;
  const results: AttributionResult[] = [];
  let cancelled = false;
  const task = model.folder.config.tasks.find((t) => t.name === opts.task);
  const all = patients;
  patients = task ? patients.filter((p) => inTaskPopulation(task, tokenize(p, model.folder.vocab, model.folder.config), model.folder.vocab)) : patients;
  opts.onProgress?.(0, patients.length);
  for (const patient of patients) {
    if (opts.signal?.aborted) {
      cancelled = true;
      break;
    }
    const r = await attribute(model, { patient, task: opts.task, method: 'eg', reference: opts.reference, samples, seed, signal: opts.signal });
    // a patient stopped part-way has fewer samples than the rest: not mixed into the mean
    if (r.cancelled) {
      cancelled = true;
      break;
    }
    results.push(r);
    opts.onProgress?.(results.length, patients.length);
  }
  const codes = meanAttributionPerCode(results);
  return {
    task: opts.task,
    samples,
    seed,
    patients: results.map((r) => r.patientId),
    total: all.length,
    referenceSize: task ? populationReferences(task, opts.reference, model.folder.vocab).length : opts.reference.length,
    outsidePopulation: all.length - patients.length,
    codes: opts.top === undefined ? codes : codes.slice(0, opts.top),
    cancelled,
  };
}
