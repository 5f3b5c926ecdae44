// Occlusion: remove one event (or one visit), re-predict, attribution = f(x) - f(x without it).
// Model-agnostic and easy to read; no completeness.
import type { Patient } from '../data/schema';
import { inTaskPopulation } from '../model/population';
import { logitsForGrids, type LoadedModel } from '../model/runtime';
import { tokenize, type TokenGrid } from '../tokens/layout';
import { rollup } from './rollup';
import type { AttributionResult } from './types';

export function withoutEvent(p: Patient, visit: number, event: number): Patient {
  return { ...p, visits: p.visits.map((v, i) => (i === visit ? { ...v, events: v.events.filter((_, j) => j !== event) } : v)) };
}

export function withoutVisit(p: Patient, visit: number): Patient {
  return { ...p, visits: p.visits.filter((_, i) => i !== visit) };
}

export async function occlusion(opts: {
  model: LoadedModel;
  patient: Patient;
  grid: TokenGrid;
  task: string;
  onProgress?: (r: AttributionResult) => void;
  signal?: AbortSignal;
}): Promise<AttributionResult> {
  const { model, patient, grid, task } = opts;
  const { config, vocab } = model.folder;
  const L = grid.realLength;
  const slots = grid.slots.filter((s) => s.event >= 0);
  const kept = grid.visitsKept;
  // variants: the patient itself, each event removed, each kept visit removed (a lone visit cannot go)
  const variants: Patient[] = [patient, ...slots.map((s) => withoutEvent(patient, s.visit, s.event))];
  const visitVariants = patient.visits.length > 1 ? kept : [];
  variants.push(...visitVariants.map((v) => withoutVisit(patient, v)));
  const logits = new Float32Array(variants.length);
  const taskConfig = config.tasks.find((t) => t.name === task)!;
  const chunk = 64;
  for (let s = 0; s < variants.length; s += chunk) {
    if (opts.signal?.aborted) break;
    const grids = variants.slice(s, s + chunk).map((p) => tokenize(p, vocab, config));
    const l = (await logitsForGrids(model, grids))[task];
    // removing the last diagnosis of a task's population (the only cancer code) leaves no risk to
    // compare with: that removal counts as no change (its attribution is 0), not as the untrained
    // head's output
    const fx0 = s === 0 ? l[0] : logits[0];
    grids.forEach((g, i) => (l[i] = s + i > 0 && !inTaskPopulation(taskConfig, g, vocab) ? fx0 : l[i]));
    logits.set(l, s);
  }
  const cancelled = !!opts.signal?.aborted;
  const fx = logits[0];
  const token: Record<string, Float64Array> = {};
  const rows: Record<string, Float64Array> = {};
  const zeros: Record<string, Float64Array> = {};
  for (const p of ['diagnosis', ...config.modalities.map((m) => m.name), 'age', 'segment', 'position', ...(config.static ? ['static'] : [])]) {
    token[p] = new Float64Array(L);
    zeros[p] = new Float64Array(L);
  }
  for (const m of config.modalities) rows[m.name] = new Float64Array(m.rows * L);
  slots.forEach((s, i) => {
    const v = cancelled ? 0 : fx - logits[1 + i];
    token[s.part][s.t] += v;
    if (s.part !== 'diagnosis') rows[s.part][s.row * L + s.t] = v;
  });
  const zeroRows = Object.fromEntries(Object.entries(rows).map(([k, a]) => [k, new Float64Array(a.length)]));
  const res = rollup('occlusion', task, patient, grid, { token, tokenStderr: zeros, rows, rowsStderr: zeroRows }, {
    logit: fx,
    referenceLogit: 0,
    referenceSize: 0,
    samplesDone: cancelled ? 0 : variants.length - 1,
    samplesTotal: variants.length - 1,
    gap: NaN,
    plainGap: NaN,
    done: !cancelled,
    cancelled,
  });
  // a visit's occlusion is the effect of removing the whole visit, not the sum of its events
  res.visit = Object.fromEntries(visitVariants.map((v, i) => [v, cancelled ? 0 : fx - logits[1 + slots.length + i]]));
  opts.onProgress?.(res);
  return res;
}
