// Where clinician feedback is kept when the user asks for it: the 'feedback' store of the app's
// IndexedDB database (the same database as kept models, so "Forget everything" deletes both). The
// feedback store decides when to write; this file only knows how.
import { runInStore } from '../state/idb';
import type { FeedbackEntry } from './feedback';

export interface FeedbackStorage {
  /** every stored entry, oldest first; what was read back is checked by the caller */
  list(): Promise<unknown[]>;
  put(entry: FeedbackEntry): Promise<void>;
  delete(id: string): Promise<void>;
  /** delete every stored entry (kept models stay) */
  clear(): Promise<void>;
}

const byCreatedAt = (a: unknown, b: unknown) => String((a as FeedbackEntry).createdAt).localeCompare(String((b as FeedbackEntry).createdAt));

export const indexedDbFeedbackStorage: FeedbackStorage = {
  async list() {
    return (await runInStore<unknown[]>('feedback', 'readonly', (s) => s.getAll())).sort(byCreatedAt);
  },
  async put(entry) {
    await runInStore('feedback', 'readwrite', (s) => s.put(entry));
  },
  async delete(id) {
    await runInStore('feedback', 'readwrite', (s) => s.delete(id));
  },
  async clear() {
    await runInStore('feedback', 'readwrite', (s) => s.clear());
  },
};

/** The same contract in memory, for tests. Entries are copied in and out, as IndexedDB's
 *  structured clone would, so a test cannot pass by sharing objects with the store. */
export function memoryFeedbackStorage(initial: FeedbackEntry[] = []): FeedbackStorage {
  const kept = new Map(initial.map((e) => [e.id, structuredClone(e)]));
  return {
    list: async () => [...kept.values()].map((e) => structuredClone(e)).sort(byCreatedAt),
    put: async (entry) => void kept.set(entry.id, structuredClone(entry)),
    delete: async (id) => void kept.delete(id),
    clear: async () => kept.clear(),
  };
}
