// Training: MLM pre-training of the encoder on diagnosis tokens, then multi-task fine-tuning of one
// binary head per outcome with early stopping on a validation split. Deterministic for a seed on
// one backend (seeded init, shuffles, masks and dropout).
import * as tf from '@tensorflow/tfjs';
import type { Patient } from '../data/schema';
import { stackGrids, tokenize, type TokenBatch, type TokenGrid } from '../tokens/layout';
import { buildVocab, type Vocab } from '../tokens/vocab';
import { expectedTensors, parseConfig, type ModelConfig, type ModelConfigInput, type TaskConfig } from './config';
import { embeddingParts, encode, maskTensor, mlmLogits, type Weights } from './exbehrt';
import { auroc } from './metrics';
import { inTaskPopulation } from './population';
import { rng, shuffle } from '../data/random';

export interface TrainOptions {
  seed: number;
  modelType: 'exbehrt' | 'behrt';
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxLen: number;
  /** extra modalities and their rows; [] for diagnosis-only BEHRT */
  modalities: Array<{ name: string; rows: number }>;
  /** a task with a population (src/model/population.ts) is fitted and validated on it alone */
  tasks: Array<{ name: string; description?: string; population?: TaskConfig['population'] }>;
  mlmEpochs: number;
  maxEpochs: number;
  patience: number;
  /** vocab with `last_value`: each series' most recent value is its own token (vocab.ts eventTokens) */
  lastValueTokens?: boolean;
  batchSize: number;
  learningRate: number;
  /** fine-tuning target per patient and task in [0, 1]; default: the drawn 0/1 label */
  targetOf?: (p: Patient, task: string) => number;
  /** fine-tuning only: a fresh (possibly edited) copy of each training patient every epoch, whose
   *  target `targetOf` computes from the edited timeline (needs targetOf) */
  augment?: (p: Patient, rand: () => number) => Patient;
  log?: (msg: string) => void;
}

export interface TrainResult {
  config: ModelConfig;
  vocab: Vocab;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  history: Array<{ phase: 'mlm' | 'finetune'; epoch: number; loss: number; valAuroc?: Record<string, number>; valLoss?: number; seconds: number }>;
  bestEpoch: number;
}

/** Batches of similar length (less padding): shuffle, sort within pools of 50 batches, shuffle batches. */
function lengthBatches(n: number, lengths: number[], batchSize: number, rand: () => number): number[][] {
  const idx = shuffle(Array.from({ length: n }, (_, i) => i), rand);
  const pool = batchSize * 50;
  const batches: number[][] = [];
  for (let s = 0; s < n; s += pool) {
    const chunk = idx.slice(s, s + pool).sort((a, b) => lengths[a] - lengths[b]);
    for (let k = 0; k < chunk.length; k += batchSize) batches.push(chunk.slice(k, k + batchSize));
  }
  return shuffle(batches, rand);
}

function initWeights(c: ModelConfig, seed: number): Map<string, tf.Variable> {
  const vars = new Map<string, tf.Variable>();
  let s = seed;
  for (const [name, shape] of expectedTensors(c, { mlm: true })) {
    let init: tf.Tensor;
    if (name.endsWith('LayerNorm.weight')) init = tf.ones(shape);
    else if (name.endsWith('.bias')) init = tf.zeros(shape);
    else init = tf.truncatedNormal(shape, 0, 0.02, 'float32', s++);
    vars.set(name, tf.variable(init, true));
    init.dispose();
  }
  return vars;
}

async function snapshot(vars: Map<string, tf.Variable>): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of vars) out.set(k, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
  return out;
}

/** MLM masking of diagnosis tokens (not CLS/SEP/PAD/placeholder): 15% chosen; of those 80% [MASK],
 *  10% a random code, 10% unchanged. Returns the corrupted batch, labels and loss weights. */
function maskForMlm(b: TokenBatch, vocabSize: number, rand: () => number) {
  const ids = b.diagnosis.slice();
  const labels = new Int32Array(ids.length);
  const weight = new Float32Array(ids.length);
  const FIRST_CODE = 5;
  for (let i = 0; i < ids.length; i++) {
    if (b.attentionMask[i] === 0 || ids[i] < FIRST_CODE || rand() >= 0.15) continue;
    labels[i] = ids[i];
    weight[i] = 1;
    const r = rand();
    if (r < 0.8) ids[i] = 4;
    else if (r < 0.9) ids[i] = FIRST_CODE + Math.floor(rand() * (vocabSize - FIRST_CODE));
  }
  return { batch: { ...b, diagnosis: ids }, labels, weight };
}

export function labelsOf(patients: Patient[], task: string): Float32Array {
  return Float32Array.from(patients, (p) => p.outcomes?.[task]?.label ?? 0);
}

export async function trainModel(train: Patient[], val: Patient[], o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? (() => {});
  const rand = rng(o.seed);
  const vocab = buildVocab(train, o.modalities.map((m) => m.name), { lastValue: o.lastValueTokens });
  const cfgIn: ModelConfigInput = {
    model_type: o.modelType,
    hidden_size: o.hidden,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    intermediate_size: o.intermediate,
    max_len: o.maxLen,
    vocab_size: vocab.diagnosis.length,
    age_vocab_size: 121,
    age_unit: 'years',
    type_vocab_size: 2,
    max_position_embeddings: o.maxLen,
    modalities: o.modalities.map((m) => ({ name: m.name, rows: m.rows, vocab_size: vocab.modalities[m.name].length })),
    static: { name: 'sex', vocab_size: vocab.static.sex!.length },
    tasks: o.tasks.map((t) => ({ name: t.name, description: t.description, num_labels: 1, ...(t.population ? { population: t.population } : {}) })),
  };
  const config = parseConfig(cfgIn);
  const trainGrids = train.map((p) => tokenize(p, vocab, config));
  const valGrids = val.map((p) => tokenize(p, vocab, config));
  const lengths = trainGrids.map((g) => g.realLength);
  const vars = initWeights(config, o.seed * 1000 + 1);
  const w: Weights = vars as unknown as Weights;
  const scatterGrad = tf.getBackend() === 'wasm';
  const history: TrainResult['history'] = [];
  let dropoutSeed = o.seed * 7919;
  const mlmVars = [...vars.values()];
  const ftVars = [...vars].filter(([k]) => !k.startsWith('cls.')).map(([, v]) => v);
  const batchOf = (grids: TokenGrid[], idx: number[]) => stackGrids(idx.map((i) => grids[i]), config);

  // 1. MLM pre-training
  const mlmOpt = tf.train.adam(o.learningRate);
  for (let epoch = 1; epoch <= o.mlmEpochs; epoch++) {
    const t0 = performance.now();
    let total = 0;
    let steps = 0;
    for (const idx of lengthBatches(trainGrids.length, lengths, o.batchSize, rand)) {
      const { batch, labels, weight } = maskForMlm(batchOf(trainGrids, idx), config.vocab_size, rand);
      const seed = dropoutSeed++;
      const loss = mlmOpt.minimize(() => {
        const out = encode(w, config, embeddingParts(w, config, batch, { scatterGrad }), maskTensor(batch), { training: true, seed });
        const logp = tf.logSoftmax(mlmLogits(w, config, out.sequence).reshape([-1, config.vocab_size]));
        const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(labels, 'int32'), config.vocab_size)), -1);
        const wt = tf.tensor1d(weight);
        return tf.div(tf.neg(tf.sum(tf.mul(picked, wt))), tf.maximum(tf.sum(wt), 1)) as tf.Scalar;
      }, true, mlmVars)!;
      total += (await loss.data())[0];
      loss.dispose();
      steps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    history.push({ phase: 'mlm', epoch, loss: total / steps, seconds });
    log(`mlm epoch ${epoch}: loss ${(total / steps).toFixed(4)} (${seconds.toFixed(1)} s)`);
  }
  mlmOpt.dispose();

  // 2. fine-tuning: all heads together; best epoch by validation loss against soft targets, else by
  //    mean validation AUROC
  const ftOpt = tf.train.adam(o.learningRate);
  if (o.augment && !o.targetOf) throw new Error('trainModel: augment needs targetOf (the target of an edited timeline)');
  const targetsOf = (ps: Patient[]) => config.tasks.map((t) => (o.targetOf ? Float32Array.from(ps, (p) => o.targetOf!(p, t.name)) : labelsOf(ps, t.name)));
  let trainLabels = targetsOf(train);
  // patients outside a task's population leave its loss, validation loss and validation AUROC
  const weightsOf = (grids: TokenGrid[]) => config.tasks.map((t) => Float32Array.from(grids, (g) => (inTaskPopulation(t, g, vocab) ? 1 : 0)));
  let trainWeights = weightsOf(trainGrids);
  const valWeights = weightsOf(valGrids);
  let ftGrids = trainGrids;
  const valLabels = config.tasks.map((t) => labelsOf(val, t.name));
  const valTargets = o.targetOf ? targetsOf(val) : undefined;
  let best = -Infinity;
  let bestEpoch = 0;
  let bestWeights = await snapshot(vars);
  for (let epoch = 1; epoch <= o.maxEpochs; epoch++) {
    const t0 = performance.now();
    let total = 0;
    let steps = 0;
    if (o.augment) {
      const edited = train.map((p) => o.augment!(p, rand));
      ftGrids = edited.map((p) => tokenize(p, vocab, config));
      trainLabels = targetsOf(edited);
      trainWeights = weightsOf(ftGrids);
    }
    for (const idx of lengthBatches(ftGrids.length, ftGrids.map((g) => g.realLength), o.batchSize, rand)) {
      const batch = batchOf(ftGrids, idx);
      const seed = dropoutSeed++;
      const loss = ftOpt.minimize(() => {
        const out = encode(w, config, embeddingParts(w, config, batch, { scatterGrad }), maskTensor(batch), { training: true, seed });
        const losses = config.tasks.map((t, k) => {
          const z = tf.tensor1d(Float32Array.from(idx, (i) => trainLabels[k][i]));
          const x = out.logits[t.name].reshape([-1]);
          const wt = tf.tensor1d(Float32Array.from(idx, (i) => trainWeights[k][i]));
          // numerically stable BCE with logits: softplus(x) - x z, over the task's population
          return tf.div(tf.sum(tf.mul(wt, tf.sub(tf.softplus(x), tf.mul(x, z)))), tf.maximum(tf.sum(wt), 1));
        });
        return tf.addN(losses) as tf.Scalar;
      }, true, ftVars)!;
      total += (await loss.data())[0];
      loss.dispose();
      steps++;
    }
    const { valAuroc, valLoss } = await evaluate(w, config, valGrids, valLabels, valTargets);
    // with soft targets the validation loss against them is the criterion (the drawn labels' AUROC
    // is a noisy view of the same fit); otherwise the mean validation AUROC
    const score = valLoss !== undefined ? -valLoss : Object.values(valAuroc).reduce((a, b) => a + b, 0) / config.tasks.length;
    const seconds = (performance.now() - t0) / 1000;
    history.push({ phase: 'finetune', epoch, loss: total / steps, valAuroc, ...(valLoss !== undefined ? { valLoss } : {}), seconds });
    log(`finetune epoch ${epoch}: loss ${(total / steps).toFixed(4)}${valLoss !== undefined ? ` val loss ${valLoss.toFixed(4)}` : ''} val AUROC ${JSON.stringify(valAuroc)} (${seconds.toFixed(1)} s)`);
    if (score > best) {
      best = score;
      bestEpoch = epoch;
      bestWeights = await snapshot(vars);
    } else if (epoch - bestEpoch >= o.patience) {
      log(`early stop: no improvement for ${o.patience} epochs, keeping epoch ${bestEpoch}`);
      break;
    }
  }
  ftOpt.dispose();
  tf.dispose([...vars.values()]);
  return { config, vocab, weights: bestWeights, history, bestEpoch };

  async function evaluate(wts: Weights, c: ModelConfig, grids: TokenGrid[], labels: Float32Array[], targets?: Float32Array[]) {
    const scores = c.tasks.map(() => new Float32Array(grids.length));
    for (let s = 0; s < grids.length; s += 64) {
      const idx = Array.from({ length: Math.min(64, grids.length - s) }, (_, i) => s + i);
      const batch = batchOf(grids, idx);
      const outs = tf.tidy(() => {
        const out = encode(wts, c, embeddingParts(wts, c, batch), maskTensor(batch));
        return c.tasks.map((t) => out.logits[t.name].reshape([-1]));
      });
      const vals = await Promise.all(outs.map((x) => x.data()));
      tf.dispose(outs);
      vals.forEach((v, k) => scores[k].set(v as Float32Array, s));
    }
    const keep = (k: number, a: Float32Array) => a.filter((_, i) => valWeights[k][i] > 0);
    const valAuroc: Record<string, number> = Object.fromEntries(c.tasks.map((t, k) => [t.name, auroc(keep(k, scores[k]), keep(k, labels[k]))]));
    // mean over tasks of the binary cross-entropy against the soft targets
    let valLoss: number | undefined;
    if (targets) {
      valLoss = 0;
      for (let k = 0; k < c.tasks.length; k++) {
        let l = 0;
        let n = 0;
        for (let i = 0; i < grids.length; i++) {
          if (!valWeights[k][i]) continue;
          const x = scores[k][i];
          l += Math.max(x, 0) - x * targets[k][i] + Math.log1p(Math.exp(-Math.abs(x)));
          n++;
        }
        valLoss += l / Math.max(n, 1) / c.tasks.length;
      }
    }
    return { valAuroc, valLoss };
  }
}

/** Seeded patient-level split: 70% train, 15% validation (early stopping), 15% held-out test. */
export function splitCohort<T>(patients: T[], seed: number): { train: T[]; val: T[]; test: T[] } {
  const idx = shuffle(patients.map((_, i) => i), rng(seed ^ 0x5eed));
  const nTrain = Math.floor(patients.length * 0.7);
  const nVal = Math.floor(patients.length * 0.15);
  const pick = (a: number[]) => a.sort((x, y) => x - y).map((i) => patients[i]);
  return { train: pick(idx.slice(0, nTrain)), val: pick(idx.slice(nTrain, nTrain + nVal)), test: pick(idx.slice(nTrain + nVal)) };
}
