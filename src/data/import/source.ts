// The contract between a format reader (FHIR, Synthea CSV, OMOP, MEDS) and the shared import
// pipeline (code map -> visits -> de-identification -> coverage report -> Patient timelines).
// A reader only reads: it turns files into SourcePerson and SourceEvent records, keeping the
// source's own code systems and codes. Mapping to the model's vocabulary, grouping into visits,
// dropping identifiers and shifting dates happen once, in the pipeline, for every format.

/** Code systems as the pipeline names them (readers translate the source's URIs/vocabulary ids). */
export type CodeSystem =
  | 'SNOMED'
  | 'ICD10CM'
  | 'ICD9CM'
  | 'RxNorm'
  | 'ATC'
  | 'LOINC'
  | 'CVX'
  | 'local'
  | (string & {});

/** What kind of record the event came from; the code map decides the final modality. */
export type SourceKind = 'condition' | 'procedure' | 'medication' | 'observation' | 'immunization' | 'death' | 'other';

export interface SourcePerson {
  /** the source's patient key; never leaves the pipeline (replaced by a pseudonym) */
  key: string;
  sex: 'F' | 'M' | 'U';
  /** YYYY-MM-DD */
  birthDate: string;
  /** YYYY-MM-DD when the source records a death */
  deathDate?: string;
  /** identifying fields the reader saw and did not keep (names, addresses, phone, SSN, MRN, ...):
   *  field names only, for the coverage report's "removed" list */
  droppedFields?: string[];
}

export interface SourceEvent {
  /** SourcePerson.key */
  person: string;
  /** YYYY-MM-DD (readers cut datetimes to the day, in the time zone the source wrote) */
  date: string;
  /** encounter / visit key where the format has one; otherwise events are grouped by day */
  encounter?: string;
  kind: SourceKind;
  system: CodeSystem;
  code: string;
  /** the source's display text, used only for the unmapped-codes list (never stored in a timeline) */
  display?: string;
  /** numeric value (labs, vitals) and its unit as written by the source */
  value?: number;
  unit?: string;
  /** coded value, e.g. smoking status 72166-2 -> SNOMED 449868002 */
  valueCode?: { system: CodeSystem; code: string; display?: string };
  /** where it came from, for error messages: `observations.csv line 12`, `Observation/abc in bundle x.json` */
  origin: string;
}

/** What a reader returns: everything it read, plus counts the coverage report shows. */
export interface SourceRead {
  format: 'fhir' | 'synthea-csv' | 'omop' | 'meds';
  persons: SourcePerson[];
  events: SourceEvent[];
  /** records read per source table / resource type (e.g. { Observation: 812, Condition: 40 }) */
  recordsRead: Record<string, number>;
  /** records skipped on purpose, with the reason (e.g. { 'Claim: not clinical': 30 }) */
  skipped: Record<string, number>;
}

/** A named file's contents, as the CLI (fs) and the browser (File / drag and drop) both supply them. */
export interface SourceFile {
  /** the file's name (or path relative to the dropped folder) used in error messages */
  name: string;
  /** text for CSV/JSON/NDJSON, bytes for parquet */
  text?: string;
  bytes?: Uint8Array;
}

/** Raised by readers and the pipeline; names the file and, where known, line or resource and field. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

/** Options every reader and the pipeline take: progress for long files, and cancellation. */
export interface ReadOptions {
  /** called now and then with bytes (or records) done and the total, for a progress bar */
  onProgress?: (done: number, total: number) => void;
  /** when aborted, the reader stops and throws ImportError('cancelled'); nothing partial is returned */
  signal?: AbortSignal;
}
