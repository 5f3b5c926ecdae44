// Model folders on disk (Node only): read with full validation, write so that a crash never leaves a
// half-written folder behind.
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Vocab } from '../tokens/vocab';
import type { ModelCard } from './card';
import type { ModelConfig } from './config';
import { assembleModelFolder, FILE_NAMES, ModelFolderError, type AssembleOptions, type ModelFolder, type ModelFolderFiles } from './folder';
import { writeSafetensors, type TensorData } from './safetensors';

export async function loadModelFromDir(dir: string): Promise<ModelFolder> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new ModelFolderError([`${dir}: not a folder`]);
  } catch (e) {
    if (e instanceof ModelFolderError) throw e;
    throw new ModelFolderError([`${dir}: cannot open model folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  const readProblems: AssembleOptions['readProblems'] = {};
  const read = async <T>(key: keyof ModelFolderFiles, optional: boolean, how: (p: string) => Promise<T>): Promise<T | null | undefined> => {
    const p = join(dir, FILE_NAMES[key]);
    try {
      return await how(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return optional ? null : undefined; // missing required: assemble reports it
      readProblems[key] = `${p}: cannot read (${code ?? (e as Error).message})`;
      return undefined;
    }
  };
  const text = (p: string) => readFile(p, 'utf8');
  const [config, vocab, safetensors, card, reference] = await Promise.all([
    read('config', false, text),
    read('vocab', false, text),
    read('safetensors', false, (p) => readFile(p)),
    read('card', true, text),
    read('reference', true, text),
  ]);
  // a Node Buffer is a Uint8Array view into a possibly shared pool: parseSafetensors copies what it keeps
  return assembleModelFolder(basename(resolve(dir)), { config, vocab, safetensors: safetensors ?? undefined, card, reference }, { source: dir, readProblems });
}

export interface SavableModel {
  name?: string;
  config: ModelConfig;
  vocab: Vocab;
  weights: Map<string, TensorData>;
  card?: ModelCard | Record<string, unknown> | null;
  reference?: unknown | null;
}

/** Write a model folder. Everything is serialised and validated (as a load would) before the first
 *  byte is written. A new folder is built under a temporary sibling name and renamed into place;
 *  an existing one gets temporary files renamed over the old ones. Optional files the model does not
 *  have (card, reference) are removed from an existing folder: they described another model. */
export async function saveModelToDir(dir: string, m: SavableModel): Promise<void> {
  const json = (v: unknown, pretty: boolean) => JSON.stringify(v, null, pretty ? 2 : undefined) + '\n';
  const contents: [string, string | Uint8Array][] = [
    [FILE_NAMES.config, json(m.config, true)],
    [FILE_NAMES.vocab, json(m.vocab, true)],
    [FILE_NAMES.safetensors, writeSafetensors(m.weights, { format: 'pt' })],
  ];
  if (m.card) contents.push([FILE_NAMES.card, json(m.card, true)]);
  if (m.reference !== undefined && m.reference !== null) contents.push([FILE_NAMES.reference, json(m.reference, false)]);
  const byName = new Map(contents);
  const text = (f: string) => byName.get(f) as string | undefined;
  // refuse to write what would not load back
  assembleModelFolder(m.name ?? basename(resolve(dir)), {
    config: text(FILE_NAMES.config),
    vocab: text(FILE_NAMES.vocab),
    safetensors: byName.get(FILE_NAMES.safetensors) as Uint8Array,
    card: text(FILE_NAMES.card) ?? null,
    reference: text(FILE_NAMES.reference) ?? null,
  });

  const tag = `.tmp-${process.pid}-${Date.now().toString(36)}`;
  const exists = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!exists) {
    const tmpDir = resolve(dir) + tag;
    await mkdir(dirname(resolve(dir)), { recursive: true });
    try {
      await mkdir(tmpDir);
      for (const [f, c] of contents) await writeFile(join(tmpDir, f), c);
      await rename(tmpDir, dir);
    } catch (e) {
      await rm(tmpDir, { recursive: true, force: true });
      throw e;
    }
    return;
  }
  const written: string[] = [];
  try {
    for (const [f, c] of contents) {
      const tmp = join(dir, f + tag);
      written.push(tmp);
      await writeFile(tmp, c);
    }
  } catch (e) {
    await Promise.all(written.map((p) => rm(p, { force: true })));
    throw e;
  }
  // all data is on disk; only renames (each atomic) remain
  for (const [f] of contents) await rename(join(dir, f + tag), join(dir, f));
  for (const f of [FILE_NAMES.card, FILE_NAMES.reference]) if (!byName.has(f)) await rm(join(dir, f), { force: true });
}
