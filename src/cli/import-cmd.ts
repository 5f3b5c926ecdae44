// `exbehrt import <format|auto> <path> -o patients.jsonl [--coverage coverage.json] [--shift-dates]
//  [--seed S] [--model <folder>] [--codemap codemap.json] [--today YYYY-MM-DD]`
// Reads a file or a folder (recursively), runs the format's reader and the shared pipeline, writes
// JSON lines of patients and (optionally) the coverage report, and prints the coverage summary on
// stderr. Output files are written only after the whole import succeeded.
import { readdir, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { formatCoverage, importFiles, IMPORT_FORMATS, type ImportFormat } from '../data/import';
import { mergeCodeMaps, parseCodeMap, SHIPPED_CODE_MAP, type CodeMap } from '../data/import/codemap';
import type { SourceFile } from '../data/import/source';
import type { Vocab } from '../tokens/vocab';

export const IMPORT_USAGE = `exbehrt import <format|auto> <path: file or folder> -o patients.jsonl [--coverage coverage.json]
       [--shift-dates] [--seed S] [--model <folder>] [--codemap codemap.json] [--today YYYY-MM-DD]
  formats: ${IMPORT_FORMATS.join(', ')}, auto (detect from names and contents)
  --model counts codes in that model's vocabulary and applies its codemap.json (over the shipped map)
`;

export class ImportUsageError extends Error {}

/** every file under a folder (sorted, hidden files skipped), or the file itself */
async function collect(path: string): Promise<SourceFile[]> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new ImportUsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const paths: string[] = [];
  const walk = async (dir: string) => {
    for (const ent of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (ent.name.startsWith('.')) continue;
      const p = join(dir, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) paths.push(p);
    }
  };
  if (st.isDirectory()) await walk(path);
  else paths.push(path);
  // licences and readmes travel with sample folders; they are not data
  const data = paths.filter((p) => /\.(json|ndjson|jsonl|csv|parquet)$/i.test(p));
  const files: SourceFile[] = [];
  for (const p of data) {
    const name = st.isDirectory() ? relative(path, p) : p;
    if (/\.parquet$/i.test(p)) files.push({ name, bytes: new Uint8Array(await readFile(p)) });
    else files.push({ name, text: await readFile(p, 'utf8') });
  }
  if (!files.length) throw new ImportUsageError(`${path}: no .json, .ndjson, .jsonl, .csv or .parquet files found`);
  return files;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

export async function importCommand(args: string[], log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        coverage: { type: 'string' },
        'shift-dates': { type: 'boolean' },
        seed: { type: 'string' },
        model: { type: 'string' },
        codemap: { type: 'string' },
        today: { type: 'string' },
      },
    });
  } catch (e) {
    throw new ImportUsageError(`${(e as Error).message}\n\n${IMPORT_USAGE}`);
  }
  const { values, positionals } = parsed;
  const [fmt, path] = positionals;
  if (!fmt || !path || positionals.length > 2) throw new ImportUsageError(`expected a format and a path\n\n${IMPORT_USAGE}`);
  if (fmt !== 'auto' && !(IMPORT_FORMATS as string[]).includes(fmt)) throw new ImportUsageError(`unknown format ${fmt}\n\n${IMPORT_USAGE}`);
  if (!values.out) throw new ImportUsageError(`missing -o patients.jsonl\n\n${IMPORT_USAGE}`);
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isFinite(seed)) throw new ImportUsageError(`--seed: expected a number, found ${values.seed}`);
  }
  if (values.today !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.today)) throw new ImportUsageError(`--today: expected YYYY-MM-DD`);

  let codeMap: CodeMap = SHIPPED_CODE_MAP;
  let vocab: Vocab | undefined;
  if (values.model) {
    const { loadModelFromDir } = await import('../model/folder-node');
    const folder = await loadModelFromDir(values.model);
    vocab = folder.vocab;
    // the folder's codemap.json (optional) layers over the shipped map; folder-node reads the
    // required files, so the optional map is read here
    let text: string | null = null;
    try {
      text = await readFile(join(values.model, 'codemap.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ImportUsageError(`${join(values.model, 'codemap.json')}: cannot read (${(e as Error).message})`);
    }
    if (text !== null) {
      const file = join(values.model, 'codemap.json');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new ImportUsageError(`${file}: not valid JSON (${(e as Error).message})`);
      }
      codeMap = mergeCodeMaps(codeMap, parseCodeMap(json, file));
    }
  }
  if (values.codemap) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(values.codemap, 'utf8'));
    } catch (e) {
      throw new ImportUsageError(`${values.codemap}: cannot read as JSON (${(e as Error).message})`);
    }
    codeMap = mergeCodeMaps(codeMap, parseCodeMap(json, values.codemap));
  }

  const files = await collect(path);
  const t0 = performance.now();
  let lastPct = -1;
  const { format, patients, coverage } = await importFiles(files, {
    format: fmt === 'auto' ? undefined : (fmt as ImportFormat),
    codeMap,
    vocab,
    shiftDates: !!values['shift-dates'],
    seed,
    today: values.today,
    onProgress: (done, total) => {
      const p = total ? Math.floor((100 * done) / total / 10) * 10 : 100;
      if (p !== lastPct && process.stderr.isTTY) process.stderr.write(`\rreading ${p}%`);
      lastPct = p;
    },
  });
  if (process.stderr.isTTY && lastPct >= 0) process.stderr.write('\r');
  const seconds = (performance.now() - t0) / 1000;
  await writeAtomic(values.out, patients.map((p) => JSON.stringify(p)).join('\n') + (patients.length ? '\n' : ''));
  if (values.coverage) await writeAtomic(values.coverage, JSON.stringify({ ...coverage, seconds: Number(seconds.toFixed(3)) }, null, 2) + '\n');
  log(formatCoverage(coverage));
  log(`${format}: ${patients.length} patients written to ${values.out} in ${seconds.toFixed(2)} s${values.coverage ? `; coverage report in ${values.coverage}` : ''}`);
}
