// A 256-token patient for benchmarks: the longest held-out sample patient, with its visits
// repeated (dates shifted back a year each round) until the diagnosis sequence fills max_len.
import type { Patient } from '../src/data/schema';
import type { ModelFolder } from '../src/model/folder';
import { tokenize } from '../src/tokens/layout';

export function patientOfLength(base: Patient, folder: ModelFolder, length = folder.config.max_len): Patient {
  const shift = (d: string, years: number) => `${Number(d.slice(0, 4)) - years}${d.slice(4)}`.replace(/-02-29$/, '-02-28');
  let p = base;
  for (let round = 1; tokenize(p, folder.vocab, folder.config).truncatedVisits === 0 && round < 50; round++) {
    p = { ...p, id: `${base.id}-x${length}`, visits: [...base.visits.map((v) => ({ ...v, date: shift(v.date, round * 3) })), ...p.visits] };
  }
  return p;
}
