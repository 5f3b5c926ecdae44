// Entry point: one engine worker, one store, the app. (`?bench=timeline` opens the timeline
// benchmark page instead; see bench/workbench.mjs.)
import { proxy } from 'comlink';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './app/app.css';
import { appUrl, createEngine, createImporter, type BackendName } from './state/engine-client';
import { indexedDbShelf } from './state/model-shelf';
import { createWorkbenchStore, currentRevision, fetchText, selectedPatient } from './state/store';
import { createTeachingStore } from './state/teaching';
import { createFeedbackStore, localStorageFlag } from './feedback/store';
import { indexedDbFeedbackStorage } from './feedback/storage';

const params = new URLSearchParams(location.search);
const root = createRoot(document.getElementById('root')!);

if (params.get('bench') === 'timeline') {
  const events = Number(params.get('events') ?? 2000);
  void import('./app/timeline/TimelineBench').then(({ TimelineBench }) => root.render(<TimelineBench events={events} warm={params.get('warm') !== '0'} remount={params.get('remount') === '1'} />));
} else {
  // ?backend=wasm|cpu|webgpu picks where selection starts (handy for comparing backends). Not imported
  // from backend.ts: that would pull tfjs into the page's bundle; tfjs lives in the worker only.
  const requested = params.get('backend');
  const BACKENDS: readonly string[] = ['webgpu', 'wasm', 'cpu'] satisfies BackendName[];
  const isBackendName = (s: string | null): s is BackendName => s !== null && BACKENDS.includes(s);
  const engine = createEngine();
  const store = createWorkbenchStore({
    engine: engine.calls,
    importer: createImporter(),
    shelf: typeof indexedDB === 'undefined' ? undefined : indexedDbShelf,
    // after "Forget everything" deleted the database (models and feedback): also forget that
    // feedback was to be kept, then start afresh
    reload: () => {
      localStorageFlag.set(false);
      location.reload();
    },
    fetchText,
    resolve: (path) => appUrl(path),
    preferredBackend: isBackendName(requested) ? requested : undefined,
  });

  // clinician feedback: in the page only, unless the user asks to keep it in this browser
  const feedback = createFeedbackStore({ storage: typeof indexedDB === 'undefined' ? undefined : indexedDbFeedbackStorage, enabledFlag: localStorageFlag });
  void feedback.getState().load();

  // the teaching walk explains what the workbench has selected, on the same engine
  const teaching = createTeachingStore(engine.calls, () => {
    const s = store.getState();
    const patient = selectedPatient(s);
    return s.modelId && patient && s.task
      ? { key: [s.modelId, patient.id, currentRevision(s), s.task, s.settings.seed].join('|'), modelId: s.modelId, patient, task: s.task, seed: s.settings.seed }
      : null;
  });

  // a fresh worker after a crash: the store reloads the models and says what happened
  engine.onRestart((why) => void store.getState().engineRestarted(why));

  // the engine for the browser console and the browser checks (same calls the views use);
  // killEngine() stops the worker as a crash would (fault injection)
  Object.assign(globalThis, {
    exbehrt: {
      get engine() {
        return engine.current();
      },
      proxy,
      killEngine: (why?: string) => engine.kill(why),
    },
  });

  root.render(
    <StrictMode>
      <App store={store} teaching={teaching} feedback={feedback} canKeep={typeof indexedDB !== 'undefined'} />
    </StrictMode>,
  );
  // ?fault=webgpu-adapter: the worker's WebGPU adapter request fails (fault injection for the
  // browser checks and demos); queued before start(), so it reaches the worker before init
  if (params.get('fault') === 'webgpu-adapter') void engine.calls.failWebgpuAdapter();
  void store.getState().start();

  // offline after one visit: the service worker precaches the app and the shipped models (built
  // app only; the dev server serves modules that change on every edit)
  if (import.meta.env.PROD && 'serviceWorker' in navigator) {
    void navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((e) => console.warn(`[offline] service worker not registered: ${e.message}`));
  }
}
