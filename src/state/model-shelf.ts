// Models the user chose to keep in this browser (IndexedDB), for offline use. Nothing is written
// unless the user presses "Keep in this browser"; "Forget" deletes it. The files are stored as
// they were dropped (config.json, vocab.json, model.safetensors, ...), so a kept model loads
// through exactly the same validation as a freshly dropped one.
import { deleteDatabase, runInStore } from './idb';

export interface ShelvedModel {
  id: string;
  name: string;
  savedAt: string;
  files: Array<{ name: string; blob: Blob }>;
}

/** What the store needs; an IndexedDB implementation in the browser, a fake in tests. */
export interface ModelShelf {
  list(): Promise<Array<Pick<ShelvedModel, 'id' | 'name' | 'savedAt'>>>;
  get(id: string): Promise<ShelvedModel | null>;
  put(model: ShelvedModel): Promise<void>;
  delete(id: string): Promise<void>;
  /** delete everything this app stored in this browser */
  clear(): Promise<void>;
}

export const indexedDbShelf: ModelShelf = {
  async list() {
    const all = await runInStore<ShelvedModel[]>('models', 'readonly', (s) => s.getAll() as IDBRequest<ShelvedModel[]>);
    return all.map(({ id, name, savedAt }) => ({ id, name, savedAt }));
  },
  async get(id) {
    return (await runInStore<ShelvedModel | undefined>('models', 'readonly', (s) => s.get(id) as IDBRequest<ShelvedModel | undefined>)) ?? null;
  },
  async put(model) {
    await runInStore('models', 'readwrite', (s) => s.put(model));
  },
  async delete(id) {
    await runInStore('models', 'readwrite', (s) => s.delete(id));
  },
  /** deletes the whole database: kept models and kept clinician feedback ("Forget everything") */
  clear: deleteDatabase,
};
