// The workbench's state: what is loaded, what is selected, what the engine computed. Views read it
// with selectors and act only through its actions; the engine (worker) is injected, so the store
// runs in Node tests with a fake engine.
import { z } from 'zod';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ReferenceFilter } from '../attribution/reference';
import type { AttributionResult, Method } from '../attribution/types';
import { parsePatientsText, type ClinicalEvent, type Patient } from '../data/schema';
import { EVENTS_PER_MESSAGE, inParts } from '../data/parts';
import type { AttributeOutcome, BackendName, CohortAttributionOutcome, CohortJob, CohortOutcome, EngineCalls, ImporterCalls, ImportJob, LoadedModelInfo, PredictionRow, ReferenceRisks } from './engine-client';
import type { CoverageReport } from '../data/import/pipeline';
import type { ImportFormat } from '../data/import';
import type { ModelShelf } from './model-shelf';

export const ModelIndexSchema = z.array(z.object({ id: z.string().min(1), path: z.string().min(1) })).min(1, 'lists no models');

/** A model the workbench can load: shipped with the app (index.json), loaded from a same-origin
 *  URL, dropped in by the user this session, or kept by the user in this browser (IndexedDB). */
export interface ModelEntry {
  id: string;
  origin: 'shipped' | 'url' | 'dropped' | 'kept';
  /** app-relative or absolute same-origin URL of the folder (shipped, url) */
  path?: string;
  /** a label for the picker before the model's card is known */
  label?: string;
}

/** Where the shipped assets are, relative to the app's base URL. */
export const ASSETS = { modelIndex: 'models/index.json', cohort: 'cohort/patients.jsonl' } as const;

/** Set while the store applies a worker's progress report (a progressive attribution, import or
 *  cohort progress) or an explanation's end. Views render such updates in a transition
 *  (src/app/use-store-state.ts): React then renders in slices that yield to input, so a report
 *  never blocks the page for a whole render of the workbench; everything else (the user's own
 *  actions) renders at once. */
let backgroundDepth = 0;
export const isBackgroundUpdate = (): boolean => backgroundDepth > 0;
function inBackground<A extends unknown[]>(f: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    backgroundDepth++;
    try {
      f(...args);
    } finally {
      backgroundDepth--;
    }
  };
}

export interface WorkbenchDeps {
  engine: Pick<EngineCalls, 'init' | 'loadModel' | 'predict'> &
    Partial<Pick<EngineCalls, 'attribute' | 'cancel' | 'referenceRisks' | 'importContext' | 'loadModelFiles' | 'unloadModel' | 'tokenInfo' | 'cohort' | 'skippedBackends' | 'cohortAttribution'>>;
  /** where models the user chooses to keep are stored (IndexedDB in the browser) */
  shelf?: ModelShelf;
  /** the page's origin: a model URL must be on it */
  origin?: string;
  /** start over with empty memory (the browser: location.reload) */
  reload?: () => void;
  /** the import worker (files -> timelines); absent where importing is not offered */
  importer?: ImporterCalls;
  /** GET a text file served with the app; rejects on HTTP errors */
  fetchText: (url: string) => Promise<string>;
  /** absolute URL of an app-relative path (the worker needs absolute URLs) */
  resolve: (path: string) => string;
  preferredBackend?: BackendName;
}

/** How an explanation is computed: everything that changes its numbers (and goes into exports). */
export interface ExplainSettings {
  method: Method;
  /** EG samples / IG steps (ignored by gradient x input and occlusion) */
  samples: number;
  seed: number;
  reference: ReferenceFilter;
}

export const DEFAULT_SETTINGS: ExplainSettings = { method: 'eg', samples: 128, seed: 1, reference: {} };
export const METHOD_LABEL: Record<Method, string> = { eg: 'Expected gradients', ig: 'Integrated gradients', gxi: 'Gradient × input', occlusion: 'Occlusion' };
export const METHODS: Method[] = ['eg', 'ig', 'gxi', 'occlusion'];

export interface Explanation {
  modelId: string;
  patientId: string;
  /** revision of the patient (0: as loaded; what-if edits make new revisions) */
  rev: number;
  task: string;
  settings: ExplainSettings;
  status: 'running' | 'done' | 'cancelled' | 'error';
  /** the latest (progressive) result; null until the first batch is in */
  result: AttributionResult | null;
  backend?: BackendName;
  referenceSize?: number;
  fellBack?: string;
  error?: string;
  startedAt: number;
  finishedAt?: number;
}

/** An import of the user's files: progress while it runs, then the coverage report. */
export interface ImportStatus {
  jobId: string;
  status: 'running' | 'done' | 'cancelled' | 'error';
  fileNames: string[];
  phase: string;
  done: number;
  total: number;
  format?: ImportFormat;
  coverage?: CoverageReport;
  /** ids of the imported patients (pseudonyms) */
  patientIds?: string[];
  error?: string;
}

/** The cohort view: representations -> UMAP -> clusters of the loaded patients, with progress. */
export interface CohortState {
  jobId: string;
  modelId: string;
  status: 'running' | 'done' | 'cancelled' | 'error';
  stage: string;
  done: number;
  total: number;
  job: Omit<CohortJob, 'patients'>;
  outcome?: CohortOutcome;
  error?: string;
}

/** Mean expected gradients per code over one cluster of the last cohort run, patient by patient. */
export interface CohortAttributionState {
  jobId: string;
  modelId: string;
  cluster: number;
  task: string;
  samples: number;
  seed: number;
  reference: ReferenceFilter;
  status: 'running' | 'done' | 'cancelled' | 'error';
  /** patients explained so far, of total */
  done: number;
  total: number;
  /** the mean over the patients done (also when cancelled part-way) */
  outcome?: CohortAttributionOutcome;
  error?: string;
}

export interface CohortAttributionSettings {
  /** default: the selected task, else the model's first */
  task?: string;
  /** EG samples per patient (default 32) */
  samples?: number;
  /** default 0 */
  seed?: number;
  /** default: the workbench's current reference filter ({}: the whole reference set) */
  reference?: ReferenceFilter;
}

/** One what-if step: the patient after the edit, and what was done, in words. */
export interface Revision {
  rev: number;
  label: string;
  patient: Patient;
}

export interface WorkbenchState {
  /** 'starting' until the backend, index and cohort are in; 'error' when start-up failed */
  phase: 'starting' | 'ready' | 'error';
  /** the active tfjs backend in the worker */
  backend: BackendName | null;
  /** what the engine is busy with (for a status line), or null */
  busy: string | null;
  /** the last error, shown until the next successful action */
  error: string | null;
  /** a notice that is not an error (e.g. the engine moved to another backend) */
  notice: string | null;
  models: ModelEntry[];
  modelId: string | null;
  /** loaded models by id (config summary and card) */
  modelInfo: Record<string, LoadedModelInfo>;
  patients: Patient[];
  patientId: string | null;
  task: string | null;
  settings: ExplainSettings;
  /** prediction rows by predictionKey(model, patient, rev) */
  predictions: Record<string, PredictionRow[]>;
  /** risks of the whole bundled cohort per model (for the patient list), once computed */
  cohortRisks: Record<string, Record<string, Record<string, number>>>;
  /** reference-population risks per model (for percentiles) */
  referenceRisks: Record<string, ReferenceRisks | null>;
  /** the chosen (filtered) reference population per referenceKey(model, filter): size, ages, sexes, risks */
  referenceStats: Record<string, ReferenceRisks | null>;
  /** how much of the patient the model reads, per predictionKey */
  tokenInfo: Record<string, TokenInfo>;
  /** explanations by explanationKey */
  explanations: Record<string, Explanation>;
  /** the key of the job running in the worker, if any */
  runningKey: string | null;
  /** what-if revisions per patient id (empty: the patient as loaded) */
  revisions: Record<string, Revision[]>;
  /** the last import, if any */
  importStatus: ImportStatus | null;
  /** a second model explaining the same patient side by side, if chosen */
  secondModelId: string | null;
  /** the last cohort run */
  cohortState: CohortState | null;
  /** per cluster of the last cohort run: its mean attribution per code (cleared by a new run) */
  cohortAttributions: Record<number, CohortAttributionState>;

  start(): Promise<void>;
  selectModel(id: string): Promise<void>;
  selectPatient(id: string | null): Promise<void>;
  selectTask(task: string): void;
  /** false (and an error naming the field) when the patch is invalid; nothing changes then */
  updateSettings(patch: Partial<ExplainSettings>): boolean;
  /** predictions for the bundled cohort and the reference population, after start-up */
  warmUp(): Promise<void>;
  /** explain the current patient (revision) for the selected task with the current settings */
  explain(method?: Method): Promise<Explanation | null>;
  /** run every method in turn for the current patient and task (the comparison view) */
  compareMethods(): Promise<void>;
  cancel(): Promise<void>;
  /** what-if edits of the selected patient; each re-predicts and, if an explanation was shown, re-explains */
  removeEvent(visit: number, event: number): Promise<void>;
  removeVisit(visit: number): Promise<void>;
  addEvent(date: string, event: ClinicalEvent): Promise<void>;
  undo(): Promise<void>;
  resetEdits(): Promise<void>;
  /** import files (FHIR, Synthea CSV, OMOP, MEDS, timelines) in the import worker; the patients
   *  join the list (same id: replaced) and the first is selected. Nothing is added on failure. */
  importData(files: ImportJob['files'], opts?: { format?: ImportFormat; shiftDates?: boolean }): Promise<void>;
  cancelImport(): Promise<void>;
  /** add a model from dropped or picked files (validated in the worker; nothing added on error) */
  addModelFiles(files: File[]): Promise<string | null>;
  /** add a model folder from a URL on this page's origin */
  addModelUrl(url: string): Promise<string | null>;
  /** keep a dropped model in this browser (IndexedDB), only when the user asks */
  keepModel(id: string): Promise<void>;
  /** remove a dropped or kept model (and delete it from this browser) */
  forgetModel(id: string): Promise<void>;
  /** "Forget everything": stop all work, delete what this app stored in the browser (kept models),
   *  and drop every patient, import, edit and explanation held in memory (by reloading the page) */
  forgetEverything(): Promise<void>;
  /** cluster the loaded patients' representations (all of them, or those with a diagnosis prefix) */
  runCohort(job: Omit<CohortJob, 'patients'>): Promise<void>;
  cancelCohort(): Promise<void>;
  /** mean EG per code over one cluster's patients of the last cohort run (one such job at a time) */
  runCohortAttribution(cluster: number, settings?: CohortAttributionSettings): Promise<void>;
  cancelCohortAttribution(): Promise<void>;
  /** explain the current patient with EG against another reference population (side by side) */
  explainWithReference(reference: ReferenceFilter): Promise<Explanation | null>;
  /** size, ages, sexes and risks of the reference population the settings choose (cached) */
  loadReferenceStats(filter?: ReferenceFilter): Promise<ReferenceRisks | null>;
  /** the engine worker stopped and a fresh one took over: load the models again */
  engineRestarted(why: string): Promise<void>;
  /** choose the model explained next to the selected one (null: none) */
  selectSecondModel(id: string | null): Promise<void>;
  /** explain the current patient and task with the second model (same settings) */
  explainSecond(): Promise<Explanation | null>;
}

export type WorkbenchStore = StoreApi<WorkbenchState>;

export interface TokenInfo {
  events: number;
  unknownEvents: number;
  unknownCodes: string[];
  truncatedVisits: number;
  droppedEvents: number;
}

export const referenceKey = (modelId: string, filter: ReferenceFilter) => `${modelId}\u0000${JSON.stringify(filter)}`;
export const predictionKey = (modelId: string, patientId: string, rev = 0) => `${modelId}\u0000${patientId}\u0000${rev}`;
export const explanationKey = (modelId: string, patientId: string, rev: number, task: string, s: ExplainSettings) =>
  [modelId, patientId, rev, task, s.method, s.method === 'gxi' || s.method === 'occlusion' ? '' : s.samples, s.method === 'eg' ? s.seed : '', JSON.stringify(s.reference)].join('\u0000');

/** Selectors */
export const originalPatient = (s: WorkbenchState): Patient | null => s.patients.find((p) => p.id === s.patientId) ?? null;
export const currentRevision = (s: WorkbenchState): number => (s.patientId ? s.revisions[s.patientId]?.at(-1)?.rev ?? 0 : 0);
/** The selected patient as the user edited it (what-if), or as loaded. */
export const selectedPatient = (s: WorkbenchState): Patient | null =>
  (s.patientId ? s.revisions[s.patientId]?.at(-1)?.patient : undefined) ?? originalPatient(s);
export const selectedModelInfo = (s: WorkbenchState): LoadedModelInfo | null => (s.modelId ? s.modelInfo[s.modelId] ?? null : null);
export const selectedPrediction = (s: WorkbenchState): PredictionRow[] | null =>
  s.modelId && s.patientId ? s.predictions[predictionKey(s.modelId, s.patientId, currentRevision(s))] ?? null : null;
/** The prediction of the patient as loaded (for the what-if risk change). */
export const originalPrediction = (s: WorkbenchState): PredictionRow[] | null =>
  s.modelId && s.patientId ? s.predictions[predictionKey(s.modelId, s.patientId, 0)] ?? null : null;
export const explanationFor = (s: WorkbenchState, method: Method = s.settings.method): Explanation | null =>
  s.modelId && s.patientId && s.task ? s.explanations[explanationKey(s.modelId, s.patientId, currentRevision(s), s.task, { ...s.settings, method })] ?? null : null;
export const selectedExplanation = (s: WorkbenchState): Explanation | null => explanationFor(s);
/** The EG explanation of the current patient and task against a given reference population. */
export const explanationWithReference = (s: WorkbenchState, reference: ReferenceFilter): Explanation | null =>
  s.modelId && s.patientId && s.task ? s.explanations[explanationKey(s.modelId, s.patientId, currentRevision(s), s.task, { ...s.settings, method: 'eg', reference })] ?? null : null;
/** The second model's explanation of the same patient, task and settings. */
export const secondExplanation = (s: WorkbenchState): Explanation | null =>
  s.secondModelId && s.patientId && s.task ? s.explanations[explanationKey(s.secondModelId, s.patientId, currentRevision(s), s.task, s.settings)] ?? null : null;
export const modelLabel = (s: Pick<WorkbenchState, 'models' | 'modelInfo'>, id: string): string => s.modelInfo[id]?.card?.name ?? s.models.find((m) => m.id === id)?.label ?? id;

/** The fraction of the reference population with a lower predicted risk (0..1), or null. */
export function percentileOf(sorted: number[] | undefined, p: number): number | null {
  if (!sorted?.length) return null;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < p) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
let jobCounter = 0;

export function createWorkbenchStore(deps: WorkbenchDeps): WorkbenchStore {
  const inFlight = new Map<string, Promise<unknown>>();
  /** run `work` once per key at a time, with `label` as the busy line */
  const once = <T>(key: string, label: string, work: () => Promise<T>): Promise<T> => {
    const running = inFlight.get(key);
    if (running) return running as Promise<T>;
    store.setState({ busy: label });
    const p = work().finally(() => {
      inFlight.delete(key);
      if (inFlight.size === 0) store.setState({ busy: null });
    });
    inFlight.set(key, p);
    return p;
  };

  /** Predict the selected patient (current revision) with the selected model, unless already known. */
  const refreshPrediction = async (): Promise<void> => {
    const s = store.getState();
    const { modelId, patientId, modelInfo, predictions } = s;
    const patient = selectedPatient(s);
    if (!modelId || !patientId || !modelInfo[modelId] || !patient) return;
    const key = predictionKey(modelId, patientId, currentRevision(s));
    if (predictions[key]) return;
    try {
      const rows = await once(`predict:${key}`, `Predicting ${patientId}…`, () => deps.engine.predict(modelId, [patient]));
      store.setState((st) => ({ predictions: { ...st.predictions, [key]: rows }, error: null }));
      const info = await deps.engine.tokenInfo?.(modelId, patient);
      if (info) store.setState((st) => ({ tokenInfo: { ...st.tokenInfo, [key]: info } }));
    } catch (e) {
      store.setState({ error: `Prediction for ${patientId} failed: ${message(e)}` });
    }
  };

  /** files of models dropped this session, by id (kept ones are read back from the shelf) */
  const droppedFiles = new Map<string, File[]>();
  /** settles when start() has listed the shipped and kept models: a model dropped or linked before
   *  that waits for it, so that start() neither drops it from the list nor gives it a kept one's id */
  let modelsListed: Promise<void> = Promise.resolve();

  /** Load a model into the worker unless it is there; false (and an error shown) when it fails. */
  const ensureLoaded = async (id: string): Promise<boolean> => {
    if (store.getState().modelInfo[id]) return true;
    const entry = store.getState().models.find((m) => m.id === id);
    if (!entry) {
      store.setState({ error: `Unknown model ${id}` });
      return false;
    }
    try {
      const info = await once(`load:${id}`, `Loading model ${entry.label ?? id}…`, async () => {
        if (entry.origin === 'shipped' || entry.origin === 'url') return deps.engine.loadModel(id, deps.resolve(entry.path!));
        let files = droppedFiles.get(id);
        if (!files && entry.origin === 'kept' && deps.shelf) {
          const kept = await deps.shelf.get(id);
          if (!kept) throw new Error('it is no longer stored in this browser');
          files = kept.files.map((f) => new File([f.blob], f.name));
        }
        if (!files || !deps.engine.loadModelFiles) throw new Error('its files are not available');
        return deps.engine.loadModelFiles(id, files);
      });
      store.setState((s) => ({ modelInfo: { ...s.modelInfo, [id]: info }, error: null }));
      return true;
    } catch (e) {
      store.setState({ error: `Model ${entry.label ?? id} could not be loaded: ${message(e)}` });
      return false;
    }
  };

  let running: { key: string; jobId: string; promise: Promise<Explanation | null> } | null = null;
  /** the cohort attribution in flight, so that a new one (or a new cohort run) waits for it to stop */
  let cohortAttributionRun: { jobId: string; promise: Promise<void> } | null = null;
  /** set when the user cancels, so that a loop over several jobs (compare) stops too */
  let cancelRequested = false;

  /** The state change that patches a known explanation (none for an unknown key). */
  const explanationPatched = (st: WorkbenchState, key: string, patch: Partial<Explanation>): Partial<WorkbenchState> =>
    st.explanations[key] ? { explanations: { ...st.explanations, [key]: { ...st.explanations[key], ...patch } } } : {};
  const patchExplanation = (key: string, patch: Partial<Explanation>) => store.setState((st) => explanationPatched(st, key, patch));

  const runExplanation = async (method: Method, otherModel?: string, reference?: ReferenceFilter): Promise<Explanation | null> => {
    const s: WorkbenchState = store.getState();
    const patient = selectedPatient(s);
    const { patientId, task } = s;
    const modelId = otherModel ?? s.modelId;
    if (!deps.engine.attribute || !modelId || !patientId || !task || !patient || !s.modelInfo[modelId]) return null;
    const settings = { ...s.settings, method, ...(reference ? { reference } : {}) };
    const rev = currentRevision(s);
    const key = explanationKey(modelId, patientId, rev, task, settings);
    const known = s.explanations[key];
    if (known && known.status === 'done') return known;
    if (running?.key === key) return running.promise;
    if (running) await stopRunning();
    const jobId = `job-${++jobCounter}`;
    const startedAt = Date.now();
    store.setState((st) => ({ explanations: { ...st.explanations, [key]: { modelId, patientId, rev, task, settings, status: 'running', result: null, startedAt } }, runningKey: key }));
    const attribute = deps.engine.attribute;
    const promise = (async (): Promise<Explanation | null> => {
      try {
        const out: AttributeOutcome = await attribute(
          jobId,
          modelId,
          { patient, task, method, samples: settings.samples, seed: settings.seed, reference: settings.reference },
          inBackground((partial: AttributionResult) => patchExplanation(key, { result: partial })),
        );
        const end: Partial<Explanation> = {
          status: out.result.cancelled ? 'cancelled' : 'done',
          result: out.result,
          backend: out.backend,
          referenceSize: out.result.referenceSize,
          fellBack: out.fellBack,
          finishedAt: Date.now(),
        };
        // the job's end in one update, rendered like its progress: the result, and the engine free
        inBackground(() =>
          store.setState((st) => ({
            ...explanationPatched(st, key, end),
            ...(st.runningKey === key ? { runningKey: null } : {}),
          })),
        )();
        if (out.fellBack) store.setState({ backend: out.backend, notice: `The engine moved to ${out.backend}: ${out.fellBack}. The explanation was recomputed there.` });
      } catch (e) {
        if (e instanceof Error && e.name === 'EngineStoppedError') {
          // never a silent or partial answer: the job is reported as cancelled, to be run again
          patchExplanation(key, { status: 'cancelled', error: message(e), finishedAt: Date.now() });
          store.setState({ notice: `Explaining ${patientId} was interrupted: ${message(e)}. Press Explain to run it again.` });
        } else {
          patchExplanation(key, { status: 'error', error: message(e), finishedAt: Date.now() });
          store.setState({ error: `Explaining ${patientId} (${task}, ${METHOD_LABEL[method]}) failed: ${message(e)}` });
        }
      } finally {
        if (running?.jobId === jobId) running = null;
        if (store.getState().runningKey === key) store.setState({ runningKey: null }); // (an update, even an empty one, re-renders)
      }
      return store.getState().explanations[key] ?? null;
    })();
    running = { key, jobId, promise };
    return promise;
  };

  const stopRunning = async (): Promise<void> => {
    const r = running;
    if (!r) return;
    await deps.engine.cancel?.(r.jobId);
    await r.promise;
  };

  /** Re-explain after an edit when the user was looking at an explanation of the previous revision. */
  const afterEdit = async (hadExplanation: boolean): Promise<void> => {
    await refreshPrediction();
    if (hadExplanation) await store.getState().explain();
  };

  const edit = async (label: string, change: (p: Patient) => Patient): Promise<void> => {
    const s = store.getState();
    const p = selectedPatient(s);
    if (!p || !s.patientId) return;
    const hadExplanation = !!selectedExplanation(s);
    const next = change(structuredClone(p));
    const rev = Math.max(0, ...Object.values(s.revisions).flat().map((r) => r.rev)) + 1;
    store.setState((st) => ({ revisions: { ...st.revisions, [s.patientId!]: [...(st.revisions[s.patientId!] ?? []), { rev, label, patient: next }] } }));
    await afterEdit(hadExplanation);
  };

  const store = createStore<WorkbenchState>()((set, get) => ({
    phase: 'starting',
    backend: null,
    busy: null,
    error: null,
    notice: null,
    models: [],
    modelId: null,
    modelInfo: {},
    patients: [],
    patientId: null,
    task: null,
    settings: DEFAULT_SETTINGS,
    predictions: {},
    cohortRisks: {},
    referenceRisks: {},
    referenceStats: {},
    tokenInfo: {},
    explanations: {},
    runningKey: null,
    revisions: {},
    importStatus: null,
    secondModelId: null,
    cohortState: null,
    cohortAttributions: {},

    async start() {
      set({ phase: 'starting', busy: 'Starting the engine…', error: null });
      let listed!: () => void;
      modelsListed = new Promise((r) => (listed = r));
      const problems: string[] = [];
      const [backend, index, cohort] = await Promise.allSettled([
        deps.engine.init(deps.preferredBackend),
        deps.fetchText(deps.resolve(ASSETS.modelIndex)).then((t) => {
          const r = ModelIndexSchema.safeParse(JSON.parse(t));
          if (!r.success) throw new Error(`${ASSETS.modelIndex}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
          return r.data;
        }),
        deps.fetchText(deps.resolve(ASSETS.cohort)).then((t) => parsePatientsText(t, ASSETS.cohort)),
      ]);
      if (backend.status === 'fulfilled') {
        set({ backend: backend.value });
        // say so when a faster backend could not be used (no WebGPU, a failing adapter)
        const skipped = (await deps.engine.skippedBackends?.().catch(() => [])) ?? [];
        if (skipped.length) set({ notice: `The model runs on ${backend.value}: ${skipped.map((k) => `${k.name} was skipped, ${k.why}`).join('; ')}.` });
      } else problems.push(`The model engine could not start: ${message(backend.reason)}`);
      if (index.status === 'fulfilled') set({ models: index.value.map((m) => ({ ...m, origin: 'shipped' as const })) });
      else problems.push(`The model list could not be read: ${message(index.reason)}`);
      if (deps.shelf) {
        try {
          const kept = await deps.shelf.list();
          set((s) => ({ models: [...s.models, ...kept.map((k) => ({ id: k.id, origin: 'kept' as const, label: k.name }))] }));
        } catch (e) {
          problems.push(`Models kept in this browser could not be listed: ${message(e)}`);
        }
      }
      listed();
      // patients imported while the engine started stay, first in the list (as an import puts them)
      if (cohort.status === 'fulfilled')
        set((s) => {
          const imported = new Set(s.patients.map((p) => p.id));
          return { patients: [...s.patients, ...cohort.value.filter((p) => !imported.has(p.id))], patientId: s.patientId ?? cohort.value[0]?.id ?? null };
        });
      else problems.push(`The sample patients could not be read: ${message(cohort.reason)}`);
      set({ busy: null });
      if (backend.status === 'rejected' || index.status === 'rejected') {
        set({ phase: 'error', error: problems.join('\n') });
        return;
      }
      set({ phase: 'ready', error: problems.length ? problems.join('\n') : null });
      await get().selectModel(get().modelId ?? index.value[0].id);
    },

    async selectModel(id) {
      if (!get().models.some((m) => m.id === id)) {
        set({ error: `Unknown model ${id}` });
        return;
      }
      set({ modelId: id, secondModelId: get().secondModelId === id ? null : get().secondModelId });
      if (!(await ensureLoaded(id))) return;
      // keep the task when the new model has it too
      const tasks = get().modelInfo[id].config.tasks.map((t) => t.name);
      if (!get().task || !tasks.includes(get().task!)) set({ task: tasks[0] ?? null });
      await refreshPrediction();
    },

    async selectPatient(id) {
      set({ patientId: id });
      await refreshPrediction();
    },

    selectTask(task) {
      set({ task });
    },

    updateSettings(patch) {
      const next = { ...get().settings, ...patch };
      if (!Number.isInteger(next.samples) || next.samples < 1 || next.samples > 10_000) {
        set({ error: `Samples must be a whole number from 1 to 10,000 (got ${patch.samples})` });
        return false;
      }
      if (!Number.isInteger(next.seed) || next.seed < 0) {
        set({ error: `The seed must be a whole number, 0 or more (got ${patch.seed})` });
        return false;
      }
      set({ settings: next, error: null });
      return true;
    },

    async warmUp() {
      const { modelId, patients } = get();
      if (!modelId || !get().modelInfo[modelId]) return;
      if (deps.engine.referenceRisks && !(modelId in get().referenceRisks)) {
        try {
          const rr = await deps.engine.referenceRisks(modelId, {});
          set((s) => ({ referenceRisks: { ...s.referenceRisks, [modelId]: rr } }));
        } catch (e) {
          set((s) => ({ referenceRisks: { ...s.referenceRisks, [modelId]: null }, error: `Reference risks for ${modelId} failed: ${message(e)}` }));
        }
      }
      if (!get().cohortRisks[modelId] && patients.length) {
        try {
          const rows = await once(`cohort:${modelId}`, `Predicting ${patients.length} patients…`, () => deps.engine.predict(modelId, patients));
          const byPatient: Record<string, Record<string, number>> = {};
          for (const r of rows) if (r.probability !== null) (byPatient[r.patient_id] ??= {})[r.task] = r.probability; // none outside a task's population
          set((s) => ({ cohortRisks: { ...s.cohortRisks, [modelId]: byPatient } }));
        } catch (e) {
          set({ error: `Predicting the cohort with ${modelId} failed: ${message(e)}` });
        }
      }
    },

    async explain(method) {
      cancelRequested = false;
      return runExplanation(method ?? get().settings.method);
    },

    async compareMethods() {
      cancelRequested = false;
      for (const m of [get().settings.method, ...METHODS.filter((x) => x !== get().settings.method)]) {
        if (cancelRequested) break;
        const e = await runExplanation(m);
        if (!e || e.status !== 'done') break;
      }
    },

    async cancel() {
      cancelRequested = true;
      await stopRunning();
    },

    async removeEvent(visit, event) {
      const p = selectedPatient(get());
      const ev = p?.visits[visit]?.events[event];
      if (!p || !ev) return;
      await edit(`removed ${ev.modality} ${ev.code} on ${p.visits[visit].date}`, (q) => {
        q.visits[visit].events.splice(event, 1);
        return q;
      });
    },

    async removeVisit(visit) {
      const p = selectedPatient(get());
      const v = p?.visits[visit];
      if (!p || !v) return;
      await edit(`removed the visit of ${v.date} (${v.events.length} events)`, (q) => {
        q.visits.splice(visit, 1);
        return q;
      });
    },

    async addEvent(date, event) {
      const p = selectedPatient(get());
      if (!p) return;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date + 'T00:00:00Z'))) {
        set({ error: `Cannot add an event: ${JSON.stringify(date)} is not a date (YYYY-MM-DD)` });
        return;
      }
      if (date < p.birthDate) {
        set({ error: `Cannot add an event on ${date}: before the birth date ${p.birthDate}` });
        return;
      }
      await edit(`added ${event.modality} ${event.code} on ${date}`, (q) => {
        const at = q.visits.findIndex((v) => v.date === date);
        if (at >= 0) q.visits[at].events.push(event);
        else {
          q.visits.push({ date, events: [event] });
          q.visits.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
        }
        return q;
      });
    },

    async undo() {
      const { patientId } = get();
      if (!patientId || !get().revisions[patientId]?.length) return;
      const hadExplanation = !!selectedExplanation(get());
      set((s) => ({ revisions: { ...s.revisions, [patientId]: s.revisions[patientId].slice(0, -1) } }));
      await afterEdit(hadExplanation);
    },

    async importData(files, opts = {}) {
      const importer = deps.importer;
      if (!importer) {
        set({ error: 'Importing is not available here' });
        return;
      }
      if (get().importStatus?.status === 'running') await get().cancelImport();
      const jobId = `import-${++jobCounter}`;
      const fileNames = files.map((f) => f.path || f.file.name);
      set({ importStatus: { jobId, status: 'running', fileNames, phase: 'reading', done: 0, total: 1 } });
      const patch = (p: Partial<ImportStatus>) => set((s) => (s.importStatus?.jobId === jobId ? { importStatus: { ...s.importStatus, ...p } } : {}));
      try {
        const { modelId } = get();
        const ctx = modelId && deps.engine.importContext ? await deps.engine.importContext(modelId) : null;
        const out = await importer.importFiles(
          jobId,
          { files, format: opts.format, shiftDates: opts.shiftDates, vocab: ctx?.vocab, codeMap: ctx?.codeMap ?? undefined },
          inBackground((phase: string, done: number, total: number) => patch({ phase, done, total })),
        );
        if (!out.patients.length) {
          patch({ status: 'done', format: out.format, coverage: out.coverage, patientIds: [] });
          set({ error: `${fileNames.join(', ')}: no patient with dated coded events was found (see the coverage report)` });
          return;
        }
        const ids = new Set(out.patients.map((p) => p.id));
        set((s) => ({
          patients: [...out.patients, ...s.patients.filter((p) => !ids.has(p.id))],
          revisions: Object.fromEntries(Object.entries(s.revisions).filter(([id]) => !ids.has(id))),
          predictions: Object.fromEntries(Object.entries(s.predictions).filter(([k]) => !ids.has(k.split('\u0000')[1]))),
          explanations: Object.fromEntries(Object.entries(s.explanations).filter(([, e]) => !ids.has(e.patientId))),
          error: null,
        }));
        patch({ status: 'done', format: out.format, coverage: out.coverage, patientIds: [...ids] });
        await get().selectPatient(out.patients[0].id);
        // the risk column for the new patients, sent to the engine in parts (src/data/parts.ts)
        const mid = get().modelId;
        if (mid && get().cohortRisks[mid]) {
          try {
            for (const part of inParts(out.patients, EVENTS_PER_MESSAGE)) {
              const rows = await deps.engine.predict(mid, part);
              inBackground(() =>
                set((s) => {
                  const byPatient = { ...s.cohortRisks[mid] };
                  for (const r of rows) if (r.probability !== null) byPatient[r.patient_id] = { ...byPatient[r.patient_id], [r.task]: r.probability };
                  return { cohortRisks: { ...s.cohortRisks, [mid]: byPatient } };
                }),
              )();
            }
          } catch (e) {
            set({ error: `Predicting the imported patients failed: ${message(e)}` });
          }
        }
      } catch (e) {
        const cancelled = /cancelled/.test(message(e)) && get().importStatus?.jobId === jobId && get().importStatus?.status === 'cancelled';
        patch(cancelled ? {} : { status: 'error', error: message(e) });
        if (!cancelled) set({ error: `Import of ${fileNames.join(', ')} failed: ${message(e)}` });
      }
    },

    async cancelImport() {
      const st = get().importStatus;
      if (!st || st.status !== 'running') return;
      set({ importStatus: { ...st, status: 'cancelled' } });
      await deps.importer?.cancel(st.jobId);
    },

    async addModelFiles(files) {
      if (!deps.engine.loadModelFiles) {
        set({ error: 'Loading a model from files is not available here' });
        return null;
      }
      const config = files.find((f) => f.name === 'config.json');
      const folder = (config?.webkitRelativePath ?? '').split('/').slice(-2, -1)[0];
      await modelsListed;
      let n = 1;
      while (get().models.some((m) => m.id === `local-${n}`)) n++;
      const id = `local-${n}`;
      try {
        const info = await once(`load:${id}`, `Checking and loading ${files.length} files…`, () => deps.engine.loadModelFiles!(id, files));
        droppedFiles.set(id, files);
        set((s) => ({ models: [...s.models, { id, origin: 'dropped', label: info.card?.name ?? folder ?? info.name }], modelInfo: { ...s.modelInfo, [id]: info }, error: null }));
        await get().selectModel(id);
        return id;
      } catch (e) {
        set({ error: `The model files were not loaded:\n${message(e)}` });
        return null;
      }
    },

    async addModelUrl(url) {
      let u: URL;
      try {
        u = new URL(url, deps.resolve(''));
      } catch {
        set({ error: `Not a URL: ${url}` });
        return null;
      }
      const origin = deps.origin ?? new URL(deps.resolve('')).origin;
      if (u.origin !== origin) {
        set({ error: `${u.href}: models load only from this page's origin (${origin}); nothing leaves the page` });
        return null;
      }
      await modelsListed;
      let n = 1;
      while (get().models.some((m) => m.id === `url-${n}`)) n++;
      const id = `url-${n}`;
      const path = u.href.endsWith('/') ? u.href : u.href + '/';
      set((s) => ({ models: [...s.models, { id, origin: 'url', path, label: u.pathname }] }));
      if (!(await ensureLoaded(id))) {
        set((s) => ({ models: s.models.filter((m) => m.id !== id) }));
        return null;
      }
      await get().selectModel(id);
      return id;
    },

    async keepModel(id) {
      const files = droppedFiles.get(id);
      if (!deps.shelf || !files) return;
      const name = modelLabel(get(), id);
      try {
        await deps.shelf.put({ id, name, savedAt: new Date().toISOString(), files: files.map((f) => ({ name: f.name, blob: f })) });
        set((s) => ({ models: s.models.map((m) => (m.id === id ? { ...m, origin: 'kept' as const } : m)), notice: `${name} is kept in this browser; it loads offline until you forget it.` }));
      } catch (e) {
        set({ error: `${name} could not be kept in this browser: ${message(e)}` });
      }
    },

    async forgetModel(id) {
      const entry = get().models.find((m) => m.id === id);
      if (!entry || entry.origin === 'shipped') return;
      if (entry.origin === 'kept') {
        try {
          await deps.shelf?.delete(id);
        } catch (e) {
          set({ error: `${modelLabel(get(), id)} could not be deleted from this browser: ${message(e)}` });
          return;
        }
      }
      droppedFiles.delete(id);
      await deps.engine.unloadModel?.(id);
      const rest = get().models.filter((m) => m.id !== id);
      set((s) => {
        const modelInfo = { ...s.modelInfo };
        delete modelInfo[id];
        return { models: rest, modelInfo, secondModelId: s.secondModelId === id ? null : s.secondModelId };
      });
      if (get().modelId === id) await get().selectModel(rest[0].id);
    },

    async forgetEverything() {
      await get().cancel();
      await get().cancelImport();
      try {
        await deps.shelf?.clear();
      } catch (e) {
        set({ error: `Stored models could not be deleted: ${message(e)}. Nothing else was changed.` });
        return;
      }
      set({ revisions: {}, explanations: {}, importStatus: null, secondModelId: null });
      deps.reload?.();
    },

    async runCohort(job) {
      const { modelId, patients } = get();
      if (!modelId || !deps.engine.cohort || !(await ensureLoaded(modelId))) return;
      const prev = get().cohortState;
      if (prev?.status === 'running') await get().cancelCohort();
      // the clusters are about to change: their attributions would describe other patients
      await get().cancelCohortAttribution();
      const jobId = `cohort-${++jobCounter}`;
      set({ cohortState: { jobId, modelId, status: 'running', stage: 'representations', done: 0, total: patients.length, job }, cohortAttributions: {} });
      const patch = (p: Partial<CohortState>) => set((s) => (s.cohortState?.jobId === jobId ? { cohortState: { ...s.cohortState, ...p } } : {}));
      try {
        const outcome = await deps.engine.cohort(jobId, modelId, { ...job, patients }, inBackground((stage: string, done: number, total: number) => patch({ stage, done, total })));
        patch({ status: 'done', outcome });
      } catch (e) {
        const cancelled = /AbortError|cancel/i.test(`${(e as Error)?.name} ${message(e)}`);
        patch(cancelled ? { status: 'cancelled' } : { status: 'error', error: message(e) });
        if (!cancelled) set({ error: `The cohort view failed: ${message(e)}` });
      }
    },

    async cancelCohort() {
      const st = get().cohortState;
      if (st?.status === 'running') await deps.engine.cancel?.(st.jobId);
    },

    async runCohortAttribution(cluster, settings = {}) {
      const st = get().cohortState;
      const o = st?.status === 'done' ? st.outcome : undefined;
      if (!st || !o || !deps.engine.cohortAttribution || !(await ensureLoaded(st.modelId))) return;
      const { modelId } = st;
      const task = settings.task ?? get().task ?? o.summary.tasks?.[0];
      if (!task) return;
      const byId = new Map(get().patients.map((p) => [p.id, p]));
      const members = o.ids.filter((_, i) => o.labels[i] === cluster);
      const patients = members.map((id) => byId.get(id)).filter((p): p is Patient => !!p);
      if (!patients.length) {
        set({ error: `Cluster ${cluster} has no loaded patients to explain` + (members.length ? ` (its ${members.length} patients are no longer loaded)` : '') });
        return;
      }
      // one at a time: they share the worker, and two interleaved would each run at half speed
      await get().cancelCohortAttribution();
      const samples = settings.samples ?? 32;
      const seed = settings.seed ?? 0;
      const reference = settings.reference ?? get().settings.reference;
      const jobId = `cohort-attr-${++jobCounter}`;
      set((s) => ({ cohortAttributions: { ...s.cohortAttributions, [cluster]: { jobId, modelId, cluster, task, samples, seed, reference, status: 'running', done: 0, total: patients.length } } }));
      const patch = (p: Partial<CohortAttributionState>) =>
        set((s) => (s.cohortAttributions[cluster]?.jobId === jobId ? { cohortAttributions: { ...s.cohortAttributions, [cluster]: { ...s.cohortAttributions[cluster], ...p } } } : {}));
      const promise = (async () => {
        try {
          const outcome = await deps.engine.cohortAttribution!(jobId, modelId, { patients, task, samples, seed, reference }, inBackground((done: number, total: number) => patch({ done, total })));
          patch({ status: outcome.cancelled ? 'cancelled' : 'done', outcome, done: outcome.patients.length });
        } catch (e) {
          if (e instanceof Error && e.name === 'EngineStoppedError') {
            patch({ status: 'cancelled', error: message(e) });
            set({ notice: `The mean attribution of cluster ${cluster} was interrupted: ${message(e)}. Run it again.` });
          } else {
            patch({ status: 'error', error: message(e) });
            set({ error: `Mean attribution per code for cluster ${cluster} (${task}) failed: ${message(e)}` });
          }
        } finally {
          if (cohortAttributionRun?.jobId === jobId) cohortAttributionRun = null;
        }
      })();
      cohortAttributionRun = { jobId, promise };
      await promise;
    },

    async cancelCohortAttribution() {
      const r = cohortAttributionRun;
      if (!r) return;
      await deps.engine.cancel?.(r.jobId);
      await r.promise;
    },

    async explainWithReference(reference) {
      cancelRequested = false;
      return runExplanation('eg', undefined, reference);
    },

    async loadReferenceStats(filter = get().settings.reference) {
      const { modelId } = get();
      if (!modelId || !deps.engine.referenceRisks || !(await ensureLoaded(modelId))) return null;
      const key = referenceKey(modelId, filter);
      if (key in get().referenceStats) return get().referenceStats[key];
      try {
        const stats = await deps.engine.referenceRisks(modelId, filter);
        set((s) => ({ referenceStats: { ...s.referenceStats, [key]: stats } }));
        return stats;
      } catch (e) {
        set({ error: `The reference population ${JSON.stringify(filter)} could not be read: ${message(e)}` });
        return null;
      }
    },

    async engineRestarted(why) {
      set({ modelInfo: {}, backend: null, notice: `The model engine stopped (${why}) and was restarted; the models are being loaded again.` });
      try {
        set({ backend: await deps.engine.init(deps.preferredBackend) });
      } catch (e) {
        set({ error: `The model engine could not restart: ${message(e)}` });
        return;
      }
      const id = get().modelId;
      if (id) await get().selectModel(id);
    },

    async selectSecondModel(id) {
      set({ secondModelId: id });
      if (id) await ensureLoaded(id);
    },

    async explainSecond() {
      const { secondModelId, task } = get();
      if (!secondModelId || !(await ensureLoaded(secondModelId))) return null;
      const tasks = get().modelInfo[secondModelId].config.tasks.map((t) => t.name);
      if (!task || !tasks.includes(task)) {
        set({ error: `${modelLabel(get(), secondModelId)} has no task ${task} (it has ${tasks.join(', ')})` });
        return null;
      }
      cancelRequested = false;
      return runExplanation(get().settings.method, secondModelId);
    },

    async resetEdits() {
      const { patientId } = get();
      if (!patientId || !get().revisions[patientId]?.length) return;
      const hadExplanation = !!selectedExplanation(get());
      set((s) => ({ revisions: { ...s.revisions, [patientId]: [] } }));
      await afterEdit(hadExplanation);
    },
  }));
  return store;
}

/** fetch() as the store wants it: text, or an error naming the URL and status. */
export async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`);
  // a static server's single-page fallback answers a missing file with index.html and 200
  if (!/\.html?$/.test(new URL(url, 'http://x/').pathname) && (res.headers.get('content-type') ?? '').includes('text/html'))
    throw new Error(`${url}: not found (the server answered with a web page)`);
  return res.text();
}
