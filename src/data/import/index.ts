// The import front door for the CLI and the app: detect the format of a set of files, run its reader
// and the shared pipeline, and return timelines with their coverage report.
import { MODALITIES, parsePatientsText, TimelineError, type Patient } from '../schema';
import { buildTimelines, type CoverageReport, type PipelineOptions } from './pipeline';
import { readFhir } from './fhir';
import { readSyntheaCsv, syntheaTableOf } from './synthea-csv';
import { readOmop } from './omop';
import { readMeds } from './meds';
import { ImportError, type SourceFile, type SourceRead } from './source';

export type ImportFormat = 'fhir' | 'synthea-csv' | 'omop' | 'meds' | 'timeline';
export const IMPORT_FORMATS: ImportFormat[] = ['fhir', 'synthea-csv', 'omop', 'meds', 'timeline'];

export { ImportError } from './source';
export type { SourceFile } from './source';
export type { CoverageReport, PipelineOptions } from './pipeline';
export { buildTimelines } from './pipeline';
export { SHIPPED_CODE_MAP, parseCodeMap, mergeCodeMaps, mapEvent } from './codemap';

// Import limits (stated in SECURITY.md). A JavaScript string holds at most 2^29 - 24 characters in
// V8 (Chromium, Node), so a larger text file cannot be read at all; the total bounds what one tab
// holds (files, then their timelines). Checked before parsing, with a message naming the file.
/** the largest file one import reads (512 MiB) */
export const MAX_IMPORT_FILE_BYTES = 2 ** 29;
/** all files of one import together (1 GiB) */
export const MAX_IMPORT_TOTAL_BYTES = 2 ** 30;
/** patients in one import: each becomes a timeline held in the page and predicted */
export const MAX_IMPORT_PATIENTS = 100_000;
const fmtMiB = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 0)} MiB`;

/** Refuse files over the size limits before anything is parsed; `size` in bytes (the browser knows
 *  it before reading a File). Throws ImportError naming the file and the limit. */
export function checkImportSizes(files: Array<{ name: string; size: number }>): void {
  for (const f of files)
    if (f.size > MAX_IMPORT_FILE_BYTES)
      throw new ImportError(`${f.name}: ${fmtMiB(f.size)} is more than the limit of ${fmtMiB(MAX_IMPORT_FILE_BYTES)} for one file; split it (e.g. by patient) and import the parts`);
  const total = files.reduce((s, f) => s + f.size, 0);
  if (total > MAX_IMPORT_TOTAL_BYTES)
    throw new ImportError(`${files.length} files, ${fmtMiB(total)} together: more than the limit of ${fmtMiB(MAX_IMPORT_TOTAL_BYTES)} for one import; import them in parts`);
}

function checkPatientCount(n: number, files: SourceFile[]): void {
  if (n > MAX_IMPORT_PATIENTS)
    throw new ImportError(
      `${files.length === 1 ? files[0].name : `${files.length} files (${files.slice(0, 3).map((f) => f.name).join(', ')}${files.length > 3 ? ', ...' : ''})`}: ${n} patients, more than the limit of ${MAX_IMPORT_PATIENTS} for one import; import them in parts`,
    );
}

/** size of a file's contents: bytes, or characters of text (one byte each for ASCII) */
const sizeOf = (f: SourceFile) => f.bytes?.length ?? f.text?.length ?? 0;

const base = (n: string) => n.split(/[/\\]/).pop()!.toLowerCase();
const OMOP_TABLES = new Set(['person', 'visit_occurrence', 'condition_occurrence', 'procedure_occurrence', 'drug_exposure', 'measurement', 'observation', 'death', 'concept']);

function head(f: SourceFile, n = 4096): string {
  if (f.text !== undefined) return f.text.slice(0, n);
  if (f.bytes) return new TextDecoder().decode(f.bytes.subarray(0, n));
  return '';
}

/** The format of a set of files, from their names and first bytes; null when unsure. */
export function detectFormat(files: SourceFile[]): ImportFormat | null {
  if (!files.length) return null;
  const names = files.map((f) => base(f.name));
  if (names.some((n) => n.endsWith('.parquet'))) return 'meds';
  if (names.includes('patients.csv') && files.every((f) => syntheaTableOf(f.name) !== null)) return 'synthea-csv';
  const csvTables = names.filter((n) => n.endsWith('.csv')).map((n) => n.replace(/\.csv$/, ''));
  if (csvTables.some((t) => OMOP_TABLES.has(t)) && csvTables.includes('person')) return 'omop';
  if (names.includes('patients.csv')) return 'synthea-csv';
  if (names.some((n) => n.endsWith('.ndjson'))) return 'fhir';
  // JSON: a FHIR resource/bundle names its resourceType; a timeline has visits
  const first = head(files[0]).trimStart();
  if (/"resourceType"\s*:/.test(first)) return 'fhir';
  if (/"visits"\s*:/.test(first) || /"birthDate"\s*:/.test(first)) return 'timeline';
  if (names.some((n) => n.endsWith('.jsonl'))) return 'timeline';
  return null;
}

/** Read files of one format into timelines. Throws ImportError (or TimelineError for the project's
 *  own format) naming the file, line or resource and field; nothing partial is returned. */
export async function importFiles(
  files: SourceFile[],
  opts: PipelineOptions & { format?: ImportFormat } = {},
): Promise<{ format: ImportFormat; patients: Patient[]; coverage: CoverageReport }> {
  const format = opts.format ?? detectFormat(files);
  if (!format)
    throw new ImportError(
      `cannot tell the format of ${files.length === 1 ? files[0].name : `${files.length} files (${files.slice(0, 3).map((f) => f.name).join(', ')}${files.length > 3 ? ', ...' : ''})`}; name it: ${IMPORT_FORMATS.join(', ')}`,
    );
  if (!files.length) throw new ImportError('no files to import');
  checkImportSizes(files.map((f) => ({ name: f.name, size: sizeOf(f) })));
  if (format === 'timeline') {
    const out = importTimelines(files, opts);
    checkPatientCount(out.patients.length, files);
    return { format, ...out };
  }
  let read: SourceRead;
  switch (format) {
    case 'fhir':
      read = await readFhir(files, opts);
      break;
    case 'synthea-csv':
      read = await readSyntheaCsv(files, opts);
      break;
    case 'omop':
      read = await readOmop(files, opts);
      break;
    case 'meds':
      read = await readMeds(files, opts);
      break;
  }
  checkPatientCount(read.persons.length, files);
  return { format, ...buildTimelines(read, opts) };
}

/** The project's own JSON/JSONL: already timelines; the coverage report counts what is there. */
function importTimelines(files: SourceFile[], opts: PipelineOptions): { patients: Patient[]; coverage: CoverageReport } {
  const patients: Patient[] = [];
  for (const f of files) {
    const text = f.text ?? (f.bytes ? new TextDecoder().decode(f.bytes) : '');
    try {
      patients.push(...parsePatientsText(text, f.name, { today: opts.today }));
    } catch (e) {
      if (e instanceof TimelineError) throw new ImportError(e.message);
      throw e;
    }
  }
  const mapped = Object.fromEntries(MODALITIES.map((m) => [m, 0])) as CoverageReport['mapped'];
  let events = 0;
  for (const p of patients) for (const v of p.visits) for (const e of v.events) (mapped[e.modality]++, events++);
  return {
    patients,
    coverage: {
      format: 'timeline',
      recordsRead: { patients: patients.length },
      skipped: {},
      personsRead: patients.length,
      patients: patients.length,
      visits: patients.reduce((s, p) => s + p.visits.length, 0),
      personsWithoutEvents: 0,
      deaths: 0,
      droppedPatients: [],
      eventsRead: events,
      eventsInTimelines: events,
      deathRecords: 0,
      eventsWithoutPerson: 0,
      eventsOfDroppedPatients: 0,
      mapped,
      inVocab: null,
      derived: {},
      unmapped: [],
      unmappedEvents: 0,
      notInVocab: null,
      removed: {},
      dateShift: { applied: false, movedBackFromFuture: 0 },
      mappedFraction: events ? 1 : 0,
      inVocabFraction: null,
    },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A human summary of a coverage report (the CLI prints it on stderr). */
export function formatCoverage(c: CoverageReport, opts: { top?: number } = {}): string {
  const top = opts.top ?? 10;
  const lines: string[] = [];
  const recs = Object.entries(c.recordsRead).map(([k, n]) => `${k} ${n}`).join(', ');
  lines.push(`format ${c.format}: records read: ${recs || 'none'}`);
  lines.push(
    `patients: ${c.patients} of ${c.personsRead} read (${c.personsWithoutEvents} without events, ${c.droppedPatients.length} dropped), ${c.visits} visits, ${c.deaths} deceased`,
  );
  for (const d of c.droppedPatients.slice(0, top)) lines.push(`  dropped ${d.reason}`);
  const mappedTotal = MODALITIES.reduce((s, m) => s + c.mapped[m], 0);
  lines.push(
    `events: ${c.eventsRead} read, ${c.eventsInTimelines} in timelines, ${mappedTotal} mapped (${pct(c.mappedFraction)})` +
      (c.inVocabFraction !== null ? `, ${MODALITIES.reduce((s, m) => s + c.inVocab![m], 0)} in the model's vocabulary (${pct(c.inVocabFraction)})` : '') +
      `, ${c.unmappedEvents} unmapped -> [UNK]` +
      (c.deathRecords ? `, ${c.deathRecords} death records (not in timelines)` : '') +
      (c.eventsWithoutPerson ? `, ${c.eventsWithoutPerson} without a patient` : '') +
      (c.eventsOfDroppedPatients ? `, ${c.eventsOfDroppedPatients} of dropped patients` : ''),
  );
  lines.push(
    '  mapped per modality: ' +
      MODALITIES.map((m) => `${m} ${c.mapped[m]}${c.inVocab ? ` (${c.inVocab[m]} in vocab)` : ''}`).join(', '),
  );
  if (Object.keys(c.derived).length) lines.push('  derived: ' + Object.entries(c.derived).map(([k, n]) => `${k} ${n}`).join(', '));
  if (c.unmapped.length) {
    lines.push(`unmapped codes (${c.unmapped.length}), most frequent:`);
    for (const u of c.unmapped.slice(0, top)) lines.push(`  ${u.count}x ${u.system} ${u.code}${u.display ? ` ${u.display}` : ''} (${u.kind})`);
  }
  if (c.notInVocab?.length) {
    lines.push(`mapped but not in the model's vocabulary (${c.notInVocab.length} codes), most frequent:`);
    for (const u of c.notInVocab.slice(0, top)) lines.push(`  ${u.count}x ${u.modality} ${u.code}`);
  }
  if (Object.keys(c.skipped).length) lines.push('skipped: ' + Object.entries(c.skipped).map(([k, n]) => `${k} (${n})`).join('; '));
  const removed = Object.entries(c.removed);
  if (removed.length) lines.push('removed: ' + removed.map(([k, n]) => `${k} x${n}`).join(', '));
  lines.push(`date shift: ${c.dateShift.applied ? 'applied (one random offset per patient)' : 'not applied'}${c.dateShift.movedBackFromFuture ? `; ${c.dateShift.movedBackFromFuture} patients moved back from future dates` : ''}`);
  return lines.join('\n');
}
