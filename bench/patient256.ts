// A 256-token patient for benchmarks, and the PyTorch reference's inputs for it.
// The patient: the longest held-out sample patient, with its visits
// repeated (dates shifted back a year each round) until the diagnosis sequence fills max_len.
import type { Patient } from '../src/data/schema';
import type { ModelFolder } from '../src/model/folder';
import { egDraws } from '../src/attribution/expected-gradients';
import type { ModelConfig } from '../src/model/config';
import { stackGrids, tokenize, type TokenBatch, type TokenGrid } from '../src/tokens/layout';

export function patientOfLength(base: Patient, folder: ModelFolder, length = folder.config.max_len): Patient {
  const shift = (d: string, years: number) => `${Number(d.slice(0, 4)) - years}${d.slice(4)}`.replace(/-02-29$/, '-02-28');
  let p = base;
  for (let round = 1; tokenize(p, folder.vocab, folder.config).truncatedVisits === 0 && round < 50; round++) {
    p = { ...p, id: `${base.id}-x${length}`, visits: [...base.visits.map((v) => ({ ...v, date: shift(v.date, round * 3) })), ...p.visits] };
  }
  return p;
}

/** The PyTorch reference's input (tools/reference/bench_eg.py): the patient's and the references'
 *  token grids laid on the patient's length, and EG's draws (same references, same alphas). */
export function torchBenchInputs(grid: TokenGrid, reference: TokenGrid[], config: ModelConfig, samples: number, task: string): string {
  const draws = egDraws(samples, reference.length, 0);
  const L = grid.realLength;
  const asJson = (b: TokenBatch) => ({ ...b, diagnosis: [...b.diagnosis], age: [...b.age], segment: [...b.segment], position: [...b.position], attentionMask: [...b.attentionMask], modalities: Object.fromEntries(Object.entries(b.modalities).map(([k, v]) => [k, [...v]])), static: b.static ? [...b.static] : null });
  return JSON.stringify({ patients: asJson(stackGrids([grid], config, L)), references: asJson(stackGrids(reference, config, L)), ref_idx: draws.map((d) => d.ref), alphas: draws.map((d) => d.alpha), task });
}
