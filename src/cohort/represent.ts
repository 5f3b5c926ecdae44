// Run a model over a cohort: per patient the risk per task and the patient representation that the
// cohort view projects and clusters (issue 7).
//
// The representation is the POOLED [CLS] state by default: tanh(W_pool h_CLS + b) of the last
// encoder layer, the vector every task head reads (risk = sigmoid(w_task . pooled + b_task)). It is
// what the fine-tuned model made of the patient for its tasks, so patients with similar risk
// mechanisms lie close together. `representation: 'cls'` gives the raw last-layer [CLS] hidden
// state instead (before the pooler; the same H dimensions). The ExBEHRT paper clusters "the [CLS]
// representation"; with a tanh pooler on top of it the two carry the same information up to a fixed
// affine map and a squashing, and the pooled one is the one the heads use.
//
// Batching: grids are sorted by real length (ties by input position) and cut into batches of
// `batchSize`, so a batch pads little (as logitsForGrids). The batches are a function of the whole
// cohort, and a shard (`shard: {index, count}`) takes every count-th batch of that global list
// (round robin, so long and short batches spread over the shards). Every patient is therefore
// computed in exactly the same batch, with the same padding, whether the cohort runs in one process
// or in shards: merged shards equal the unsharded run bit for bit.
import * as tf from '@tensorflow/tfjs';
import type { Patient } from '../data/schema';
import { encode, embeddingParts, maskTensor } from '../model/exbehrt';
import { inTaskPopulation } from '../model/population';
import { sigmoid, type LoadedModel } from '../model/runtime';
import { stackGrids, tokenize, type TokenGrid } from '../tokens/layout';

export type RepresentationKind = 'pooled' | 'cls';

export interface Shard {
  /** 0-based shard number, 0 <= index < count (the CLI's `--shard i/n` is 1-based) */
  index: number;
  count: number;
}

export interface RepresentOptions {
  /** patients per forward pass (default 32) */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** checked between batches; an abort throws CohortCancelled after freeing the batch's tensors */
  signal?: AbortSignal;
  /** 'pooled' (default) or 'cls' (raw last-layer [CLS] hidden state) */
  representation?: RepresentationKind;
  /** compute only this shard's batches (see the header) */
  shard?: Shard;
  /** token grids of `patients`, when the caller already has them */
  grids?: TokenGrid[];
}

export interface CohortRepresentation {
  /** patient ids, in input order (for a shard: the shard's patients, in input order) */
  ids: string[];
  /** position of each row in the input `patients` (merging shards sorts on it) */
  index: Int32Array;
  /** predicted probability per task per row */
  risks: Record<string, Float32Array>;
  /** logit per task per row */
  logits: Record<string, Float32Array>;
  /** rows x hidden, row-major */
  cls: Float32Array;
  hidden: number;
  representation: RepresentationKind;
}

export class CohortCancelled extends Error {
  constructor() {
    super('cohort run cancelled');
    this.name = 'AbortError';
  }
}

/** Global batches: input positions sorted by real length (then position), cut every `batchSize`. */
export function cohortBatches(grids: TokenGrid[], batchSize: number): number[][] {
  const order = grids.map((_, i) => i).sort((a, b) => grids[a].realLength - grids[b].realLength || a - b);
  const out: number[][] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.slice(s, s + batchSize));
  return out;
}

export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) throw new Error(`--shard must be i/n with 1 <= i <= n, got ${JSON.stringify(s)}`);
  return { index: i - 1, count: n };
}

export async function representCohort(model: LoadedModel, patients: Patient[], opts: RepresentOptions = {}): Promise<CohortRepresentation> {
  const c = model.folder.config;
  const H = c.hidden_size;
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 32));
  const kind = opts.representation ?? 'pooled';
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (!(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count)) throw new Error(`shard ${shard.index}/${shard.count} out of range`);
  const grids = opts.grids ?? patients.map((p) => tokenize(p, model.folder.vocab, c));
  if (grids.length !== patients.length) throw new Error('representCohort: grids and patients differ in length');

  const batches = cohortBatches(grids, batchSize).filter((_, b) => b % shard.count === shard.index);
  const mine = batches.flat().sort((a, b) => a - b);
  const row = new Map(mine.map((i, r) => [i, r]));
  const n = mine.length;
  const cls = new Float32Array(n * H);
  const risks: Record<string, Float32Array> = Object.fromEntries(c.tasks.map((t) => [t.name, new Float32Array(n)]));
  const logits: Record<string, Float32Array> = Object.fromEntries(c.tasks.map((t) => [t.name, new Float32Array(n)]));

  let done = 0;
  opts.onProgress?.(0, n);
  for (const idx of batches) {
    if (opts.signal?.aborted) throw new CohortCancelled();
    const batch = stackGrids(idx.map((i) => grids[i]), c);
    const B = batch.batch;
    const outs = tf.tidy(() => {
      const o = encode(model.weights, c, embeddingParts(model.weights, c, batch), maskTensor(batch));
      const rep = kind === 'pooled' ? o.pooled : tf.slice(o.sequence, [0, 0, 0], [B, 1, H]).reshape([B, H]);
      return [rep, ...c.tasks.map((t) => o.logits[t.name].slice([0, 0], [B, 1]).reshape([B]))];
    });
    let values: (Float32Array | Int32Array | Uint8Array)[];
    try {
      values = await Promise.all(outs.map((t) => t.data()));
    } finally {
      tf.dispose(outs);
    }
    const rep = values[0] as Float32Array;
    idx.forEach((i, j) => {
      const r = row.get(i)!;
      cls.set(rep.subarray(j * H, (j + 1) * H), r * H);
      c.tasks.forEach((t, k) => {
        // outside a task's population the model gives no risk (src/model/population.ts): NaN
        const l = inTaskPopulation(t, grids[i], model.folder.vocab) ? values[k + 1][j] : NaN;
        logits[t.name][r] = l;
        risks[t.name][r] = sigmoid(l);
      });
    });
    done += B;
    opts.onProgress?.(done, n);
  }
  return { ids: mine.map((i) => patients[i].id), index: Int32Array.from(mine), risks, logits, cls, hidden: H, representation: kind };
}

/** Put shard results back together in input order. Throws when shards overlap or disagree. */
export function mergeRepresentations(parts: CohortRepresentation[]): CohortRepresentation {
  if (!parts.length) throw new Error('mergeRepresentations: no parts');
  const { hidden: H, representation } = parts[0];
  const tasks = Object.keys(parts[0].risks);
  for (const p of parts) {
    if (p.hidden !== H) throw new Error(`shards disagree on the hidden size (${H} vs ${p.hidden})`);
    if (p.representation !== representation) throw new Error(`shards disagree on the representation (${representation} vs ${p.representation})`);
    if (Object.keys(p.risks).join() !== tasks.join()) throw new Error('shards disagree on the tasks');
  }
  const rows: Array<[number, number, number]> = []; // [input index, part, row]
  parts.forEach((p, k) => p.index.forEach((ix, r) => rows.push([ix, k, r])));
  rows.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < rows.length; i++) if (rows[i][0] === rows[i - 1][0]) throw new Error(`shards overlap: input row ${rows[i][0]} appears twice`);
  const n = rows.length;
  const cls = new Float32Array(n * H);
  const risks = Object.fromEntries(tasks.map((t) => [t, new Float32Array(n)]));
  const logits = Object.fromEntries(tasks.map((t) => [t, new Float32Array(n)]));
  const ids: string[] = [];
  rows.forEach(([, k, r], i) => {
    const p = parts[k];
    ids.push(p.ids[r]);
    cls.set(p.cls.subarray(r * H, (r + 1) * H), i * H);
    for (const t of tasks) {
      risks[t][i] = p.risks[t][r];
      logits[t][i] = p.logits[t][r];
    }
  });
  return { ids, index: Int32Array.from(rows.map((x) => x[0])), risks, logits, cls, hidden: H, representation };
}
