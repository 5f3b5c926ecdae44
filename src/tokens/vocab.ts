// vocab.json: the token lists of every embedding table, and the per-code value bins for labs and
// vitals. Built from training data; the index of a token in its list is its embedding row.
import { z } from 'zod';
import { issueLines } from '../data/zod-issues';
import type { ModelConfig } from '../model/config';
import type { ClinicalEvent, Patient, Visit } from '../data/schema';

export const SPECIAL = { PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4 } as const;
export const DIAGNOSIS_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
/** extra-modality tables start with PAD (contributes zero) and UNK */
export const MODALITY_SPECIALS = ['[PAD]', '[UNK]'];
export const SEX_TOKENS = ['[PAD]', 'F', 'M', 'U'];
/** labs and vitals with a value become `<code>|q<k>`, k = 1, 2, ... in value order. The edges are
 *  the per-code deciles (resolution where values are dense) and WIDTH_STEPS equal steps between the
 *  1st and 99th percentiles (resolution in the sparse tails, where abnormal values are: albumin
 *  below 3.0 g/dL is the 8th percentile of the synthetic cohort, inside the one decile bin
 *  2.3-3.4). */
export const BIN_COUNT = 10;
export const WIDTH_STEPS = 20;

const tokenList = z.array(z.string()).min(1);
export const VocabSchema = z.object({
  format: z.literal('exbehrt-vocab'),
  version: z.literal(1),
  diagnosis: tokenList,
  modalities: z.record(z.string(), tokenList).default({}),
  static: z.object({ sex: tokenList }).partial().default({}),
  /** `<modality>:<code>` -> ascending quantile edges (BIN_COUNT - 1 of them) */
  bins: z.record(z.string(), z.array(z.number())).default({}),
  /** true: the most recent value of each binned series becomes `<code>|q<k>|last` (`eventTokens`) */
  last_value: z.boolean().default(false),
});
export type Vocab = z.infer<typeof VocabSchema>;

export class VocabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VocabError';
  }
}

export function parseVocab(json: unknown, file = 'vocab.json'): Vocab {
  const res = VocabSchema.safeParse(json);
  if (!res.success) {
    throw new VocabError(issueLines(res.error, file).join('\n'));
  }
  const v = res.data;
  const problems: string[] = [];
  DIAGNOSIS_SPECIALS.forEach((s, i) => {
    if (v.diagnosis[i] !== s) problems.push(`${file}: field diagnosis[${i}]: expected ${s}, found ${JSON.stringify(v.diagnosis[i])}`);
  });
  for (const [m, list] of Object.entries(v.modalities)) {
    MODALITY_SPECIALS.forEach((s, i) => {
      if (list[i] !== s) problems.push(`${file}: field modalities.${m}[${i}]: expected ${s}, found ${JSON.stringify(list[i])}`);
    });
    if (new Set(list).size !== list.length) problems.push(`${file}: field modalities.${m}: duplicate tokens`);
  }
  if (new Set(v.diagnosis).size !== v.diagnosis.length) problems.push(`${file}: field diagnosis: duplicate tokens`);
  for (const [k, edges] of Object.entries(v.bins)) {
    for (let i = 1; i < edges.length; i++)
      if (!(edges[i] >= edges[i - 1])) problems.push(`${file}: field bins.${k}: edges not ascending`);
  }
  if (problems.length) throw new VocabError(problems.join('\n'));
  return v;
}

/** Sizes in vocab.json must match the embedding tables config.json declares. */
export function checkVocabAgainstConfig(v: Vocab, c: ModelConfig, file = 'vocab.json'): string[] {
  const problems: string[] = [];
  if (v.diagnosis.length !== c.vocab_size)
    problems.push(`${file}: diagnosis has ${v.diagnosis.length} tokens, config.json vocab_size is ${c.vocab_size}`);
  for (const m of c.modalities) {
    const list = v.modalities[m.name];
    if (!list) problems.push(`${file}: modality ${m.name} (in config.json) has no token list`);
    else if (list.length !== m.vocab_size)
      problems.push(`${file}: modality ${m.name} has ${list.length} tokens, config.json modalities.${m.name}.vocab_size is ${m.vocab_size}`);
  }
  if (c.static) {
    const list = v.static.sex;
    if (!list) problems.push(`${file}: static.sex missing, config.json has static ${c.static.name}`);
    else if (list.length !== c.static.vocab_size)
      problems.push(`${file}: static.sex has ${list.length} tokens, config.json static.vocab_size is ${c.static.vocab_size}`);
  }
  for (const t of c.tasks) {
    const prefix = t.population?.diagnosis_prefix;
    if (prefix && !v.diagnosis.some((d) => d.startsWith(prefix)))
      problems.push(`${file}: no diagnosis token starts with "${prefix}", config.json tasks.${t.name}.population.diagnosis_prefix: no patient could be in the task's population`);
  }
  return problems;
}

const binKey = (e: Pick<ClinicalEvent, 'modality' | 'code'>) => `${e.modality}:${e.code}`;

/** The token string an event becomes (before lookup): the code, or `<code>|q<k>` for a binned value
 *  (`<code>|q<k>|last` for the most recent value of its series, where the vocab marks it). */
export function eventToken(e: ClinicalEvent, bins: Vocab['bins'], last = false): string {
  const edges = bins[binKey(e)];
  if (e.value === undefined || !edges) return e.code;
  let k = 0;
  while (k < edges.length && e.value > edges[k]) k++;
  return `${e.code}|q${k + 1}${last ? '|last' : ''}`;
}

/** Visit indices in time order (by date, then as given): the layout's order. */
export const chronologicalVisits = (visits: Visit[]) => visits.map((_, i) => i).sort((a, b) => visits[a].date.localeCompare(visits[b].date) || a - b);

/** The token of every event of a patient, `[visit][event]`. Where the vocab has `last_value`, a
 *  series' most recent value (the last binned event of its modality and code in time order) is
 *  marked `|last`. Why: a clinical rule often reads the latest lab (albumin below 3.0 g/dL now, not
 *  at some earlier visit), and in a timeline whose values drift the same way for years, the visit
 *  position alone does not tell a small transformer which value is the latest. */
export function eventTokens(visits: Visit[], vocab: Pick<Vocab, 'bins' | 'last_value'>): string[][] {
  const tokens = visits.map((v) => v.events.map((e) => eventToken(e, vocab.bins)));
  if (!vocab.last_value) return tokens;
  // walk back from the latest event; the first of each series met is its most recent value
  const seen = new Set<string>();
  for (const vi of chronologicalVisits(visits).reverse()) {
    const events = visits[vi].events;
    for (let ei = events.length - 1; ei >= 0; ei--) {
      const e = events[ei];
      const k = binKey(e);
      if (e.value === undefined || !vocab.bins[k] || seen.has(k)) continue;
      seen.add(k);
      tokens[vi][ei] = eventToken(e, vocab.bins, true);
    }
  }
  return tokens;
}

/** Build a vocabulary from training patients: every code seen at least `minCount` times, value bins
 *  from per-code quantiles. Sorted so that the same data always gives the same vocab. */
export function buildVocab(patients: Patient[], modalities: string[], opts: { minCount?: number; lastValue?: boolean } = {}): Vocab {
  const minCount = opts.minCount ?? 2;
  const values = new Map<string, number[]>();
  for (const p of patients)
    for (const v of p.visits)
      for (const e of v.events)
        if (e.value !== undefined && (e.modality === 'lab' || e.modality === 'vital')) {
          const k = binKey(e);
          if (!values.has(k)) values.set(k, []);
          values.get(k)!.push(e.value);
        }
  const bins: Vocab['bins'] = {};
  for (const [k, vs] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    if (vs.length < BIN_COUNT * minCount) continue;
    vs.sort((a, b) => a - b);
    const q = (f: number) => vs[Math.min(vs.length - 1, Math.floor(f * vs.length))];
    const deciles = Array.from({ length: BIN_COUNT - 1 }, (_, i) => q((i + 1) / BIN_COUNT));
    const [lo, hi] = [q(0.01), q(0.99)];
    const steps = hi > lo ? Array.from({ length: WIDTH_STEPS - 1 }, (_, i) => Number((lo + ((i + 1) * (hi - lo)) / WIDTH_STEPS).toPrecision(4))) : [];
    bins[k] = [...new Set([...deciles, ...steps])].sort((a, b) => a - b);
  }
  // only where a modality of the model has values (a diagnosis-only BEHRT has nothing to mark)
  const lastValue = (opts.lastValue ?? false) && modalities.some((m) => Object.keys(bins).some((k) => k.startsWith(`${m}:`)));
  const counts = new Map<string, Map<string, number>>();
  for (const p of patients) {
    const tokens = eventTokens(p.visits, { bins, last_value: lastValue });
    p.visits.forEach((v, vi) =>
      v.events.forEach((e, ei) => {
        if (!counts.has(e.modality)) counts.set(e.modality, new Map());
        const m = counts.get(e.modality)!;
        m.set(tokens[vi][ei], (m.get(tokens[vi][ei]) ?? 0) + 1);
      }),
    );
  }
  const keep = (m: string) =>
    [...(counts.get(m) ?? new Map<string, number>())].filter(([, n]) => n >= minCount).map(([t]) => t).sort();
  return {
    format: 'exbehrt-vocab',
    version: 1,
    diagnosis: [...DIAGNOSIS_SPECIALS, ...keep('diagnosis')],
    modalities: Object.fromEntries(modalities.map((m) => [m, [...MODALITY_SPECIALS, ...keep(m)]])),
    static: { sex: SEX_TOKENS },
    bins,
    last_value: lastValue,
  };
}

/** token string -> id maps, built once per vocab */
export interface VocabIndex {
  diagnosis: Map<string, number>;
  modalities: Record<string, Map<string, number>>;
  sex: Map<string, number>;
}
export function indexVocab(v: Vocab): VocabIndex {
  const idx = (l: string[]) => new Map(l.map((t, i) => [t, i]));
  return {
    diagnosis: idx(v.diagnosis),
    modalities: Object.fromEntries(Object.entries(v.modalities).map(([m, l]) => [m, idx(l)])),
    sex: idx(v.static.sex ?? SEX_TOKENS),
  };
}
