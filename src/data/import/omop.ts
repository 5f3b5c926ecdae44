// OMOP CDM v5.4 reader: PERSON, DEATH, VISIT_OCCURRENCE and the clinical tables (CONDITION_,
// PROCEDURE_OCCURRENCE, DRUG_EXPOSURE, MEASUREMENT, OBSERVATION) as CSV, with CONCEPT to turn
// concept ids into (vocabulary, code). CONCEPT is read last and only for the ids the other tables
// used: a full Athena CONCEPT table has millions of rows, and this runs in a browser tab.
import { at, readCsv, type CsvRow, type CsvWhere } from './omop-csv';
import { ICD10_RE, KNOWN_SYSTEMS, LOINC_RE, normaliseCode, systemOf } from './meds-codes';
import {
  ImportError,
  type CodeSystem,
  type ReadOptions,
  type SourceEvent,
  type SourceFile,
  type SourceKind,
  type SourcePerson,
  type SourceRead,
} from './source';

interface ClinicalTable {
  table: string;
  kind: SourceKind;
  concept: string;
  sourceConcept: string;
  sourceValue: string;
  date: string;
  datetime: string;
  /** MEASUREMENT and OBSERVATION carry a value, a unit and a coded value */
  values: boolean;
}

const CLINICAL: ClinicalTable[] = [
  { table: 'CONDITION_OCCURRENCE', kind: 'condition', concept: 'condition_concept_id', sourceConcept: 'condition_source_concept_id', sourceValue: 'condition_source_value', date: 'condition_start_date', datetime: 'condition_start_datetime', values: false },
  { table: 'PROCEDURE_OCCURRENCE', kind: 'procedure', concept: 'procedure_concept_id', sourceConcept: 'procedure_source_concept_id', sourceValue: 'procedure_source_value', date: 'procedure_date', datetime: 'procedure_datetime', values: false },
  { table: 'DRUG_EXPOSURE', kind: 'medication', concept: 'drug_concept_id', sourceConcept: 'drug_source_concept_id', sourceValue: 'drug_source_value', date: 'drug_exposure_start_date', datetime: 'drug_exposure_start_datetime', values: false },
  { table: 'MEASUREMENT', kind: 'observation', concept: 'measurement_concept_id', sourceConcept: 'measurement_source_concept_id', sourceValue: 'measurement_source_value', date: 'measurement_date', datetime: 'measurement_datetime', values: true },
  { table: 'OBSERVATION', kind: 'observation', concept: 'observation_concept_id', sourceConcept: 'observation_source_concept_id', sourceValue: 'observation_source_value', date: 'observation_date', datetime: 'observation_datetime', values: true },
];

/** Columns that identify a person or point at someone who could (provider, care site,
 *  address), or hold free text; never copied, and named in SourcePerson.droppedFields. */
const IDENTIFYING: Record<string, readonly string[]> = {
  PERSON: ['person_source_value', 'location_id', 'provider_id', 'care_site_id'],
  VISIT_OCCURRENCE: ['provider_id', 'care_site_id'],
  CONDITION_OCCURRENCE: ['provider_id'],
  PROCEDURE_OCCURRENCE: ['provider_id'],
  DRUG_EXPOSURE: ['provider_id', 'sig'],
  MEASUREMENT: ['provider_id'],
  OBSERVATION: ['provider_id', 'value_as_string'],
  NOTE: ['note_title', 'note_text', 'provider_id'],
};

/** OMOP gender concepts (the Gender vocabulary has exactly these two in use). */
const GENDER: Record<string, 'F' | 'M'> = { '8532': 'F', '8507': 'M' };

interface Concept {
  vocabulary: string;
  code: string;
  name: string;
  standard: boolean;
}

/** A clinical row read before CONCEPT: it keeps the concept ids, resolved once CONCEPT is in. */
interface Pending {
  person: string;
  date: string;
  encounter?: string;
  kind: SourceKind;
  table: string;
  concept: string;
  sourceConcept: string;
  sourceValue: string;
  value?: number;
  unitConcept: string;
  unitSource: string;
  valueConcept: string;
  origin: string;
}

interface PersonAcc extends SourcePerson {
  dropped: Set<string>;
}

const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** YYYY-MM-DD from an OMOP date or datetime cell (`2002-10-15`, `2002-10-15 00:00:00`,
 *  `2002-10-15T00:00:00Z`, Athena's `20021015`); null when empty. */
function parseDate(raw: string | undefined, w: CsvWhere, column: string): string | null {
  const s = (raw ?? '').trim();
  if (!s) return null;
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:$|[ T])/.exec(s);
  if (!m) m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) throw new ImportError(`${at(w, column)}: expected a date as YYYY-MM-DD, found "${clip(s)}"`);
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  if (!realDate(iso)) throw new ImportError(`${at(w, column)}: not a real calendar date "${clip(s)}"`);
  return iso;
}

function realDate(iso: string): boolean {
  const d = new Date(iso + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '...' : s;
}

/** A concept id cell: '' and '0' (OMOP's "no matching concept") both mean none. */
function conceptId(row: CsvRow, column: string, w: CsvWhere): string {
  const s = (row[column] ?? '').trim();
  if (s === '' || s === '0') return '';
  if (!/^-?\d+$/.test(s)) throw new ImportError(`${at(w, column)}: expected a concept id (an integer), found "${clip(s)}"`);
  return s;
}

function numberCell(row: CsvRow, column: string, w: CsvWhere): number | undefined {
  const s = (row[column] ?? '').trim();
  if (!s) return undefined;
  if (!NUMBER_RE.test(s)) throw new ImportError(`${at(w, column)}: expected a number, found "${clip(s)}"`);
  const v = Number(s);
  if (!Number.isFinite(v)) throw new ImportError(`${at(w, column)}: number out of range "${clip(s)}"`);
  return v;
}

function personId(row: CsvRow, w: CsvWhere): string {
  const s = (row.person_id ?? '').trim();
  if (!s) throw new ImportError(`${at(w, 'person_id')}: empty person_id`);
  return s;
}

function textOf(f: SourceFile): string {
  if (typeof f.text === 'string') return f.text;
  if (f.bytes) return new TextDecoder('utf-8').decode(f.bytes);
  throw new ImportError(`${f.name}: no contents (expected CSV text)`);
}

/** `omop/person.csv` -> PERSON; null for anything that is not a .csv/.tsv/.txt table. */
function tableName(name: string): string | null {
  const base = name.split(/[\\/]/).pop() ?? name;
  const m = /^(.+)\.(csv|tsv|txt)$/i.exec(base);
  return m ? m[1].trim().toUpperCase() : null;
}

export async function readOmop(files: SourceFile[], opts: ReadOptions = {}): Promise<SourceRead> {
  const { signal } = opts;
  if (signal?.aborted) throw new ImportError('cancelled');
  const byTable = new Map<string, SourceFile>();
  for (const f of files) {
    const t = tableName(f.name);
    if (!t) continue;
    const prev = byTable.get(t);
    if (prev) throw new ImportError(`${f.name}: a second ${t} table (the first is ${prev.name}); give one file per table`);
    byTable.set(t, f);
  }
  const personFile = byTable.get('PERSON');
  if (!personFile) {
    throw new ImportError(`OMOP import needs PERSON.csv; found ${files.map((f) => f.name).join(', ') || 'no files'}`);
  }

  const wanted = ['PERSON', 'DEATH', 'VISIT_OCCURRENCE', ...CLINICAL.map((c) => c.table), 'NOTE', 'CONCEPT'];
  const texts = new Map<string, { file: SourceFile; text: string }>();
  for (const t of wanted) {
    const f = byTable.get(t);
    if (f) texts.set(t, { file: f, text: textOf(f) });
  }
  const total = [...texts.values()].reduce((n, x) => n + x.text.length, 0);
  let base = 0;
  const recordsRead: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => (skipped[reason] = (skipped[reason] ?? 0) + 1);

  const read = async (table: string, required: string[], onRow: (row: CsvRow, w: CsvWhere) => void) => {
    const x = texts.get(table);
    if (!x) return;
    const n = await readCsv(x.file.name, x.text, onRow, { required, signal, onProgress: opts.onProgress, progressBase: base, progressTotal: total });
    base += x.text.length;
    recordsRead[table] = n;
  };

  const persons = new Map<string, PersonAcc>();
  const noteDropped = (table: string, row: CsvRow, p: PersonAcc | undefined) => {
    if (!p) return;
    for (const c of IDENTIFYING[table] ?? []) if ((row[c] ?? '').trim()) p.dropped.add(`${table}.${c}`);
  };

  await read('PERSON', ['person_id', 'gender_concept_id', 'year_of_birth'], (row, w) => {
    const key = personId(row, w);
    if (persons.has(key)) throw new ImportError(`${at(w, 'person_id')}: person ${key} appears twice in PERSON`);
    const p: PersonAcc = { key, sex: sexOf(row, w), birthDate: birthDateOf(row, w), dropped: new Set() };
    noteDropped('PERSON', row, p);
    persons.set(key, p);
  });

  const pending: Pending[] = [];
  const needed = new Set<string>();
  const need = (...ids: string[]) => {
    for (const id of ids) if (id) needed.add(id);
  };

  await read('DEATH', ['person_id', 'death_date'], (row, w) => {
    const key = personId(row, w);
    const p = persons.get(key);
    if (!p) return void skip('DEATH: person_id not in PERSON');
    const date = parseDate(row.death_date, w, 'death_date') ?? parseDate(row.death_datetime, w, 'death_datetime');
    if (!date) throw new ImportError(`${at(w, 'death_date')}: empty death date`);
    // more than one DEATH row per person (allowed before v5.4): the earliest date stands
    if (!p.deathDate || date < p.deathDate) p.deathDate = date;
    const cause = conceptId(row, 'cause_concept_id', w);
    const causeSource = conceptId(row, 'cause_source_concept_id', w);
    const causeValue = (row.cause_source_value ?? '').trim();
    if (!cause && !causeSource && !causeValue) return;
    need(cause, causeSource);
    pending.push({
      person: key, date, kind: 'death', table: 'DEATH', concept: cause, sourceConcept: causeSource, sourceValue: causeValue,
      unitConcept: '', unitSource: '', valueConcept: '', origin: `${w.file} line ${w.line}`,
    });
  });

  await read('VISIT_OCCURRENCE', ['visit_occurrence_id', 'person_id'], (row, w) => {
    const p = persons.get(personId(row, w));
    if (!p) return void skip('VISIT_OCCURRENCE: person_id not in PERSON');
    noteDropped('VISIT_OCCURRENCE', row, p);
  });

  for (const spec of CLINICAL) {
    const required = ['person_id', spec.concept, spec.date];
    await read(spec.table, required, (row, w) => {
      const key = personId(row, w);
      const p = persons.get(key);
      if (!p) return void skip(`${spec.table}: person_id not in PERSON`);
      noteDropped(spec.table, row, p);
      const date = parseDate(row[spec.date], w, spec.date) ?? parseDate(row[spec.datetime], w, spec.datetime);
      if (!date) throw new ImportError(`${at(w, spec.date)}: empty date`);
      const concept = conceptId(row, spec.concept, w);
      const sourceConcept = spec.sourceConcept in row ? conceptId(row, spec.sourceConcept, w) : '';
      const sourceValue = (row[spec.sourceValue] ?? '').trim();
      if (!concept && !sourceConcept && !sourceValue) return void skip(`${spec.table}: no code (concept 0, no source value)`);
      const visit = (row.visit_occurrence_id ?? '').trim();
      const ev: Pending = {
        person: key, date, kind: spec.kind, table: spec.table, concept, sourceConcept, sourceValue,
        unitConcept: '', unitSource: '', valueConcept: '', origin: `${w.file} line ${w.line}`,
      };
      if (visit) ev.encounter = visit;
      if (spec.values) {
        const value = numberCell(row, 'value_as_number', w);
        if (value !== undefined) ev.value = value;
        ev.unitConcept = 'unit_concept_id' in row ? conceptId(row, 'unit_concept_id', w) : '';
        ev.unitSource = (row.unit_source_value ?? '').trim();
        ev.valueConcept = 'value_as_concept_id' in row ? conceptId(row, 'value_as_concept_id', w) : '';
      }
      need(concept, sourceConcept, ev.unitConcept, ev.valueConcept);
      pending.push(ev);
    });
  }

  await read('NOTE', ['person_id'], (row, w) => {
    const p = persons.get(personId(row, w));
    noteDropped('NOTE', row, p);
    skip('NOTE: free text, not imported');
  });

  const concepts = new Map<string, Concept>();
  await read('CONCEPT', ['concept_id', 'vocabulary_id', 'concept_code'], (row, w) => {
    const id = (row.concept_id ?? '').trim();
    if (!needed.has(id)) return;
    const vocabulary = (row.vocabulary_id ?? '').trim();
    const code = (row.concept_code ?? '').trim();
    if (!vocabulary || !code) throw new ImportError(`${at(w, vocabulary ? 'concept_code' : 'vocabulary_id')}: empty for concept ${id}`);
    concepts.set(id, { vocabulary, code, name: (row.concept_name ?? '').trim(), standard: (row.standard_concept ?? '').trim() === 'S' });
  });

  const events: SourceEvent[] = [];
  for (let i = 0; i < pending.length; i++) {
    if (i % 50000 === 0 && signal?.aborted) throw new ImportError('cancelled');
    const ev = pending[i];
    const coded = resolve(concepts, ev.concept, ev.sourceConcept, ev.sourceValue, ev.kind);
    if (!coded) {
      skip(`${ev.table}: no code (concept 0, no source value)`);
      continue;
    }
    const out: SourceEvent = {
      person: ev.person,
      date: ev.date,
      kind: ev.kind === 'medication' && coded.system === 'CVX' ? 'immunization' : ev.kind,
      system: coded.system,
      code: coded.code,
      origin: ev.origin,
    };
    if (ev.encounter) out.encounter = ev.encounter;
    if (coded.display) out.display = coded.display;
    if (ev.value !== undefined) out.value = ev.value;
    const unit = ev.unitSource || (ev.unitConcept ? concepts.get(ev.unitConcept)?.code : undefined);
    if (unit) out.unit = unit;
    if (ev.valueConcept) {
      const vc = concepts.get(ev.valueConcept);
      const system = vc ? systemOf(vc.vocabulary) : 'OMOP';
      out.valueCode = vc
        ? { system, code: normaliseCode(system, vc.code), ...(vc.name ? { display: vc.name } : {}) }
        : { system, code: ev.valueConcept };
    }
    events.push(out);
  }

  const outPersons: SourcePerson[] = [...persons.values()].map(({ dropped, ...p }) =>
    dropped.size ? { ...p, droppedFields: [...dropped].sort() } : p,
  );
  opts.onProgress?.(total, total);
  return { format: 'omop', persons: outPersons, events, recordsRead, skipped };
}

function sexOf(row: CsvRow, w: CsvWhere): 'F' | 'M' | 'U' {
  const byConcept = GENDER[conceptId(row, 'gender_concept_id', w)];
  if (byConcept) return byConcept;
  const s = (row.gender_source_value ?? '').trim().toUpperCase();
  if (s === 'F' || s === 'FEMALE') return 'F';
  if (s === 'M' || s === 'MALE') return 'M';
  return 'U';
}

/** year_of_birth is required in OMOP, month and day are not: the missing parts become the middle
 *  of the year or month, which keeps ages within half a year (or month) of the truth. */
function birthDateOf(row: CsvRow, w: CsvWhere): string {
  const year = (row.year_of_birth ?? '').trim();
  if (!/^\d{4}$/.test(year)) throw new ImportError(`${at(w, 'year_of_birth')}: expected a four-digit year, found "${clip(year)}"`);
  const part = (column: string, max: number): string | null => {
    const s = (row[column] ?? '').trim();
    if (!s) return null;
    if (!/^\d{1,2}$/.test(s) || Number(s) < 1 || Number(s) > max) {
      throw new ImportError(`${at(w, column)}: expected a number 1-${max}, found "${clip(s)}"`);
    }
    return s.padStart(2, '0');
  };
  const month = part('month_of_birth', 12);
  const day = part('day_of_birth', 31);
  if (month && day) {
    const iso = `${year}-${month}-${day}`;
    if (!realDate(iso)) throw new ImportError(`${at(w, 'day_of_birth')}: not a real calendar date ${iso}`);
    return iso;
  }
  const dt = parseDate(row.birth_datetime, w, 'birth_datetime');
  if (dt && dt.slice(0, 4) === year && (!month || dt.slice(5, 7) === month)) return dt;
  return month ? `${year}-${month}-15` : `${year}-07-01`;
}

interface Coded {
  system: CodeSystem;
  code: string;
  display?: string;
}

function fromConcept(c: Concept): Coded {
  const system = systemOf(c.vocabulary);
  return { system, code: normaliseCode(system, c.code), ...(c.name ? { display: c.name } : {}) };
}

/** The standard concept when its vocabulary is one the code map knows, else the source concept,
 *  else a source value whose shape names its system (LOINC, ICD-10); failing those, whatever
 *  there is: a concept in another vocabulary, the source value as a local code, the bare OMOP id. */
function resolve(concepts: Map<string, Concept>, concept: string, sourceConcept: string, sourceValue: string, kind: SourceKind): Coded | null {
  const std = concept ? concepts.get(concept) : undefined;
  const src = sourceConcept ? concepts.get(sourceConcept) : undefined;
  // diagnoses: the models read ICD-10-CM, so a recorded ICD-10-CM source code beats mapping the
  // standard SNOMED concept back to ICD-10 (a many-to-one map that loses the recorded detail)
  if ((kind === 'condition' || kind === 'death') && src && systemOf(src.vocabulary) === 'ICD10CM') return fromConcept(src);
  if (std && std.standard && KNOWN_SYSTEMS.has(systemOf(std.vocabulary))) return fromConcept(std);
  if (src && KNOWN_SYSTEMS.has(systemOf(src.vocabulary))) return fromConcept(src);
  if (std && KNOWN_SYSTEMS.has(systemOf(std.vocabulary))) return fromConcept(std);
  const guessed = sourceValue ? guessSystem(sourceValue, kind) : null;
  if (guessed) return guessed;
  if (std) return fromConcept(std);
  if (src) return fromConcept(src);
  if (sourceValue) return { system: 'local', code: sourceValue };
  if (concept) return { system: 'OMOP', code: concept };
  return null;
}

/** Only shapes that cannot be mistaken: bare digits could be SNOMED, RxNorm, NDC or a local id. */
function guessSystem(value: string, kind: SourceKind): Coded | null {
  const v = value.trim();
  if ((kind === 'observation' || kind === 'other') && LOINC_RE.test(v)) return { system: 'LOINC', code: v };
  if ((kind === 'condition' || kind === 'death') && ICD10_RE.test(v.toUpperCase())) return { system: 'ICD10CM', code: normaliseCode('ICD10CM', v) };
  return null;
}
