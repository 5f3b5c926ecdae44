// The import worker: reads dropped files (FHIR, Synthea CSV, OMOP, MEDS, the project's own
// timelines) into de-identified patient timelines, off the main thread, so a 100 MB file never
// freezes the page. Same modules as `npx exbehrt import`. Only de-identified timelines and the
// coverage report come back; the raw files never leave this worker.
import { expose } from 'comlink';
import { mergeCodeMaps, SHIPPED_CODE_MAP, type CodeMap } from '../src/data/import/codemap';
import { checkImportSizes, importFiles, type ImportFormat } from '../src/data/import';
import type { CoverageReport } from '../src/data/import/pipeline';
import { ImportError, type SourceFile } from '../src/data/import/source';
import type { Patient } from '../src/data/schema';
import { EVENTS_PER_MESSAGE, inParts } from '../src/data/parts';
import type { Vocab } from '../src/tokens/vocab';

export interface ImportJob {
  /** File objects from a drop or a file dialog, with their path relative to a dropped folder */
  files: Array<{ file: File; path: string }>;
  format?: ImportFormat;
  shiftDates?: boolean;
  seed?: number;
  vocab?: Vocab;
  codeMap?: CodeMap;
}

export interface ImportOutcome {
  format: ImportFormat;
  patients: Patient[];
  coverage: CoverageReport;
}

/** Files the importers read as bytes; everything else is text. */
const isBinary = (name: string) => /\.parquet$/i.test(name);

const api = {
  /** Cancel is the page terminating this worker (see createImporter): a parser in synchronous work
   *  could not notice anything gentler. */
  async importFiles(
    job: ImportJob,
    onProgress?: (phase: string, done: number, total: number) => void,
    /** when given, the timelines come through it in parts (each awaited) and not in the outcome */
    onPatients?: (part: Patient[]) => void | Promise<void>,
  ): Promise<ImportOutcome> {
    // refuse oversized files before reading a byte (a string over ~512 MiB fails inside V8 anyway)
    checkImportSizes(job.files.map(({ file, path }) => ({ name: path || file.name, size: file.size })));
    // progress comes in two phases: reading the files, then parsing them
    const totalBytes = job.files.reduce((s, f) => s + f.file.size, 0) || 1;
    let readBytes = 0;
    const files: SourceFile[] = [];
    for (const { file, path } of job.files) {
      const name = path || file.name;
      try {
        files.push(isBinary(name) ? { name, bytes: new Uint8Array(await file.arrayBuffer()) } : { name, text: await file.text() });
      } catch (e) {
        throw new ImportError(`${name}: cannot be read (${(e as Error).message})`);
      }
      readBytes += file.size;
      onProgress?.('reading', readBytes, totalBytes);
    }
    const out = await importFiles(files, {
      format: job.format,
      shiftDates: job.shiftDates,
      seed: job.seed,
      vocab: job.vocab,
      // a model folder's own map refines the shipped one (its entries win)
      codeMap: job.codeMap ? mergeCodeMaps(SHIPPED_CODE_MAP, job.codeMap) : undefined,
      onProgress: (done, total) => onProgress?.('parsing', done, total),
    });
    if (!onPatients) return out;
    for (const part of inParts(out.patients, EVENTS_PER_MESSAGE)) await onPatients(part); // each read by the page in a task of its own
    return { ...out, patients: [] };
  },
};

export type ImportApi = typeof api;

expose(api);
