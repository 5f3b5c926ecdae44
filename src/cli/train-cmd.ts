// `exbehrt train` and `exbehrt train-all`: train on the synthetic cohort, evaluate on held-out
// patients, write a model folder whose model card carries the measured metrics.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { counterfactualTimeline, generateCohort, plantedTruth, shuffledSeriesTimeline, truncatedTimeline, valuesByCode, type TaskName } from '../data/synthetic';
import type { Patient } from '../data/schema';
import { saveModelToDir } from '../model/folder-node';
import { auprc, auroc } from '../model/metrics';
import { instantiate, disposeModel, logitsForGrids } from '../model/runtime';
import { inTaskPopulation } from '../model/population';
import { labelsOf, splitCohort, trainModel } from '../model/train';
import { tokenize } from '../tokens/layout';
import { buildReferenceSet } from '../attribution/reference';
import { useBackend } from './node-tf';

type Values = Record<string, string | boolean | undefined>;
const num = (v: string | boolean | undefined, d: number) => (typeof v === 'string' ? Number(v) : d);

export const TASKS = [
  { name: 'hf_12m', description: 'heart failure (I50.x) within 12 months after the last visit' },
  { name: 'death_6m', description: 'death within 6 months after the last visit, among cancer patients (0 for patients without cancer)' },
];
/** death_6m's population with --death-population cancer: the generator's (any ICD-10 C code) */
export const DEATH_POPULATION = { diagnosis_prefix: 'C', description: 'patients with a cancer diagnosis' };
const DEATH_IN_POPULATION = 'death within 6 months after the last visit, for patients with a cancer diagnosis';
/** rows per laid-on modality of the shipped ExBEHRT; events past the last row are dropped and counted (TokenGrid.droppedEvents) */
export const SHIPPED_MODALITY_ROWS = [
  { name: 'procedure', rows: 2 },
  { name: 'medication', rows: 3 },
  { name: 'lab', rows: 3 },
  { name: 'vital', rows: 3 },
  { name: 'smoking', rows: 1 },
  { name: 'characteristic', rows: 1 },
];

export interface Metric {
  auroc: number;
  auprc: number;
  n: number;
  positives: number;
}

export async function trainCommand(v: Values): Promise<void> {
  const arch = (v.arch ?? 'exbehrt') as 'exbehrt' | 'behrt';
  if (arch !== 'exbehrt' && arch !== 'behrt') throw new Error(`--arch must be exbehrt or behrt, not ${arch}`);
  const out = typeof v.out === 'string' ? v.out : `public/models/${arch}`;
  const n = num(v.n, 6000);
  const seed = num(v.seed, 7);
  const targets = (v.targets ?? 'planted') as string;
  if (targets !== 'labels' && targets !== 'planted') throw new Error(`--targets must be labels or planted, not ${targets}`);
  const rate = (flag: string, d: number) => {
    const r = num(v[flag], d);
    if (!(r >= 0 && r <= 1)) throw new Error(`--${flag} must be a probability between 0 and 1, not ${v[flag]}`);
    return r;
  };
  const rates = { codeRate: rate('drop-codes', 0.5), eventRate: rate('drop-events', 0.1), valueRate: rate('swap-values', 0.6) };
  const truncateRate = rate('truncate', 0.5);
  const shuffleRate = rate('shuffle-series', 0.5);
  const count = (flag: string, d: number) => {
    const x = num(v[flag], d);
    if (!(Number.isInteger(x) && x >= 1)) throw new Error(`--${flag} must be a whole number of epochs, 1 or more, not ${v[flag]}`);
    return x;
  };
  const epochs = count('epochs', 40);
  const patience = count('patience', 8);
  const lastValue = (v['last-value'] ?? 'yes') as string;
  if (lastValue !== 'yes' && lastValue !== 'no') throw new Error(`--last-value must be yes or no, not ${lastValue}`);
  const deathPopulation = (v['death-population'] ?? 'cancer') as string;
  if (deathPopulation !== 'all' && deathPopulation !== 'cancer') throw new Error(`--death-population must be all or cancer, not ${deathPopulation}`);
  const backend = await useBackend(typeof v.backend === 'string' ? v.backend : undefined);
  const log = (m: string) => process.stderr.write(`[${arch}] ${m}\n`);
  const { patients } = generateCohort({ n, seed });
  const { train, val, test } = splitCohort(patients, seed);
  const values = valuesByCode(train);
  log(`cohort n=${n} seed=${seed}: train ${train.length}, validation ${val.length}, test ${test.length}; backend ${backend}`);
  const t0 = performance.now();
  const res = await trainModel(train, val, {
    seed,
    modelType: arch,
    hidden: num(v.hidden, 64),
    layers: num(v.layers, 2),
    heads: 4,
    intermediate: 4 * num(v.hidden, 64),
    maxLen: 256,
    modalities: arch === 'exbehrt' ? SHIPPED_MODALITY_ROWS : [],
    tasks: deathPopulation === 'cancer' ? TASKS.map((t) => (t.name === 'death_6m' ? { ...t, description: DEATH_IN_POPULATION, population: DEATH_POPULATION } : t)) : TASKS,
    mlmEpochs: num(v['mlm-epochs'], 2),
    maxEpochs: epochs,
    patience,
    lastValueTokens: lastValue === 'yes',
    batchSize: 32,
    learningRate: 1e-3,
    targetOf: targets === 'planted' ? (p, t) => plantedTruth(p, t as TaskName).probability : undefined,
    augment:
      targets === 'planted'
        ? (p, rand) => {
            const q = truncateRate > 0 && rand() < truncateRate ? truncatedTimeline(p, rand) : p;
            const r = rand() < 0.5 ? q : counterfactualTimeline(q, { ...rates, values }, rand);
            return shuffleRate > 0 ? shuffledSeriesTimeline(r, shuffleRate, rand) : r;
          }
        : undefined,
    log,
  });
  const minutes = (performance.now() - t0) / 60000;
  // EG's default reference population: 300 training patients, stored as token grids
  const reference = buildReferenceSet(train.slice(0, 300), res.vocab, res.config, `300 patients of the synthetic training split (n=${n}, seed ${seed})`);
  const folder = { name: arch, config: res.config, vocab: res.vocab, weights: res.weights, card: null, reference };
  const metrics = await evaluateHeldOut(folder, test, deathPopulation === 'cancer');
  log(`held-out metrics ${JSON.stringify(metrics)}`);
  const command = `npx exbehrt train --arch ${arch} --n ${n} --seed ${seed} --epochs ${epochs} --targets ${targets}${truncateRate > 0 ? ` --truncate ${truncateRate}` : ''}${shuffleRate > 0 ? ` --shuffle-series ${shuffleRate}` : ''} --patience ${patience}${res.vocab.last_value ? ' --last-value yes' : ''}${deathPopulation !== 'all' ? ` --death-population ${deathPopulation}` : ''}`;
  const card = {
    name: arch === 'exbehrt' ? 'ExBEHRT (synthetic cohort)' : 'BEHRT, diagnosis-only baseline (synthetic cohort)',
    model_type: arch,
    version: '1',
    intended_use:
      'Research and teaching of explainability methods on EHR transformers. Trained on synthetic patients only: not for clinical decisions, not validated on real patients.',
    out_of_scope: `Any clinical use; real patients; populations outside adults 30-90 years${deathPopulation === 'cancer' ? '; death_6m for a patient without a cancer diagnosis' : ''}.`,
    training_data: `Synthetic multimorbid adults from the project's seeded generator (n=${n}, seed ${seed}; train ${train.length} / validation ${val.length} / held-out test ${test.length} patients) with planted risk mechanisms for ${TASKS.map((t) => t.name).join(' and ')}. ${
      targets === 'planted'
        ? `Fine-tuned on the generator's planted probability of each outcome (soft targets), not on the drawn 0/1 labels, and every epoch on a fresh counterfactual copy of half the training patients (each code removed with probability ${rates.codeRate}, each event ${rates.eventRate}, each measured value replaced by another patient's with probability ${rates.valueRate}; a primary cancer swapped for another of the patient's sex)${truncateRate > 0 ? `, and ${truncateRate * 100}% of the patients cut short by their last 1 to 3 visits first` : ''}${shuffleRate > 0 ? `; each measured series (a lab or vital of one patient) reordered with probability ${shuffleRate}` : ''}, scored by the same mechanism; early stopping on the validation loss against the planted probability. This makes the model rely on the planted causes rather than on their proxies, so that attributions can be checked against the generator's ground truth.${res.vocab.last_value ? " The most recent value of each lab and vital is its own token (vocab.json last_value), because the death_6m rule reads the latest albumin." : ''}${deathPopulation === 'cancer' ? ' The death_6m head saw cancer patients only (config.json tasks.death_6m.population): the workbench gives no death_6m risk or explanation for a patient without a cancer diagnosis, and its held-out metrics are among cancer patients.' : ''} Held-out metrics are against the drawn labels.`
        : 'Fine-tuned on the drawn 0/1 labels; early stopping on the mean validation AUROC.'
    }`,
    reference_population: 'The synthetic training cohort (adults 30-90, both sexes).',
    metrics,
    training: {
      command,
      seed,
      backend,
      minutes: Math.round(minutes * 10) / 10,
      best_epoch: res.bestEpoch,
      hidden_size: res.config.hidden_size,
      layers: res.config.num_hidden_layers,
      history: res.history,
    },
    created: new Date().toISOString().slice(0, 10),
  };
  await saveModelToDir(out, { ...folder, card });
  log(`wrote ${out} (${minutes.toFixed(1)} min)`);
}

/** AUROC/AUPRC per task on held-out patients; death_6m also among cancer patients alone (only
 *  there when its head was trained on cancer patients only). */
export async function evaluateHeldOut(folder: Parameters<typeof instantiate>[0], test: Patient[], deathCancerOnly = false): Promise<Record<string, Metric>> {
  const model = instantiate(folder);
  const grids = test.map((p) => tokenize(p, folder.vocab, folder.config));
  const logits = await logitsForGrids(model, grids);
  disposeModel(model);
  const metric = (s: Float32Array, y: Float32Array): Metric => ({
    auroc: round(auroc(s, y)),
    auprc: round(auprc(s, y)),
    n: y.length,
    positives: y.reduce((a, b) => a + b, 0),
  });
  const out: Record<string, Metric> = {};
  for (const t of folder.config.tasks) if (!(deathCancerOnly && t.name === 'death_6m')) out[t.name] = metric(logits[t.name], labelsOf(test, t.name));
  if (logits.death_6m) {
    // the population as the model reads it (the same rule as predict), whether or not the head was fitted on it
    const keep = grids.map((g, i) => (inTaskPopulation({ population: DEATH_POPULATION }, g, folder.vocab) ? i : -1)).filter((i) => i >= 0);
    out['death_6m (cancer patients)'] = metric(Float32Array.from(keep, (i) => logits.death_6m[i]), Float32Array.from(keep, (i) => labelsOf(test, 'death_6m')[i]));
  }
  return out;
}
const round = (x: number) => Math.round(x * 10000) / 10000;

/** Train ExBEHRT and the BEHRT baseline in two processes (one per core), then cross-link their
 *  metrics in the model cards and write the held-out sample cohort for the app. */
export async function trainAllCommand(v: Values): Promise<void> {
  const dir = typeof v['out-dir'] === 'string' ? v['out-dir'] : 'public/models';
  const n = num(v.n, 6000);
  const seed = num(v.seed, 7);
  const run = (arch: string) =>
    new Promise<void>((resolve, reject) => {
      const args = ['bin/exbehrt.mjs', 'train', '--arch', arch, '--out', join(dir, arch), '--n', String(n), '--seed', String(seed)];
      for (const k of ['epochs', 'mlm-epochs', 'hidden', 'layers', 'targets', 'drop-codes', 'drop-events', 'swap-values', 'truncate', 'shuffle-series', 'patience', 'last-value', 'death-population']) if (typeof v[k] === 'string') args.push(`--${k}`, v[k] as string);
      const child = spawn(process.execPath, args, { stdio: 'inherit' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`training ${arch} failed (exit ${code})`))));
    });
  await Promise.all([run('exbehrt'), run('behrt')]);
  await linkShippedModels(dir, n, seed);
}

/** After both trainings: each model card names the other as its baseline (with its metrics),
 *  index.json lists the two, and public/cohort gets the first 200 held-out test patients. */
export async function linkShippedModels(dir: string, n: number, seed: number): Promise<void> {
  const cardPath = (arch: string) => join(dir, arch, 'model-card.json');
  const ex = JSON.parse(await readFile(cardPath('exbehrt'), 'utf8'));
  const be = JSON.parse(await readFile(cardPath('behrt'), 'utf8'));
  ex.baseline_metrics = be.metrics;
  be.baseline_metrics = ex.metrics;
  ex.baseline_name = be.name;
  be.baseline_name = ex.name;
  await writeFile(cardPath('exbehrt'), JSON.stringify(ex, null, 2) + '\n');
  await writeFile(cardPath('behrt'), JSON.stringify(be, null, 2) + '\n');
  await writeFile(join(dir, 'index.json'), JSON.stringify([{ id: 'exbehrt', path: 'models/exbehrt/' }, { id: 'behrt', path: 'models/behrt/' }], null, 2) + '\n');
  // the app's sample patients: held-out test patients, never seen in training
  const { patients, truth } = generateCohort({ n, seed });
  const { test } = splitCohort(patients, seed);
  const sample = test.slice(0, 200);
  await mkdir('public/cohort', { recursive: true });
  await writeFile('public/cohort/patients.jsonl', sample.map((p) => JSON.stringify(p)).join('\n') + '\n');
  await writeFile('public/cohort/truth.json', JSON.stringify({ tasks: truth.tasks, patients: Object.fromEntries(sample.map((p) => [p.id, truth.patients[p.id]])) }) + '\n');
  process.stderr.write(`wrote ${dir}/exbehrt, ${dir}/behrt, index.json and public/cohort (200 held-out patients)\n`);
}
