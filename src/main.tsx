// Entry point: one engine worker, one store, the app.
import { proxy } from 'comlink';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './app/app.css';
import { appUrl, createEngine, createImporter, engineCalls, type BackendName } from './state/engine-client';
import { createWorkbenchStore, fetchText } from './state/store';

// ?backend=wasm|cpu|webgpu picks where selection starts (handy for comparing backends). Not imported
// from backend.ts: that would pull tfjs into the page's bundle; tfjs lives in the worker only.
const requested = new URLSearchParams(location.search).get('backend');
const BACKENDS: readonly string[] = ['webgpu', 'wasm', 'cpu'] satisfies BackendName[];
const isBackendName = (s: string | null): s is BackendName => s !== null && BACKENDS.includes(s);
const { engine } = createEngine();
const store = createWorkbenchStore({
  engine: engineCalls(engine),
  importer: createImporter(),
  fetchText,
  resolve: (path) => appUrl(path),
  preferredBackend: isBackendName(requested) ? requested : undefined,
});

// the engine for the browser console and the browser checks (same calls the views use)
Object.assign(globalThis, { exbehrt: { engine, proxy } });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
void store.getState().start();
