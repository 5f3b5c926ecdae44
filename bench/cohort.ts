// Cohort view benchmark (issue 7), run by hand: `npx tsx bench/cohort.ts [n] [backend]`.
// Predictions + pooled [CLS] representations for n (default 1,000) synthetic patients with the shipped
// ExBEHRT on Node (wasm by default), then UMAP (umap-js, 500 epochs) and k-means / DBSCAN on the 2-D
// coordinates, and the per-cluster summaries. Prints one JSON object.
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/cli/node-tf';
import { dbscan, kmeans, profileOf, representCohort, suggestEps, summarizeClusters, umap2d } from '../src/cohort';
import { generateCohort } from '../src/data/synthetic';
import { loadModelFromDir } from '../src/model/folder-node';
import { instantiate } from '../src/model/runtime';
import { tokenize } from '../src/tokens/layout';

const n = Number(process.argv[2] ?? 1000);
const backend = await useBackend(process.argv[3] ?? 'wasm');
const folder = await loadModelFromDir('public/models/exbehrt');
const model = instantiate(folder);
const { patients } = generateCohort({ n, seed: 11 });
const ms = (t: number) => Math.round(performance.now() - t);

// warm-up (kernel set-up, first allocations) on a few patients, not timed
await representCohort(model, patients.slice(0, 8));

let t = performance.now();
const grids = patients.map((p) => tokenize(p, folder.vocab, folder.config));
const tokenizeMs = ms(t);
t = performance.now();
const rep = await representCohort(model, patients, { grids });
const representMs = ms(t);
t = performance.now();
const xy = await umap2d(rep.cls, n, rep.hidden, { seed: 0 });
const umapMs = ms(t);
t = performance.now();
const km = kmeans(xy, n, 2, 4, 0);
const kmeansMs = ms(t);
t = performance.now();
const kmRaw = kmeans(rep.cls, n, rep.hidden, 4, 0);
const kmeansRawMs = ms(t);
t = performance.now();
const eps = suggestEps(xy, n, 2, 10);
const db = dbscan(xy, n, 2, eps, 10);
const dbscanMs = ms(t);
t = performance.now();
const profiles = patients.map((p) => profileOf(p, folder.vocab.bins));
const summary = summarizeClusters(km.labels, profiles, rep.risks);
const summaryMs = ms(t);

const lengths = grids.map((g) => g.realLength);
console.log(
  JSON.stringify(
    {
      bench: 'cohort',
      patients: n,
      backend,
      tfBackend: tf.getBackend(),
      cpu: cpus()[0]?.model,
      node: process.version,
      meanTokens: Math.round(lengths.reduce((a, b) => a + b, 0) / n),
      maxTokens: Math.max(...lengths),
      ms: { tokenize: tokenizeMs, representations: representMs, umap: umapMs, kmeans: kmeansMs, kmeansRaw64d: kmeansRawMs, dbscan: dbscanMs, summaries: summaryMs },
      patientsPerSecond: Math.round((1000 * n) / representMs),
      kmeans: { k: 4, sizes: summary.clusters.map((c) => c.size), iterations: km.iterations, rawIterations: kmRaw.iterations },
      dbscan: { eps: +eps.toFixed(3), minPts: 10, clusters: db.clusters, noise: db.noise },
      hf12mRates: summary.clusters.map((c) => c.tasks.hf_12m.rate),
    },
    null,
    1,
  ),
);
