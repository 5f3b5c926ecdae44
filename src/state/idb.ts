// The app's one IndexedDB database. Everything the user asks the app to keep in this browser lives
// here, one object store per kind, so that "Forget everything" deletes it all with one
// deleteDatabase. Connections are opened per transaction and closed when it ends: no connection
// stays open to block another tab's upgrade or deletion.

export const DB_NAME = 'exbehrt-workbench';
/** 1: models; 2: feedback. A new store means a new version: onupgradeneeded creates it. */
const DB_VERSION = 2;
export const OBJECT_STORES = ['models', 'feedback'] as const;
export type ObjectStoreName = (typeof OBJECT_STORES)[number];

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    // creates only what is missing, so a version-1 database keeps its kept models
    req.onupgradeneeded = () => {
      for (const name of OBJECT_STORES) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name, { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB ${DB_NAME}: ${req.error?.message ?? 'cannot open'}`));
  });
}

/** One request in its own transaction; resolves when the transaction commits, so a put is on disk
 *  when the promise settles. */
export function runInStore<T>(store: ObjectStoreName, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const req = f(tx.objectStore(store));
        tx.oncomplete = () => (db.close(), resolve(req.result));
        tx.onerror = () => (db.close(), reject(new Error(`IndexedDB ${DB_NAME}: ${tx.error?.message ?? 'transaction failed'}`)));
        tx.onabort = () => (db.close(), reject(new Error(`IndexedDB ${DB_NAME}: ${tx.error?.message ?? 'transaction aborted (storage full?)'}`)));
      }),
  );
}

/** Delete the whole database: every store, whatever the version. */
export function deleteDatabase(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(new Error(`IndexedDB ${DB_NAME}: ${req.error?.message ?? 'cannot delete'}`));
    // another tab holding the database open delays deletion; it completes when that tab closes
    req.onblocked = () => resolve();
  });
}
