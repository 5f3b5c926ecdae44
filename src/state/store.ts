// The workbench's state: what is loaded, what is selected, what the engine computed. Views read it
// with selectors and act only through its actions; the engine (worker) is injected, so the store
// runs in Node tests with a fake engine.
import { z } from 'zod';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { parsePatientsText, type Patient } from '../data/schema';
import type { BackendName, EngineCalls, LoadedModelInfo, PredictionRow } from './engine-client';

export const ModelIndexSchema = z.array(z.object({ id: z.string().min(1), path: z.string().min(1) })).min(1, 'lists no models');
export type ModelEntry = z.infer<typeof ModelIndexSchema>[number];

/** Where the shipped assets are, relative to the app's base URL. */
export const ASSETS = { modelIndex: 'models/index.json', cohort: 'cohort/patients.jsonl' } as const;

export interface WorkbenchDeps {
  engine: Pick<EngineCalls, 'init' | 'loadModel' | 'predict'>;
  /** GET a text file served with the app; rejects on HTTP errors */
  fetchText: (url: string) => Promise<string>;
  /** absolute URL of an app-relative path (the worker needs absolute URLs) */
  resolve: (path: string) => string;
  preferredBackend?: BackendName;
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
  models: ModelEntry[];
  modelId: string | null;
  /** loaded models by id (config summary and card) */
  modelInfo: Record<string, LoadedModelInfo>;
  patients: Patient[];
  patientId: string | null;
  /** prediction rows by predictionKey(model, patient) */
  predictions: Record<string, PredictionRow[]>;

  start(): Promise<void>;
  selectModel(id: string): Promise<void>;
  selectPatient(id: string | null): Promise<void>;
}

export type WorkbenchStore = StoreApi<WorkbenchState>;

export const predictionKey = (modelId: string, patientId: string) => `${modelId}\u0000${patientId}`;

/** Selectors */
export const selectedPatient = (s: WorkbenchState): Patient | null => s.patients.find((p) => p.id === s.patientId) ?? null;
export const selectedModelInfo = (s: WorkbenchState): LoadedModelInfo | null => (s.modelId ? s.modelInfo[s.modelId] ?? null : null);
export const selectedPrediction = (s: WorkbenchState): PredictionRow[] | null =>
  s.modelId && s.patientId ? s.predictions[predictionKey(s.modelId, s.patientId)] ?? null : null;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

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

  /** Predict the selected patient with the selected model, unless already known. */
  const refreshPrediction = async (): Promise<void> => {
    const { modelId, patientId, modelInfo, predictions, patients } = store.getState();
    if (!modelId || !patientId || !modelInfo[modelId]) return;
    const key = predictionKey(modelId, patientId);
    if (predictions[key]) return;
    const patient = patients.find((p) => p.id === patientId);
    if (!patient) return;
    try {
      const rows = await once(`predict:${key}`, `Predicting ${patientId}…`, () => deps.engine.predict(modelId, [patient]));
      store.setState((s) => ({ predictions: { ...s.predictions, [key]: rows }, error: null }));
    } catch (e) {
      store.setState({ error: `Prediction for ${patientId} failed: ${message(e)}` });
    }
  };

  const store = createStore<WorkbenchState>()((set, get) => ({
    phase: 'starting',
    backend: null,
    busy: null,
    error: null,
    models: [],
    modelId: null,
    modelInfo: {},
    patients: [],
    patientId: null,
    predictions: {},

    async start() {
      set({ phase: 'starting', busy: 'Starting the engine…', error: null });
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
      if (backend.status === 'fulfilled') set({ backend: backend.value });
      else problems.push(`The model engine could not start: ${message(backend.reason)}`);
      if (index.status === 'fulfilled') set({ models: index.value });
      else problems.push(`The model list could not be read: ${message(index.reason)}`);
      if (cohort.status === 'fulfilled') set({ patients: cohort.value, patientId: get().patientId ?? cohort.value[0]?.id ?? null });
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
      const entry = get().models.find((m) => m.id === id);
      if (!entry) {
        set({ error: `Unknown model ${id}` });
        return;
      }
      set({ modelId: id });
      if (!get().modelInfo[id]) {
        try {
          const info = await once(`load:${id}`, `Loading model ${id}…`, () => deps.engine.loadModel(id, deps.resolve(entry.path)));
          set((s) => ({ modelInfo: { ...s.modelInfo, [id]: info }, error: null }));
        } catch (e) {
          set({ error: `Model ${id} could not be loaded: ${message(e)}` });
          return;
        }
      }
      await refreshPrediction();
    },

    async selectPatient(id) {
      set({ patientId: id });
      await refreshPrediction();
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
