// The app's cards rendered to HTML in Node (no DOM needed), and the store driven by a fake engine.
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ModelCard } from '../../src/app/ModelCard';
import { RiskCard } from '../../src/app/RiskCard';
import type { Patient } from '../../src/data/schema';
import type { LoadedModelInfo, PredictionRow } from '../../src/state/engine-client';
import { ASSETS, createWorkbenchStore, selectedPrediction, type WorkbenchDeps } from '../../src/state/store';

const patient: Patient = {
  id: 'p1',
  sex: 'F',
  birthDate: '1950-06-01',
  visits: [
    { date: '2019-01-10', events: [{ modality: 'diagnosis', code: 'I10' }] },
    { date: '2020-06-02', events: [{ modality: 'diagnosis', code: 'E11.9' }] },
  ],
  outcomes: { hf_12m: { label: 1 } },
};
const tasks = [
  { name: 'hf_12m', description: 'heart failure within 12 months' },
  { name: 'death_6m', description: 'death within 6 months' },
];
const rows: PredictionRow[] = [
  { patient_id: 'p1', task: 'hf_12m', logit: 0.5, probability: 0.6224593312 },
  { patient_id: 'p1', task: 'death_6m', logit: -3, probability: 0.0474258732 },
];
const info: LoadedModelInfo = {
  id: 'exbehrt',
  name: 'exbehrt',
  config: { model_type: 'exbehrt', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, max_len: 256, modalities: ['medication', 'lab'], tasks },
  card: {
    name: 'ExBEHRT (synthetic cohort)',
    model_type: 'exbehrt',
    intended_use: 'Research and teaching only; not for clinical decisions.',
    out_of_scope: 'Any clinical use.',
    training_data: 'Synthetic patients (n=6000).',
    metrics: { hf_12m: { auroc: 0.8123, auprc: 0.4, n: 900, positives: 90 }, death_6m: { auroc: null, auprc: null, n: 900, positives: 0 } },
    baseline_metrics: { hf_12m: { auroc: 0.7, auprc: 0.3, n: 900, positives: 90 } },
    baseline_name: 'BEHRT, diagnosis-only baseline',
  },
};

const testIdText = (html: string, id: string) => html.match(new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`))?.[1];

describe('RiskCard', () => {
  it('shows each task probability with 4 decimals and the backend label', () => {
    const html = renderToStaticMarkup(<RiskCard backend="webgpu" patient={patient} tasks={tasks} rows={rows} />);
    expect(testIdText(html, 'risk-hf_12m')).toBe('0.6225');
    expect(testIdText(html, 'risk-death_6m')).toBe('0.0474');
    expect(testIdText(html, 'backend')).toBe('WebGPU');
    expect(html).toContain('data-patient-id="p1"');
    expect(html).toMatch(/70 years at the last visit \(2020-06-02\)/);
    expect(html).toMatch(/recorded outcome: yes/);
  });
  it.each([
    ['wasm', 'wasm'],
    ['cpu', 'cpu'],
  ] as const)('labels the %s backend as %s', (backend, label) => {
    expect(testIdText(renderToStaticMarkup(<RiskCard backend={backend} patient={patient} tasks={tasks} rows={rows} />), 'backend')).toBe(label);
  });
  it('gives no risk for a task whose population the patient is outside, and says why', () => {
    const outside = 'death_6m is defined for patients with a cancer diagnosis (a diagnosis code starting with C)';
    const html = renderToStaticMarkup(<RiskCard backend="wasm" patient={patient} tasks={tasks} rows={[rows[0], { patient_id: 'p1', task: 'death_6m', logit: null, probability: null, outside }]} />);
    expect(testIdText(html, 'risk-hf_12m')).toBe('0.6225');
    expect(html).not.toContain('data-testid="risk-death_6m"');
    expect(testIdText(html, 'risk-outside-death_6m')).toBe(`no risk: ${outside}`);
  });
  it('says it is computing while the rows are missing, and asks for a patient without one', () => {
    const pending = renderToStaticMarkup(<RiskCard backend="wasm" patient={patient} tasks={tasks} rows={null} />);
    expect(pending).toContain('Computing');
    expect(pending).not.toContain('data-testid="risk-hf_12m"');
    expect(renderToStaticMarkup(<RiskCard backend={null} patient={null} tasks={tasks} rows={null} />)).toContain('Select a patient');
  });
});

describe('ModelCard', () => {
  it('shows intended use, training data and metrics beside the baseline', () => {
    const html = renderToStaticMarkup(<ModelCard info={info} />);
    expect(html).toContain('data-testid="intended-use"');
    expect(html).toContain('Research and teaching only; not for clinical decisions.');
    expect(html).toContain('Out of scope:');
    expect(html).toContain('Synthetic patients (n=6000).');
    expect(html).toMatch(/ExBEHRT \(this model\)/);
    expect(html).toMatch(/BEHRT \(baseline\)/);
    const hf = html.match(/<tr><th scope="row">hf_12m<\/th>(.*?)<\/tr>/)?.[1] ?? '';
    expect([...hf.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1])).toEqual(['900 (90)', '0.812', '0.400', '0.700', '0.300']);
    // undefined AUROC (no positives) and a task the baseline lacks: n/a, not 0 or NaN
    const death = html.match(/<tr><th scope="row">death_6m<\/th>(.*?)<\/tr>/)?.[1] ?? '';
    expect([...death.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1])).toEqual(['900 (0)', 'n/a', 'n/a', 'n/a', 'n/a']);
  });
  it('warns when the folder has no model card', () => {
    const html = renderToStaticMarkup(<ModelCard info={{ ...info, card: null }} />);
    expect(html).toContain('no model-card.json');
    expect(html).toContain('2 layers');
  });
});

describe('workbench store', () => {
  const files: Record<string, string> = {
    [ASSETS.modelIndex]: JSON.stringify([
      { id: 'exbehrt', path: 'models/exbehrt/' },
      { id: 'behrt', path: 'models/behrt/' },
    ]),
    [ASSETS.cohort]: [patient, { ...patient, id: 'p2' }].map((p) => JSON.stringify(p)).join('\n') + '\n',
  };
  const fake = () => {
    const calls: string[] = [];
    const deps: WorkbenchDeps = {
      resolve: (p) => `http://app.test/${p}`,
      fetchText: async (url) => {
        const f = files[url.replace('http://app.test/', '')];
        if (f === undefined) throw new Error(`${url}: HTTP 404`);
        return f;
      },
      engine: {
        init: async () => 'wasm' as const,
        loadModel: async (id: string, url: string) => {
          calls.push(`load ${id} ${url}`);
          return { ...info, id, name: id };
        },
        predict: async (modelId: string, ps: Patient[]) => {
          calls.push(`predict ${modelId} ${ps.map((p) => p.id).join(',')}`);
          return ps.flatMap((p) => rows.map((r) => ({ ...r, patient_id: p.id })));
        },
      },
    };
    return { deps, calls };
  };

  it('starts: backend, model list, cohort, the first model loaded and the first patient predicted', async () => {
    const { deps, calls } = fake();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    const s = store.getState();
    expect(s.phase).toBe('ready');
    expect(s.error).toBeNull();
    expect(s.backend).toBe('wasm');
    expect(s.models.map((m) => m.id)).toEqual(['exbehrt', 'behrt']);
    expect(s.patients.map((p) => p.id)).toEqual(['p1', 'p2']);
    expect(s.modelId).toBe('exbehrt');
    expect(s.patientId).toBe('p1');
    expect(selectedPrediction(s)?.map((r) => r.task)).toEqual(['hf_12m', 'death_6m']);
    expect(calls).toEqual(['load exbehrt http://app.test/models/exbehrt/', 'predict exbehrt p1']);
  });

  it('predicts a newly selected patient once, and loads a model only when first picked', async () => {
    const { deps, calls } = fake();
    const store = createWorkbenchStore(deps);
    await store.getState().start();
    await store.getState().selectPatient('p2');
    await store.getState().selectPatient('p1');
    await store.getState().selectModel('behrt');
    await store.getState().selectModel('exbehrt');
    expect(selectedPrediction(store.getState())?.[0].patient_id).toBe('p1');
    expect(calls).toEqual([
      'load exbehrt http://app.test/models/exbehrt/',
      'predict exbehrt p1',
      'predict exbehrt p2',
      'load behrt http://app.test/models/behrt/',
      'predict behrt p1',
    ]);
    expect(store.getState().busy).toBeNull();
  });

  it('reports a missing model list as a start-up error naming the file', async () => {
    const { deps } = fake();
    const store = createWorkbenchStore({ ...deps, fetchText: async (url) => (url.endsWith(ASSETS.cohort) ? files[ASSETS.cohort] : Promise.reject(new Error(`${url}: HTTP 404`))) });
    await store.getState().start();
    expect(store.getState().phase).toBe('error');
    expect(store.getState().error).toMatch(/model list could not be read: http:\/\/app.test\/models\/index.json: HTTP 404/);
    expect(store.getState().patients).toHaveLength(2);
  });

  it('keeps a failed model load visible as an error', async () => {
    const { deps } = fake();
    const store = createWorkbenchStore({ ...deps, engine: { ...deps.engine, loadModel: async () => Promise.reject(new Error('model.safetensors: tensor x: missing')) } });
    await store.getState().start();
    expect(store.getState().error).toMatch(/Model exbehrt could not be loaded: model.safetensors: tensor x: missing/);
    expect(store.getState().modelInfo).toEqual({});
  });
});
