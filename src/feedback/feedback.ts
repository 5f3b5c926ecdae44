// Clinician feedback on explanations: a clinician marks an event, a visit or the whole explanation
// as clinically plausible, implausible or unsure, with a note. Each entry carries everything a model
// developer needs to find the explanation again (model, task, method, samples, seed, reference,
// the pseudonymous patient id, the what-if edits) and what the model said about the target at the
// time, so that files collected from several clinicians can be pooled and compared with the model.
// Pure: no React, no tfjs, no storage.
import { z } from 'zod';
import type { ReferenceFilter } from '../attribution/reference';
import type { AttributionResult } from '../attribution/types';
import { describeCode } from '../data/codes';
import type { Patient } from '../data/schema';
import type { Explanation } from '../state/store';

export const FEEDBACK_VERDICTS = ['plausible', 'implausible', 'unsure'] as const;
export type FeedbackVerdict = (typeof FEEDBACK_VERDICTS)[number];

/** A schema's own message for a wrong value, and the same "missing" wording as every other field
 *  when there is no value at all (a schema's own message would otherwise win for both). */
const MISSING = 'required field is missing';
const expecting = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? MISSING : message);

const index = z.number().int('expected a whole number').nonnegative('expected 0 or more');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');

const TargetSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({
      kind: z.literal('event'),
      /** index of the visit in the patient (revision) the explanation was made for */
      visit: index,
      /** index of the event in its visit */
      event: index,
      modality: z.string().min(1, 'must not be empty'),
      code: z.string().min(1, 'must not be empty'),
      description: z.string().optional(),
      date: isoDate.optional(),
    }),
    z.object({ kind: z.literal('visit'), visit: index, date: isoDate.optional() }),
    z.object({ kind: z.literal('explanation') }),
  ],
  { error: expecting('expected kind event, visit or explanation') },
);
export type FeedbackTarget = z.infer<typeof TargetSchema>;

const ReferenceFilterSchema = z.object({
  ageMin: z.number().optional(),
  ageMax: z.number().optional(),
  sex: z.enum(['F', 'M', 'U']).optional(),
  diagnosis: z.string().optional(),
}) satisfies z.ZodType<ReferenceFilter>;

const finiteOrNull = z.number().finite().nullable();

const ContextSchema = z.object({
  modelId: z.string().min(1, 'must not be empty'),
  modelName: z.string(),
  task: z.string().min(1, 'must not be empty'),
  method: z.enum(['eg', 'ig', 'gxi', 'occlusion'], { error: expecting('expected one of eg, ig, gxi, occlusion') }),
  /** samples (EG) or steps (IG) the attribution was computed with; 1 for gxi and occlusion */
  samples: index,
  seed: index,
  reference: z.object({ description: z.string(), filter: ReferenceFilterSchema, size: index.nullable() }),
  /** pseudonymous patient id, never anything else about the person */
  patientId: z.string().min(1, 'must not be empty'),
  /** the patient revision (0: as loaded) and the what-if edits that made it */
  revision: index,
  edits: z.array(z.string()),
  /** predicted probability for the task at the time, if known */
  risk: z.number().min(0, 'expected a probability from 0 to 1').max(1, 'expected a probability from 0 to 1').nullable(),
  /** the model's attribution for the target: the event's value, the visit's total, or for the
   *  whole explanation the logit minus the reference logit (what the attributions explain) */
  attribution: finiteOrNull,
  /** 1-based rank of the event's |attribution| among the patient's attributed events; null for
   *  visits, the whole explanation, and events the model did not read (cut by max_len) */
  attributionRank: z.number().int().min(1, 'expected 1 or more').nullable(),
  /** |attribution| / the largest |attribution| of the same kind for this patient (events among
   *  events, visits among visits): 1 is the model's top item; 1 for the whole explanation */
  attributionWeight: z.number().min(0, 'expected 0 to 1').max(1, 'expected 0 to 1').nullable(),
  /** how many of the patient's events have an attribution */
  eventCount: index,
});
export type FeedbackContext = z.infer<typeof ContextSchema>;

export const FeedbackEntrySchema = z.object({
  id: z.string().min(1, 'must not be empty'),
  createdAt: z.iso.datetime({ offset: true, error: expecting('expected an ISO 8601 date-time') }),
  verdict: z.enum(FEEDBACK_VERDICTS, { error: expecting(`expected one of ${FEEDBACK_VERDICTS.join(', ')}`) }),
  note: z.string(),
  target: TargetSchema,
  context: ContextSchema,
});
export type FeedbackEntry = z.infer<typeof FeedbackEntrySchema>;
/** What a clinician adds; id and time are given when it is stored. */
export type FeedbackInput = Omit<FeedbackEntry, 'id' | 'createdAt'>;

export const FEEDBACK_FORMAT = 'exbehrt-feedback';
const FeedbackFileSchema = z.object({
  format: z.literal(FEEDBACK_FORMAT, { error: expecting(`expected "${FEEDBACK_FORMAT}" (not a feedback file of this workbench)`) }),
  version: z.literal(1, { error: expecting('expected 1 (a newer workbench wrote this file?)') }),
  exportedAt: z.iso.datetime({ offset: true, error: expecting('expected an ISO 8601 date-time') }),
  entries: z.array(FeedbackEntrySchema),
}, { error: `expected a JSON object with format "${FEEDBACK_FORMAT}"` });

export class FeedbackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedbackFileError';
  }
}

/** `entries[2].context.reference.size`: the path as one would write it in JavaScript. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '') || '(root)';
}

export function serializeFeedback(entries: FeedbackEntry[], exportedAt = new Date().toISOString()): string {
  return JSON.stringify({ format: FEEDBACK_FORMAT, version: 1, exportedAt, entries }, null, 2);
}

/** Read an exported feedback file. All or nothing: the first problem throws, naming the file and
 *  the field, e.g. `feedback.json: entries[2].verdict: expected one of plausible, implausible, unsure`. */
export function parseFeedbackFile(text: string, fileName: string): FeedbackEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FeedbackFileError(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  // a missing field reads "required field is missing" rather than "expected string, received undefined"
  const res = FeedbackFileSchema.safeParse(data, { error: (issue) => (issue.input === undefined ? MISSING : undefined) });
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new FeedbackFileError(`${fileName}: ${formatPath(issue.path)}: ${issue.message}`);
  }
  const seen = new Set<string>();
  res.data.entries.forEach((e, i) => {
    if (seen.has(e.id)) throw new FeedbackFileError(`${fileName}: entries[${i}].id: "${e.id}" appears twice in the file`);
    seen.add(e.id);
  });
  return res.data.entries;
}

/** Entries of `incoming` whose id is not in `existing` are appended (oldest first); an id already
 *  present keeps the existing entry, so importing the same file twice changes nothing. */
export function mergeFeedback(existing: FeedbackEntry[], incoming: FeedbackEntry[]): { entries: FeedbackEntry[]; added: FeedbackEntry[]; duplicates: number } {
  const ids = new Set(existing.map((e) => e.id));
  const added = incoming.filter((e) => !ids.has(e.id) && (ids.add(e.id), true));
  const entries = [...existing, ...added].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { entries, added, duplicates: incoming.length - added.length };
}

/** What the feedback is about, as the panel offers it. */
export type TargetChoice = { kind: 'explanation' } | { kind: 'visit'; visit: number } | { kind: 'event'; visit: number; event: number };

export type TargetAttribution = { target: FeedbackTarget } & Pick<FeedbackContext, 'attribution' | 'attributionRank' | 'attributionWeight' | 'eventCount'>;

const weight = (value: number, max: number) => (max > 0 ? Math.abs(value) / max : 0);

/** The target and the model's attribution for it in `result` (see FeedbackContext for the
 *  meaning of each number). Throws for a visit or event the patient does not have. */
export function feedbackTargetFor(patient: Patient, result: AttributionResult, choice: TargetChoice): TargetAttribution {
  // one value per real event (placeholders of visits without a diagnosis are not events)
  const eventValues = new Map<string, number>();
  for (const e of result.events) if (e.event >= 0) eventValues.set(`${e.visit}:${e.event}`, (eventValues.get(`${e.visit}:${e.event}`) ?? 0) + e.value);
  const eventCount = eventValues.size;
  if (choice.kind === 'explanation') {
    return { target: { kind: 'explanation' }, attribution: result.logit - result.referenceLogit, attributionRank: null, attributionWeight: 1, eventCount };
  }
  const visit = patient.visits[choice.visit];
  if (!visit) throw new Error(`patient ${patient.id} has no visit ${choice.visit + 1}`);
  if (choice.kind === 'visit') {
    const value = result.visit[choice.visit];
    const maxVisit = Math.max(0, ...Object.values(result.visit).map(Math.abs));
    return {
      target: { kind: 'visit', visit: choice.visit, date: visit.date },
      attribution: value ?? null,
      attributionRank: null,
      attributionWeight: value === undefined ? null : weight(value, maxVisit),
      eventCount,
    };
  }
  const ev = visit.events[choice.event];
  if (!ev) throw new Error(`visit ${choice.visit + 1} (${visit.date}) of patient ${patient.id} has no event ${choice.event + 1}`);
  const value = eventValues.get(`${choice.visit}:${choice.event}`);
  const abs = [...eventValues.values()].map(Math.abs);
  const description = describeCode(ev.modality, ev.code);
  return {
    target: { kind: 'event', visit: choice.visit, event: choice.event, modality: ev.modality, code: ev.code, ...(description ? { description } : {}), date: visit.date },
    attribution: value ?? null,
    // ties share the better rank
    attributionRank: value === undefined ? null : 1 + abs.filter((a) => a > Math.abs(value)).length,
    attributionWeight: value === undefined ? null : weight(value, Math.max(0, ...abs)),
    eventCount,
  };
}

/** What the page knows besides the explanation: the model's name, the reference in words, the
 *  what-if edits and the predicted risk. */
export interface FeedbackSource {
  modelName: string;
  reference: { description: string; size: number | null };
  edits: string[];
  risk: number | null;
}

/** A new entry from the clinician's choices and the explanation on screen. Model, patient, task,
 *  method, seed and reference filter come from the explanation itself, so they describe exactly
 *  what the clinician was looking at. */
export function feedbackInput(args: {
  verdict: FeedbackVerdict;
  note: string;
  choice: TargetChoice;
  patient: Patient;
  explanation: Pick<Explanation, 'modelId' | 'rev' | 'settings'> & { result: AttributionResult };
  source: FeedbackSource;
}): FeedbackInput {
  const { explanation: x, source } = args;
  const { target, ...attribution } = feedbackTargetFor(args.patient, x.result, args.choice);
  return {
    verdict: args.verdict,
    note: args.note.trim(),
    target,
    context: {
      modelId: x.modelId,
      modelName: source.modelName,
      task: x.result.task,
      method: x.result.method,
      samples: x.result.samplesDone,
      seed: x.settings.seed,
      reference: { description: source.reference.description, filter: x.settings.reference, size: source.reference.size },
      patientId: args.patient.id,
      revision: x.rev,
      edits: source.edits,
      risk: source.risk,
      ...attribution,
    },
  };
}

/** How the summary groups targets: `modality:code` for events (the same code in any patient),
 *  'visit' for visits, 'whole explanation' for the whole. */
export function targetKey(t: FeedbackTarget): string {
  return t.kind === 'event' ? `${t.modality}:${t.code}` : t.kind === 'visit' ? 'visit' : 'whole explanation';
}

export interface DisagreementRow {
  task: string;
  key: string;
  kind: FeedbackTarget['kind'];
  /** the code's description, for event rows */
  description?: string;
  counts: Record<FeedbackVerdict, number>;
  total: number;
  /** distinct pseudonymous patients */
  patients: number;
  /** mean attributionWeight over the entries that have one; null when none has */
  meanWeight: number | null;
  /** implausible / all verdicts (unsure included) */
  implausibleShare: number;
  /** implausibleShare × meanWeight: high when clinicians call implausible what the model weighs
   *  most (weight 1 = the model's top item for that patient); 0 without a weight */
  score: number;
}

/** Where clinicians disagree with the model most: entries grouped by (task, targetKey), sorted by
 *  score, then by the number of implausible verdicts, then by task and key. The weight is the
 *  max-normalised |attribution| (see FeedbackContext.attributionWeight) rather than a share of the
 *  sum, so that a patient's top event weighs 1 however many events the patient has. */
export function disagreementSummary(entries: FeedbackEntry[]): DisagreementRow[] {
  const groups = new Map<string, FeedbackEntry[]>();
  for (const e of entries) {
    const k = JSON.stringify([e.context.task, targetKey(e.target)]);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  const rows = [...groups.values()].map((g): DisagreementRow => {
    const counts: Record<FeedbackVerdict, number> = { plausible: 0, implausible: 0, unsure: 0 };
    for (const e of g) counts[e.verdict]++;
    const weights = g.map((e) => e.context.attributionWeight).filter((w): w is number => w !== null);
    const meanWeight = weights.length ? weights.reduce((s, w) => s + w, 0) / weights.length : null;
    const implausibleShare = counts.implausible / g.length;
    const described = g.find((e) => e.target.kind === 'event' && e.target.description);
    return {
      task: g[0].context.task,
      key: targetKey(g[0].target),
      kind: g[0].target.kind,
      ...(described?.target.kind === 'event' ? { description: described.target.description } : {}),
      counts,
      total: g.length,
      patients: new Set(g.map((e) => e.context.patientId)).size,
      meanWeight,
      implausibleShare,
      score: implausibleShare * (meanWeight ?? 0),
    };
  });
  return rows.sort((a, b) => b.score - a.score || b.counts.implausible - a.counts.implausible || a.task.localeCompare(b.task) || a.key.localeCompare(b.key));
}
