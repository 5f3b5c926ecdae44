// The typed client of the engine worker. Views never talk to the worker directly: they go through
// the store, which holds one Engine.
import { proxy, wrap, type Remote } from 'comlink';
import { ImportError } from '../data/import/source';
import type { Patient } from '../data/schema';
import type { EngineApi } from '../../workers/engine.worker';
import type { ImportApi, ImportJob, ImportOutcome } from '../../workers/import.worker';
export type { ImportJob, ImportOutcome };

export type { AttributeJob, AttributeOutcome, CohortAttributionJob, CohortAttributionOutcome, CohortJob, CohortOutcome, BackendName, InterpolationPath, LoadedModelInfo, ModelSummary, PredictionRow, RandomisationStage, ReferencePatientSummary, ReferenceRisks } from '../../workers/engine.worker';

/** The worker's API as the page sees it: every call returns a promise. */
export type Engine = Remote<EngineApi>;

/** The same calls as plain async functions: what the store depends on (a fake in tests). */
export type EngineCalls = { [K in keyof EngineApi]: (...args: Parameters<EngineApi[K]>) => Promise<Awaited<ReturnType<EngineApi[K]>>> };

/** A call that was in flight when its worker stopped (crashed, or was terminated). */
export class EngineStoppedError extends Error {
  constructor(why: string) {
    super(`the model engine stopped (${why}); a fresh one was started`);
    this.name = 'EngineStoppedError';
  }
}

export interface EngineHandle {
  /** the engine as plain async calls, always on the current worker */
  calls: EngineCalls;
  /** the current worker's comlink proxy (for the browser checks) */
  current(): Engine;
  /** stop the worker as a crash would (fault injection and tests); pending calls fail with
   *  EngineStoppedError and a fresh worker takes the next call */
  kill(why?: string): void;
  /** called after a fresh worker replaced a stopped one (models must be loaded again) */
  onRestart(f: (why: string) => void): void;
}

/** The engine worker, supervised: if it dies (an uncaught error outside a call, e.g. out of memory,
 *  or it is terminated), every pending call is rejected with EngineStoppedError instead of waiting
 *  forever, a fresh worker is started, and onRestart listeners are told, so the store can reload
 *  its models and report the interrupted job as cancelled. Callbacks cross the worker boundary as
 *  comlink proxies (a plain function cannot be posted to a worker). */
export function createEngine(): EngineHandle {
  let worker: Worker;
  let engine: Engine;
  let died: Promise<never>;
  let die: (e: Error) => void = () => {};
  const listeners: Array<(why: string) => void> = [];
  const start = () => {
    worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'exbehrt-engine' });
    engine = wrap<EngineApi>(worker);
    died = new Promise<never>((_, reject) => (die = reject));
    died.catch(() => {}); // observed through the races below
    worker.addEventListener('error', (e) => kill(e.message || 'the worker failed'));
  };
  const kill = (why = 'terminated') => {
    worker.terminate();
    const previous = die;
    start();
    previous(new EngineStoppedError(why));
    for (const f of listeners) f(why);
  };
  /** a call on the current worker that fails (rather than hangs) if that worker dies */
  const guard = <T>(f: (e: Engine) => Promise<T>): Promise<T> => Promise.race([f(engine), died]);
  start();
  const calls: EngineCalls = {
    init: (...a) => guard((e) => e.init(...a)),
    loadModel: (...a) => guard((e) => e.loadModel(...a)),
    loadModelFiles: (...a) => guard((e) => e.loadModelFiles(...a)),
    unloadModel: (...a) => guard((e) => e.unloadModel(...a)),
    predict: (...a) => guard((e) => e.predict(...a)),
    attribute: (jobId, modelId, job, onProgress) => guard((e) => e.attribute(jobId, modelId, job, onProgress ? proxy(onProgress) : undefined)),
    referenceRisks: (...a) => guard((e) => e.referenceRisks(...a)),
    cancel: (...a) => guard((e) => e.cancel(...a)),
    importContext: (...a) => guard((e) => e.importContext(...a)),
    tokenInfo: (...a) => guard((e) => e.tokenInfo(...a)),
    referencePatients: (...a) => guard((e) => e.referencePatients(...a)),
    interpolationPath: (...a) => guard((e) => e.interpolationPath(...a)),
    randomisationCheck: (jobId, modelId, job, onStage) => guard((e) => e.randomisationCheck(jobId, modelId, job, onStage ? proxy(onStage) : undefined)),
    cohort: (jobId, modelId, job, onProgress) => guard((e) => e.cohort(jobId, modelId, job, onProgress ? proxy(onProgress) : undefined)),
    cohortAttribution: (jobId, modelId, job, onProgress) => guard((e) => e.cohortAttribution(jobId, modelId, job, onProgress ? proxy(onProgress) : undefined)),
    loseDevice: () => guard((e) => e.loseDevice()),
    backend: () => guard((e) => e.backend()),
    skippedBackends: () => guard((e) => e.skippedBackends()),
    failWebgpuAdapter: () => guard((e) => e.failWebgpuAdapter()),
    memory: () => guard((e) => e.memory()),
  };
  return { calls, current: () => engine, kill, onRestart: (f) => void listeners.push(f) };
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
        // the timelines arrive in parts, each read in a task of its own (src/data/parts.ts)
        const parts: Patient[][] = [];
        get()
          .importFiles(job, onProgress ? proxy(onProgress) : undefined, proxy((part: Patient[]) => void parts.push(part)))
          .then((out) => resolve({ ...out, patients: parts.flat() }), reject)
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
