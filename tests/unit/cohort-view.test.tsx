// The cohort view's page side: lasso geometry and selection stats (pure), the scatter's view model
// and renderers (SVG for small cohorts, a canvas with role="img" for large ones, the same legend),
// and the store's cohort attribution action with a fake engine (progress, done, cancel, errors,
// cleared by a new cohort run).
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { nearestPoint, pathExtent, pointInPolygon, selectInPolygon, selectionStats } from '../../src/cohort/lasso';
import { CohortPanel } from '../../src/app/CohortPanel';
import { CANVAS_THRESHOLD, clusterColour, OUTCOME_COLOURS, scatterLayout, scatterLegend, SCATTER_HEIGHT, SCATTER_WIDTH } from '../../src/app/cohort/scatter-model';
import type { Patient } from '../../src/data/schema';
import type { CohortAttributionJob, CohortAttributionOutcome, CohortOutcome, LoadedModelInfo, PredictionRow } from '../../src/state/engine-client';
import { ASSETS, createWorkbenchStore, type CohortState, type WorkbenchDeps } from '../../src/state/store';

describe('lasso geometry', () => {
  const square = [0, 0, 10, 0, 10, 10, 0, 10];
  it('point in polygon: a square, outside, and fewer than three vertices', () => {
    expect(pointInPolygon(5, 5, square)).toBe(true);
    expect(pointInPolygon(11, 5, square)).toBe(false);
    expect(pointInPolygon(5, -0.1, square)).toBe(false);
    expect(pointInPolygon(1, 1, [0, 0, 10, 10])).toBe(false);
  });

  it('a concave (U-shaped) lasso leaves the notch out', () => {
    // U: outer 0..30 x 0..30, notch 10..20 x 10..30 open at the top (y = 30)
    const u = [0, 0, 30, 0, 30, 30, 20, 30, 20, 10, 10, 10, 10, 30, 0, 30];
    expect(pointInPolygon(5, 20, u)).toBe(true);
    expect(pointInPolygon(25, 20, u)).toBe(true);
    expect(pointInPolygon(15, 5, u)).toBe(true);
    expect(pointInPolygon(15, 20, u)).toBe(false);
  });

  it('a self-crossing lasso (figure eight) selects both loops by the even-odd rule', () => {
    const bowtie = [0, 0, 10, 10, 10, 0, 0, 10];
    expect(pointInPolygon(2, 5, bowtie)).toBe(true);
    expect(pointInPolygon(8, 5, bowtie)).toBe(true);
    expect(pointInPolygon(5, 1, bowtie)).toBe(false);
  });

  it('selectInPolygon returns ascending indices of the enclosed points; an open path closes itself', () => {
    const xy = [6, 4, 20, 20, 1, 9, -1, 5, 9.9, 0.1];
    expect(selectInPolygon(xy, square)).toEqual([0, 2, 4]);
    expect(selectInPolygon(xy, [0, 0, 10, 0, 10, 10])).toEqual([0, 4]); // the triangle below the diagonal
    expect(selectInPolygon(xy, [0, 0, 5, 5])).toEqual([]);
  });

  it('nearest point within reach, ties to the point drawn last; the path extent tells a click from a drag', () => {
    const xy = [0, 0, 3, 0, 3, 0];
    expect(nearestPoint(xy, 2.9, 0.1, 1)).toBe(2);
    expect(nearestPoint(xy, 0.5, 0, 1)).toBe(0);
    expect(nearestPoint(xy, 10, 10, 6)).toBe(-1);
    expect(pathExtent([5, 5, 6, 7, 5, 6])).toBe(2);
    expect(pathExtent([0, 0, 40, 3])).toBe(40);
  });

  it('selection stats: count, outcome rate among known labels, mean risk', () => {
    const risks = [0.1, 0.5, 0.9, 0.3];
    const outcomes: Array<0 | 1 | null> = [1, 0, null, 1];
    const s = selectionStats([0, 1, 2], risks, outcomes);
    expect(s).toMatchObject({ count: 3, known: 2, positives: 1, outcomeRate: 0.5 });
    expect(s.meanRisk).toBeCloseTo(0.5, 12);
    expect(selectionStats([2], risks, outcomes).outcomeRate).toBeNull();
    expect(selectionStats([], risks, outcomes)).toEqual({ count: 0, known: 0, positives: 0, outcomeRate: null, meanRisk: null });
    expect(selectionStats([0], undefined, undefined).meanRisk).toBeNull();
  });
});

/** a cohort outcome of n points on a circle, in `k` clusters, with risks and outcomes for death_6m */
function outcomeOf(n: number, k = 3): CohortOutcome {
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const labels = ids.map((_, i) => i % k);
  const xy = ids.flatMap((_, i) => [Math.cos((2 * Math.PI * i) / n) * 5, Math.sin((2 * Math.PI * i) / n) * 5 + 1]);
  const risk = ids.map((_, i) => (i % 10) / 10);
  const clusters = Array.from({ length: k }, (_, c) => ({
    cluster: c,
    size: labels.filter((l) => l === c).length,
    meanAge: 70,
    female: 0.5,
    centre: [0, 0],
    tasks: { death_6m: { known: 10, positives: 3, rate: 0.3, meanRisk: 0.4, km: null } },
    distinguishing: [],
  }));
  return {
    ids,
    xy,
    labels,
    risks: { death_6m: risk },
    outcomes: { death_6m: ids.map((_, i) => (i % 3 === 0 ? 1 : i % 3 === 1 ? 0 : null)) },
    summary: { n, tasks: ['death_6m'], overall: clusters[0], clusters, rateTest: {} } as unknown as CohortOutcome['summary'],
    params: { method: 'kmeans', k, space: 'umap', seed: 0, nNeighbors: 15, minDist: 0.1, representation: 'pooled' },
    timings: { umapMs: 1, clusterMs: 1, summaryMs: 1, representMs: 1 },
  };
}

describe('the scatter view model and renderers', () => {
  it('one layout for both renderers: pixel coordinates inside the box (y up), colours per colouring', () => {
    const o = outcomeOf(50);
    const byCluster = scatterLayout(o, 'death_6m', 'cluster');
    expect(byCluster.xy.length).toBe(100);
    for (let i = 0; i < 50; i++) {
      expect(byCluster.xy[2 * i]).toBeGreaterThanOrEqual(12 - 1e-9);
      expect(byCluster.xy[2 * i]).toBeLessThanOrEqual(SCATTER_WIDTH - 12 + 1e-9);
      expect(byCluster.xy[2 * i + 1]).toBeLessThanOrEqual(SCATTER_HEIGHT - 12 + 1e-9);
    }
    // the highest UMAP y is drawn at the top
    const top = o.xy.reduce((best, v, j) => (j % 2 && v > o.xy[2 * best + 1] ? (j - 1) / 2 : best), 0);
    expect(byCluster.xy[2 * top + 1]).toBeCloseTo(12, 9);
    expect(byCluster.fills[4]).toBe(clusterColour(1));
    const byOutcome = scatterLayout(o, 'death_6m', 'outcome');
    expect(byOutcome.fills.slice(0, 3)).toEqual([OUTCOME_COLOURS.positive, OUTCOME_COLOURS.negative, OUTCOME_COLOURS.unknown]);
    const byRisk = scatterLayout(o, 'death_6m', 'risk');
    expect(byRisk.fills[0]).not.toBe(byRisk.fills[9]);
    expect(byRisk.xy).toEqual(byCluster.xy);
    expect(scatterLegend('cluster', [2, -1, 0, 1, 0], 'death_6m').map((e) => e.label)).toEqual(['cluster 0', 'cluster 1', 'cluster 2', 'noise']);
    expect(scatterLegend('outcome', [], 'death_6m')).toHaveLength(3);
  });

  const panel = (o: CohortOutcome, extra: Partial<Parameters<typeof CohortPanel>[0]> = {}) => {
    const state: CohortState = { jobId: 'c1', modelId: 'exbehrt', status: 'done', stage: 'summary', done: 1, total: 1, job: { method: 'kmeans', k: 3 }, outcome: o };
    return renderToStaticMarkup(<CohortPanel state={state} tasks={['death_6m']} task="death_6m" selectedId="p1" onRun={() => {}} onCancel={() => {}} onOpen={() => {}} {...extra} />);
  };

  it(`small cohorts are SVG circles; over ${CANVAS_THRESHOLD} points a canvas with role="img" and a label; both with a legend`, () => {
    const small = panel(outcomeOf(40));
    expect(small).toContain('data-renderer="svg"');
    expect((small.match(/<circle /g) ?? []).length).toBe(40);
    expect(small).toMatch(/<circle[^>]*r="6"[^>]*data-patient-id="p1"/);
    expect(small).toContain('data-testid="cohort-legend"');
    const large = panel(outcomeOf(CANVAS_THRESHOLD + 1));
    expect(large).toContain('data-renderer="canvas"');
    expect(large).not.toContain('<circle ');
    expect(large).toMatch(/<canvas[^>]*role="img"[^>]*aria-label="UMAP of 401 patients in 3 clusters/);
    expect(large).toContain('cluster 2</li>');
    // the per-cluster table is still there: the text equivalent of the picture
    expect((large.match(/<tr data-cluster=/g) ?? []).length).toBe(3);
  });

  it('shows a button per cluster for the mean attribution, and a cluster attribution running or done', () => {
    const o = outcomeOf(40);
    const base = { jobId: 'a', modelId: 'exbehrt', task: 'death_6m', samples: 8, seed: 0, reference: {}, total: 14 };
    const html = panel(o, {
      onAttribute: () => {},
      attributions: {
        0: { ...base, cluster: 0, status: 'running', done: 3 },
        1: {
          ...base,
          cluster: 1,
          status: 'done',
          done: 13,
          outcome: {
            task: 'death_6m', samples: 8, seed: 0, patients: ['p1', 'p4'], total: 2, outsidePopulation: 0, cancelled: false, referenceSize: 300, backend: 'wasm',
            codes: [{ key: 'diagnosis:C78.7', modality: 'diagnosis', code: 'C78.7', description: 'Secondary malignant neoplasm of liver', patients: 2, total: 1.5, meanPerPatient: 0.75, meanWhenPresent: 0.75 }],
          },
        },
      },
    });
    expect((html.match(/data-testid="cohort-attr-run-/g) ?? []).length).toBe(3);
    expect(html).toContain('3/14 patients');
    expect(html).toContain('data-testid="cohort-attr-cancel"');
    expect(html).toMatch(/data-testid="cohort-attr-table-1"[\s\S]*data-mean="0.75"[\s\S]*Secondary malignant neoplasm of liver[\s\S]*0\.750[\s\S]*2\/2/);
    // without the action the column is not offered
    expect(panel(o)).not.toContain('cohort-attr-run-');
  });
});

// ------------------------------------------------------------------------------------------------
// the store's cohort attribution action, with a fake engine

const patient: Patient = {
  id: 'p0',
  sex: 'F',
  birthDate: '1950-06-01',
  visits: [{ date: '2019-01-10', events: [{ modality: 'diagnosis', code: 'C78.7' }] }],
};
const info: LoadedModelInfo = {
  id: 'exbehrt',
  name: 'exbehrt',
  config: { model_type: 'exbehrt', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, max_len: 32, modalities: [], tasks: [{ name: 'hf_12m' }, { name: 'death_6m' }] },
  card: null,
};

function fakeStore(opts: { fail?: string } = {}) {
  const cancelled = new Set<string>();
  const jobs: Array<{ jobId: string; job: CohortAttributionJob }> = [];
  const patients = Array.from({ length: 6 }, (_, i) => ({ ...patient, id: `p${i}` }));
  const deps: WorkbenchDeps = {
    resolve: (p) => new URL(p, 'http://app.test/').href,
    fetchText: async (url) =>
      ({
        [ASSETS.modelIndex]: JSON.stringify([{ id: 'exbehrt', path: 'models/exbehrt/' }]),
        [ASSETS.cohort]: patients.map((p) => JSON.stringify(p)).join('\n') + '\n',
      })[url.replace('http://app.test/', '')]!,
    engine: {
      init: async () => 'wasm' as const,
      loadModel: async (id: string) => ({ ...info, id }),
      predict: async (_m: string, ps: Patient[]) => ps.map((p): PredictionRow => ({ patient_id: p.id, task: 'hf_12m', logit: 0, probability: 0.5 })),
      cancel: async (jobId: string) => (cancelled.add(jobId), true),
      // p0..p5 in clusters 0 1 0 1 0 1
      cohort: async (_j, _m, job) => ({ ...outcomeOf(job.patients.length, 2), ids: job.patients.map((p) => p.id) }),
      cohortAttribution: async (jobId, _m, job, onProgress): Promise<CohortAttributionOutcome> => {
        jobs.push({ jobId, job });
        const done: string[] = [];
        onProgress?.(0, job.patients.length);
        for (const p of job.patients) {
          await new Promise((r) => setTimeout(r, 2));
          if (cancelled.has(jobId)) break;
          if (opts.fail) throw new Error(opts.fail);
          done.push(p.id);
          onProgress?.(done.length, job.patients.length);
        }
        const codes = [{ key: 'diagnosis:C78.7', modality: 'diagnosis', code: 'C78.7', patients: done.length, total: done.length, meanPerPatient: 1, meanWhenPresent: 1 }];
        return { task: job.task, samples: job.samples ?? 32, seed: job.seed ?? 0, patients: done, total: job.patients.length, outsidePopulation: 0, codes, cancelled: cancelled.has(jobId), referenceSize: 300, backend: 'wasm' };
      },
    },
  };
  const store = createWorkbenchStore(deps);
  return { store, jobs, cancelled };
}

describe('cohort attribution through the store', () => {
  it("runs EG over one cluster's patients with the defaults (32 samples, seed 0, the workbench's reference filter), with progress", async () => {
    const { store, jobs } = fakeStore();
    await store.getState().start();
    store.getState().updateSettings({ reference: { sex: 'F' } });
    await store.getState().runCohortAttribution(0); // no cohort yet: nothing to do
    expect(jobs).toHaveLength(0);
    await store.getState().runCohort({ method: 'kmeans', k: 2 });
    const seen: number[] = [];
    const unsub = store.subscribe((s) => {
      const a = s.cohortAttributions[1];
      if (a && seen.at(-1) !== a.done) seen.push(a.done);
    });
    await store.getState().runCohortAttribution(1, { task: 'death_6m' });
    unsub();
    expect(jobs).toHaveLength(1);
    expect(jobs[0].job).toMatchObject({ task: 'death_6m', samples: 32, seed: 0, reference: { sex: 'F' } });
    expect(jobs[0].job.patients.map((p) => p.id)).toEqual(['p1', 'p3', 'p5']);
    expect(seen).toEqual([0, 1, 2, 3]);
    const a = store.getState().cohortAttributions[1];
    expect(a).toMatchObject({ status: 'done', cluster: 1, done: 3, total: 3, task: 'death_6m' });
    expect(a.outcome?.codes[0].key).toBe('diagnosis:C78.7');
    expect(store.getState().error).toBeNull();
  });

  it('cancel stops the job between patients and says so; a second cluster waits for the first to stop; a new cohort run clears them', async () => {
    const { store, jobs } = fakeStore();
    await store.getState().start();
    await store.getState().runCohort({ method: 'kmeans', k: 2 });
    const first = store.getState().runCohortAttribution(0, { samples: 8, reference: {} });
    await new Promise((r) => setTimeout(r, 3));
    await store.getState().cancelCohortAttribution();
    await first;
    const a = store.getState().cohortAttributions[0];
    expect(a.status).toBe('cancelled');
    expect(a.done).toBeLessThan(3);
    expect(a.outcome?.cancelled).toBe(true);
    // starting cluster 1 while cluster 0 runs cancels cluster 0 first
    const again = store.getState().runCohortAttribution(0);
    await new Promise((r) => setTimeout(r, 1));
    await store.getState().runCohortAttribution(1);
    await again;
    expect(store.getState().cohortAttributions[0].status).toBe('cancelled');
    expect(store.getState().cohortAttributions[1].status).toBe('done');
    expect(jobs.map((j) => j.job.samples)).toEqual([8, 32, 32]);
    await store.getState().runCohort({ method: 'kmeans', k: 3 });
    expect(store.getState().cohortAttributions).toEqual({});
    expect(store.getState().error).toBeNull();
  });

  it('a failure is named in the error line and on the cluster', async () => {
    const { store } = fakeStore({ fail: 'out of memory' });
    await store.getState().start();
    await store.getState().runCohort({ method: 'kmeans', k: 2 });
    await store.getState().runCohortAttribution(0, { task: 'hf_12m' });
    expect(store.getState().cohortAttributions[0]).toMatchObject({ status: 'error', error: 'out of memory' });
    expect(store.getState().error).toBe('Mean attribution per code for cluster 0 (hf_12m) failed: out of memory');
  });
});
