// MEDS reader: parquet event tables (subject_id, time, code, numeric_value, text_value), as a
// folder (data/{train,tuning,held_out}/*.parquet + metadata/codes.parquet) or one events file,
// read with hyparquet from bytes (browser and Node alike).
//
// MEDS codes are strings like `DIAGNOSIS//ICD//10//I10`, `LAB//50912//mg/dL`, `GENDER//F`: the
// reader splits them on `//`, turns vocabulary markers (ICD 9/10, LOINC, RxNorm, ...) into the
// pipeline's systems, takes birth, death and sex out as person facts, and keeps everything else
// as a local code. MEDS has no encounter column; hospital stays (HOSPITAL_ADMISSION ..
// HOSPITAL_DISCHARGE) become encounters, so a stay's labs and its discharge diagnoses share a visit.
import { parquetMetadata, parquetRead, parquetSchema, type FileMetaData } from 'hyparquet';
import { ICD10_RE, KNOWN_SYSTEMS, LOINC_RE, normaliseCode, systemOf } from './meds-codes';
import { checkRowGroup } from './parquet-check';
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

/** What a code means to the reader; classified once per distinct code (codes repeat a lot). */
type Meaning =
  | { type: 'birth' | 'death' | 'open' | 'close' | 'admin' | 'end' }
  | { type: 'sex'; sex: 'F' | 'M' | 'U' }
  | { type: 'event'; kind: SourceKind; system: CodeSystem; code: string; unit?: string; display?: string };

const BIRTH = new Set(['MEDS_BIRTH', 'DOB', 'BIRTH']);
const DEATH = new Set(['MEDS_DEATH', 'DEATH', 'DOD']);
const OPENS = new Set(['HOSPITAL_ADMISSION', 'ADMISSION']);
const CLOSES = new Set(['HOSPITAL_DISCHARGE', 'DISCHARGE']);
/** stay bookkeeping, not clinical events: where the patient was, when, and the billing group */
const ADMIN = new Set(['ED_REGISTRATION', 'ED_OUT', 'TRANSFER_TO', 'ICU_ADMISSION', 'ICU_DISCHARGE', 'DRG', 'VISIT', 'MEDS_EVENT']);
const KIND_BY_PREFIX: Record<string, SourceKind> = {
  DIAGNOSIS: 'condition',
  CONDITION: 'condition',
  ICD: 'condition',
  PROCEDURE: 'procedure',
  HCPCS: 'procedure',
  CPT: 'procedure',
  MEDICATION: 'medication',
  DRUG: 'medication',
  PRESCRIPTION: 'medication',
  INFUSION_START: 'medication',
  LAB: 'observation',
  MEASUREMENT: 'observation',
  OBSERVATION: 'observation',
  VITAL: 'observation',
  IMMUNIZATION: 'immunization',
  VACCINE: 'immunization',
};
const KIND_BY_SYSTEM: Record<string, SourceKind> = {
  ICD10CM: 'condition', ICD9CM: 'condition', ICD10: 'condition', ICD10PCS: 'procedure', ICD9Proc: 'procedure', CPT4: 'procedure', HCPCS: 'procedure',
  RxNorm: 'medication', ATC: 'medication', NDC: 'medication', LOINC: 'observation', CVX: 'immunization',
};
/** the MEDS spelling of a missing unit */
const NO_UNIT = new Set(['', 'UNK', 'UNKNOWN', 'NONE', 'NULL']);

const SKIP_STATIC = 'static row without a time (other than sex)';
const SKIP_ADMIN = 'administrative (admission, discharge, transfer, DRG)';
const SKIP_END = 'end of an interval already recorded at its start (PROCEDURE//END, INFUSION_END, MEDICATION//STOP)';
const SKIP_NO_CODE = 'row without a code';
const SKIP_NO_BIRTH_ROWS = 'rows of subjects without a birth row (MEDS_BIRTH/DOB)';

const yieldToLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Split a MEDS code and say what it is. `parents` are metadata/codes.parquet's parent_codes
 *  (e.g. HR -> LOINC/8867-4): a local code with exactly one parent in a known system takes it. */
export function classifyMedsCode(raw: string, parents?: string[]): Meaning {
  const code = raw.trim();
  const parts = code.split('//').map((p) => p.trim());
  const head = parts[0].toUpperCase();
  if (BIRTH.has(head)) return { type: 'birth' };
  if (DEATH.has(head)) return { type: 'death' };
  if ((head === 'GENDER' || head === 'SEX') && parts.length > 1) {
    const s = parts[1].toUpperCase();
    return { type: 'sex', sex: s === 'F' || s === 'FEMALE' ? 'F' : s === 'M' || s === 'MALE' ? 'M' : 'U' };
  }
  if (OPENS.has(head)) return { type: 'open' };
  if (CLOSES.has(head)) return { type: 'close' };
  if (ADMIN.has(head)) return { type: 'admin' };
  if (head === 'INFUSION_END' || ((head === 'PROCEDURE' || head === 'MEDICATION') && /^(END|STOP)$/i.test(parts[1] ?? ''))) {
    return { type: 'end' };
  }
  const prefixKind: SourceKind | undefined = KIND_BY_PREFIX[head];

  // a vocabulary marker anywhere in the code: ICD//9//x, ICD9CM//x, LOINC//x, RXNORM//x, ...
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i].toUpperCase().replace(/[\s_]/g, '');
    let system: CodeSystem | null = null;
    let rest = parts.slice(i + 1);
    const procedure = prefixKind === 'procedure';
    if (p === 'ICD' && (rest[0] === '9' || rest[0] === '10') && rest.length > 1) {
      system = rest[0] === '9' ? (procedure ? 'ICD9Proc' : 'ICD9CM') : procedure ? 'ICD10PCS' : 'ICD10CM';
      rest = rest.slice(1);
    } else if (/^ICD-?9(-?CM)?$/.test(p)) system = procedure ? 'ICD9Proc' : 'ICD9CM';
    else if (/^ICD-?10(-?CM)?$/.test(p)) system = procedure ? 'ICD10PCS' : 'ICD10CM';
    else if (/^ICD-?10-?PCS$/.test(p)) system = 'ICD10PCS';
    else if (i > 0 || parts.length === 2) {
      const s = systemOf(p);
      if (KNOWN_SYSTEMS.has(s) && s !== 'ICD10') system = s;
    }
    if (!system || !rest[0] || !shapeOk(system, rest[0])) continue;
    const kind = prefixKind ?? KIND_BY_SYSTEM[system] ?? 'other';
    const unit = rest.length > 1 && !NO_UNIT.has(rest[rest.length - 1].toUpperCase()) ? rest[rest.length - 1] : undefined;
    return { type: 'event', kind, system, code: normaliseCode(system, rest[0]), ...(unit ? { unit } : {}) };
  }

  // no vocabulary: a local code. PREFIX//<numeric id>//<unit> (MIMIC's LAB//50912//mg/dL,
  // SUBJECT_FLUID_OUTPUT//226560//ml) keeps PREFIX//id as the code and the last part as the unit.
  let local = code;
  let unit: string | undefined;
  if (parts.length === 3 && /^\d+$/.test(parts[1])) {
    local = `${parts[0]}//${parts[1]}`;
    if (!NO_UNIT.has(parts[2].toUpperCase())) unit = parts[2];
  } else if ((head === 'PROCEDURE' || head === 'MEDICATION') && /^START$/i.test(parts[1] ?? '') && parts.length > 2) {
    local = [parts[0], ...parts.slice(2)].join('//');
  } else if (head === 'INFUSION_START' && parts.length > 1) {
    local = ['INFUSION', ...parts.slice(1)].join('//');
  }
  for (const parent of parents ?? []) {
    const m = /^([^/]+)\/{1,2}(.+)$/.exec(parent.trim());
    if (!m) continue;
    const system = systemOf(m[1]);
    if (!KNOWN_SYSTEMS.has(system)) continue;
    const kind = prefixKind ?? KIND_BY_SYSTEM[system] ?? 'other';
    return { type: 'event', kind, system, code: normaliseCode(system, m[2]), ...(unit ? { unit } : {}) };
  }
  return { type: 'event', kind: prefixKind ?? 'observation', system: 'local', code: local, ...(unit ? { unit } : {}) };
}

/** A marker followed by something that is not a code of that system (MIMIC writes
 *  `HCPCS//Hospital observation per hr`) is a local code, not a wrong HCPCS one. */
const SHAPES: Record<string, RegExp> = {
  ICD10CM: ICD10_RE,
  ICD9CM: /^(V\d{2}|E\d{3}|\d{3})(\.?\d{1,2})?$/,
  ICD9Proc: /^\d{2}(\.?\d{1,2})?$/,
  ICD10PCS: /^[0-9A-HJ-NP-Z]{7}$/,
  LOINC: LOINC_RE,
  HCPCS: /^[A-Z0-9]\d{3}[A-Z0-9]$/,
  CPT4: /^\d{4}[0-9A-Z]$/,
  SNOMED: /^\d{6,18}$/,
  RxNorm: /^\d{1,9}$/,
  ATC: /^[A-Z]\d{2}([A-Z]([A-Z](\d{2})?)?)?$/,
  CVX: /^\d{1,3}$/,
  NDC: /^\d{4,5}-?\d{3,4}-?\d{1,2}$/,
};

function shapeOk(system: CodeSystem, code: string): boolean {
  const re = SHAPES[system];
  return !re || re.test(code.trim().toUpperCase());
}

interface Subject {
  key: string;
  sex: 'F' | 'M' | 'U';
  birth?: string;
  death?: string;
  dropped: Set<string>;
  events: SourceEvent[];
  /** event times in ms (parallel to events), for placing events into hospital stays */
  times: number[];
  opens: number[];
  closes: number[];
}

function toArrayBuffer(f: SourceFile): ArrayBuffer {
  if (!f.bytes) throw new ImportError(`${f.name}: no contents (a parquet file must be given as bytes)`);
  const b = f.bytes;
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return b.slice().buffer as ArrayBuffer;
}

function readMetadata(name: string, ab: ArrayBuffer): { md: FileMetaData; columns: string[] } {
  try {
    const md = parquetMetadata(ab);
    const columns = parquetSchema(md).children.map((c) => c.element.name);
    let rows = 0;
    for (const g of md.row_groups) {
      const n = Number(g.num_rows);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`row group with ${String(g.num_rows)} rows`);
      rows += n;
    }
    // a damaged footer can claim billions of rows in a few bytes; hyparquet would try to allocate them
    if (rows > Math.max(1e6, ab.byteLength * 64)) throw new Error(`${rows} rows claimed in ${ab.byteLength} bytes`);
    return { md, columns };
  } catch (e) {
    throw new ImportError(`${name}: not a readable parquet file (${errText(e)})`);
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Read some columns of row group `group` (rows [rowStart, rowEnd)) as one array per column;
 *  column arrays rather than row arrays, since a million small row arrays cost more in garbage
 *  collection than the decoding. The pages are checked first (checkRowGroup: hyparquet would
 *  decode some damaged pages for ever); any other failure inside hyparquet becomes an
 *  ImportError naming the file and the rows. */
async function readGroup(name: string, ab: ArrayBuffer, md: FileMetaData, group: number, columns: string[], rowStart: number, rowEnd: number): Promise<ArrayLike<unknown>[]> {
  checkRowGroup(name, ab, md, group, columns);
  const pieces = new Map<string, Array<{ start: number; data: ArrayLike<unknown> }>>();
  try {
    await parquetRead({
      file: ab,
      metadata: md,
      columns,
      rowStart,
      rowEnd,
      onChunk: (c) => {
        let list = pieces.get(c.columnName);
        if (!list) pieces.set(c.columnName, (list = []));
        list.push({ start: c.rowStart, data: c.columnData as ArrayLike<unknown> });
      },
    });
  } catch (e) {
    throw new ImportError(`${name} rows ${rowStart + 1}-${rowEnd}: cannot decode (${errText(e)})`);
  }
  const want = rowEnd - rowStart;
  return columns.map((col) => {
    const list = (pieces.get(col) ?? []).sort((a, b) => a.start - b.start);
    let out: ArrayLike<unknown>;
    if (list.length === 1 && list[0].start === rowStart && list[0].data.length === want) out = list[0].data;
    else {
      const arr: unknown[] = [];
      for (const p of list) {
        for (let i = 0; i < p.data.length; i++) {
          const row = p.start + i;
          if (row >= rowStart && row < rowEnd) arr[row - rowStart] = p.data[i];
        }
      }
      out = arr;
    }
    let n = 0;
    for (const p of list) n += p.data.length;
    if (out.length !== want || n < want) {
      throw new ImportError(`${name} rows ${rowStart + 1}-${rowEnd}, column ${col}: decoded ${Math.min(out.length, n)} values where the footer says ${want}`);
    }
    return out;
  });
}

/** ms since the epoch from a MEDS time cell: a Date (hyparquet's TIMESTAMP/DATE/INT96), a bare
 *  INT64 (MEDS times are microseconds), or an ISO string; null for a static row. */
function timeOf(v: unknown, file: string, row: number): number | null {
  if (v === null || v === undefined) return null;
  let ms: number;
  if (v instanceof Date) ms = v.getTime();
  else if (typeof v === 'bigint') ms = Number(v / 1000n);
  else if (typeof v === 'number') ms = v / 1000;
  else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) ms = Date.parse(v.slice(0, 10) + 'T00:00:00Z');
  else throw new ImportError(`${cell(file, row, 'time')}: expected a timestamp, found ${clip(String(v))}`);
  // years 0001-9999: what YYYY-MM-DD can say
  if (!Number.isFinite(ms) || ms < -62135596800000 || ms > 253402300799999) {
    throw new ImportError(`${cell(file, row, 'time')}: timestamp out of range (${clip(String(v))})`);
  }
  return ms;
}

const DAY_MS = 86400000;
/** toISOString per row is a measurable share of a million-row file: days repeat, so cache them */
const dayCache = new Map<number, string>();
function dayOf(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let s = dayCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dayCache.size > 200000) dayCache.clear();
    dayCache.set(day, s);
  }
  return s;
}

function cell(file: string, row: number, column: string): string {
  return `${file} row ${row}, column ${column}`;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '...' : s;
}

/** FLOAT columns come back as doubles with float32 noise (102.5999984741211): keep the shortest
 *  decimal that is the same float32, which is what the writer meant. */
const floatCache = new Map<number, number>();
function fromFloat32(v: number): number {
  const hit = floatCache.get(v);
  if (hit !== undefined) return hit;
  if (floatCache.size > 100000) floatCache.clear();
  const d = shortestFloat32(v);
  floatCache.set(v, d);
  return d;
}

function shortestFloat32(v: number): number {
  // from 6 digits up: a shorter decimal, when there is one, comes out of toPrecision(6) anyway
  // (Number drops the trailing zeros)
  for (let p = 6; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

function baseName(name: string): string {
  return name.split(/[\\/]/).pop() ?? name;
}

function isMetadataPath(name: string): boolean {
  return /(^|[\\/])metadata[\\/]/i.test(name);
}

export async function readMeds(files: SourceFile[], opts: ReadOptions = {}): Promise<SourceRead> {
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw new ImportError('cancelled');
  const parquet = files.filter((f) => /\.parquet$/i.test(f.name));
  const codesFile = parquet.find((f) => /^codes\.parquet$/i.test(baseName(f.name)) && (isMetadataPath(f.name) || parquet.length > 1));
  const dataFiles = parquet.filter((f) => f !== codesFile && !isMetadataPath(f.name));
  if (!dataFiles.length) {
    throw new ImportError(`MEDS import needs at least one events parquet file (data/*/*.parquet); found ${files.map((f) => f.name).join(', ') || 'no files'}`);
  }
  const total = parquet.reduce((n, f) => n + (f.bytes?.byteLength ?? 0), 0);
  let done = 0;

  const recordsRead: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  const skip = (reason: string, n = 1) => (skipped[reason] = (skipped[reason] ?? 0) + n);

  // metadata/codes.parquet: descriptions (display) and parent codes
  const descriptions = new Map<string, string>();
  const parentCodes = new Map<string, string[]>();
  if (codesFile) {
    const ab = toArrayBuffer(codesFile);
    const { md, columns } = readMetadata(codesFile.name, ab);
    if (!columns.includes('code')) throw new ImportError(`${codesFile.name}: missing column code (has: ${columns.join(', ')})`);
    const want = ['code', ...['description', 'parent_codes'].filter((c) => columns.includes(c))];
    let rowStart = 0;
    for (const [gi, g] of md.row_groups.entries()) {
      const n = Number(g.num_rows);
      const [codes, desc, parents] = await readGroup(codesFile.name, ab, md, gi, want, rowStart, rowStart + n);
      const di = want.indexOf('description');
      const pi = want.indexOf('parent_codes');
      for (let i = 0; i < n; i++) {
        const code = codes[i];
        if (typeof code !== 'string') continue;
        const d = di > 0 ? (di === 1 ? desc : parents)[i] : undefined;
        if (typeof d === 'string' && d) descriptions.set(code, d);
        const p = pi > 0 ? (pi === 1 ? desc : parents)[i] : undefined;
        if (Array.isArray(p)) parentCodes.set(code, (p as unknown[]).filter((x): x is string => typeof x === 'string'));
      }
      rowStart += n;
    }
    recordsRead['metadata/codes'] = rowStart;
    done += ab.byteLength;
  }

  const meanings = new Map<string, Meaning>();
  const meaningOf = (code: string): Meaning => {
    let m = meanings.get(code);
    if (!m) {
      m = classifyMedsCode(code, parentCodes.get(code));
      const d = descriptions.get(code);
      if (d && m.type === 'event') m = { ...m, display: d };
      meanings.set(code, m);
    }
    return m;
  };

  const subjects = new Map<string, Subject>();
  let eventRows = 0;

  for (const f of dataFiles) {
    if (signal?.aborted) throw new ImportError('cancelled');
    const ab = toArrayBuffer(f);
    const { md, columns } = readMetadata(f.name, ab);
    if (!columns.includes('code') && columns.includes('prediction_time')) {
      skip(`${baseName(f.name)}: labels file, not events`, Number(md.num_rows));
      done += ab.byteLength;
      continue;
    }
    if (!columns.includes('code') && columns.includes('split')) {
      done += ab.byteLength;
      continue;
    }
    const missing = ['subject_id', 'time', 'code'].filter((c) => !columns.includes(c));
    if (missing.length) throw new ImportError(`${f.name}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (has: ${columns.join(', ')})`);
    const valueCol = ['numeric_value', 'value'].find((c) => columns.includes(c));
    const encounterCol = ['hadm_id', 'encounter_id', 'visit_id'].find((c) => columns.includes(c));
    const unitCol = columns.includes('unit') ? 'unit' : undefined;
    const textCol = columns.includes('text_value') ? 'text_value' : undefined;
    const want = ['subject_id', 'time', 'code', valueCol, encounterCol, unitCol, textCol].filter((c): c is string => !!c);
    const [vi, ei, ui, ti] = [valueCol, encounterCol, unitCol, textCol].map((c) => (c ? want.indexOf(c) : -1));
    const leaf = (c: string) => md.schema.find((s) => s.name === c);
    const floatValues = valueCol ? leaf(valueCol)?.type === 'FLOAT' : false;

    let rowStart = 0;
    for (const [gi, g] of md.row_groups.entries()) {
      if (signal?.aborted) throw new ImportError('cancelled');
      const n = Number(g.num_rows);
      const cols = await readGroup(f.name, ab, md, gi, want, rowStart, rowStart + n);
      const [sids, times, codes] = cols;
      const [values, encounters, units, texts] = [vi, ei, ui, ti].map((k) => (k >= 0 ? cols[k] : null));
      for (let i = 0; i < n; i++) {
        if ((i & 0xffff) === 0xffff) {
          await yieldToLoop();
          if (signal?.aborted) throw new ImportError('cancelled');
        }
        const rowNo = rowStart + i + 1;
        const sid = sids[i];
        if (sid === null || sid === undefined || sid === '') throw new ImportError(`${cell(f.name, rowNo, 'subject_id')}: empty subject_id`);
        if (typeof sid === 'object') throw new ImportError(`${cell(f.name, rowNo, 'subject_id')}: expected an id, found ${clip(String(sid))}`);
        const key = String(sid).trim();
        let s = subjects.get(key);
        if (!s) {
          s = { key, sex: 'U', dropped: new Set(), events: [], times: [], opens: [], closes: [] };
          subjects.set(key, s);
        }
        if (texts) {
          const tv = texts[i];
          if (typeof tv === 'string' && tv.trim()) s.dropped.add('text_value');
        }
        const rawCode = codes[i];
        if (rawCode === null || rawCode === undefined || String(rawCode).trim() === '') {
          skip(SKIP_NO_CODE);
          continue;
        }
        const meaning = meaningOf(typeof rawCode === 'string' ? rawCode : String(rawCode));
        const t = timeOf(times[i], f.name, rowNo);
        if (meaning.type === 'sex') {
          s.sex = meaning.sex;
          continue;
        }
        if (t === null) {
          skip(SKIP_STATIC);
          continue;
        }
        switch (meaning.type) {
          case 'birth': {
            const d = dayOf(t);
            if (!s.birth || d < s.birth) s.birth = d;
            continue;
          }
          case 'death': {
            const d = dayOf(t);
            if (!s.death || d < s.death) s.death = d;
            continue;
          }
          case 'open':
            s.opens.push(t);
            skip(SKIP_ADMIN);
            continue;
          case 'close':
            s.closes.push(t);
            skip(SKIP_ADMIN);
            continue;
          case 'admin':
            skip(SKIP_ADMIN);
            continue;
          case 'end':
            skip(SKIP_END);
            continue;
        }
        const ev: SourceEvent = { person: key, date: dayOf(t), kind: meaning.kind, system: meaning.system, code: meaning.code, origin: `${f.name} row ${rowNo}` };
        if (meaning.display) ev.display = meaning.display;
        if (values) {
          const v = values[i];
          const num = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
          if (Number.isFinite(num)) ev.value = floatValues ? fromFloat32(num) : num;
        }
        const u = units ? units[i] : null;
        const unit = typeof u === 'string' && !NO_UNIT.has(u.trim().toUpperCase()) ? u.trim() : meaning.unit;
        if (unit) ev.unit = unit;
        const enc = encounters ? encounters[i] : null;
        if (enc !== null && enc !== undefined && typeof enc !== 'object' && String(enc).trim() !== '') ev.encounter = String(enc).trim();
        s.events.push(ev);
        s.times.push(t);
      }
      rowStart += n;
      eventRows += n;
      onProgress?.(done + Math.round((ab.byteLength * rowStart) / Math.max(1, Number(md.num_rows))), total);
    }
    done += ab.byteLength;
  }
  recordsRead.events = eventRows;

  const persons: SourcePerson[] = [];
  const events: SourceEvent[] = [];
  let stay = 0;
  for (const s of subjects.values()) {
    if (!s.birth) {
      skip(SKIP_NO_BIRTH_ROWS, s.events.length);
      continue;
    }
    stay = placeInStays(s, stay);
    const p: SourcePerson = { key: s.key, sex: s.sex, birthDate: s.birth };
    if (s.death) p.deathDate = s.death;
    if (s.dropped.size) p.droppedFields = [...s.dropped].sort();
    persons.push(p);
    for (const e of s.events) events.push(e);
  }
  onProgress?.(total, total);
  return { format: 'meds', persons, events, recordsRead, skipped };
}

/** Give events inside a hospital stay (an admission and the next discharge) the stay as their
 *  encounter. An admission without a discharge before the next admission is left open-ended and
 *  ignored: its events are grouped by day instead of being swallowed into a years-long "stay". */
function placeInStays(s: Subject, counter: number): number {
  if (!s.opens.length || !s.closes.length) return counter;
  const opens = [...s.opens].sort((a, b) => a - b);
  const closes = [...s.closes].sort((a, b) => a - b);
  const stays: Array<[number, number, string]> = [];
  let c = 0;
  for (let i = 0; i < opens.length; i++) {
    const start = opens[i];
    if (stays.length && start <= stays[stays.length - 1][1]) continue; // a second admission inside a stay
    while (c < closes.length && closes[c] < start) c++;
    if (c >= closes.length) break;
    const end = closes[c];
    if (i + 1 < opens.length && opens[i + 1] < end && opens[i + 1] !== start) continue; // no discharge before the next admission
    stays.push([start, end, `stay-${++counter}`]);
    c++;
  }
  if (!stays.length) return counter;
  for (let i = 0; i < s.events.length; i++) {
    const ev = s.events[i];
    if (ev.encounter) continue;
    const t = s.times[i];
    let lo = 0;
    let hi = stays.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (stays[mid][0] <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0 && t <= stays[found][1]) ev.encounter = stays[found][2];
  }
  return counter;
}
