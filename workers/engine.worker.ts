// The engine worker: the page's front door onto the model code (the CLI is the other one; both call
// the same modules). Views never see tensors: everything returned here is plain data.
import * as tf from '@tensorflow/tfjs';
import { expose } from 'comlink';
import { attribute, AttributionError } from '../src/attribution';
import { TimelineError } from '../src/data/schema';
import { tokenize, TokenizeError, type TokenGrid } from '../src/tokens/layout';
import { analyzeCohort, cohortAttribution, COHORT_ATTRIBUTION_SAMPLES, filterByDiagnosis, profileOf, representCohort, type CohortAnalysis, type CohortAttribution, type CohortRepresentation, type PatientProfile } from '../src/cohort';
import { matchesFilter, parseReferenceSet, referenceGrids, type ReferenceFilter, type ReferenceSet } from '../src/attribution/reference';
import type { AttributionResult, Method } from '../src/attribution/types';
import { randomisationCascade, type RandomisationStage } from '../src/attribution/faithfulness';
import { evenAlphas, interpolationPath, type InterpolationPath } from '../src/attribution/interpolation';
import { activeBackend, fallbackOf, selectBackend, type BackendName } from '../src/backend-browser';
import type { Patient } from '../src/data/schema';
import type { ModelCard } from '../src/model/card';
import type { ModelConfig } from '../src/model/config';
import { loadModelFromFiles, loadModelFromUrl, type ModelFolder } from '../src/model/folder';
import { disposeModel, instantiate, logitsForGrids, predict, sigmoid, type LoadedModel, type PredictionRow } from '../src/model/runtime';
import { inTaskPopulation } from '../src/model/population';

export type { BackendName, InterpolationPath, PredictionRow, RandomisationStage };

/** One patient of a model's reference set, as the page may show it. */
export interface ReferencePatientSummary {
  /** index in the filtered reference population */
  index: number;
  id: string;
  age: number;
  sex: 'F' | 'M' | 'U';
  /** distinct diagnosis codes */
  diagnoses: number;
}

/** What the page needs to know about a loaded model's architecture. */
export interface ModelSummary {
  model_type: ModelConfig['model_type'];
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_len: number;
  /** the extra modalities it embeds besides diagnoses (empty for BEHRT) */
  modalities: string[];
  tasks: { name: string; description?: string }[];
}

export interface LoadedModelInfo {
  id: string;
  /** the folder's name */
  name: string;
  config: ModelSummary;
  card: ModelCard | null;
}

export const summarizeConfig = (c: ModelConfig): ModelSummary => ({
  model_type: c.model_type,
  hidden_size: c.hidden_size,
  num_hidden_layers: c.num_hidden_layers,
  num_attention_heads: c.num_attention_heads,
  max_len: c.max_len,
  modalities: c.modalities.map((m) => m.name),
  tasks: c.tasks.map((t) => ({ name: t.name, description: t.description })),
});

const models = new Map<string, LoadedModel>();
const jobs = new Map<string, AbortController>();

export interface AttributeJob {
  patient: Patient;
  task: string;
  method: Method;
  samples?: number;
  seed?: number;
  reference?: ReferenceFilter;
  baseline?: 'pad' | 'reference';
  /** samples per forward+backward (default from the sequence length) */
  batchSize?: number;
}

/** The model's predicted risks over its reference population: what a patient's percentile is
 *  measured against. */
export interface ReferenceRisks {
  description: string;
  size: number;
  /** age range (years at the last visit) and sex counts of the (filtered) reference patients */
  ages: [number, number] | null;
  sexes: Record<string, number>;
  /** per task, the reference patients' probabilities in ascending order */
  sorted: Record<string, number[]>;
}

export interface CohortJob {
  patients: Patient[];
  /** restrict to patients with a diagnosis starting with this (e.g. "C": any cancer) */
  diagnosis?: string;
  method: 'kmeans' | 'dbscan';
  k?: number;
  eps?: number;
  minPts?: number;
  seed?: number;
}

export interface CohortOutcome {
  ids: string[];
  /** UMAP coordinates, x0 y0 x1 y1 ... */
  xy: number[];
  labels: number[];
  risks: Record<string, number[]>;
  /** recorded outcome label per task per patient (null: unknown) */
  outcomes: Record<string, Array<0 | 1 | null>>;
  summary: CohortAnalysis['summary'];
  params: CohortAnalysis['params'];
  timings: CohortAnalysis['timings'] & { representMs: number };
}

/** Mean expected gradients per code over a group of the cohort (a cluster), patient by patient. */
export interface CohortAttributionJob {
  patients: Patient[];
  task: string;
  /** EG samples per patient (default 32) */
  samples?: number;
  seed?: number;
  /** which reference patients EG draws from (default: the whole reference set) */
  reference?: ReferenceFilter;
  /** codes to return, largest |mean| first (default 25) */
  top?: number;
}

export interface CohortAttributionOutcome extends CohortAttribution {
  backend: BackendName;
}

export interface AttributeOutcome {
  result: AttributionResult;
  backend: BackendName;
  /** set when the job had to move to another backend (e.g. the WebGPU device was lost) */
  fellBack?: string;
}
let ready: Promise<BackendName> | null = null;
const skipped: Array<{ name: BackendName; why: string }> = [];

function needModel(id: string): LoadedModel {
  const m = models.get(id);
  if (!m) throw new Error(`model ${id} is not loaded (loaded: ${[...models.keys()].join(', ') || 'none'})`);
  return m;
}

/** Instantiate a validated folder under `id`, replacing (and freeing) a model loaded before. */
function install(id: string, folder: ModelFolder): LoadedModelInfo {
  const loaded = instantiate(folder);
  const old = models.get(id);
  models.set(id, loaded);
  if (old) disposeModel(old);
  return { id, name: folder.name, config: summarizeConfig(folder.config), card: folder.card };
}

const api = {
  /** Select the tfjs backend (once; later calls return the first answer). */
  init(preferred?: BackendName): Promise<BackendName> {
    ready ??= selectBackend(preferred, {
      onSkip: (name, why) => {
        skipped.push({ name, why });
        console.info(`[engine] backend ${name} skipped: ${why}`);
      },
    });
    return ready;
  },

  /** The faster backends that init skipped, and why (for telling the user). */
  skippedBackends(): Array<{ name: BackendName; why: string }> {
    return skipped.slice();
  },

  /** Fault injection for tests and demos: make this worker's WebGPU adapter request fail, as a
   *  crashed GPU process or a blocklisted driver would. Only before init; false when too late or
   *  there is no WebGPU to fail. */
  failWebgpuAdapter(): boolean {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter: unknown } }).gpu;
    if (ready || !gpu) return false;
    gpu.requestAdapter = () => Promise.reject(new Error('injected fault: requestAdapter rejected'));
    return true;
  },

  /** Fetch, validate and instantiate a model folder. `url` must be absolute: a worker resolves
   *  relative URLs against its own script, not the page. Loading an id again replaces it. */
  async loadModel(id: string, url: string): Promise<LoadedModelInfo> {
    await api.init();
    return install(id, await loadModelFromUrl(url));
  },

  /** The same from files the user dropped or picked (a folder's files, or the files one by one). */
  async loadModelFiles(id: string, files: File[]): Promise<LoadedModelInfo> {
    await api.init();
    return install(id, await loadModelFromFiles(files));
  },

  /** Free a model's tensors (the user removed it). */
  unloadModel(id: string): boolean {
    const m = models.get(id);
    if (m) disposeModel(m);
    return models.delete(id);
  },

  async predict(modelId: string, patients: Patient[]): Promise<PredictionRow[]> {
    await api.init();
    return predict(needModel(modelId), patients);
  },

  /** Explain one patient. Progress arrives after each batch through `onProgress` (a comlink proxy);
   *  `cancel(jobId)` stops the job between batches and frees its tensors. If the backend fails
   *  mid-job (a lost WebGPU device), the models move to the next backend and the job starts over. */
  attribute(jobId: string, modelId: string, job: AttributeJob, onProgress?: (r: AttributionResult) => void): Promise<AttributeOutcome> {
    return runJob(jobId, async (signal) => {
      let fellBack: string | undefined;
      for (;;) {
        const model = needModel(modelId);
        const reference = referenceOf(model, job.reference);
        try {
          const result = await attribute(model, { ...job, reference, signal, onProgress });
          return { result, backend: activeBackend()!, fellBack };
        } catch (e) {
          const from = activeBackend();
          const next = from && from !== 'cpu' && !signal.aborted && isBackendFailure(e) ? fallbackOf(from) : null;
          if (!next) throw e;
          fellBack = `${from} failed (${(e as Error).message}); finished on ${next}`;
          ready = selectBackend(next);
          await ready;
          for (const [id, m] of models) {
            models.set(id, instantiate(m.folder));
            try {
              disposeModel(m);
            } catch {
              // tensors of a lost device cannot be freed; the device took them with it
            }
          }
        }
      }
    });
  },

  /** Risks of the reference population (for the risk card's percentile); cached per model and filter. */
  async referenceRisks(modelId: string, filter: ReferenceFilter = {}): Promise<ReferenceRisks | null> {
    await api.init();
    const model = needModel(modelId);
    const set = referenceSetOf(model.folder);
    if (!set) return null;
    const key = `${modelId}\u0000${JSON.stringify(filter)}`;
    const cached = referenceRiskCache.get(model)?.get(key);
    if (cached) return cached;
    const grids = referenceGrids(set, model.folder.config, filter);
    const logits = await logitsForGrids(model, grids);
    // a task with a population is compared within it
    const sorted = Object.fromEntries(
      model.folder.config.tasks.map((t) => [t.name, Array.from(logits[t.name], sigmoid).filter((_, i) => inTaskPopulation(t, grids[i], model.folder.vocab)).sort((a, b) => a - b)]),
    );
    const members = set.patients.filter((p) => matchesFilter(p, filter));
    const ages = members.length ? ([Math.min(...members.map((p) => p.age)), Math.max(...members.map((p) => p.age))] as [number, number]) : null;
    const sexes: Record<string, number> = {};
    for (const p of members) sexes[p.sex] = (sexes[p.sex] ?? 0) + 1;
    const out: ReferenceRisks = { description: set.description, size: grids.length, ages, sexes, sorted };
    if (!referenceRiskCache.has(model)) referenceRiskCache.set(model, new Map());
    referenceRiskCache.get(model)!.set(key, out);
    return out;
  },

  /** The reference patients that pass a filter, in the order the attribution indexes them (for
   *  choosing one to walk the interpolation path from). */
  referencePatients(modelId: string, filter: ReferenceFilter = {}, task?: string): ReferencePatientSummary[] {
    return referencesOfTask(needModel(modelId), filter, task).patients;
  },

  /** The logit and the integrand (x - x') . grad f along the straight path from one reference
   *  patient (index into the filtered reference set) to this patient: the teaching walk's first step. */
  async interpolationPath(modelId: string, patient: Patient, task: string, filter: ReferenceFilter, refIndex: number, points = 21): Promise<InterpolationPath & { reference: ReferencePatientSummary }> {
    await api.init();
    const model = needModel(modelId);
    if (!referenceSetOf(model.folder)) throw new AttributionError(`${model.folder.name} has no reference set`);
    const { grids, patients } = referencesOfTask(model, filter, task);
    const ref = grids[refIndex];
    const population = model.folder.config.tasks.find((x) => x.name === task)?.population;
    if (!ref) throw new AttributionError(`reference patient ${refIndex} does not exist: the reference population has ${grids.length} patients${population ? ` in ${task}'s population` : ''}`);
    const path = await interpolationPath(model, patient, task, ref, evenAlphas(points));
    return { ...path, reference: patients[refIndex] };
  },

  /** The model-randomisation sanity check for one patient: the attribution with the trained model,
   *  then with copies randomised from the top layer down; `onStage` after each stage; cancel
   *  between attributions. */
  randomisationCheck(jobId: string, modelId: string, job: AttributeJob, onStage?: (s: RandomisationStage, done: number, total: number) => void): Promise<{ original: AttributionResult; stages: RandomisationStage[]; cancelled: boolean }> {
    return runJob(jobId, async (signal) => {
      const model = needModel(modelId);
      const req = { ...job, reference: referenceOf(model, job.reference), signal };
      const original = await attribute(model, req);
      const stages = original.cancelled ? [] : await randomisationCascade(model, [req], [original], { seed: job.seed ?? 0, signal, onStage });
      return { original, stages, cancelled: signal.aborted };
    });
  },

  /** How much of a patient the model reads: events whose code it does not know (they become UNK),
   *  and what truncation to max_len drops. For the context-of-use notices. */
  tokenInfo(modelId: string, patient: Patient): { events: number; unknownEvents: number; unknownCodes: string[]; truncatedVisits: number; droppedEvents: number } {
    const { folder } = needModel(modelId);
    const grid = tokenize(patient, folder.vocab, folder.config);
    return {
      events: patient.visits.reduce((n, v) => n + v.events.length, 0),
      unknownEvents: Object.values(grid.unknown).reduce((a, b) => a + b, 0),
      unknownCodes: Object.keys(grid.unknown),
      truncatedVisits: grid.truncatedVisits,
      droppedEvents: grid.droppedEvents,
    };
  },

  /** What an import needs from a model: its vocabulary (to report in-vocabulary coverage) and its
   *  folder's code map, if it has one. Plain data. */
  importContext(modelId: string): { vocab: ModelFolder['vocab']; codeMap: ModelFolder['codeMap'] | null } {
    const { folder } = needModel(modelId);
    return { vocab: folder.vocab, codeMap: folder.codeMap ?? null };
  },

  /** The cohort view: [CLS] representations of the patients (in batches, with progress; cancel
   *  between batches), a seeded UMAP and clusters with per-cluster outcome rates, Kaplan-Meier
   *  curves and distinguishing codes. Representations and the projection are kept for the last
   *  cohort, so re-clustering with another k or method skips both. */
  cohort(jobId: string, modelId: string, job: CohortJob, onProgress?: (stage: string, done: number, total: number) => void): Promise<CohortOutcome> {
    return runJob(jobId, async (signal) => {
      const model = needModel(modelId);
      const patients = job.diagnosis ? filterByDiagnosis(job.patients, job.diagnosis) : job.patients;
      if (patients.length < 5) throw new AttributionError(`${patients.length} patients${job.diagnosis ? ` with a diagnosis starting ${job.diagnosis}` : ''}: a cohort view needs at least 5`);
      const key = `${modelId}\u0000${job.diagnosis ?? ''}\u0000${job.seed ?? 0}\u0000${patients.map((p) => p.id).join(',')}`;
      let t = performance.now();
      let cached = lastCohort?.key === key && lastCohort.model === model ? lastCohort : null;
      if (!cached) {
        const rep = await representCohort(model, patients, { signal, onProgress: (d, n) => onProgress?.('representations', d, n) });
        cached = { key, model, rep, profiles: patients.map((p) => profileOf(p, model.folder.vocab.bins)), xy: undefined };
        lastCohort = cached;
      }
      const representMs = performance.now() - t;
      t = performance.now();
      const a = await analyzeCohort(cached.rep, cached.profiles, { method: job.method, k: job.k, eps: job.eps, minPts: job.minPts, seed: job.seed ?? 0, xy: cached.xy, signal, onProgress: (st, d, n) => onProgress?.(st, d, n) });
      cached.xy = a.xy;
      return {
        ids: cached.rep.ids,
        xy: Array.from(a.xy),
        labels: Array.from(a.labels),
        risks: Object.fromEntries(Object.entries(cached.rep.risks).map(([k, v]) => [k, Array.from(v)])),
        outcomes: Object.fromEntries(
          Object.keys(cached.rep.risks).map((task) => {
            const byId = new Map(patients.map((p) => [p.id, p.outcomes?.[task]?.label ?? null]));
            return [task, cached!.rep.ids.map((id) => byId.get(id) ?? null)];
          }),
        ),
        summary: a.summary,
        params: a.params,
        timings: { ...a.timings, representMs },
      };
    });
  },

  /** Cohort-level attribution: EG for each patient of a group in turn (the same reference, samples
   *  and seed for all), averaged per code. `onProgress(done, total)` after each patient; cancel stops
   *  between patients (or inside one, which is then left out) with every tensor freed, and returns
   *  the mean over the patients done, marked cancelled. */
  cohortAttribution(jobId: string, modelId: string, job: CohortAttributionJob, onProgress?: (done: number, total: number) => void): Promise<CohortAttributionOutcome> {
    return runJob(jobId, async (signal) => {
      const model = needModel(modelId);
      if (!referenceSetOf(model.folder)) throw new AttributionError(`${model.folder.name} has no reference set: expected gradients needs one`);
      if (!model.folder.config.tasks.some((t) => t.name === job.task)) throw new AttributionError(`unknown task ${job.task}: the model has ${model.folder.config.tasks.map((t) => t.name).join(', ')}`);
      const reference = referenceOf(model, job.reference);
      const out = await cohortAttribution(model, job.patients, {
        task: job.task,
        reference,
        samples: job.samples ?? COHORT_ATTRIBUTION_SAMPLES,
        seed: job.seed ?? 0,
        top: job.top ?? 25,
        signal,
        onProgress,
      });
      return { ...out, backend: activeBackend()! };
    });
  },

  cancel(jobId: string): boolean {
    const ctl = jobs.get(jobId);
    ctl?.abort();
    return !!ctl;
  },

  /** Fault injection for tests and demos: destroy the WebGPU device under the running backend, as a
   *  driver reset or a GPU process crash would. Returns false when the backend is not WebGPU. */
  loseDevice(): boolean {
    if (activeBackend() !== 'webgpu') return false;
    (tf.backend() as unknown as { device: { destroy(): void } }).device.destroy();
    return true;
  },

  /** What tfjs holds in this worker (read-only; for bench/soak.mjs): live tensors and their bytes. */
  memory(): { numTensors: number; numBytes: number } {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  },

  /** The active backend, or null before init. */
  backend(): BackendName | null {
    return activeBackend();
  },
};

/** The model's reference set, validated once per model (a few hundred patients: too slow to parse
 *  for every job, and it would delay the first progressive estimate by seconds). */
const referenceSets = new WeakMap<ModelFolder, ReferenceSet | null>();
function referenceSetOf(folder: ModelFolder): ReferenceSet | null {
  if (!referenceSets.has(folder)) referenceSets.set(folder, folder.reference ? parseReferenceSet(folder.reference) : null);
  return referenceSets.get(folder)!;
}

/** The reference grids that pass a filter; none when the model has no reference set (a method
 *  that needs them says so). */
function referenceOf(model: LoadedModel, filter: ReferenceFilter = {}): TokenGrid[] {
  const set = referenceSetOf(model.folder);
  return set ? referenceGrids(set, model.folder.config, filter) : [];
}

/** The reference patients that pass a filter and, for a task with a population, are in it: their
 *  grids and summaries in the same order (the index the teaching path takes). */
function referencesOfTask(model: LoadedModel, filter: ReferenceFilter, task?: string): { grids: TokenGrid[]; patients: ReferencePatientSummary[] } {
  const set = referenceSetOf(model.folder);
  if (!set) return { grids: [], patients: [] };
  const t = task === undefined ? undefined : model.folder.config.tasks.find((x) => x.name === task);
  const all = referenceGrids(set, model.folder.config, filter);
  const members = set.patients.filter((p) => matchesFilter(p, filter));
  const keep = all.map((g) => !t || inTaskPopulation(t, g, model.folder.vocab));
  return {
    grids: all.filter((_, i) => keep[i]),
    patients: members.filter((_, i) => keep[i]).map((p, index) => ({ index, id: p.id, age: p.age, sex: p.sex, diagnoses: p.codes.length })),
  };
}

/** A cancellable job: `cancel(jobId)` aborts the signal `work` gets; the job is forgotten when it
 *  ends, however it ends. */
async function runJob<T>(jobId: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  await api.init();
  const ctl = new AbortController();
  jobs.set(jobId, ctl);
  try {
    return await work(ctl.signal);
  } finally {
    jobs.delete(jobId);
  }
}

let lastCohort: { key: string; model: LoadedModel; rep: CohortRepresentation; profiles: PatientProfile[]; xy: Float32Array | undefined } | null = null;

const referenceRiskCache = new WeakMap<LoadedModel, Map<string, ReferenceRisks>>();

/** Errors that mean the backend itself broke (not a bad request): worth retrying on a fallback. */
function isBackendFailure(e: unknown): boolean {
  return !(e instanceof AttributionError || e instanceof TokenizeError || e instanceof TimelineError);
}

export type EngineApi = typeof api;

expose(api);
