// The typed client of the engine worker. Views never talk to the worker directly: they go through
// the store, which holds one Engine.
import { proxy, wrap, type Remote } from 'comlink';
import { ImportError } from '../data/import/source';
import type { EngineApi } from '../../workers/engine.worker';
import type { ImportApi, ImportJob, ImportOutcome } from '../../workers/import.worker';
export type { ImportJob, ImportOutcome };

export type { AttributeJob, AttributeOutcome, BackendName, LoadedModelInfo, ModelSummary, PredictionRow, ReferenceRisks } from '../../workers/engine.worker';

/** The worker's API as the page sees it: every call returns a promise. */
export type Engine = Remote<EngineApi>;

/** The same calls as plain async functions: what the store depends on (a fake in tests). */
export type EngineCalls = { [K in keyof EngineApi]: (...args: Parameters<EngineApi[K]>) => Promise<Awaited<ReturnType<EngineApi[K]>>> };

export interface EngineHandle {
  engine: Engine;
  /** stop the worker (frees its tensors and GPU memory) */
  terminate(): void;
}

/** The engine as plain async calls for the store: callbacks cross the worker boundary as comlink
 *  proxies (a plain function cannot be posted to a worker). */
export function engineCalls(engine: Engine): EngineCalls {
  return {
    init: (...a) => engine.init(...a),
    loadModel: (...a) => engine.loadModel(...a),
    loadModelFiles: (...a) => engine.loadModelFiles(...a),
    unloadModel: (...a) => engine.unloadModel(...a),
    predict: (...a) => engine.predict(...a),
    attribute: (jobId, modelId, job, onProgress) => engine.attribute(jobId, modelId, job, onProgress ? proxy(onProgress) : undefined),
    referenceRisks: (...a) => engine.referenceRisks(...a),
    cancel: (...a) => engine.cancel(...a),
    importContext: (...a) => engine.importContext(...a),
    loseDevice: () => engine.loseDevice(),
    backend: () => engine.backend(),
  };
}

export function createEngine(): EngineHandle {
  const worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'exbehrt-engine' });
  return { engine: wrap<EngineApi>(worker), terminate: () => worker.terminate() };
}

/** An absolute URL for a path served with the app (e.g. `models/exbehrt/`), resolved against the
 *  app's base, so the worker fetches the same thing the page would. */
export function appUrl(path: string, base = import.meta.env.BASE_URL, location = globalThis.location.href): string {
  return new URL(path, new URL(base, location)).href;
}

/** The import worker (files -> de-identified timelines), created on first use. */
export type Importer = Remote<ImportApi>;
export type ImporterCalls = {
  importFiles: (jobId: string, job: ImportJob, onProgress?: (phase: string, done: number, total: number) => void) => Promise<ImportOutcome>;
  cancel: (jobId: string) => Promise<boolean>;
};

export function createImporter(): ImporterCalls {
  let worker: Worker | null = null;
  let api: Importer | null = null;
  const pending = new Map<string, (e: Error) => void>();
  const get = () => {
    if (!api) {
      worker = new Worker(new URL('../../workers/import.worker.ts', import.meta.url), { type: 'module', name: 'exbehrt-import' });
      api = wrap<ImportApi>(worker);
    }
    return api;
  };
  return {
    importFiles: (jobId, job, onProgress) =>
      new Promise<ImportOutcome>((resolve, reject) => {
        pending.set(jobId, reject);
        get()
          .importFiles(job, onProgress ? proxy(onProgress) : undefined)
          .then(resolve, reject)
          .finally(() => pending.delete(jobId));
      }),
    async cancel(jobId) {
      if (!pending.has(jobId)) return false;
      // A parser busy in synchronous work (a large or damaged file) never sees an abort signal, so
      // cancel stops the worker itself; the next import starts a fresh one.
      worker?.terminate();
      worker = null;
      api = null;
      for (const reject of pending.values()) reject(new ImportError('cancelled'));
      pending.clear();
      return true;
    },
  };
}
