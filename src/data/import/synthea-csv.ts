// Synthea CSV reader (exporter.csv, v2.x and v3.x column sets): patients, encounters, conditions,
// procedures, medications, observations, immunizations. Parsed with papaparse in chunks, pausing
// between chunks so progress is reported and a cancel can land. Synthea CSV has no code-system
// column in most versions: conditions/procedures are SNOMED CT, medications RxNorm, observations
// LOINC (plus Synthea's own QALY/DALY/QOLS), immunizations CVX (a SYSTEM column is read when present).
// Coded observation values are written as display text only (e.g. smoking "Never smoker"); they are
// handed to the code map as text and never stored.
import Papa from 'papaparse';
import { ImportError, type CodeSystem, type ReadOptions, type SourceEvent, type SourceFile, type SourcePerson, type SourceRead } from './source';
import { makeTicker } from './pipeline';

type Row = Record<string, string>;
const TABLES = ['patients', 'encounters', 'conditions', 'procedures', 'medications', 'observations', 'immunizations'] as const;
type Table = (typeof TABLES)[number];
/** the other tables Synthea writes: recognised, not read */
const OTHER_TABLES = new Set(['allergies', 'careplans', 'claims', 'claims_transactions', 'devices', 'imaging_studies', 'organizations', 'payer_transitions', 'payers', 'providers', 'supplies']);
/** patients.csv columns kept; every other non-empty column is listed as removed */
const PATIENT_KEPT = new Set(['Id', 'BIRTHDATE', 'DEATHDATE', 'GENDER']);
/** Synthea's own summary metrics in observations.csv: computed, not observed */
const SYNTHEA_METRICS = new Set(['QALY', 'DALY', 'QOLS']);

const baseName = (name: string) => name.split(/[/\\]/).pop()!.toLowerCase();

/** Which Synthea table a file is, by name (`patients.csv`, also inside a folder). */
export function syntheaTableOf(name: string): Table | 'other' | null {
  const b = baseName(name).replace(/\.csv$/, '');
  if (!baseName(name).endsWith('.csv')) return null;
  if ((TABLES as readonly string[]).includes(b)) return b as Table;
  return OTHER_TABLES.has(b) ? 'other' : null;
}

const SYSTEM_COLUMN: Record<string, CodeSystem> = {
  'SNOMED-CT': 'SNOMED',
  SNOMED: 'SNOMED',
  'http://snomed.info/sct': 'SNOMED',
  RXNORM: 'RxNorm',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  LOINC: 'LOINC',
  'http://loinc.org': 'LOINC',
  CVX: 'CVX',
  'ICD-10': 'ICD10CM',
  ICD10CM: 'ICD10CM',
};

export async function readSyntheaCsv(files: SourceFile[], opts: ReadOptions = {}): Promise<SourceRead> {
  const byTable = new Map<Table, SourceFile>();
  const recordsRead: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  for (const f of files) {
    const t = syntheaTableOf(f.name);
    if (t === null) throw new ImportError(`${f.name}: not a Synthea CSV table (expected patients.csv, encounters.csv, conditions.csv, ...)`);
    if (t === 'other') {
      skipped[`${baseName(f.name)}: table not used by the model (file)`] = 1;
      continue;
    }
    if (byTable.has(t)) throw new ImportError(`${f.name}: a second ${t}.csv (also ${byTable.get(t)!.name}); import one Synthea export at a time`);
    byTable.set(t, f);
  }
  if (!byTable.has('patients')) throw new ImportError(`patients.csv: missing (a Synthea CSV import needs patients.csv next to the event tables)`);
  const textOf = (f: SourceFile) => {
    const t = f.text ?? (f.bytes ? new TextDecoder().decode(f.bytes) : undefined);
    if (t === undefined) throw new ImportError(`${f.name}: no contents`);
    return t;
  };
  const total = [...byTable.values()].reduce((s, f) => s + (f.text?.length ?? f.bytes?.length ?? 0), 0);
  const tick = makeTicker(opts, total);
  let doneBefore = 0;

  const persons: SourcePerson[] = [];
  const events: SourceEvent[] = [];
  const encounterStart = new Map<string, string>();
  // text values are attributed to persons once all patients are known
  const pendingDropped: Array<[string, string]> = [];
  const seenIds = new Map<string, number>();

  for (const table of TABLES) {
    const f = byTable.get(table);
    if (!f) continue;
    const text = textOf(f);
    const name = f.name;
    let count = 0;
    const need = (row: Row, line: number, col: string): string => {
      const v = row[col];
      if (v === undefined || v.trim() === '') throw new ImportError(`${name} line ${line}, field ${col}: missing`);
      return v.trim();
    };
    const day = (row: Row, line: number, col: string): string => toDay(need(row, line, col), `${name} line ${line}`, col);
    const codeSystem = (row: Row, line: number, dflt: CodeSystem): CodeSystem => {
      const s = row.SYSTEM?.trim();
      if (!s) return dflt;
      const m = SYSTEM_COLUMN[s] ?? SYSTEM_COLUMN[s.toUpperCase()];
      if (!m) throw new ImportError(`${name} line ${line}, field SYSTEM: unknown code system ${JSON.stringify(s.slice(0, 40))}`);
      return m;
    };
    const event = (row: Row, line: number, kind: SourceEvent['kind'], system: CodeSystem, dateCol: string): SourceEvent => {
      const enc = row.ENCOUNTER?.trim();
      return {
        person: need(row, line, 'PATIENT'),
        date: day(row, line, dateCol),
        ...(enc ? { encounter: enc } : {}),
        kind,
        system,
        code: need(row, line, 'CODE'),
        ...(row.DESCRIPTION ? { display: row.DESCRIPTION } : {}),
        origin: `${name} line ${line}`,
      };
    };
    const required: Record<Table, string[]> = {
      patients: ['Id', 'BIRTHDATE', 'GENDER'],
      encounters: ['Id', 'START', 'PATIENT'],
      conditions: ['START', 'PATIENT', 'CODE'],
      procedures: ['PATIENT', 'CODE', 'START|DATE'],
      medications: ['START', 'PATIENT', 'CODE'],
      observations: ['DATE', 'PATIENT', 'CODE', 'VALUE'],
      immunizations: ['DATE', 'PATIENT', 'CODE'],
    };
    const onRow = (row: Row, line: number): void => {
      count++;
      switch (table) {
        case 'patients': {
          const g = need(row, line, 'GENDER');
          if (g !== 'F' && g !== 'M') throw new ImportError(`${name} line ${line}, field GENDER: expected F or M, found ${JSON.stringify(g.slice(0, 10))}`);
          const death = row.DEATHDATE?.trim();
          const dropped = Object.keys(row).filter((k) => !PATIENT_KEPT.has(k) && row[k] !== undefined && row[k].trim() !== '').map((k) => `patients.csv:${k}`);
          const key = need(row, line, 'Id');
          if (seenIds.has(key)) throw new ImportError(`${name} line ${line}, field Id: ${key} appears twice (also line ${seenIds.get(key)})`);
          seenIds.set(key, line);
          persons.push({
            key,
            sex: g,
            birthDate: day(row, line, 'BIRTHDATE'),
            ...(death ? { deathDate: toDay(death, `${name} line ${line}`, 'DEATHDATE') } : {}),
            droppedFields: dropped,
          });
          break;
        }
        case 'encounters':
          encounterStart.set(need(row, line, 'Id'), day(row, line, 'START'));
          break;
        case 'conditions':
          events.push(event(row, line, 'condition', codeSystem(row, line, 'SNOMED'), 'START'));
          break;
        case 'procedures':
          // v3 writes START (and STOP), v2 writes DATE
          events.push(event(row, line, 'procedure', codeSystem(row, line, 'SNOMED'), row.START !== undefined ? 'START' : 'DATE'));
          break;
        case 'medications':
          // one event at the start of each prescription record (Synthea writes one row per order)
          events.push(event(row, line, 'medication', codeSystem(row, line, 'RxNorm'), 'START'));
          break;
        case 'immunizations':
          events.push(event(row, line, 'immunization', 'CVX', 'DATE'));
          break;
        case 'observations': {
          const code = need(row, line, 'CODE');
          if (SYNTHEA_METRICS.has(code)) {
            skipped[`observations.csv: Synthea summary metric (${[...SYNTHEA_METRICS].join('/')}), not an observation`] =
              (skipped[`observations.csv: Synthea summary metric (${[...SYNTHEA_METRICS].join('/')}), not an observation`] ?? 0) + 1;
            return;
          }
          const system: CodeSystem = /^\d{1,7}-\d$/.test(code) ? 'LOINC' : 'local';
          const e = event(row, line, code === '69453-9' ? 'death' : 'observation', system, 'DATE');
          const raw = (row.VALUE ?? '').trim();
          const type = (row.TYPE ?? '').trim().toLowerCase();
          if (raw !== '') {
            if (type === 'numeric' || (type === '' && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(raw))) {
              const v = Number(raw);
              if (!Number.isFinite(v)) throw new ImportError(`${name} line ${line}, field VALUE: expected a number (TYPE numeric), found ${JSON.stringify(raw.slice(0, 20))}`);
              e.value = v;
              const u = row.UNITS?.trim();
              if (u) e.unit = u;
            } else {
              // a coded answer written as its display (or free text such as an address): only
              // looked up in the code map's value tables, never stored
              e.valueCode = { system: 'text', code: '', display: raw };
              pendingDropped.push([e.person, 'observations.csv:VALUE (text)']);
            }
          }
          events.push(e);
          break;
        }
      }
    };
    await parseCsv(text, name, required[table], onRow, async (bytes) => tick(doneBefore + bytes));
    recordsRead[`${table}.csv`] = count;
    doneBefore += text.length;
  }

  // conditions etc. carry their own dates; the encounter start is used only where a row has none
  // (no Synthea table does), so encounters.csv serves the grouping: check the references resolve
  for (const e of events) if (e.encounter && byTable.has('encounters') && !encounterStart.has(e.encounter)) {
    throw new ImportError(`${e.origin}, field ENCOUNTER: ${e.encounter} is not in encounters.csv`);
  }
  const byKey = new Map(persons.map((p) => [p.key, p]));
  for (const [key, field] of pendingDropped) byKey.get(key)?.droppedFields?.push(field);
  return { format: 'synthea-csv', persons, events, recordsRead, skipped };
}

/** Parse a CSV with a header row in chunks (required columns: `A|B` = A or B); rows go to onRow with their line number (header = 1).
 *  Malformed rows (too few/many fields, bad quotes) are ImportErrors naming the line. */
async function parseCsv(
  text: string,
  name: string,
  required: string[],
  onRow: (row: Row, line: number) => void,
  onChunk: (bytes: number) => Promise<void>,
): Promise<string[]> {
  let rowsBefore = 0;
  let failure: unknown = null;
  const body = text.replace(/^\uFEFF/, '');
  if (!body.trim()) throw new ImportError(`${name}: file is empty (expected a header row)`);
  // the header is checked before any row is read (a file with a header and no rows is valid)
  const nl = body.indexOf('\n');
  const header = (Papa.parse<string[]>(nl < 0 ? body : body.slice(0, nl), { header: false }).data[0] ?? []).map((h) => h.trim());
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) throw new ImportError(`${name} line 1: column ${JSON.stringify(dup.slice(0, 40))} appears twice in the header`);
  const missing = required.filter((c) => !c.split('|').some((x) => header.includes(x))).map((c) => c.replace('|', ' (or ') + (c.includes('|') ? ')' : ''));
  if (missing.length) throw new ImportError(`${name}: column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing (header: ${header.slice(0, 12).join(',').slice(0, 200)})`);
  await new Promise<void>((resolve, reject) => {
    Papa.parse<Row>(body, {
      header: true,
      skipEmptyLines: 'greedy',
      chunkSize: 256 * 1024,
      chunk: (res: Papa.ParseResult<Row>, parser: Papa.Parser) => {
        try {
          for (const err of res.errors) {
            // papaparse row indices count data rows of this chunk
            const line = rowsBefore + (err.row ?? 0) + 2;
            throw new ImportError(`${name} line ${line}: ${err.message} (${err.code})`);
          }
          res.data.forEach((row, i) => onRow(row, rowsBefore + i + 2));
          rowsBefore += res.data.length;
        } catch (e) {
          failure = e;
          parser.abort();
          return;
        }
        parser.pause();
        onChunk(res.meta.cursor).then(
          () => parser.resume(),
          (e) => {
            failure = e;
            parser.abort();
          },
        );
      },
      complete: () => (failure ? reject(failure) : resolve()),
      error: (e: Error) => reject(new ImportError(`${name}: ${e.message}`)),
    });
  });
  return header;
}

function toDay(v: string, where: string, field: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(v);
  if (!m) throw new ImportError(`${where}, field ${field}: ${JSON.stringify(v.slice(0, 40))} is not a date`);
  const t = Date.parse(m[1] + 'T00:00:00Z');
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== m[1]) throw new ImportError(`${where}, field ${field}: ${v} is not a calendar date`);
  return m[1];
}
