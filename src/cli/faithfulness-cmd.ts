// `exbehrt faithfulness`: the three checks of src/attribution/faithfulness.ts over held-out
// synthetic patients, printed as one JSON document.
import { readFile } from 'node:fs/promises';
import { attribute } from '../attribution';
import { deletionCheck, precisionAtK, randomisationCascade } from '../attribution/faithfulness';
import { parseReferenceSet, referenceGrids, type ReferenceFilter } from '../attribution/reference';
import type { Method } from '../attribution/types';
import type { Patient } from '../data/schema';
import { loadModelFromDir } from '../model/folder-node';
import { disposeModel, instantiate } from '../model/runtime';

interface TruthFile {
  patients: Record<string, Record<string, { events: Array<{ visitIndex: number; eventIndex: number }> }>>;
}

export async function faithfulnessCommand(opts: {
  model: string;
  patients: Patient[];
  truthFile: string;
  task: string;
  method: Method;
  samples: number;
  seed: number;
  limit: number;
  /** the reference population (default: the whole shipped set) */
  referenceFilter?: ReferenceFilter;
  log: (m: string) => void;
}): Promise<Record<string, unknown>> {
  const folder = await loadModelFromDir(opts.model);
  const model = instantiate(folder);
  const truth = JSON.parse(await readFile(opts.truthFile, 'utf8')) as TruthFile;
  if (!folder.reference) throw new Error(`${opts.model}: no reference.json, needed for expected gradients`);
  const reference = referenceGrids(parseReferenceSet(folder.reference), folder.config, opts.referenceFilter ?? {});
  const withTruth = opts.patients.filter((p) => (truth.patients[p.id]?.[opts.task]?.events.length ?? 0) > 0).slice(0, opts.limit);
  if (!withTruth.length) throw new Error(`no patient in the file has ground-truth risk events for ${opts.task}`);
  const req = (p: Patient) => ({ patient: p, task: opts.task, method: opts.method, reference, samples: opts.samples, seed: opts.seed });

  const precision: number[] = [];
  const deletion: Array<{ attributed: number; random: number }> = [];
  const results = [];
  for (const [i, p] of withTruth.entries()) {
    const r = await attribute(model, req(p));
    results.push(r);
    precision.push(precisionAtK(r, truth.patients[p.id][opts.task].events, 5));
    const d = await deletionCheck(model, p, r, { steps: 10, randomOrders: 5, seed: opts.seed + i });
    deletion.push({ attributed: d.attributedArea, random: d.randomArea });
    opts.log(`${i + 1}/${withTruth.length} ${p.id}: precision@5 ${precision[i].toFixed(2)}, deletion area ${d.attributedArea.toFixed(3)} vs random ${d.randomArea.toFixed(3)}, gap ${r.gap.toFixed(4)}`);
  }

  // cascading randomisation on a subset (it costs one attribution per stage per patient)
  const sanityPatients = withTruth.slice(0, Math.min(10, withTruth.length));
  const cascade = (
    await randomisationCascade(model, sanityPatients.map(req), results.slice(0, sanityPatients.length), {
      seed: opts.seed,
      onStage: (st) => opts.log(`randomised down to ${st.stage}: mean Spearman ${st.spearman.toFixed(3)}`),
    })
  ).map(({ stage, spearman }) => ({ stage, spearman }));
  disposeModel(model);
  const valid = precision.filter((x) => !Number.isNaN(x));
  return {
    model: folder.name,
    task: opts.task,
    method: opts.method,
    samples: opts.samples,
    seed: opts.seed,
    reference: { size: results[0].referenceSize, filter: opts.referenceFilter ?? {} },
    patients: withTruth.length,
    planted_factor_recovery: { precision_at_5: mean(valid), patients: valid.length },
    deletion: {
      attributed_area: mean(deletion.map((d) => d.attributed)),
      random_area: mean(deletion.map((d) => d.random)),
      beats_random_fraction: deletion.filter((d) => d.attributed < d.random).length / deletion.length,
    },
    randomisation: { patients: sanityPatients.length, cascade },
  };
}
const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
