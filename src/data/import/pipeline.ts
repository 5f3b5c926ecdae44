// The shared import pipeline: SourceRead (any format) -> code map -> visits -> de-identification ->
// Patient timelines, plus the coverage report that says how much of each record the model sees.
// Policy for bad data (docs/importing.md): structural errors in files are the readers' ImportError
// and fail the whole import; a patient whose finished timeline fails parsePatient (a visit before
// birth, an age over 120) is dropped whole and listed in coverage.droppedPatients. Nothing is ever
// half-imported: a patient is either in the output with every event read for it, or absent and listed.
import { ageInYears, MODALITIES, parsePatient, TimelineError, type ClinicalEvent, type Modality, type Patient } from '../schema';
import { eventTokens, type Vocab } from '../../tokens/vocab';
import { deriveEvents, fallbackModality, mapEvent, SHIPPED_CODE_MAP, unmappedCode, type CodeMap } from './codemap';
import { addDays, daysBetween, makeSalt, pseudonym, shiftDays } from './deidentify';
import { ImportError, type ReadOptions, type SourceEvent, type SourcePerson, type SourceRead } from './source';

export interface UnmappedCode {
  system: string;
  code: string;
  /** the source's display text of the code (not of a value): to help whoever extends the map */
  display?: string;
  kind: SourceEvent['kind'];
  count: number;
}

export interface CoverageReport {
  format: string;
  /** records read per source table / resource type, and records skipped on purpose, with reasons */
  recordsRead: Record<string, number>;
  skipped: Record<string, number>;
  personsRead: number;
  /** patients in the output */
  patients: number;
  visits: number;
  /** persons with no dated coded event: not output (a timeline without events gives the model nothing) */
  personsWithoutEvents: number;
  /** persons with a recorded death (date or cause-of-death record) */
  deaths: number;
  /** patients dropped whole, by pseudonym, with the reason (never a partial patient) */
  droppedPatients: Array<{ patient: string; reason: string; events: number }>;
  /** source events read; every one is accounted for below:
   *  eventsRead = eventsInTimelines + deathRecords + eventsWithoutPerson + eventsOfDroppedPatients */
  eventsRead: number;
  eventsInTimelines: number;
  deathRecords: number;
  eventsWithoutPerson: number;
  eventsOfDroppedPatients: number;
  /** events in timelines mapped to a model code system, per modality (source events only) */
  mapped: Record<Modality, number>;
  /** mapped events whose token is in the model's vocabulary, per modality (null without a vocab) */
  inVocab: Record<Modality, number> | null;
  /** events added by derive rules (e.g. BMI:* from BMI values), per code */
  derived: Record<string, number>;
  /** unmapped events (kept as `<SYSTEM>:<code>`, which the tokenizer reads as UNK), most frequent first */
  unmapped: UnmappedCode[];
  unmappedEvents: number;
  /** mapped codes absent from the model's vocabulary (token -> UNK), per modality:code, most frequent first */
  notInVocab: Array<{ modality: Modality; code: string; count: number }> | null;
  /** identifying fields dropped on the way in: field name -> occurrences */
  removed: Record<string, number>;
  dateShift: {
    /** every patient's dates moved by one random per-patient offset (the offsets are never reported) */
    applied: boolean;
    /** patients whose timeline ran past `today` and was moved back to end the day before it */
    movedBackFromFuture: number;
  };
  /** 0..1: eventsInTimelines mapped / eventsInTimelines; and in-vocabulary / eventsInTimelines */
  mappedFraction: number;
  inVocabFraction: number | null;
}

export interface PipelineOptions extends ReadOptions {
  codeMap?: CodeMap;
  /** the model's vocabulary, to count in-vocabulary codes */
  vocab?: Vocab;
  /** shift all dates of each patient by one random offset in [-365, -1] days */
  shiftDates?: boolean;
  /** pseudonym salt and date-shift seed; without it a random salt is drawn (ids differ per import) */
  seed?: number;
  /** YYYY-MM-DD; default the current UTC date */
  today?: string;
}

const zeroByModality = (): Record<Modality, number> => Object.fromEntries(MODALITIES.map((m) => [m, 0])) as Record<Modality, number>;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const inc = (r: Record<string, number>, k: string, n = 1) => (r[k] = (r[k] ?? 0) + n);

function checkCancel(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImportError('cancelled');
}

/** Cooperative progress and cancellation for readers: call `tick(done)` often; it reports progress
 *  at most every 100 ms and, as often, yields to the event loop so that a Cancel click can land. */
export function makeTicker(opts: ReadOptions, total: number): (done: number) => Promise<void> {
  let last = 0;
  return async (done: number) => {
    checkCancel(opts.signal);
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    opts.onProgress?.(done, total);
    await new Promise<void>((r) => setTimeout(r, 0));
    checkCancel(opts.signal);
  };
}

interface Built {
  patient: Patient;
  mapped: Record<Modality, number>;
  inVocab: Record<Modality, number>;
  derived: Record<string, number>;
  unmapped: Map<string, UnmappedCode>;
  notInVocab: Map<string, { modality: Modality; code: string; count: number }>;
  placed: number;
  deathRecords: number;
  movedBack: boolean;
}

export function buildTimelines(read: SourceRead, opts: PipelineOptions = {}): { patients: Patient[]; coverage: CoverageReport } {
  const map = opts.codeMap ?? SHIPPED_CODE_MAP;
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  const salt = makeSalt(opts.seed);
  const vocabSets = opts.vocab ? vocabTokenSets(opts.vocab) : null;

  const persons = new Map<string, SourcePerson>();
  for (const p of read.persons) {
    if (persons.has(p.key)) throw new ImportError(`${read.format}: patient key ${p.key} appears twice (field key)`);
    persons.set(p.key, p);
  }
  const byPerson = new Map<string, SourceEvent[]>();
  let eventsWithoutPerson = 0;
  for (const e of read.events) {
    if (!persons.has(e.person)) {
      eventsWithoutPerson++;
      continue;
    }
    let l = byPerson.get(e.person);
    if (!l) byPerson.set(e.person, (l = []));
    l.push(e);
  }

  const cov: CoverageReport = {
    format: read.format,
    recordsRead: { ...read.recordsRead },
    skipped: { ...read.skipped },
    personsRead: read.persons.length,
    patients: 0,
    visits: 0,
    personsWithoutEvents: 0,
    deaths: 0,
    droppedPatients: [],
    eventsRead: read.events.length,
    eventsInTimelines: 0,
    deathRecords: 0,
    eventsWithoutPerson,
    eventsOfDroppedPatients: 0,
    mapped: zeroByModality(),
    inVocab: vocabSets ? zeroByModality() : null,
    derived: {},
    unmapped: [],
    unmappedEvents: 0,
    notInVocab: vocabSets ? [] : null,
    removed: {},
    dateShift: { applied: !!opts.shiftDates, movedBackFromFuture: 0 },
    mappedFraction: 0,
    inVocabFraction: vocabSets ? 0 : null,
  };
  if (eventsWithoutPerson) inc(cov.skipped, 'events for a patient not in the files', eventsWithoutPerson);

  const unmapped = new Map<string, UnmappedCode>();
  const notInVocab = new Map<string, { modality: Modality; code: string; count: number }>();
  const patients: Patient[] = [];
  const ids = new Set<string>();
  let displays = 0;
  let encounters = 0;
  let done = 0;
  for (const person of read.persons) {
    if (++done % 256 === 0) {
      checkCancel(opts.signal);
      opts.onProgress?.(done, read.persons.length);
    }
    for (const f of person.droppedFields ?? []) inc(cov.removed, f);
    const events = byPerson.get(person.key) ?? [];
    const hasDeathRecord = events.some((e) => e.kind === 'death');
    if (person.deathDate || hasDeathRecord) cov.deaths++;
    const id = pseudonym(salt, person.key);
    if (ids.has(id)) throw new ImportError(`${read.format}: pseudonym collision for two patients; import again with another --seed`);
    ids.add(id);
    for (const e of events) {
      if (e.display) displays++;
      if (e.valueCode?.display) displays++;
    }
    if (!events.some((e) => e.kind !== 'death')) {
      cov.personsWithoutEvents++;
      cov.deathRecords += events.length;
      continue;
    }
    let built: Built;
    try {
      built = buildOne(person, id, events, map, vocabSets, opts, salt, today);
    } catch (e) {
      if (!(e instanceof TimelineError)) throw e;
      cov.droppedPatients.push({ patient: id, reason: e.message, events: events.length });
      cov.eventsOfDroppedPatients += events.length;
      continue;
    }
    encounters += new Set(events.map((e) => e.encounter).filter(Boolean)).size;
    patients.push(built.patient);
    cov.visits += built.patient.visits.length;
    cov.eventsInTimelines += built.placed;
    cov.deathRecords += built.deathRecords;
    if (built.movedBack) cov.dateShift.movedBackFromFuture++;
    for (const m of MODALITIES) {
      cov.mapped[m] += built.mapped[m];
      if (cov.inVocab) cov.inVocab[m] += built.inVocab[m];
    }
    for (const [k, n] of Object.entries(built.derived)) inc(cov.derived, k, n);
    for (const [k, u] of built.unmapped) {
      const t = unmapped.get(k);
      if (t) t.count += u.count;
      else unmapped.set(k, { ...u });
      cov.unmappedEvents += u.count;
    }
    for (const [k, u] of built.notInVocab) {
      const t = notInVocab.get(k);
      if (t) t.count += u.count;
      else notInVocab.set(k, { ...u });
    }
  }
  // what the pipeline itself removed, on top of the readers' lists
  if (read.persons.length) inc(cov.removed, 'source patient key (replaced by a salted pseudonym)', read.persons.length);
  if (encounters) inc(cov.removed, 'source encounter ids (replaced by visit numbers)', encounters);
  if (displays) inc(cov.removed, 'display texts of codes and coded values', displays);
  if (read.persons.some((p) => p.deathDate)) inc(cov.removed, 'death date (not part of a timeline)', read.persons.filter((p) => p.deathDate).length);

  const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;
  cov.unmapped = [...unmapped.values()].sort((a, b) => byCount(a, b) || `${a.system}|${a.code}`.localeCompare(`${b.system}|${b.code}`));
  if (cov.notInVocab) cov.notInVocab = [...notInVocab.values()].sort((a, b) => byCount(a, b) || a.code.localeCompare(b.code));
  cov.patients = patients.length;
  const mappedTotal = MODALITIES.reduce((s, m) => s + cov.mapped[m], 0);
  cov.mappedFraction = cov.eventsInTimelines ? mappedTotal / cov.eventsInTimelines : 0;
  if (cov.inVocab) cov.inVocabFraction = cov.eventsInTimelines ? MODALITIES.reduce((s, m) => s + cov.inVocab![m], 0) / cov.eventsInTimelines : 0;
  opts.onProgress?.(read.persons.length, read.persons.length);
  return { patients, coverage: cov };
}

function vocabTokenSets(v: Vocab): { sets: Record<string, Set<string>>; vocab: Pick<Vocab, 'bins' | 'last_value'> } {
  const sets: Record<string, Set<string>> = { diagnosis: new Set(v.diagnosis.slice(5)) };
  for (const [m, l] of Object.entries(v.modalities)) sets[m] = new Set(l.slice(2));
  return { sets, vocab: { bins: v.bins, last_value: v.last_value } };
}

function buildOne(
  person: SourcePerson,
  id: string,
  events: SourceEvent[],
  map: CodeMap,
  vocab: ReturnType<typeof vocabTokenSets> | null,
  opts: PipelineOptions,
  salt: string,
  today: string,
): Built {
  const b: Built = {
    patient: { id, sex: person.sex, birthDate: person.birthDate, visits: [] },
    mapped: zeroByModality(),
    inVocab: zeroByModality(),
    derived: {},
    unmapped: new Map(),
    notInVocab: new Map(),
    placed: 0,
    deathRecords: 0,
    movedBack: false,
  };
  // mapped events, checked against the vocabulary once the timeline is whole: the token of a lab or
  // vital value depends on whether it is its series' latest (vocab.json last_value)
  const mappedEvents: ClinicalEvent[] = [];
  const fail = (msg: string) => {
    throw new TimelineError(`patient ${id}: ${msg}`, '');
  };
  if (!ISO_DAY.test(person.birthDate) || Number.isNaN(Date.parse(person.birthDate + 'T00:00:00Z'))) fail(`birth date is not a date`);
  // visits: by encounter where the source has one, else by day; date = the earliest event's day
  const visits = new Map<string, { date: string; order: number; events: ClinicalEvent[] }>();
  for (const e of events) {
    if (e.kind === 'death') {
      b.deathRecords++;
      continue;
    }
    if (!ISO_DAY.test(e.date) || Number.isNaN(Date.parse(e.date + 'T00:00:00Z'))) fail(`event from ${e.origin}: date ${JSON.stringify(e.date)} is not a date`);
    const m = mapEvent(map, e);
    const out: ClinicalEvent[] = [];
    if (m) {
      b.mapped[m.modality]++;
      const ev: ClinicalEvent = { modality: m.modality, code: m.code };
      if (m.value !== undefined) ev.value = m.value;
      if (m.unit !== undefined) ev.unit = m.unit;
      out.push(ev);
      mappedEvents.push(ev);
      for (const d of deriveEvents(map, m, ageInYears(person.birthDate, e.date))) {
        out.push({ modality: d.modality, code: d.code });
        b.derived[d.code] = (b.derived[d.code] ?? 0) + 1;
      }
    } else {
      const modality = fallbackModality(e);
      const ev: ClinicalEvent = { modality, code: unmappedCode(e, modality) };
      if ((modality === 'lab' || modality === 'vital') && e.value !== undefined && Number.isFinite(e.value)) ev.value = e.value;
      out.push(ev);
      const k = `${e.system}|${e.code}`;
      const t = b.unmapped.get(k);
      if (t) t.count++;
      else b.unmapped.set(k, { system: e.system, code: e.code, display: e.display, kind: e.kind, count: 1 });
    }
    b.placed++;
    const vk = e.encounter ? `e:${e.encounter}` : `d:${e.date}`;
    let v = visits.get(vk);
    if (!v) visits.set(vk, (v = { date: e.date, order: visits.size, events: [] }));
    if (e.date < v.date) v.date = e.date;
    v.events.push(...out);
  }
  const sorted = [...visits.values()].sort((a, c) => (a.date < c.date ? -1 : a.date > c.date ? 1 : a.order - c.order));
  let shift = opts.shiftDates ? shiftDays(salt, person.key) : 0;
  const last = sorted[sorted.length - 1].date;
  // a timeline that runs past `today` (e.g. MIMIC's shifted 2030-2202 dates) moves back as a whole,
  // birth date included, to end the day before `today`: ages and intervals are kept
  const lastShifted = addDays(last, shift);
  if (lastShifted > today) {
    shift -= daysBetween(addDays(today, -1), lastShifted);
    b.movedBack = true;
  }
  b.patient.birthDate = addDays(person.birthDate, shift);
  // events within a visit in modality order (stable: source order within a modality), so the
  // output does not depend on the order files or resources were read in
  const rank = (m: Modality) => MODALITIES.indexOf(m);
  b.patient.visits = sorted.map((v, i) => ({
    date: addDays(v.date, shift),
    id: `v${i + 1}`,
    events: v.events.map((e, j) => [e, j] as const).sort((x, y) => rank(x[0].modality) - rank(y[0].modality) || x[1] - y[1]).map(([e]) => e),
  }));
  if (vocab) {
    // each mapped event's token as the tokenizer makes it (eventTokens), looked up by identity
    const tokens = eventTokens(b.patient.visits, vocab.vocab);
    const tokenOf = new Map<ClinicalEvent, string>();
    b.patient.visits.forEach((v, vi) => v.events.forEach((e, ei) => tokenOf.set(e, tokens[vi][ei])));
    for (const e of mappedEvents) {
      if (vocab.sets[e.modality]?.has(tokenOf.get(e)!)) b.inVocab[e.modality]++;
      else {
        const k = `${e.modality}:${e.code}`;
        const t = b.notInVocab.get(k);
        if (t) t.count++;
        else b.notInVocab.set(k, { modality: e.modality, code: e.code, count: 1 });
      }
    }
  }
  b.patient = parsePatient(b.patient, { today });
  return b;
}
