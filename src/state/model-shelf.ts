// Models the user chose to keep in this browser (IndexedDB), for offline use. Nothing is written
// unless the user presses "Keep in this browser"; "Forget" deletes it. The files are stored as
// they were dropped (config.json, vocab.json, model.safetensors, ...), so a kept model loads
// through exactly the same validation as a freshly dropped one.

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

const DB = 'exbehrt-workbench';
const STORE = 'models';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB ${DB}: ${req.error?.message ?? 'cannot open'}`));
  });
}

function run<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const req = f(tx.objectStore(STORE));
        // resolve when the transaction commits, so a put is on disk when the promise settles
        tx.oncomplete = () => (db.close(), resolve(req.result));
        tx.onerror = () => (db.close(), reject(new Error(`IndexedDB ${DB}: ${tx.error?.message ?? 'transaction failed'}`)));
        tx.onabort = () => (db.close(), reject(new Error(`IndexedDB ${DB}: ${tx.error?.message ?? 'transaction aborted (storage full?)'}`)));
      }),
  );
}

export const indexedDbShelf: ModelShelf = {
  async list() {
    const all = await run<ShelvedModel[]>('readonly', (s) => s.getAll() as IDBRequest<ShelvedModel[]>);
    return all.map(({ id, name, savedAt }) => ({ id, name, savedAt }));
  },
  async get(id) {
    return (await run<ShelvedModel | undefined>('readonly', (s) => s.get(id) as IDBRequest<ShelvedModel | undefined>)) ?? null;
  },
  async put(model) {
    await run('readwrite', (s) => s.put(model));
  },
  async delete(id) {
    await run('readwrite', (s) => s.delete(id));
  },
  clear() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase(DB);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(new Error(`IndexedDB ${DB}: ${req.error?.message ?? 'cannot delete'}`));
      // another tab holding the database open delays deletion; it completes when that tab closes
      req.onblocked = () => resolve();
    });
  },
};
