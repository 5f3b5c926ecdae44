// Patient timeline schema: the one shape every importer produces and every later stage reads.
import { z } from 'zod';

/** Event modalities a timeline can carry. `diagnosis` drives the token sequence; the rest are
 *  laid onto the diagnosis slots of their visit (ExBEHRT). */
export const MODALITIES = ['diagnosis', 'procedure', 'medication', 'lab', 'vital', 'smoking', 'characteristic'] as const;
export type Modality = (typeof MODALITIES)[number];
export const EXTRA_MODALITIES = MODALITIES.filter((m) => m !== 'diagnosis') as Exclude<Modality, 'diagnosis'>[];

/** Code systems per modality: diagnosis ICD-10, procedure SNOMED CT, medication ATC, lab/vital LOINC,
 *  smoking and characteristic local codes (e.g. `SMOKING:current`, `BMI:obese`). */
export const CODE_SYSTEM: Record<Modality, string> = {
  diagnosis: 'ICD-10',
  procedure: 'SNOMED-CT',
  medication: 'ATC',
  lab: 'LOINC',
  vital: 'LOINC',
  smoking: 'local',
  characteristic: 'local',
};

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD').refine(
  (s) => !Number.isNaN(Date.parse(s + 'T00:00:00Z')) && new Date(s + 'T00:00:00Z').toISOString().slice(0, 10) === s,
  'not a real calendar date',
);

export const EventSchema = z.object({
  modality: z.enum(MODALITIES),
  code: z.string().min(1, 'code must not be empty'),
  /** numeric value for labs and vitals */
  value: z.number().finite().optional(),
  unit: z.string().optional(),
});
export type ClinicalEvent = z.infer<typeof EventSchema>;

export const VisitSchema = z.object({
  date: isoDate,
  /** pseudonymous visit id (encounter), optional */
  id: z.string().optional(),
  events: z.array(EventSchema),
});
export type Visit = z.infer<typeof VisitSchema>;

export const OutcomeSchema = z.object({
  /** 1 when the outcome happened within the task's window after the index date */
  label: z.union([z.literal(0), z.literal(1)]),
  /** days from the index date (last visit) to the event or to censoring */
  time: z.number().nonnegative().optional(),
});

export const PatientSchema = z.object({
  id: z.string().min(1, 'patient id must not be empty'),
  sex: z.enum(['F', 'M', 'U']),
  birthDate: isoDate,
  visits: z.array(VisitSchema),
  /** known outcomes per task (synthetic cohort, labelled data); absent for a new patient */
  outcomes: z.record(z.string(), OutcomeSchema).optional(),
});
export type Patient = z.infer<typeof PatientSchema>;

export class TimelineError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'TimelineError';
  }
}

const MS_PER_YEAR = 365.2425 * 24 * 3600 * 1000;
export function ageInYears(birthDate: string, date: string): number {
  return (Date.parse(date + 'T00:00:00Z') - Date.parse(birthDate + 'T00:00:00Z')) / MS_PER_YEAR;
}

/** Parse and check one patient. Errors name the patient, visit and field, e.g.
 *  `patient p12, visit 3 (2020-01-02), event 1, field value: ...`. Semantic checks beyond the schema:
 *  no visit before birth, no age over 120, no visit after `today`. */
export function parsePatient(input: unknown, opts: { today?: string; source?: string } = {}): Patient {
  const where = opts.source ? `${opts.source}: ` : '';
  const raw = input as { id?: unknown; visits?: unknown[] } | null;
  const pid = raw && typeof raw === 'object' && typeof raw.id === 'string' ? raw.id : '?';
  const res = PatientSchema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new TimelineError(`${where}patient ${pid}, ${describePath(issue.path, raw)}: ${issue.message}`, issue.path.join('.'));
  }
  const p = res.data;
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  p.visits.forEach((v, i) => {
    const at = `${where}patient ${p.id}, visit ${i + 1} (${v.date}), field date`;
    if (v.date < p.birthDate) throw new TimelineError(`${at}: visit before birth date ${p.birthDate}`, `visits.${i}.date`);
    if (v.date > today) throw new TimelineError(`${at}: visit in the future (after ${today})`, `visits.${i}.date`);
    if (ageInYears(p.birthDate, v.date) > 120) throw new TimelineError(`${at}: age over 120 years at this visit`, `visits.${i}.date`);
  });
  return p;
}

function describePath(path: PropertyKey[], raw: unknown): string {
  const parts: string[] = [];
  const visits = (raw as { visits?: Array<{ date?: unknown }> } | null)?.visits;
  for (let i = 0; i < path.length; i++) {
    const k = path[i];
    if (k === 'visits' && typeof path[i + 1] === 'number') {
      const vi = path[i + 1] as number;
      const d = Array.isArray(visits) && visits[vi] && typeof visits[vi].date === 'string' ? ` (${visits[vi].date})` : '';
      parts.push(`visit ${vi + 1}${d}`);
      i++;
    } else if (k === 'events' && typeof path[i + 1] === 'number') {
      parts.push(`event ${(path[i + 1] as number) + 1}`);
      i++;
    } else parts.push(`field ${String(k)}`);
  }
  return parts.length ? parts.join(', ') : 'record';
}

/** Read the project's own JSON (a patient or an array) or JSONL (one patient a line) format. */
export function parsePatientsText(text: string, source = 'input', opts: { today?: string } = {}): Patient[] {
  const t = text.trim();
  if (!t) throw new TimelineError(`${source}: file is empty`, '');
  // a JSON array, or one patient object (possibly pretty-printed); otherwise JSON lines
  if (t.startsWith('[') || t.startsWith('{')) {
    let data: unknown;
    let error: Error | null = null;
    try {
      data = JSON.parse(t);
    } catch (e) {
      error = e as Error;
    }
    if (!error) {
      const arr = Array.isArray(data) ? data : [data];
      return arr.map((p, i) => parsePatient(p, { ...opts, source: Array.isArray(data) ? `${source} [${i}]` : source }));
    }
    if (t.startsWith('[')) throw new TimelineError(`${source}: not valid JSON (${error.message})`, '');
  }
  return t.split(/\r?\n/).flatMap((line, i) => {
    if (!line.trim()) return [];
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (e) {
      throw new TimelineError(`${source} line ${i + 1}: not valid JSON (${(e as Error).message})`, '');
    }
    return [parsePatient(data, { ...opts, source: `${source} line ${i + 1}` })];
  });
}
