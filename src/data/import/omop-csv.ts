// Chunked CSV reading for the OMOP reader: papaparse does the parsing; this adds what an
// importer needs on top: exact line numbers for error messages (papaparse only counts rows, and
// quoted fields may span lines), strict field counts, cancellation between chunks and progress.
import Papa from 'papaparse';
import { ImportError, type ReadOptions } from './source';

export type CsvRow = Record<string, string>;

/** A row's place in its file, for error messages. */
export interface CsvWhere {
  file: string;
  /** 1-based line on which the row starts */
  line: number;
}

export function at(w: CsvWhere, column?: string): string {
  return `${w.file} line ${w.line}${column ? `, column ${column}` : ''}`;
}

const CHUNK_CHARS = 1 << 20;

/** Yield to the event loop so that an abort (a click on Cancel) can be seen between chunks. */
const yieldToLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

export interface CsvReadOptions extends ReadOptions {
  /** columns that must be in the header (lower case) */
  required: readonly string[];
  /** characters already done in earlier files and the total over all files, for onProgress */
  progressBase?: number;
  progressTotal?: number;
}

/** Read a CSV (or tab-separated) text row by row. Header names are trimmed and lower-cased (ETL
 *  exports differ in case). Throws ImportError naming file, line and column for a missing column,
 *  a row with too many or too few fields, or a broken quote; ImportError('cancelled') on abort. */
/** Returns the number of data rows handed to onRow (blank lines not counted). */
export async function readCsv(
  file: string,
  text: string,
  onRow: (row: CsvRow, where: CsvWhere) => void,
  opts: CsvReadOptions,
): Promise<number> {
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw new ImportError('cancelled');
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (!body.trim()) throw new ImportError(`${file}: file is empty (expected a header line)`);

  let header: string[] | null = null;
  let nextLine = 1;
  let rowsDone = 0;
  let emitted = 0;
  let failure: unknown = null;

  const checkHeader = (fields: string[]) => {
    header = fields;
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f)) throw new ImportError(`${file} line 1: column ${f} appears twice in the header`);
      seen.add(f);
    }
    const missing = opts.required.filter((c) => !seen.has(c));
    if (missing.length) {
      const shown = fields.slice(0, 12).join(', ') + (fields.length > 12 ? ', ...' : '');
      throw new ImportError(`${file} line 1: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header has: ${shown || 'nothing'})`);
    }
    nextLine = 2 + fields.reduce((n, f) => n + countNewlines(f), 0);
  };

  const handleChunk = (res: Papa.ParseResult<CsvRow>) => {
    if (!header) {
      // papaparse renames a repeated header (a, a_1) rather than failing: undo that to say so
      const renamed = (res.meta as { renamedHeaders?: Record<string, string> | null }).renamedHeaders;
      if (renamed && Object.keys(renamed).length) {
        const [, original] = Object.entries(renamed)[0];
        throw new ImportError(`${file} line 1: column ${original} appears twice in the header`);
      }
      checkHeader(res.meta.fields ?? []);
    }
    const fields = header!;
    const quoteError = res.errors.find((e) => e.type === 'Quotes');
    const firstRow = rowsDone;
    for (let i = 0; i < res.data.length; i++) {
      const row = res.data[i];
      const line = nextLine;
      if (quoteError && quoteError.row === firstRow + i) {
        throw new ImportError(`${file} line ${line}: ${quoteError.message.toLowerCase()} (check the quotes on this row)`);
      }
      let embedded = 0;
      let present = 0;
      for (const k in row) {
        const v = row[k];
        if (typeof v === 'string') {
          embedded += countNewlines(v);
          present++;
        } else if (Array.isArray(v)) {
          for (const x of v as unknown[]) if (typeof x === 'string') embedded += countNewlines(x);
        }
      }
      nextLine += 1 + embedded;
      rowsDone++;
      const extra = (row as Record<string, unknown>).__parsed_extra;
      // a blank line parses as one empty field: skip it rather than call it a short row
      if (present === 1 && !extra && fields.length > 1 && row[fields[0]] === '') continue;
      // a broken quote also shifts the fields of its row: name the quote, the cause, not the count
      if (quoteError && (extra || present < fields.length)) {
        throw new ImportError(`${file} line ${line}: ${quoteError.message.toLowerCase()} (check the quotes on this row)`);
      }
      if (extra) {
        const n = fields.length + (Array.isArray(extra) ? extra.length : 1);
        throw new ImportError(`${file} line ${line}: ${n} fields where the header has ${fields.length}`);
      }
      if (present < fields.length) {
        throw new ImportError(`${file} line ${line}: ${present} fields where the header has ${fields.length} (first missing column: ${fields[present]})`);
      }
      emitted++;
      onRow(row, { file, line });
    }
    if (quoteError) {
      // papaparse's row index for a quote error is not always the row's: name the last row read
      throw new ImportError(`${file} line ${Math.max(2, nextLine - 1)}: ${quoteError.message.toLowerCase()} (a quoted field is not closed properly)`);
    }
  };

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown, parser?: Papa.Parser) => {
      if (settled) return;
      settled = true;
      failure = e;
      parser?.abort();
      reject(e);
    };
    Papa.parse<CsvRow>(body, {
      header: true,
      skipEmptyLines: false,
      chunkSize: CHUNK_CHARS,
      transformHeader: (h) => h.replace(/^\ufeff/, '').trim().toLowerCase(),
      chunk: (res: Papa.ParseResult<CsvRow>, parser: Papa.Parser) => {
        if (settled) return;
        try {
          handleChunk(res);
        } catch (e) {
          fail(e, parser);
          return;
        }
        onProgress?.((opts.progressBase ?? 0) + Math.min(res.meta.cursor, body.length), opts.progressTotal ?? body.length);
        parser.pause();
        void yieldToLoop().then(() => {
          if (settled) return;
          if (signal?.aborted) fail(new ImportError('cancelled'), parser);
          else parser.resume();
        });
      },
      complete: () => {
        if (settled) return;
        if (!header) {
          fail(new ImportError(`${file}: no header line`));
          return;
        }
        settled = true;
        resolve();
      },
      error: (err: Error) => fail(new ImportError(`${file}: cannot parse as CSV (${err.message})`)),
    });
  });
  if (failure) throw failure;
  return emitted;
}
