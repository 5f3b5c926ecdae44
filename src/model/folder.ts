// A model folder: config.json, vocab.json, model.safetensors, optional model-card.json and
// reference.json. Loading validates every file against the others and either returns a complete,
// consistent model or throws one ModelFolderError listing every problem: never a half-loaded model.
// Browser-safe; the Node directory reader/writer is in folder-node.ts.
import { parseVocab, checkVocabAgainstConfig, type Vocab } from '../tokens/vocab';
import { parseModelCard, type ModelCard } from './card';
import { canonicalTensorName, expectedTensors, parseConfig, type ModelConfig } from './config';
import { parseSafetensors, type TensorData } from './safetensors';
import { parseCodeMap, type CodeMap } from '../data/import/codemap';

export interface ModelFolder {
  name: string;
  config: ModelConfig;
  vocab: Vocab;
  /** canonical tensor names (see canonicalTensorName) -> float32 data, PyTorch shapes */
  weights: Map<string, TensorData>;
  card: ModelCard | null;
  /** parsed reference.json (the reference population for expected gradients), or null */
  reference: unknown | null;
  /** optional codemap.json: how source codes map to this model's vocabulary (used by imports,
   *  layered over the shipped map); absent = null */
  codeMap?: CodeMap | null;
}

/** File contents as read. JSON files may be given as text or already parsed; undefined = missing,
 *  null (card/reference only) = absent, which is fine for those. */
export interface ModelFolderFiles {
  config?: unknown;
  vocab?: unknown;
  safetensors?: ArrayBuffer | Uint8Array;
  card?: unknown | null;
  reference?: unknown | null;
  codeMap?: unknown | null;
}

export const FILE_NAMES = {
  config: 'config.json',
  vocab: 'vocab.json',
  safetensors: 'model.safetensors',
  card: 'model-card.json',
  reference: 'reference.json',
  codeMap: 'codemap.json',
} as const;

export class ModelFolderError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ModelFolderError';
    this.problems = problems;
  }
}

/** the problems an error carries: its own list, or its message split into lines */
const problemsOf = (e: unknown): string[] => {
  if (e && typeof e === 'object' && Array.isArray((e as { problems?: unknown }).problems)) return (e as { problems: string[] }).problems;
  return String(e instanceof Error ? e.message : e).split('\n');
};

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Which config.json fields fix a tensor's expected shape, for error messages. */
function shapeSource(name: string, c: ModelConfig): string {
  const H = `hidden_size=${c.hidden_size}`;
  const e = 'bert.embeddings.';
  if (name === e + 'word_embeddings.weight' || name === 'cls.predictions.bias') return `vocab_size=${c.vocab_size}, ${H}`;
  if (name === e + 'segment_embeddings.weight') return `type_vocab_size=${c.type_vocab_size}, ${H}`;
  if (name === e + 'age_embeddings.weight') return `age_vocab_size=${c.age_vocab_size}, ${H}`;
  if (name === e + 'posi_embeddings.weight') return `max_position_embeddings=${c.max_position_embeddings}, ${H}`;
  for (const m of c.modalities) if (name === `${e}${m.name}_embeddings.weight`) return `modalities.${m.name}.vocab_size=${m.vocab_size}, ${H}`;
  if (c.static && name === `${e}${c.static.name}_embeddings.weight`) return `static.vocab_size=${c.static.vocab_size}, ${H}`;
  if (/\.(intermediate|output)\.dense\./.test(name) && !name.includes('attention')) return `intermediate_size=${c.intermediate_size}, ${H}`;
  for (const t of c.tasks) if (name.startsWith(`heads.${t.name}.`)) return `tasks.${t.name}.num_labels=${t.num_labels}, ${H}`;
  return H;
}

function parseJsonFile(content: unknown, file: string, problems: string[]): { ok: true; value: unknown } | { ok: false } {
  if (typeof content !== 'string') return { ok: true, value: content };
  try {
    return { ok: true, value: JSON.parse(content) };
  } catch (e) {
    problems.push(`${file}: not valid JSON (${(e as Error).message})`);
    return { ok: false };
  }
}

export interface AssembleOptions {
  /** a folder path or URL, named in missing-file problems */
  source?: string;
  /** why a file could not be read (HTTP error, duplicate pick...): reported instead of "missing" */
  readProblems?: Partial<Record<keyof ModelFolderFiles, string>>;
}

/** Validate and assemble a model from its files' contents. Throws ModelFolderError listing every
 *  problem found, in every file, at once. */
export function assembleModelFolder(name: string, files: ModelFolderFiles, opts: AssembleOptions = {}): ModelFolder {
  const problems: string[] = [];
  const keyOf = Object.fromEntries(Object.entries(FILE_NAMES).map(([k, v]) => [v, k])) as Record<string, keyof ModelFolderFiles>;
  const missing = (file: string) =>
    problems.push(opts.readProblems?.[keyOf[file]] ?? `${file}: missing (required file${opts.source ? ` in ${opts.source}` : ''})`);
  // read problems of optional files (absent = fine, unreadable = not fine)
  for (const k of ['card', 'reference', 'codeMap'] as const) if (opts.readProblems?.[k]) problems.push(opts.readProblems[k]!);

  let config: ModelConfig | null = null;
  if (files.config === undefined) missing(FILE_NAMES.config);
  else {
    const j = parseJsonFile(files.config, FILE_NAMES.config, problems);
    if (j.ok)
      try {
        config = parseConfig(j.value, FILE_NAMES.config);
      } catch (e) {
        problems.push(...problemsOf(e));
      }
  }

  let vocab: Vocab | null = null;
  if (files.vocab === undefined) missing(FILE_NAMES.vocab);
  else {
    const j = parseJsonFile(files.vocab, FILE_NAMES.vocab, problems);
    if (j.ok)
      try {
        vocab = parseVocab(j.value, FILE_NAMES.vocab);
      } catch (e) {
        problems.push(...problemsOf(e));
      }
  }
  if (config && vocab) problems.push(...checkVocabAgainstConfig(vocab, config, FILE_NAMES.vocab));

  const weights = new Map<string, TensorData>();
  if (files.safetensors === undefined) missing(FILE_NAMES.safetensors);
  else {
    const st = FILE_NAMES.safetensors;
    let raw: ReturnType<typeof parseSafetensors> | null = null;
    try {
      raw = parseSafetensors(files.safetensors, st);
    } catch (e) {
      problems.push(...problemsOf(e));
    }
    // tensor names and shapes can only be checked against a valid config
    if (raw && config) {
      const expected = expectedTensors(config, { mlm: false });
      const mlm = expectedTensors(config, { mlm: true });
      const stored = new Map<string, string>(); // canonical -> name in the file
      for (const [fileName, t] of raw) {
        const canon = canonicalTensorName(fileName, config);
        const label = canon === fileName ? fileName : `${fileName} (read as ${canon})`;
        if (stored.has(canon)) {
          problems.push(`${st}: tensor ${label}: stored twice, also as ${stored.get(canon)}`);
          continue;
        }
        stored.set(canon, fileName);
        const want = mlm.get(canon); // includes the optional MLM head, whose shapes are checked too
        if (!want) {
          // other MLM-head tensors (e.g. a stored tied decoder) are allowed and kept unchecked
          if (!canon.startsWith('cls.predictions.')) problems.push(`${st}: tensor ${label}: unexpected (config.json describes no such tensor)`);
        } else if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])) {
          problems.push(`${st}: tensor ${label}: shape ${fmtShape(t.shape)}, expected ${fmtShape(want)} (from config.json ${shapeSource(canon, config)})`);
        }
        weights.set(canon, { shape: t.shape, data: t.data });
      }
      for (const [canon, shape] of expected)
        if (!stored.has(canon)) problems.push(`${st}: tensor ${canon}: missing, expected shape ${fmtShape(shape)} (from config.json ${shapeSource(canon, config)})`);
    }
  }

  let card: ModelCard | null = null;
  if (files.card !== undefined && files.card !== null) {
    const j = parseJsonFile(files.card, FILE_NAMES.card, problems);
    if (j.ok)
      try {
        card = parseModelCard(j.value, FILE_NAMES.card);
      } catch (e) {
        problems.push(...problemsOf(e));
      }
  }

  let reference: unknown | null = null;
  if (files.reference !== undefined && files.reference !== null) {
    const j = parseJsonFile(files.reference, FILE_NAMES.reference, problems);
    if (j.ok) reference = j.value;
  }

  let codeMap: CodeMap | null = null;
  if (files.codeMap !== undefined && files.codeMap !== null) {
    const j = parseJsonFile(files.codeMap, FILE_NAMES.codeMap, problems);
    if (j.ok)
      try {
        codeMap = parseCodeMap(j.value, FILE_NAMES.codeMap);
      } catch (e) {
        problems.push(...problemsOf(e));
      }
  }

  if (problems.length || !config || !vocab) throw new ModelFolderError(problems.length ? problems : [`${name}: invalid model folder`]);
  return { name, config, vocab, weights, card, reference, codeMap };
}

const folderName = (path: string) => path.replace(/[/\\]+$/, '').split(/[/\\]/).pop() || path;

/** Fetch a model folder served at `baseUrl` (relative or absolute; trailing slash optional). */
export async function loadModelFromUrl(baseUrl: string, fetchFn: typeof fetch = fetch): Promise<ModelFolder> {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const readProblems: AssembleOptions['readProblems'] = {};
  const get = async <T>(key: keyof ModelFolderFiles, optional: boolean, read: (r: Response) => Promise<T>): Promise<T | undefined | null> => {
    const url = base + FILE_NAMES[key];
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      readProblems[key] = `${url}: fetch failed (${(e as Error).message ?? e})`;
      return undefined;
    }
    if (optional && res.status === 404) return null;
    // a dev server's SPA fallback answers a missing optional file with index.html and 200
    if (optional && res.ok && (res.headers?.get('content-type') ?? '').includes('text/html')) return null;
    if (!res.ok) {
      readProblems[key] = `${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`;
      return undefined;
    }
    try {
      return await read(res);
    } catch (e) {
      readProblems[key] = `${url}: reading the response failed (${(e as Error).message ?? e})`;
      return undefined;
    }
  };
  const text = (r: Response) => r.text();
  const [config, vocab, safetensors, card, reference] = await Promise.all([
    get('config', false, text),
    get('vocab', false, text),
    get('safetensors', false, (r) => r.arrayBuffer()),
    get('card', true, text),
    get('reference', true, text),
  ]);
  const files = { config, vocab, safetensors: safetensors ?? undefined, card, reference };
  return assembleModelFolder(folderName(baseUrl), files, { source: base, readProblems });
}

/** Load a model from user-picked files (a directory picker or a drop). Files are matched by name;
 *  the folder is the first directory of webkitRelativePath, if any. */
export async function loadModelFromFiles(files: Iterable<File> | FileList): Promise<ModelFolder> {
  const list = Array.from(files as Iterable<File>);
  const path = (f: File) => f.webkitRelativePath || f.name;
  const readProblems: AssembleOptions['readProblems'] = {};
  const pick = (key: keyof ModelFolderFiles): File | undefined => {
    const found = list.filter((f) => f.name === FILE_NAMES[key]);
    if (found.length > 1)
      readProblems[key] = `${FILE_NAMES[key]}: ${found.length} files of that name (${found.map(path).join(', ')}); pick one model folder`;
    return found.length === 1 ? found[0] : undefined;
  };
  const f = { config: pick('config'), vocab: pick('vocab'), safetensors: pick('safetensors'), card: pick('card'), reference: pick('reference'), codeMap: pick('codeMap') };
  // name: the directory holding config.json, when the browser tells us (directory picker)
  const dirs = (f.config?.webkitRelativePath ?? '').split('/').slice(0, -1);
  const name = dirs.length ? dirs[dirs.length - 1] : 'local model';
  const [config, vocab, safetensors, card, reference, codeMap] = await Promise.all([
    f.config?.text(),
    f.vocab?.text(),
    f.safetensors?.arrayBuffer(),
    f.card ? f.card.text() : null,
    f.reference ? f.reference.text() : null,
    f.codeMap ? f.codeMap.text() : null,
  ]);
  return assembleModelFolder(name, { config, vocab, safetensors, card, reference, codeMap }, { source: 'the selected files', readProblems });
}
