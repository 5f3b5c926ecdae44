// The workbench's explanation flow with a fake engine: explain (progress, done, cancel), compare,
// what-if edits (re-predict, re-explain, undo), percentiles, settings validation, and exports.
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { AttributeRequest, AttributionResult } from '../../src/attribution/types';
import { ComparePanel } from '../../src/app/ComparePanel';
import { ExplainPanel } from '../../src/app/ExplainPanel';
import { attributionsCsv, attributionsJson, csvCell, exportName, type ExportContext } from '../../src/app/export';
import { ordinalPercent } from '../../src/app/RiskCard';
import { WhatIfPanel } from '../../src/app/WhatIfPanel';
import type { Patient } from '../../src/data/schema';
import type { AttributeJob, LoadedModelInfo, PredictionRow } from '../../src/state/engine-client';
import {
  ASSETS,
  createWorkbenchStore,
  DEFAULT_SETTINGS,
  explanationFor,
  isBackgroundUpdate,
  originalPrediction,
  percentileOf,
  selectedExplanation,
  selectedPatient,
  selectedPrediction,
  type WorkbenchDeps,
} from '../../src/state/store';

const patient: Patient = {
  id: 'p1',
  sex: 'F',
  birthDate: '1950-06-01',
  visits: [
    { date: '2019-01-10', events: [{ modality: 'diagnosis', code: 'I10' }, { modality: 'lab', code: '33762-6', value: 900, unit: 'pg/mL' }] },
    { date: '2020-06-02', events: [{ modality: 'diagnosis', code: 'E11.9' }, { modality: 'medication', code: 'C03CA01' }] },
  ],
};
const info: LoadedModelInfo = {
  id: 'exbehrt',
  name: 'exbehrt',
  config: { model_type: 'exbehrt', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, max_len: 32, modalities: ['lab', 'medication'], tasks: [{ name: 'hf_12m' }, { name: 'death_6m' }] },
  card: null,
};

/** A result whose numbers depend on the patient (so an edit visibly changes it). */
function fakeResult(p: Patient, method: AttributeRequest['method'], done: number, total: number): AttributionResult {
  const events = p.visits.flatMap((v, vi) =>
    v.events.map((e, ei) => ({ visit: vi, event: ei, part: e.modality, row: 0, t: vi + 1, modality: e.modality, code: e.code, value: (method === 'gxi' ? -1 : 1) * (vi + 1) * (ei + 1) * 0.1, stderr: 0.01 })),
  );
  const total_ = events.reduce((s, e) => s + e.value, 0);
  return {
    method,
    task: 'hf_12m',
    patientId: p.id,
    logit: total_,
    referenceLogit: 0,
    referenceSize: 300,
    samplesDone: done,
    samplesTotal: total,
    token: {},
    tokenStderr: {},
    visit: Object.fromEntries(p.visits.map((_, vi) => [vi, events.filter((e) => e.visit === vi).reduce((s, e) => s + e.value, 0)])),
    modality: { diagnosis: total_ },
    code: {},
    events,
    gap: method === 'gxi' || method === 'occlusion' ? NaN : 0.001,
    plainGap: method === 'gxi' || method === 'occlusion' ? NaN : 0.02,
    stderr: 0.01,
    truncatedVisits: 0,
    done: done === total,
    cancelled: false,
  };
}

function fake() {
  const calls: string[] = [];
  const cancelled = new Set<string>();
  const files: Record<string, string> = {
    [ASSETS.modelIndex]: JSON.stringify([{ id: 'exbehrt', path: 'models/exbehrt/' }]),
    [ASSETS.cohort]: [patient, { ...patient, id: 'p2' }].map((p) => JSON.stringify(p)).join('\n') + '\n',
  };
  const deps: WorkbenchDeps = {
    resolve: (p) => new URL(p, 'http://app.test/').href,
    fetchText: async (url) => files[url.replace('http://app.test/', '')],
    engine: {
      init: async () => 'wasm' as const,
      loadModel: async (id: string) => ({ ...info, id }),
      predict: async (_modelId: string, ps: Patient[]) => {
        calls.push(`predict ${ps.map((p) => `${p.id}:${p.visits.flatMap((v) => v.events).length}`).join(',')}`);
        return ps.flatMap((p): PredictionRow[] => {
          const n = p.visits.flatMap((v) => v.events).length;
          return [
            { patient_id: p.id, task: 'hf_12m', logit: n, probability: n / 10 },
            { patient_id: p.id, task: 'death_6m', logit: -n, probability: n / 100 },
          ];
        });
      },
      attribute: async (jobId: string, _modelId: string, job: AttributeJob, onProgress?: (r: AttributionResult) => void) => {
        calls.push(`attribute ${job.method} ${job.patient.visits.flatMap((v) => v.events).length}`);
        const total = job.method === 'eg' || job.method === 'ig' ? job.samples ?? 1 : 1;
        for (let done = Math.min(32, total); ; done = Math.min(total, done + 32)) {
          await new Promise((r) => setTimeout(r, 1));
          if (cancelled.has(jobId)) return { result: { ...fakeResult(job.patient, job.method, done, total), done: false, cancelled: true }, backend: 'wasm' as const };
          if (done === total) return { result: fakeResult(job.patient, job.method, done, total), backend: 'wasm' as const };
          onProgress?.(fakeResult(job.patient, job.method, done, total));
        }
      },
      cancel: async (jobId: string) => (cancelled.add(jobId), true),
      referenceRisks: async () => ({ description: 'ref', size: 4, ages: [40, 80] as [number, number], sexes: { F: 2, M: 2 }, sorted: { hf_12m: [0.1, 0.2, 0.3, 0.5], death_6m: [0, 0, 0.01, 0.9] } }),
    },
  };
  return { deps, calls };
}

async function started() {
  const f = fake();
  const store = createWorkbenchStore(f.deps);
  await store.getState().start();
  return { store, ...f };
}

describe('explanations in the store', () => {
  it('explains the selected patient and task with the settings, publishing progress before the end', async () => {
    const { store } = await started();
    expect(store.getState().task).toBe('hf_12m');
    const seen: number[] = [];
    const unsub = store.subscribe((s) => {
      const r = selectedExplanation(s)?.result;
      if (r && seen.at(-1) !== r.samplesDone) seen.push(r.samplesDone);
    });
    const e = await store.getState().explain();
    unsub();
    expect(e?.status).toBe('done');
    expect(seen).toEqual([32, 64, 96, 128]);
    expect(e?.referenceSize).toBe(300);
    expect(store.getState().runningKey).toBeNull();
    // the same request again is served from the store, not recomputed
    const again = await store.getState().explain();
    expect(again).toBe(store.getState().explanations[Object.keys(store.getState().explanations)[0]]);
  });

  it('marks the progress reports and the end as background updates (the view renders them in a transition), and nothing else', async () => {
    const { store } = await started();
    const updates: Array<{ background: boolean; samples: number | null; status: string | null }> = [];
    const unsub = store.subscribe((s) => {
      const e = selectedExplanation(s);
      updates.push({ background: isBackgroundUpdate(), samples: e?.result?.samplesDone ?? null, status: e?.status ?? null });
    });
    await store.getState().explain();
    unsub();
    expect(isBackgroundUpdate()).toBe(false);
    // the job starts (urgent: the user pressed Explain), then three progress reports and the end,
    // which also frees the engine, in one update each (background)
    expect(updates.map((u) => [u.background, u.status, u.samples])).toEqual([
      [false, 'running', null],
      [true, 'running', 32],
      [true, 'running', 64],
      [true, 'running', 96],
      [true, 'done', 128],
    ]);
    expect(store.getState().runningKey).toBeNull();
  });

  it('cancel stops the running job and keeps the partial estimate, marked cancelled', async () => {
    const { store } = await started();
    store.getState().updateSettings({ samples: 2048 });
    const job = store.getState().explain();
    await new Promise((r) => setTimeout(r, 5));
    await store.getState().cancel();
    const e = await job;
    expect(e?.status).toBe('cancelled');
    expect(e!.result!.samplesDone).toBeLessThan(2048);
    expect(store.getState().runningKey).toBeNull();
  });

  it('starting another explanation cancels the running one', async () => {
    const { store } = await started();
    store.getState().updateSettings({ samples: 4096 });
    const first = store.getState().explain();
    await new Promise((r) => setTimeout(r, 3));
    store.getState().updateSettings({ samples: 64 });
    const second = await store.getState().explain();
    expect((await first)?.status).toBe('cancelled');
    expect(second?.status).toBe('done');
  });

  it('compare runs every method once and stops at a cancel', async () => {
    const { store, calls } = await started();
    await store.getState().compareMethods();
    expect(calls.filter((c) => c.startsWith('attribute')).map((c) => c.split(' ')[1])).toEqual(['eg', 'ig', 'gxi', 'occlusion']);
    for (const m of ['eg', 'ig', 'gxi', 'occlusion'] as const) expect(explanationFor(store.getState(), m)?.status).toBe('done');
  });

  it('refuses bad settings with a message naming the field, changing nothing', async () => {
    const { store } = await started();
    expect(store.getState().updateSettings({ samples: 0 })).toBe(false);
    expect(store.getState().error).toMatch(/Samples must be a whole number from 1 to 10,000 \(got 0\)/);
    expect(store.getState().updateSettings({ seed: 1.5 })).toBe(false);
    expect(store.getState().error).toMatch(/seed/);
    expect(store.getState().settings).toEqual(DEFAULT_SETTINGS);
    expect(store.getState().updateSettings({ samples: 256 })).toBe(true);
    expect(store.getState().error).toBeNull();
  });
});

describe('what-if edits', () => {
  it('removing an event re-predicts and re-explains the edited patient; undo goes back', async () => {
    const { store, calls } = await started();
    await store.getState().explain();
    await store.getState().removeEvent(1, 1);
    const s = store.getState();
    expect(selectedPatient(s)!.visits[1].events.map((e) => e.code)).toEqual(['E11.9']);
    expect(s.revisions.p1.map((r) => r.label)).toEqual(['removed medication C03CA01 on 2020-06-02']);
    expect(selectedPrediction(s)![0].probability).toBeCloseTo(0.3);
    expect(originalPrediction(s)![0].probability).toBeCloseTo(0.4);
    expect(selectedExplanation(s)?.status).toBe('done');
    expect(selectedExplanation(s)!.result!.events).toHaveLength(3);
    expect(calls).toContain('attribute eg 3');
    // the recorded patient is untouched
    expect(s.patients[0].visits[1].events).toHaveLength(2);
    await store.getState().undo();
    expect(selectedPatient(store.getState())!.visits[1].events).toHaveLength(2);
    expect(selectedPrediction(store.getState())![0].probability).toBeCloseTo(0.4);
  });

  it('adds an event on a new date in date order, and refuses a date before birth', async () => {
    const { store } = await started();
    await store.getState().addEvent('2019-07-01', { modality: 'diagnosis', code: 'I50.9' });
    expect(selectedPatient(store.getState())!.visits.map((v) => v.date)).toEqual(['2019-01-10', '2019-07-01', '2020-06-02']);
    await store.getState().addEvent('1940-01-01', { modality: 'diagnosis', code: 'I10' });
    expect(store.getState().error).toMatch(/before the birth date 1950-06-01/);
    await store.getState().removeVisit(0);
    expect(store.getState().revisions.p1.map((r) => r.label)).toEqual(['added diagnosis I50.9 on 2019-07-01', 'removed the visit of 2019-01-10 (2 events)']);
    await store.getState().resetEdits();
    expect(selectedPatient(store.getState())).toEqual(patient);
  });
});

describe('percentiles and warm-up', () => {
  it('percentileOf is the share of the reference with a lower risk', () => {
    expect(percentileOf([0.1, 0.2, 0.3, 0.5], 0.25)).toBe(0.5);
    expect(percentileOf([0.1, 0.2], 0.05)).toBe(0);
    expect(percentileOf([0.1, 0.2], 0.9)).toBe(1);
    expect(percentileOf([], 0.5)).toBeNull();
    expect(ordinalPercent(0.934)).toBe('93%');
    expect(ordinalPercent(1)).toBe('all');
  });

  it('imported patients are predicted for the risk column in parts of about 20,000 events', async () => {
    const f = fake();
    const big = (id: string): Patient => ({ ...patient, id, visits: [{ date: '2019-01-10', events: Array.from({ length: 8_000 }, () => ({ modality: 'diagnosis' as const, code: 'I10' })) }] });
    const imported = ['a', 'b', 'c'].map(big);
    const store = createWorkbenchStore({
      ...f.deps,
      importer: { importFiles: async () => ({ format: 'fhir', patients: imported, coverage: {} as never }), cancel: async () => true },
    });
    await store.getState().start();
    await store.getState().warmUp();
    await store.getState().importData([{ file: new File(['{}'], 'a.json'), path: 'a.json' }]);
    // 8,000 + 8,000 fit in one message, the third patient goes in the next
    expect(f.calls.filter((c) => c.startsWith('predict a:8000,') || c.startsWith('predict c:8000'))).toEqual(['predict a:8000,b:8000', 'predict c:8000']);
    expect(Object.keys(store.getState().cohortRisks.exbehrt).sort()).toEqual(['a', 'b', 'c', 'p1', 'p2']);
  });

  it('warm-up predicts the cohort and the reference population once', async () => {
    const { store, calls } = await started();
    await store.getState().warmUp();
    await store.getState().warmUp();
    expect(calls.filter((c) => c.startsWith('predict p1:4,p2:4'))).toHaveLength(1);
    expect(store.getState().cohortRisks.exbehrt.p2.hf_12m).toBeCloseTo(0.4);
    expect(store.getState().referenceRisks.exbehrt?.size).toBe(4);
  });
});

describe('exports', () => {
  const ctx: ExportContext = {
    modelId: 'exbehrt',
    modelName: 'ExBEHRT',
    task: 'hf_12m',
    settings: { ...DEFAULT_SETTINGS, seed: 7 },
    reference: { description: '300 training patients', size: 300 },
    backend: 'wasm',
    edits: [],
    createdAt: '2026-11-27T00:00:00.000Z',
  };
  const r = fakeResult(patient, 'eg', 128, 128);

  it('CSV: a header naming model, task, method, samples, seed, reference and gap, then one row per event', () => {
    const csv = attributionsCsv(patient, r, ctx);
    const lines = csv.trim().split('\r\n');
    expect(lines[1]).toBe('# model ExBEHRT (exbehrt); task hf_12m; method eg; samples 128/128; seed 7');
    expect(lines[2]).toContain('300 training patients (300 patients)');
    expect(lines[3]).toContain('completeness gap 0.001 (plain mean of the samples 0.02)');
    const header = lines.findIndex((l) => l.startsWith('patient_id,'));
    expect(lines.length - header - 1).toBe(4);
    expect(lines[header + 2]).toBe('p1,0,2019-01-10,1,lab,33762-6,' + csvCell('Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma (NT-proBNP)') + ',900,pg/mL,0.2,0.01');
  });

  it('CSV cells are quoted and formulas neutralised', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "x"')).toBe('"say ""x"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(NaN)).toBe('');
  });

  it('JSON carries the context and the roll-ups; file names say what they are', () => {
    const j = JSON.parse(attributionsJson(patient, r, ctx));
    expect(j).toMatchObject({ format: 'exbehrt-attribution', model: { id: 'exbehrt' }, task: 'hf_12m', method: 'eg', samples: 128, seed: 7, gap: 0.001, plain_gap: 0.02, patient_id: 'p1' });
    expect(j.reference).toEqual({ description: '300 training patients', size: 300, filter: {} });
    expect(j.events[0].date).toBe('2019-01-10');
    expect(exportName('p 1', ctx, 'csv')).toBe('exbehrt-p_1-exbehrt-hf_12m-eg-s7.csv');
  });
});

describe('panels render (server-side, no DOM)', () => {
  it('the explain panel shows progress, gap and stderr of a running explanation', () => {
    const res = fakeResult(patient, 'eg', 64, 128);
    const html = renderToStaticMarkup(
      <ExplainPanel
        settings={DEFAULT_SETTINGS}
        explanation={{ modelId: 'exbehrt', patientId: 'p1', rev: 0, task: 'hf_12m', settings: DEFAULT_SETTINGS, status: 'running', result: res, startedAt: 0 }}
        busy
        disabled={false}
        onSettings={() => true}
        onExplain={() => {}}
        onCancel={() => {}}
      />,
    );
    expect(html).toContain('64 / 128 samples (50%)');
    expect(html).toMatch(/data-testid="explain-gap">0.0010/);
    expect(html).toMatch(/data-testid="explain-plain-gap"[^>]*> plain mean \d+\.\d%/);
    expect(html).toContain('Running std. error');
    expect(html).toMatch(/data-testid="cancel-button"[^>]*>Cancel/);
  });

  it('the compare panel lists all four methods with rank agreement against EG', () => {
    const mk = (m: 'eg' | 'ig' | 'gxi' | 'occlusion') => ({ modelId: 'x', patientId: 'p1', rev: 0, task: 'hf_12m', settings: DEFAULT_SETTINGS, status: 'done' as const, result: fakeResult(patient, m, 1, 1), startedAt: 0 });
    const html = renderToStaticMarkup(<ComparePanel patient={patient} explanations={{ eg: mk('eg'), ig: mk('ig'), gxi: mk('gxi'), occlusion: null }} busy={false} disabled={false} onCompare={() => {}} />);
    expect(html).toContain('Integrated gradients');
    expect(html).toMatch(/data-testid="compare-ig" data-rho="1"/);
    expect(html).toMatch(/data-testid="compare-gxi" data-rho="-1"/);
    expect(html).toContain('not run');
  });

  /** the what-if panel with no-op handlers */
  const whatIfHtml = (p: Pick<Parameters<typeof WhatIfPanel>[0], 'revisions' | 'original' | 'current' | 'pinnedId'>) =>
    renderToStaticMarkup(<WhatIfPanel patient={patient} busy={false} onRemoveEvent={() => {}} onRemoveVisit={() => {}} onAddEvent={() => {}} onUndo={() => {}} onReset={() => {}} {...p} />);
  it('the what-if panel offers removal of the pinned event and shows the risk change', () => {
    const html = whatIfHtml({
      revisions: [{ rev: 1, label: 'removed x', patient }],
      original: [{ patient_id: 'p1', task: 'hf_12m', logit: 0, probability: 0.4 }],
      current: [{ patient_id: 'p1', task: 'hf_12m', logit: 0, probability: 0.3 }],
      pinnedId: '0:1',
    });
    expect(html).toContain('Selected: lab 33762-6');
    expect(html).toContain('Remove the whole visit (2 events)');
    expect(html).toMatch(/data-testid="risk-change-hf_12m" class="down">−0.1000/);
  });
  it('outside a task\'s population: Explain is off with the reason, and the what-if table shows no risk', () => {
    const outside = 'death_6m is defined for patients with a cancer diagnosis (a diagnosis code starting with C)';
    const explain = renderToStaticMarkup(
      <ExplainPanel settings={DEFAULT_SETTINGS} explanation={null} busy={false} disabled={false} unavailable={outside} onSettings={() => true} onExplain={() => {}} onCancel={() => {}} />,
    );
    expect(explain).toMatch(/data-testid="explain-button" disabled=""[^>]*aria-describedby="explain-unavailable"/);
    expect(explain).toContain(`Nothing to explain: ${outside}, and this patient has no such diagnosis.`);
    expect(renderToStaticMarkup(<ExplainPanel settings={DEFAULT_SETTINGS} explanation={null} busy={false} disabled={false} onSettings={() => true} onExplain={() => {}} onCancel={() => {}} />)).not.toMatch(/data-testid="explain-button" disabled/);
    const whatIf = whatIfHtml({
      revisions: [{ rev: 1, label: 'removed C50.919', patient }],
      original: [{ patient_id: 'p1', task: 'death_6m', logit: -1, probability: 0.27 }],
      current: [{ patient_id: 'p1', task: 'death_6m', logit: null, probability: null, outside }],
      pinnedId: null,
    });
    expect(whatIf).toContain('no risk (outside the population)');
    expect(whatIf).toMatch(/data-testid="risk-change-death_6m" class=""><\/td>/);
  });
});

describe('import through the store', () => {
  const imported: Patient = { ...patient, id: 'P0123456789abcdef' };
  const coverage = { format: 'fhir', patients: 1 } as unknown as import('../../src/data/import/pipeline').CoverageReport;

  it('keeps patients imported while the engine starts, on top of the bundled ones', async () => {
    const f = fake();
    let engineUp!: () => void;
    const store = createWorkbenchStore({
      ...f.deps,
      engine: { ...f.deps.engine, init: () => new Promise((r) => (engineUp = () => r('wasm'))) },
      importer: { importFiles: async () => ({ format: 'fhir', patients: [imported], coverage }), cancel: async () => true },
    });
    const starting = store.getState().start();
    await store.getState().importData([{ file: new File(['{}'], 'a.json'), path: 'a.json' }]);
    engineUp();
    await starting;
    expect(store.getState().patients.map((p) => p.id)).toEqual(['P0123456789abcdef', 'p1', 'p2']);
    expect(store.getState().patientId).toBe('P0123456789abcdef');
  });

  it('adds the imported patients on top, selects the first, predicts it, and keeps the report', async () => {
    const f = fake();
    const progress: string[] = [];
    const store = createWorkbenchStore({
      ...f.deps,
      engine: { ...f.deps.engine, importContext: async () => ({ vocab: null as never, codeMap: null }) },
      importer: {
        importFiles: async (_id, job, onProgress) => {
          progress.push(job.files.map((x) => x.path).join(','));
          onProgress?.('parsing', 1, 2);
          return { format: 'fhir', patients: [imported], coverage };
        },
        cancel: async () => true,
      },
    });
    await store.getState().start();
    await store.getState().importData([{ file: new File(['{}'], 'a.json'), path: 'dir/a.json' }]);
    const s = store.getState();
    expect(progress).toEqual(['dir/a.json']);
    expect(s.patients.map((p) => p.id)).toEqual(['P0123456789abcdef', 'p1', 'p2']);
    expect(s.patientId).toBe('P0123456789abcdef');
    expect(selectedPrediction(s)).not.toBeNull();
    expect(s.importStatus).toMatchObject({ status: 'done', format: 'fhir', patientIds: ['P0123456789abcdef'], fileNames: ['dir/a.json'] });
  });

  it('a failed import adds nothing and says which files failed and why', async () => {
    const f = fake();
    const store = createWorkbenchStore({
      ...f.deps,
      importer: { importFiles: async () => Promise.reject(new Error('a.json: Bundle entry 3 (Observation/x): field subject: missing')), cancel: async () => true },
    });
    await store.getState().start();
    await store.getState().importData([{ file: new File(['{}'], 'a.json'), path: 'a.json' }]);
    expect(store.getState().patients).toHaveLength(2);
    expect(store.getState().importStatus?.status).toBe('error');
    expect(store.getState().error).toBe('Import of a.json failed: a.json: Bundle entry 3 (Observation/x): field subject: missing');
  });

  it('a cancelled import adds nothing', async () => {
    const f = fake();
    let release: (() => void) | null = null;
    const store = createWorkbenchStore({
      ...f.deps,
      importer: {
        importFiles: () => new Promise((_, reject) => (release = () => reject(new Error('cancelled')))),
        cancel: async () => (release?.(), true),
      },
    });
    await store.getState().start();
    const job = store.getState().importData([{ file: new File(['x'], 'big.ndjson'), path: 'big.ndjson' }]);
    await new Promise((r) => setTimeout(r, 1));
    await store.getState().cancelImport();
    await job;
    expect(store.getState().importStatus?.status).toBe('cancelled');
    expect(store.getState().patients).toHaveLength(2);
    expect(store.getState().error).toBeNull();
  });
});

describe('researchers\' own models', () => {
  function withModels() {
    const f = fake();
    const shelfData = new Map<string, import('../../src/state/model-shelf').ShelvedModel>();
    const loads: string[] = [];
    const reloads: number[] = [];
    const deps: WorkbenchDeps = {
      ...f.deps,
      origin: 'http://app.test',
      engine: {
        ...f.deps.engine,
        loadModel: async (id: string, url: string) => (loads.push(`url ${id} ${url}`), { ...info, id }),
        loadModelFiles: async (id: string, files: File[]) => {
          loads.push(`files ${id} ${files.map((x) => x.name).join(',')}`);
          if (!files.some((x) => x.name === 'model.safetensors')) throw new Error('model.safetensors: missing (the folder needs config.json, vocab.json and model.safetensors)');
          return { ...info, id, name: 'mine', card: null };
        },
        unloadModel: async () => true,
      },
      shelf: {
        list: async () => [...shelfData.values()].map(({ id, name, savedAt }) => ({ id, name, savedAt })),
        get: async (id) => shelfData.get(id) ?? null,
        put: async (m) => void shelfData.set(m.id, m),
        delete: async (id) => void shelfData.delete(id),
        clear: async () => shelfData.clear(),
      },
      reload: () => void reloads.push(1),
    };
    return { deps, loads, shelfData, reloads, calls: f.calls };
  }
  const folder = () => ['config.json', 'vocab.json', 'model.safetensors'].map((n) => new File(['x'], n));

  it('a dropped folder is validated in the worker, listed, selected and predicted; nothing is stored', async () => {
    const { deps, loads, shelfData } = withModels();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    const id = await store.getState().addModelFiles(folder());
    expect(id).toBe('local-1');
    expect(loads.at(-1)).toBe('files local-1 config.json,vocab.json,model.safetensors');
    expect(store.getState().models.find((m) => m.id === id)?.origin).toBe('dropped');
    expect(store.getState().modelId).toBe(id);
    expect(selectedPrediction(store.getState())).not.toBeNull();
    expect(shelfData.size).toBe(0);
  });

  it('a folder dropped while the engine starts is listed and selected, next to a kept model with its own id', async () => {
    const { deps, shelfData } = withModels();
    shelfData.set('local-1', { id: 'local-1', name: 'kept before', savedAt: '2026-12-01T00:00:00Z', files: [] });
    let engineUp!: () => void;
    const slow: WorkbenchDeps = { ...deps, engine: { ...deps.engine, init: () => new Promise((r) => (engineUp = () => r('wasm'))) } };
    const store = createWorkbenchStore(slow);
    const starting = store.getState().start();
    const dropping = store.getState().addModelFiles(folder());
    await new Promise((r) => setTimeout(r, 5));
    engineUp();
    await starting;
    expect(await dropping).toBe('local-2');
    const s = store.getState();
    expect(s.models.map((m) => `${m.id}:${m.origin}`)).toEqual(['exbehrt:shipped', 'local-1:kept', 'local-2:dropped']);
    expect(s.modelId).toBe('local-2');
    expect(s.error).toBeNull();
  });

  it('a broken folder adds nothing and shows every problem', async () => {
    const { deps } = withModels();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    expect(await store.getState().addModelFiles([new File(['x'], 'config.json')])).toBeNull();
    expect(store.getState().models.map((m) => m.id)).toEqual(['exbehrt']);
    expect(store.getState().error).toBe('The model files were not loaded:\nmodel.safetensors: missing (the folder needs config.json, vocab.json and model.safetensors)');
  });

  it('keep stores the files; a new session lists the kept model and loads it from storage; delete removes it', async () => {
    const { deps, loads, shelfData } = withModels();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    const id = (await store.getState().addModelFiles(folder()))!;
    await store.getState().keepModel(id);
    expect([...shelfData.keys()]).toEqual([id]);
    const again = createWorkbenchStore(deps);
    await again.getState().start();
    expect(again.getState().models.map((m) => `${m.id}:${m.origin}`)).toEqual(['exbehrt:shipped', `${id}:kept`]);
    await again.getState().selectModel(id);
    expect(loads.at(-1)).toBe(`files ${id} config.json,vocab.json,model.safetensors`);
    await again.getState().forgetModel(id);
    expect(shelfData.size).toBe(0);
    expect(again.getState().models.map((m) => m.id)).toEqual(['exbehrt']);
    expect(again.getState().modelId).toBe('exbehrt');
  });

  it('forget everything deletes the kept models and starts over', async () => {
    const { deps, shelfData, reloads } = withModels();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    const id = (await store.getState().addModelFiles(folder()))!;
    await store.getState().keepModel(id);
    await store.getState().removeEvent(0, 0);
    await store.getState().forgetEverything();
    expect(shelfData.size).toBe(0);
    expect(store.getState().revisions).toEqual({});
    expect(reloads).toEqual([1]);
  });

  it('a URL model must be on the page\'s origin', async () => {
    const { deps, loads } = withModels();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    expect(await store.getState().addModelUrl('https://elsewhere.example/m/')).toBeNull();
    expect(store.getState().error).toMatch(/models load only from this page's origin \(http:\/\/app.test\)/);
    expect(await store.getState().addModelUrl('/models/other')).toBe('url-1');
    expect(loads.at(-1)).toBe('url url-1 http://app.test/models/other/');
  });

  it('a second model explains the same patient and task with the same settings', async () => {
    const { deps, calls } = withModels();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    await store.getState().addModelFiles(folder());
    await store.getState().selectModel('exbehrt');
    await store.getState().selectSecondModel('local-1');
    await store.getState().explain();
    const e = await store.getState().explainSecond();
    expect(e).toMatchObject({ modelId: 'local-1', task: 'hf_12m', status: 'done' });
    expect(calls.filter((c) => c.startsWith('attribute'))).toHaveLength(2);
  });
});

describe('reference populations and context of use', () => {
  it('presets: same sex and age ±5, a shared diagnosis; mode read back from the filter', async () => {
    const { presetFilter, modeOf, diagnosisCategories, describeFilter } = await import('../../src/app/ReferencePicker');
    const m = presetFilter('matched', patient);
    expect(m).toEqual({ sex: 'F', ageMin: 65, ageMax: 75 });
    expect(modeOf(m, patient)).toBe('matched');
    expect(modeOf({}, patient)).toBe('all');
    expect(modeOf({ diagnosis: 'E11' }, patient)).toBe('diagnosis');
    expect(modeOf({ sex: 'M' }, patient)).toBe('custom');
    expect(diagnosisCategories(patient)).toEqual(['E11', 'I10']);
    expect(describeFilter(m)).toBe('reference patients with sex F, age 65–75');
  });

  it('notices: outside the age range, mostly unknown codes, a small or empty reference', async () => {
    const { contextNotices } = await import('../../src/app/ContextNotices');
    const pop = { description: 'r', size: 300, ages: [30, 60] as [number, number], sexes: { F: 150, M: 150 }, sorted: {} };
    const notes = contextNotices({ patient, modelName: 'M', population: pop, chosen: { ...pop, size: 12 }, filter: { sex: 'F' }, tokens: { events: 4, unknownEvents: 3, unknownCodes: [], truncatedVisits: 0, droppedEvents: 0 } });
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/is 70 at the last visit; M's reference population spans ages 30–60/);
    expect(notes[1]).toMatch(/^75% of this patient's events have codes M does not know/);
    expect(notes[2]).toMatch(/small \(12 patients: reference patients with sex F\)/);
    expect(contextNotices({ patient, modelName: 'M', population: pop, chosen: { ...pop, size: 0 }, filter: { diagnosis: 'Q' }, tokens: undefined })[1]).toMatch(/No reference patient matches/);
    expect(contextNotices({ patient, modelName: 'M', population: { ...pop, ages: [40, 90] }, chosen: pop, filter: {}, tokens: undefined })).toEqual([]);
  });

  it('explains against a second reference and ranks the codes whose attribution shifts most', async () => {
    const { codeShifts } = await import('../../src/app/ReferenceCompare');
    expect(codeShifts({ 'diagnosis:I10': 0.5, 'lab:x': 0.1 }, { 'diagnosis:I10': 0.1, 'lab:x': 0.15, 'medication:y': -0.2 }).map((r) => [r.key, +r.change.toFixed(2)])).toEqual([
      ['diagnosis:I10', -0.4],
      ['medication:y', -0.2],
      ['lab:x', 0.05],
    ]);
    const { store, calls } = await started();
    const e = await store.getState().explainWithReference({ sex: 'F' });
    expect(e?.settings.reference).toEqual({ sex: 'F' });
    expect(calls.filter((c) => c.startsWith('attribute'))).toHaveLength(1);
    expect(await store.getState().loadReferenceStats({ sex: 'F' })).toMatchObject({ size: 4 });
  });
});

describe('cohort view through the store', () => {
  it('runs the cohort job on the loaded patients with progress, and reports a cancel', async () => {
    const f = fake();
    const jobs: string[] = [];
    const store = createWorkbenchStore({
      ...f.deps,
      engine: {
        ...f.deps.engine,
        cohort: async (_jobId, _m, job, onProgress) => {
          jobs.push(`${job.patients.length} ${job.diagnosis ?? ''} ${job.method} ${job.k}`);
          onProgress?.('representations', 1, 2);
          if (job.k === 9) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
          return { ids: ['p1', 'p2'], xy: [0, 0, 1, 1], labels: [0, 1], risks: {}, outcomes: {}, summary: {} as never, params: {} as never, timings: {} as never };
        },
      },
    });
    await store.getState().start();
    await store.getState().runCohort({ method: 'kmeans', k: 2, diagnosis: 'C' });
    expect(jobs).toEqual(['2 C kmeans 2']);
    expect(store.getState().cohortState).toMatchObject({ status: 'done', stage: 'representations', done: 1, total: 2 });
    await store.getState().runCohort({ method: 'kmeans', k: 9 });
    expect(store.getState().cohortState?.status).toBe('cancelled');
    expect(store.getState().error).toBeNull();
  });
});
