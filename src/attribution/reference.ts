// Reference populations for expected gradients. A model folder carries reference.json: the token
// grids of a few hundred training-like synthetic patients, with the facts needed to choose a
// subset (age, sex, diagnosis codes), so that EG works offline with no patient data at hand.
import { z } from 'zod';
import { issueLines } from '../data/zod-issues';
import { ageInYears, type Patient } from '../data/schema';
import type { ModelConfig } from '../model/config';
import { bareGrid, tokenize, type TokenGrid } from '../tokens/layout';
import type { Vocab } from '../tokens/vocab';

const ints = z.array(z.number().int());
const RefPatientSchema = z.object({
  id: z.string(),
  age: z.number(),
  sex: z.enum(['F', 'M', 'U']),
  /** diagnosis codes (ICD-10) present anywhere in the timeline */
  codes: z.array(z.string()),
  diagnosis: ints,
  age_ids: ints,
  segment: ints,
  position: ints,
  /** per modality: rows * realLength, row-major */
  modalities: z.record(z.string(), ints),
  static: ints.nullable(),
});
export const ReferenceSetSchema = z.object({
  format: z.literal('exbehrt-reference'),
  version: z.literal(1),
  description: z.string(),
  patients: z.array(RefPatientSchema).min(1, 'reference set has no patients'),
});
export type ReferenceSet = z.infer<typeof ReferenceSetSchema>;
export type ReferencePatient = z.infer<typeof RefPatientSchema>;

export interface ReferenceFilter {
  ageMin?: number;
  ageMax?: number;
  sex?: 'F' | 'M' | 'U';
  /** ICD-10 prefix, e.g. "C" (any cancer) or "I10" */
  diagnosis?: string;
}

export function buildReferenceSet(patients: Patient[], vocab: Vocab, config: ModelConfig, description: string): ReferenceSet {
  return {
    format: 'exbehrt-reference',
    version: 1,
    description,
    patients: patients.map((p) => {
      const g = tokenize(p, vocab, config);
      const L = g.realLength;
      const last = p.visits.reduce((d, v) => (v.date > d ? v.date : d), p.visits[0].date);
      return {
        id: p.id,
        age: Math.floor(ageInYears(p.birthDate, last)),
        sex: p.sex,
        codes: [...new Set(p.visits.flatMap((v) => v.events.filter((e) => e.modality === 'diagnosis').map((e) => e.code)))].sort(),
        diagnosis: Array.from(g.diagnosis.subarray(0, L)),
        age_ids: Array.from(g.age.subarray(0, L)),
        segment: Array.from(g.segment.subarray(0, L)),
        position: Array.from(g.position.subarray(0, L)),
        modalities: Object.fromEntries(
          config.modalities.map((m) => {
            const out: number[] = [];
            for (let r = 0; r < m.rows; r++) out.push(...g.modalities[m.name].subarray(r * g.length, r * g.length + L));
            return [m.name, out];
          }),
        ),
        static: g.static ? Array.from(g.static.subarray(0, L)) : null,
      };
    }),
  };
}

export function parseReferenceSet(json: unknown, file = 'reference.json'): ReferenceSet {
  const res = ReferenceSetSchema.safeParse(json);
  if (!res.success) throw new Error(issueLines(res.error, file).join('\n'));
  return res.data;
}

export function matchesFilter(p: Pick<ReferencePatient, 'age' | 'sex' | 'codes'>, f: ReferenceFilter): boolean {
  return (
    (f.ageMin === undefined || p.age >= f.ageMin) &&
    (f.ageMax === undefined || p.age <= f.ageMax) &&
    (f.sex === undefined || p.sex === f.sex) &&
    (f.diagnosis === undefined || p.codes.some((c) => c.startsWith(f.diagnosis!)))
  );
}

/** Token grids of the reference patients that pass the filter, padded to config.max_len. */
export function referenceGrids(set: ReferenceSet, config: ModelConfig, filter: ReferenceFilter = {}, file = 'reference.json'): TokenGrid[] {
  const L = config.max_len;
  return set.patients.filter((p) => matchesFilter(p, filter)).map((p) => {
    const n = p.diagnosis.length;
    if (n > L) throw new Error(`${file}: patient ${p.id} has ${n} tokens, more than max_len ${L}`);
    const fill = (src: number[]) => {
      const a = new Int32Array(L);
      a.set(src);
      return a;
    };
    const mask = new Float32Array(L);
    mask.fill(1, 0, n);
    return bareGrid({
      patientId: p.id,
      length: L,
      realLength: n,
      diagnosis: fill(p.diagnosis),
      age: fill(p.age_ids),
      segment: fill(p.segment),
      position: fill(p.position),
      attentionMask: mask,
      modalities: Object.fromEntries(
        config.modalities.map((m) => {
          const src = p.modalities[m.name];
          if (!src || src.length !== m.rows * n) throw new Error(`${file}: patient ${p.id}: modality ${m.name} should hold ${m.rows} x ${n} ids`);
          const a = new Int32Array(m.rows * L);
          for (let r = 0; r < m.rows; r++) a.set(src.slice(r * n, (r + 1) * n), r * L);
          return [m.name, a];
        }),
      ),
      static: config.static ? fill(p.static ?? []) : null,
    });
  });
}
