// `exbehrt cohort`: representations, UMAP, clusters and per-cluster summaries for a cohort larger than
// a browser tab holds, optionally split into shards over processes or machines (docs/cohort.md).
//
//   exbehrt cohort --model M --patients P --out D [--shard i/n]   representations (+ the rest when unsharded)
//   exbehrt cohort merge --out D [--model M --patients P]          merge the shards in D, then the rest
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { attribute } from '../attribution';
import { parseReferenceSet, referenceGrids } from '../attribution/reference';
import type { AttributionResult } from '../attribution/types';
import {
  analyzeCohort,
  filterByDiagnosis,
  filterProfilesByDiagnosis,
  meanAttributionPerCode,
  mergeRepresentations,
  parseShard,
  profileOf,
  representCohort,
  type CodeAttribution,
  type CohortAnalysis,
  type CohortRepresentation,
  type PatientProfile,
  type RepresentationKind,
  type Shard,
} from '../cohort';
import { parsePatientsText, type Patient } from '../data/schema';
import { rng, shuffle } from '../data/random';
import { loadModelFromDir } from '../model/folder-node';
import { disposeModel, instantiate, type LoadedModel } from '../model/runtime';
import { tokenize } from '../tokens/layout';
import { useBackend } from './node-tf';

export class CohortUsageError extends Error {}

export const COHORT_USAGE = `exbehrt cohort --model <folder> --patients <file> --out <dir> [options]
exbehrt cohort merge --out <dir> [--model <folder> --patients <file>] [options]

  --shard i/n            compute only shard i of n (representations + risks) and write
                         representations.shard-i-of-n.{json,bin}; merge them with 'cohort merge'
                         (or a run without --shard on the same --out)
  --diagnosis PREFIX     only patients with a diagnosis code starting with PREFIX (e.g. C)
  --representation pooled|cls   pooled [CLS] (default, what the heads read) or the raw [CLS] state
  --batch-size N         patients per forward pass (default 32; every shard must use the same)
  --method kmeans|dbscan (default kmeans)   --k K (default 4)   --eps E --min-pts M (DBSCAN)
  --space umap|raw       cluster the 2-D UMAP coordinates (default) or the raw representations
  --seed S               UMAP and k-means seed (default 0)
  --n-neighbors N --min-dist D   UMAP (default 15, 0.1)
  --task T               task for attribution (default: the model's first)
  --attribute-samples N --attribute-limit M   mean EG per code over up to M patients per cluster
                         (N samples each; off unless --attribute-samples is given; needs --model and --patients)
  --backend wasm|cpu     (default wasm)
writes to --out: representations*.json/.bin, embeddings.csv, clusters.json, clusters.csv (docs/cohort.md)
`;

const FORMAT = 'exbehrt-cohort-representations';

/** The JSON half of a representations file; the .bin half holds rows x hidden float32 (little-endian). */
export interface RepresentationsHeader {
  format: typeof FORMAT;
  version: 1;
  model: { name: string; sha256: string };
  patients: { file: string; sha256: string; /** patients after --diagnosis, i.e. the whole cohort the shards split */ cohortSize: number };
  diagnosis: string | null;
  /** 1-based, as on the command line */
  shard: { index: number; count: number };
  batchSize: number;
  representation: RepresentationKind;
  hidden: number;
  tasks: string[];
  rows: number;
  /** the .bin file next to this one: rows x hidden float32, little-endian */
  bin: string;
  /** the JSON-lines file next to this one: one PatientProfile per row, in row order */
  profiles: string;
  ids: string[];
  /** row -> position in the (filtered) cohort */
  index: number[];
  logits: Record<string, number[]>;
  risks: Record<string, number[]>;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const shardStem = (s: Shard) => `representations.shard-${s.index + 1}-of-${s.count}`;

function num(v: string | undefined, flag: string, def: number, check: (x: number) => boolean = Number.isFinite): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!check(x)) throw new CohortUsageError(`${flag}: bad value ${JSON.stringify(v)}`);
  return x;
}

type HeaderFields = Omit<RepresentationsHeader, 'bin' | 'profiles'>;

async function writeRepresentations(dir: string, stem: string, header: HeaderFields, cls: Float32Array, profiles: PatientProfile[]): Promise<void> {
  if (endianness() !== 'LE') throw new Error('representations .bin files are little-endian; this machine is big-endian');
  await writeFile(join(dir, stem + '.bin'), new Uint8Array(cls.buffer, cls.byteOffset, cls.byteLength));
  // profiles line by line: a large cohort's profiles do not fit one JS string
  const out = createWriteStream(join(dir, stem + '.profiles.jsonl'));
  for (const p of profiles) if (!out.write(JSON.stringify(p) + '\n')) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  // the header last: its presence says the shard is complete
  await writeFile(join(dir, stem + '.json'), JSON.stringify({ ...header, bin: stem + '.bin', profiles: stem + '.profiles.jsonl' }) + '\n');
}

async function readProfiles(file: string): Promise<PatientProfile[]> {
  const out: PatientProfile[] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) out.push(JSON.parse(line) as PatientProfile);
  return out;
}

async function readRepresentations(dir: string, file: string): Promise<{ header: RepresentationsHeader; rep: CohortRepresentation; profiles: PatientProfile[] }> {
  const header = JSON.parse(await readFile(join(dir, file), 'utf8')) as RepresentationsHeader;
  if (header.format !== FORMAT || header.version !== 1) throw new Error(`${file}: not an exbehrt cohort representations file (format ${header.format}, version ${header.version})`);
  const buf = await readFile(join(dir, header.bin));
  if (buf.byteLength !== header.rows * header.hidden * 4) throw new Error(`${header.bin}: ${buf.byteLength} bytes, expected ${header.rows} x ${header.hidden} float32`);
  const cls = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  // (a risk outside a task's population is NaN, written to JSON as null)
  const f32 = (o: Record<string, Array<number | null>>) => Object.fromEntries(header.tasks.map((t) => [t, Float32Array.from(o[t], (v) => v ?? NaN)]));
  const profiles = await readProfiles(join(dir, header.profiles));
  if (profiles.length !== header.rows || profiles.some((p, i) => p.id !== header.ids[i])) throw new Error(`${header.profiles}: does not match the ${header.rows} rows of ${file}`);
  return {
    header,
    profiles,
    rep: { ids: header.ids, index: Int32Array.from(header.index), risks: f32(header.risks), logits: f32(header.logits), cls, hidden: header.hidden, representation: header.representation },
  };
}

interface Inputs {
  model: LoadedModel;
  modelSha: string;
  patients: Patient[];
  patientsFile: string;
  patientsSha: string;
}

async function loadInputs(modelDir: string, patientsFile: string, backend: string | undefined, log: (m: string) => void): Promise<Inputs> {
  const be = await useBackend(backend);
  const folder = await loadModelFromDir(modelDir);
  const modelSha = sha256(await readFile(join(modelDir, 'model.safetensors')));
  let text: string;
  try {
    text = await readFile(patientsFile, 'utf8');
  } catch (e) {
    throw new CohortUsageError(`${patientsFile}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const patients = parsePatientsText(text, patientsFile);
  log(`cohort: model ${folder.name} on ${be}, ${patients.length} patients from ${patientsFile}`);
  return { model: instantiate(folder), modelSha, patients, patientsFile: basename(patientsFile), patientsSha: sha256(text) };
}

/** Representations of one shard (or all) of the filtered cohort, with the header that goes with them. */
async function computeShard(inp: Inputs, opts: { shard: Shard; diagnosis: string | null; batchSize: number; representation: RepresentationKind }, log: (m: string) => void) {
  const cohort = opts.diagnosis ? filterByDiagnosis(inp.patients, opts.diagnosis) : inp.patients;
  if (opts.diagnosis) log(`cohort: ${cohort.length} of ${inp.patients.length} patients have a diagnosis starting with ${opts.diagnosis}`);
  if (!cohort.length) throw new CohortUsageError('no patients to process');
  const { config, vocab } = inp.model.folder;
  const grids = cohort.map((p) => tokenize(p, vocab, config));
  const t0 = performance.now();
  let last = 0;
  const rep = await representCohort(inp.model, cohort, {
    grids,
    shard: opts.shard,
    batchSize: opts.batchSize,
    representation: opts.representation,
    onProgress: (done, total) => {
      const now = performance.now();
      if (done === total || now - last > 2000) {
        last = now;
        log(`cohort: shard ${opts.shard.index + 1}/${opts.shard.count}: ${done}/${total} patients, ${((now - t0) / 1000).toFixed(1)} s`);
      }
    },
  });
  const byId = new Map(cohort.map((p) => [p.id, p]));
  const arr = (o: Record<string, Float32Array>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));
  const header: HeaderFields = {
    format: FORMAT,
    version: 1,
    model: { name: inp.model.folder.name, sha256: inp.modelSha },
    patients: { file: inp.patientsFile, sha256: inp.patientsSha, cohortSize: cohort.length },
    diagnosis: opts.diagnosis,
    shard: { index: opts.shard.index + 1, count: opts.shard.count },
    batchSize: opts.batchSize,
    representation: rep.representation,
    hidden: rep.hidden,
    tasks: config.tasks.map((t) => t.name),
    rows: rep.ids.length,
    ids: rep.ids,
    index: Array.from(rep.index),
    logits: arr(rep.logits),
    risks: arr(rep.risks),
  };
  return { rep, header, profiles: rep.ids.map((id) => profileOf(byId.get(id)!, vocab.bins)) };
}

/** Read every shard file in `dir`, check that they are one complete set, merge. */
export async function mergeShardFiles(dir: string): Promise<{ header: HeaderFields; rep: CohortRepresentation; profiles: PatientProfile[] }> {
  const files = (await readdir(dir)).filter((f) => /^representations\.shard-\d+-of-\d+\.json$/.test(f)).sort();
  if (!files.length) throw new CohortUsageError(`${dir}: no representations.shard-i-of-n.json files to merge`);
  const parts = await Promise.all(files.map((f) => readRepresentations(dir, f)));
  const h0 = parts[0].header;
  const same = (h: RepresentationsHeader) =>
    h.model.sha256 === h0.model.sha256 && h.patients.sha256 === h0.patients.sha256 && h.diagnosis === h0.diagnosis && h.batchSize === h0.batchSize && h.representation === h0.representation && h.shard.count === h0.shard.count;
  const odd = parts.find((p) => !same(p.header));
  if (odd) throw new Error(`${dir}: shard files come from different runs (${shardStem({ index: h0.shard.index - 1, count: h0.shard.count })} vs ${shardStem({ index: odd.header.shard.index - 1, count: odd.header.shard.count })}: model, patients file, --diagnosis, --batch-size, --representation or shard count differ)`);
  const have = new Set(parts.map((p) => p.header.shard.index));
  const missing = Array.from({ length: h0.shard.count }, (_, i) => i + 1).filter((i) => !have.has(i));
  if (missing.length) throw new Error(`${dir}: shards ${missing.map((i) => `${i}/${h0.shard.count}`).join(', ')} missing`);
  const rep = mergeRepresentations(parts.map((p) => p.rep));
  if (rep.ids.length !== h0.patients.cohortSize) throw new Error(`${dir}: merged ${rep.ids.length} patients, the cohort has ${h0.patients.cohortSize}`);
  const prof = new Map(parts.flatMap((p) => p.profiles.map((x) => [x.id, x] as const)));
  return { header: h0, rep, profiles: rep.ids.map((id) => prof.get(id)!) };
}

function selectRows(rep: CohortRepresentation, profiles: PatientProfile[], keep: boolean[]): { rep: CohortRepresentation; profiles: PatientProfile[] } {
  const rows = keep.flatMap((k, i) => (k ? [i] : []));
  const H = rep.hidden;
  const cls = new Float32Array(rows.length * H);
  rows.forEach((r, i) => cls.set(rep.cls.subarray(r * H, (r + 1) * H), i * H));
  const pick = (o: Record<string, Float32Array>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Float32Array.from(rows, (r) => v[r])]));
  return {
    rep: { ...rep, ids: rows.map((r) => rep.ids[r]), index: Int32Array.from(rows, (r) => rep.index[r]), risks: pick(rep.risks), logits: pick(rep.logits), cls },
    profiles: rows.map((r) => profiles[r]),
  };
}

const csvCell = (v: string | number | null | undefined) => {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

async function writeOutputs(dir: string, meta: Record<string, unknown>, rep: CohortRepresentation, profiles: PatientProfile[], a: CohortAnalysis, attribution: Record<number, { task: string; samples: number; patients: string[]; codes: CodeAttribution[] }> | null) {
  const tasks = Object.keys(rep.risks);
  const emb = [['id', 'x', 'y', 'cluster', ...tasks.map((t) => `risk_${t}`), ...tasks.map((t) => `label_${t}`), ...tasks.map((t) => `time_${t}`)].join(',')];
  rep.ids.forEach((id, i) => {
    const o = profiles[i].outcomes;
    emb.push([csvCell(id), a.xy[2 * i], a.xy[2 * i + 1], a.labels[i], ...tasks.map((t) => rep.risks[t][i]), ...tasks.map((t) => o[t]?.label), ...tasks.map((t) => o[t]?.time)].map(csvCell).join(','));
  });
  await writeFile(join(dir, 'embeddings.csv'), emb.join('\n') + '\n');

  const clusters = a.summary.clusters.map((c) => ({ ...c, centre: a.centres[c.cluster], attribution: attribution?.[c.cluster] ?? null }));
  const json = { format: 'exbehrt-cohort-clusters', version: 1, ...meta, params: a.params, timings: a.timings, n: a.summary.n, tasks: a.summary.tasks, rateTest: a.summary.rateTest, overall: a.summary.overall, clusters };
  await writeFile(join(dir, 'clusters.json'), JSON.stringify(json, null, 1) + '\n');

  const head = ['cluster', 'size', 'mean_age', 'female', ...tasks.flatMap((t) => [`known_${t}`, `positives_${t}`, `rate_${t}`, `mean_risk_${t}`, `km_median_${t}`]), 'top_codes'];
  const rows = [a.summary.overall, ...a.summary.clusters].map((c) =>
    [
      c.cluster === -2 ? 'all' : c.cluster,
      c.size,
      c.meanAge.toFixed(1),
      c.female.toFixed(3),
      ...tasks.flatMap((t) => {
        const s = c.tasks[t];
        return [s.known, s.positives, s.rate?.toFixed(4), Number.isFinite(s.meanRisk) ? s.meanRisk.toFixed(4) : '', s.km?.median ?? ''];
      }),
      c.distinguishing.slice(0, 5).map((d) => d.key).join('; '),
    ]
      .map(csvCell)
      .join(','),
  );
  await writeFile(join(dir, 'clusters.csv'), [head.join(','), ...rows].join('\n') + '\n');
}

export async function cohortCommand(argv: string[], log: (m: string) => void = (m) => process.stderr.write(m + '\n')): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: Object.fromEntries(
        ['model', 'patients', 'out', 'shard', 'k', 'method', 'eps', 'min-pts', 'seed', 'diagnosis', 'task', 'attribute-samples', 'attribute-limit', 'space', 'representation', 'batch-size', 'n-neighbors', 'min-dist', 'backend'].map((k) => [k, { type: 'string' as const }]),
      ),
    });
  } catch (e) {
    throw new CohortUsageError(`${(e as Error).message}\n\n${COHORT_USAGE}`);
  }
  const { values: v, positionals } = parsed;
  const merge = positionals[0] === 'merge';
  if (positionals.length > (merge ? 1 : 0)) throw new CohortUsageError(`unexpected argument ${positionals[merge ? 1 : 0]}\n\n${COHORT_USAGE}`);
  if (!v.out) throw new CohortUsageError(`missing --out\n\n${COHORT_USAGE}`);
  const out = v.out;
  const shard = v.shard !== undefined ? parseShard(v.shard) : null;
  if (merge && shard) throw new CohortUsageError('cohort merge takes no --shard');
  const method = (v.method ?? 'kmeans') as 'kmeans' | 'dbscan';
  if (method !== 'kmeans' && method !== 'dbscan') throw new CohortUsageError(`--method must be kmeans or dbscan, got ${v.method}`);
  const space = (v.space ?? 'umap') as 'umap' | 'raw';
  if (space !== 'umap' && space !== 'raw') throw new CohortUsageError(`--space must be umap or raw, got ${v.space}`);
  const representation = (v.representation ?? 'pooled') as RepresentationKind;
  if (representation !== 'pooled' && representation !== 'cls') throw new CohortUsageError(`--representation must be pooled or cls, got ${v.representation}`);
  const int = (x: number) => Number.isInteger(x) && x >= 1;
  const batchSize = num(v['batch-size'], '--batch-size', 32, int);
  const k = num(v.k, '--k', 4, int);
  const seed = num(v.seed, '--seed', 0, Number.isInteger);
  const eps = v.eps !== undefined ? num(v.eps, '--eps', 0, (x) => x > 0) : undefined;
  const minPts = num(v['min-pts'], '--min-pts', 10, int);
  const nNeighbors = num(v['n-neighbors'], '--n-neighbors', 15, (x) => Number.isInteger(x) && x >= 2);
  const minDist = num(v['min-dist'], '--min-dist', 0.1, (x) => x >= 0);
  const attrSamples = num(v['attribute-samples'], '--attribute-samples', 0, (x) => Number.isInteger(x) && x >= 0);
  const attrLimit = num(v['attribute-limit'], '--attribute-limit', 20, int);
  const diagnosis = v.diagnosis ?? null;
  await mkdir(out, { recursive: true });

  const existingShards = (await readdir(out)).some((f) => /^representations\.shard-\d+-of-\d+\.json$/.test(f));
  let inputs: Inputs | null = null;
  try {
    if (v.model || v.patients || !merge) {
      if (!v.model || !v.patients) throw new CohortUsageError(`${merge ? 'cohort merge: --model and --patients go together' : 'missing --model or --patients'}\n\n${COHORT_USAGE}`);
      inputs = await loadInputs(v.model, v.patients, v.backend, log);
    }

    // 1. representations: one shard, all, or merged from shard files
    if (shard) {
      const { header, rep, profiles } = await computeShard(inputs!, { shard, diagnosis, batchSize, representation }, log);
      await writeRepresentations(out, shardStem(shard), header, rep.cls, profiles);
      log(`cohort: wrote ${join(out, shardStem(shard))}.json/.bin (${rep.ids.length} patients); merge with: exbehrt cohort merge --out ${out}`);
      return;
    }
    let rep: CohortRepresentation;
    let profiles: PatientProfile[];
    let header: HeaderFields;
    if (merge || existingShards) {
      log(`cohort: merging the shard files in ${out}`);
      ({ header, rep, profiles } = await mergeShardFiles(out));
      if (inputs && inputs.patientsSha !== header.patients.sha256) throw new CohortUsageError(`--patients ${v.patients} is not the file the shards were computed from (${header.patients.file})`);
      if (inputs && inputs.modelSha !== header.model.sha256) throw new CohortUsageError(`--model ${v.model} is not the model the shards were computed with (${header.model.name})`);
      if (diagnosis && header.diagnosis && diagnosis !== header.diagnosis) throw new CohortUsageError(`the shards were computed with --diagnosis ${header.diagnosis}, not ${diagnosis}`);
      log(`cohort: merged ${header.shard.count} shards, ${rep.ids.length} patients`);
    } else {
      const r = await computeShard(inputs!, { shard: { index: 0, count: 1 }, diagnosis, batchSize, representation }, log);
      ({ rep, header, profiles } = r);
      await writeRepresentations(out, 'representations', header, rep.cls, profiles);
    }
    // --diagnosis at merge time narrows the merged cohort (a no-op when the shards already did)
    if (diagnosis && header.diagnosis !== diagnosis) {
      ({ rep, profiles } = selectRows(rep, profiles, filterProfilesByDiagnosis(profiles, diagnosis)));
      log(`cohort: ${rep.ids.length} patients with a diagnosis starting with ${diagnosis}`);
      if (!rep.ids.length) throw new CohortUsageError('no patients left after --diagnosis');
    }

    // 2. UMAP, clusters, summaries
    let lastLog = 0;
    const analysis = await analyzeCohort(rep, profiles, {
      method,
      k,
      eps,
      minPts,
      space,
      seed,
      nNeighbors,
      minDist,
      onProgress: (stage, done, total) => {
        const now = performance.now();
        if (done === total || now - lastLog > 2000) {
          lastLog = now;
          log(`cohort: ${stage} ${done}/${total}`);
        }
      },
    });
    log(`cohort: UMAP ${(analysis.timings.umapMs / 1000).toFixed(1)} s, ${method} ${(analysis.timings.clusterMs / 1000).toFixed(2)} s: ${analysis.summary.clusters.length} groups`);

    // 3. cohort-level attribution: mean EG per code over up to attrLimit patients per cluster
    let attribution: Parameters<typeof writeOutputs>[5] = null;
    if (attrSamples > 0) {
      if (!inputs) throw new CohortUsageError('--attribute-samples needs --model and --patients');
      const { folder } = inputs.model;
      const task = v.task ?? folder.config.tasks[0].name;
      if (!folder.config.tasks.some((t) => t.name === task)) throw new CohortUsageError(`unknown task ${task}: the model has ${folder.config.tasks.map((t) => t.name).join(', ')}`);
      if (!folder.reference) throw new CohortUsageError('--attribute-samples: the model folder has no reference.json (expected gradients needs one)');
      const reference = referenceGrids(parseReferenceSet(folder.reference), folder.config);
      const byId = new Map(inputs.patients.map((p) => [p.id, p]));
      attribution = {};
      for (const c of analysis.summary.clusters) {
        const rows = Array.from(analysis.labels.keys()).filter((i) => analysis.labels[i] === c.cluster);
        const pick = shuffle(rows, rng(seed + 1000 * (c.cluster + 2))).slice(0, attrLimit);
        const results: AttributionResult[] = [];
        for (const r of pick) results.push(await attribute(inputs.model, { patient: byId.get(rep.ids[r])!, task, method: 'eg', reference, samples: attrSamples, seed }));
        attribution[c.cluster] = { task, samples: attrSamples, patients: pick.map((r) => rep.ids[r]), codes: meanAttributionPerCode(results).slice(0, 25) };
        log(`cohort: EG over ${pick.length} patients of cluster ${c.cluster}`);
      }
    }

    const meta = { model: header.model, patients: header.patients, diagnosis: diagnosis ?? header.diagnosis, shards: header.shard.count, batchSize: header.batchSize };
    await writeOutputs(out, meta, rep, profiles, analysis, attribution);
    for (const c of analysis.summary.clusters)
      log(`cohort: cluster ${c.cluster}: ${c.size} patients, ${analysis.summary.tasks.map((t) => `${t} rate ${c.tasks[t].rate === null ? 'n/a' : `${c.tasks[t].positives}/${c.tasks[t].known} = ${c.tasks[t].rate!.toFixed(3)}`}`).join(', ')}; top codes ${c.distinguishing.slice(0, 3).map((d) => d.key).join(', ')}`);
    log(`cohort: wrote ${join(out, 'embeddings.csv')}, clusters.json, clusters.csv`);
  } finally {
    if (inputs) disposeModel(inputs.model);
  }
}
