// Teaching mode: a guided walk through one patient's explanation, every step computed live by the
// engine worker (no canned pictures): the interpolation path, how samples accumulate, why the
// reference matters, the randomisation sanity check, and EG against IG and occlusion. Its own small
// store, so the walk's jobs and results never mix with the workbench's explanations.
import { createStore } from 'zustand/vanilla';
import type { ReferenceFilter } from '../attribution/reference';
import type { AttributionResult, Method } from '../attribution/types';
import type { Patient } from '../data/schema';
import type { EngineCalls, InterpolationPath, RandomisationStage, ReferencePatientSummary } from './engine-client';

export const TEACHING_STEPS = [
  { id: 'path', title: 'The path from a reference patient' },
  { id: 'convergence', title: 'Samples accumulate, the gap shrinks' },
  { id: 'reference', title: 'Why the reference matters' },
  { id: 'sanity', title: 'Sanity check: a randomised model' },
  { id: 'methods', title: 'Expected gradients, integrated gradients, occlusion' },
] as const;
export type TeachingStepId = (typeof TEACHING_STEPS)[number]['id'];

/** What the walk explains: the workbench's current model, patient (revision) and task. */
export interface TeachingContext {
  /** identifies model, patient revision, task and seed: results are kept only while it stays the same */
  key: string;
  modelId: string;
  patient: Patient;
  task: string;
  seed: number;
}

export interface ConvergencePoint {
  samples: number;
  gap: number;
  /** |gap| as a share of |f(x) - mean f(x')| */
  relativeGap: number;
  /** the same share for the plain mean of the samples, before the control variate */
  relativePlainGap: number;
  stderr: number;
}

type Status = 'idle' | 'running' | 'done' | 'cancelled' | 'error';
interface StepState<T> {
  status: Status;
  data: T | null;
}

export interface TeachingState {
  step: number;
  /** the context the results belong to; results of another are dropped */
  contextKey: string | null;
  error: string | null;
  refs: ReferencePatientSummary[];
  path: StepState<InterpolationPath & { reference: ReferencePatientSummary }>;
  convergence: StepState<{ history: ConvergencePoint[]; result: AttributionResult | null; samples: number }>;
  reference: StepState<{ filters: [ReferenceFilter, ReferenceFilter]; results: [AttributionResult | null, AttributionResult | null] }>;
  sanity: StepState<{ original: AttributionResult | null; stages: RandomisationStage[]; total: number }>;
  methods: StepState<Partial<Record<Method, AttributionResult>>>;
  go(step: number): void;
  /** follow the workbench's selection: results of another patient, revision, model or task are dropped */
  sync(): void;
  /** reference patients of the whole population (for the path step's picker) */
  loadRefs(): Promise<void>;
  runPath(refIndex: number): Promise<void>;
  runConvergence(samples?: number): Promise<void>;
  runReference(a: ReferenceFilter, b: ReferenceFilter): Promise<void>;
  runSanity(): Promise<void>;
  runMethods(): Promise<void>;
  cancel(): Promise<void>;
}

export type TeachingStore = ReturnType<typeof createTeachingStore>;

/** Samples per step: enough to be stable on the shipped model, few enough to run in seconds on wasm. */
export const TEACHING_SAMPLES = { convergence: 256, convergenceBatch: 8, reference: 64, sanity: 32, eg: 64, igSteps: 32 };

type Calls = Pick<EngineCalls, 'attribute' | 'cancel' | 'referencePatients' | 'interpolationPath' | 'randomisationCheck'>;

const idle = <T>(): StepState<T> => ({ status: 'idle', data: null });
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function createTeachingStore(engine: Calls, context: () => TeachingContext | null) {
  let jobCounter = 0;
  let runningJob: string | null = null;

  const store = createStore<TeachingState>()((set, get) => {
    /** The current context, dropping results computed for another one. */
    const current = (): TeachingContext | null => {
      const c = context();
      if (!c) return null;
      const key = c.key;
      if (get().contextKey !== key) {
        if (runningJob) void get().cancel();
        set({ contextKey: key, error: null, refs: [], path: idle(), convergence: idle(), reference: idle(), sanity: idle(), methods: idle() });
      }
      return c;
    };
    /** Run one step's work; a newer run or a context change makes an older one's late answers drop. */
    const run = async <K extends 'path' | 'convergence' | 'reference' | 'sanity' | 'methods'>(
      step: K,
      work: (c: TeachingContext, jobId: string, patch: (data: TeachingState[K]['data']) => void) => Promise<Status>,
    ): Promise<void> => {
      const c = current();
      if (!c) return;
      if (runningJob) await get().cancel();
      const jobId = `teach-${++jobCounter}`;
      const key = get().contextKey;
      runningJob = jobId;
      const live = () => runningJob === jobId && get().contextKey === key;
      const patch = (data: TeachingState[K]['data']) => live() && set({ [step]: { status: 'running', data } } as Partial<TeachingState>);
      set({ [step]: { status: 'running', data: null }, error: null } as Partial<TeachingState>);
      try {
        const status = await work(c, jobId, patch);
        if (live()) set((s) => ({ [step]: { status, data: s[step].data } }) as Partial<TeachingState>);
      } catch (e) {
        if (live()) set({ [step]: { status: 'error', data: get()[step].data }, error: `${TEACHING_STEPS.find((t) => t.id === step)!.title}: ${message(e)}` } as Partial<TeachingState>);
      } finally {
        if (runningJob === jobId) runningJob = null;
      }
    };
    const explain = (c: TeachingContext, jobId: string, method: Method, samples: number, reference: ReferenceFilter, onProgress?: (r: AttributionResult) => void, batchSize?: number) =>
      engine.attribute(jobId, c.modelId, { patient: c.patient, task: c.task, method, samples, seed: c.seed, reference, batchSize }, onProgress);

    return {
      step: 0,
      contextKey: null,
      error: null,
      refs: [],
      path: idle(),
      convergence: idle(),
      reference: idle(),
      sanity: idle(),
      methods: idle(),

      sync() {
        current();
      },

      go(step) {
        set({ step: Math.max(0, Math.min(TEACHING_STEPS.length - 1, step)) });
      },

      async loadRefs() {
        const c = current();
        if (!c || get().refs.length) return;
        try {
          set({ refs: await engine.referencePatients(c.modelId, {}, c.task) }); // (a task's population only)
        } catch (e) {
          set({ error: `The reference patients could not be listed: ${message(e)}` });
        }
      },

      runPath(refIndex) {
        return run('path', async (c, _jobId, patch) => {
          patch(await engine.interpolationPath(c.modelId, c.patient, c.task, {}, refIndex, 21));
          return 'done';
        });
      },

      runConvergence(samples = TEACHING_SAMPLES.convergence) {
        return run('convergence', async (c, jobId, patch) => {
          const history: ConvergencePoint[] = [];
          const point = (r: AttributionResult): ConvergencePoint => {
            const span = Math.max(1e-9, Math.abs(r.logit - r.referenceLogit));
            return { samples: r.samplesDone, gap: r.gap, relativeGap: Math.abs(r.gap) / span, relativePlainGap: Math.abs(r.plainGap) / span, stderr: r.stderr };
          };
          // small batches, so that the estimate is seen after every 8 samples
          const out = await explain(c, jobId, 'eg', samples, {}, (r) => {
            history.push(point(r));
            patch({ history: history.slice(), result: r, samples });
          }, TEACHING_SAMPLES.convergenceBatch);
          patch({ history, result: out.result, samples });
          return out.result.cancelled ? 'cancelled' : 'done';
        });
      },

      runReference(a, b) {
        return run('reference', async (c, jobId, patch) => {
          const first = await explain(c, jobId, 'eg', TEACHING_SAMPLES.reference, a);
          patch({ filters: [a, b], results: [first.result, null] });
          if (first.result.cancelled) return 'cancelled';
          const second = await explain(c, jobId, 'eg', TEACHING_SAMPLES.reference, b);
          patch({ filters: [a, b], results: [first.result, second.result] });
          return second.result.cancelled ? 'cancelled' : 'done';
        });
      },

      runSanity() {
        return run('sanity', async (c, jobId, patch) => {
          const stages: RandomisationStage[] = [];
          let total = 0;
          const out = await engine.randomisationCheck(
            jobId,
            c.modelId,
            { patient: c.patient, task: c.task, method: 'eg', samples: TEACHING_SAMPLES.sanity, seed: c.seed, reference: {} },
            (s, _done, n) => {
              stages.push(s);
              total = n;
              patch({ original: null, stages: stages.slice(), total });
            },
          );
          patch({ original: out.original, stages: out.stages, total: total || out.stages.length });
          return out.cancelled ? 'cancelled' : 'done';
        });
      },

      runMethods() {
        return run('methods', async (c, jobId, patch) => {
          const results: Partial<Record<Method, AttributionResult>> = {};
          const plan: Array<[Method, number]> = [
            ['eg', TEACHING_SAMPLES.eg],
            ['ig', TEACHING_SAMPLES.igSteps],
            ['occlusion', 0],
          ];
          for (const [m, n] of plan) {
            const out = await explain(c, jobId, m, n, {});
            if (out.result.cancelled) return 'cancelled';
            results[m] = out.result;
            patch({ ...results });
          }
          return 'done';
        });
      },

      async cancel() {
        const jobId = runningJob;
        if (!jobId) return;
        runningJob = null;
        // marked before the await, so that a run started meanwhile is not marked too
        for (const k of ['path', 'convergence', 'reference', 'sanity', 'methods'] as const)
          if (get()[k].status === 'running') set({ [k]: { status: 'cancelled', data: get()[k].data } } as Partial<TeachingState>);
        await engine.cancel(jobId).catch(() => false);
      },
    };
  });
  return store;
}
