// The clinician feedback given in this page, and whether the user asked to keep it in this
// browser. Nothing is written to IndexedDB unless `persist` is on: feedback otherwise lives in the
// page and is gone when it closes. Turning `persist` off deletes what was kept (the feedback on
// the page stays until it closes). The choice itself is remembered in localStorage, so that a kept
// collection is read back at the next start.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { FeedbackEntrySchema, mergeFeedback, parseFeedbackFile, serializeFeedback, type FeedbackEntry, type FeedbackInput } from './feedback';
import type { FeedbackStorage } from './storage';

/** Whether the user enabled keeping feedback in this browser. */
export interface EnabledFlag {
  get(): boolean;
  set(on: boolean): void;
}

const ENABLED_KEY = 'exbehrt-feedback-enabled';

/** The flag in localStorage. Reading or writing it can throw (storage disabled, some private
 *  modes): the feature then simply starts off, which is the safe side for patient-related data. */
export const localStorageFlag: EnabledFlag = {
  get() {
    try {
      return typeof localStorage !== 'undefined' && localStorage.getItem(ENABLED_KEY) === '1';
    } catch {
      return false;
    }
  },
  set(on) {
    try {
      if (typeof localStorage === 'undefined') return;
      if (on) localStorage.setItem(ENABLED_KEY, '1');
      else localStorage.removeItem(ENABLED_KEY);
    } catch {
      // not remembered: the next start begins with feedback not kept, as for a new user
    }
  },
};

export interface FeedbackState {
  entries: FeedbackEntry[];
  /** the user enabled keeping feedback in this browser (IndexedDB) */
  persist: boolean;
  /** there is somewhere to keep it (the browser offers IndexedDB) */
  canPersist: boolean;
  /** the last problem, in words; cleared by the next action that succeeds */
  error: string | null;
  /** the new entry, or null (and `error`) when it is not a valid entry */
  add(input: FeedbackInput): Promise<FeedbackEntry | null>;
  remove(id: string): Promise<void>;
  clearAll(): Promise<void>;
  setPersist(on: boolean): Promise<void>;
  /** read the kept entries at start-up (only when the user enabled keeping them) */
  load(): Promise<void>;
  /** all or nothing: a bad file changes nothing and sets `error`, naming the file and field */
  importText(text: string, fileName: string): Promise<{ added: number; duplicates: number } | null>;
  /** every entry, as an `exbehrt-feedback` v1 file */
  exportText(): string;
}

export type FeedbackStore = StoreApi<FeedbackState>;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Random, so that entries from different clinicians' browsers never share an id when pooled.
 *  getRandomValues works on plain http too, where crypto.randomUUID is not offered. */
function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return 'fb-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createFeedbackStore(deps: { storage?: FeedbackStorage; enabledFlag?: EnabledFlag } = {}): FeedbackStore {
  const { storage } = deps;
  const flag = deps.enabledFlag ?? localStorageFlag;
  return createStore<FeedbackState>()((set, get) => {
    /** A write to IndexedDB; a failure leaves the page's feedback as it is and says so. */
    async function write(what: string, f: (s: FeedbackStorage) => Promise<void>): Promise<boolean> {
      if (!storage || !get().persist) return true;
      try {
        await f(storage);
        return true;
      } catch (e) {
        set({ error: `${what} failed in this browser's storage: ${message(e)}. The feedback on this page is unaffected.` });
        return false;
      }
    }

    return {
      entries: [],
      persist: !!storage && flag.get(),
      canPersist: !!storage,
      error: null,

      async add(input) {
        const res = FeedbackEntrySchema.safeParse({ id: newId(), createdAt: new Date().toISOString(), ...input });
        if (!res.success) {
          const issue = res.error.issues[0];
          set({ error: `Feedback not added: ${issue.path.join('.')}: ${issue.message}` });
          return null;
        }
        set((s) => ({ entries: [...s.entries, res.data], error: null }));
        await write('Keeping the feedback', (st) => st.put(res.data));
        return res.data;
      },

      async remove(id) {
        set((s) => ({ entries: s.entries.filter((e) => e.id !== id), error: null }));
        await write('Deleting the feedback', (st) => st.delete(id));
      },

      async clearAll() {
        set({ entries: [], error: null });
        await write('Deleting all feedback', (st) => st.clear());
      },

      async setPersist(on) {
        if (on === get().persist) return;
        if (!on) {
          // delete while `persist` is still on, so that `write` reaches the storage
          const deleted = await write('Deleting the kept feedback', (st) => st.clear());
          flag.set(false);
          set(deleted ? { persist: false, error: null } : { persist: false });
          return;
        }
        if (!storage) {
          set({ error: 'This browser offers no IndexedDB: feedback stays in this page only.' });
          return;
        }
        flag.set(true);
        set({ persist: true, error: null });
        const kept = await write('Keeping the feedback', async (st) => {
          for (const e of get().entries) await st.put(e);
        });
        if (!kept) {
          // best effort: what was written before the failure must not come back at the next start
          await storage.clear().catch(() => undefined);
          flag.set(false);
          set({ persist: false });
        }
      },

      async load() {
        if (!storage || !get().persist) return;
        let stored: unknown[];
        try {
          stored = await storage.list();
        } catch (e) {
          set({ error: `The feedback kept in this browser could not be read: ${message(e)}` });
          return;
        }
        const valid: FeedbackEntry[] = [];
        const problems: string[] = [];
        for (const raw of stored) {
          const res = FeedbackEntrySchema.safeParse(raw);
          if (res.success) valid.push(res.data);
          else problems.push(`${res.error.issues[0].path.join('.')}: ${res.error.issues[0].message}`);
        }
        set((s) => ({
          entries: mergeFeedback(s.entries, valid).entries,
          error: problems.length ? `${problems.length} feedback entr${problems.length === 1 ? 'y' : 'ies'} kept in this browser could not be read and ${problems.length === 1 ? 'was' : 'were'} left out (first: ${problems[0]})` : null,
        }));
      },

      async importText(text, fileName) {
        let incoming: FeedbackEntry[];
        try {
          incoming = parseFeedbackFile(text, fileName);
        } catch (e) {
          set({ error: `Feedback not imported: ${message(e)}` });
          return null;
        }
        const merged = mergeFeedback(get().entries, incoming);
        set({ entries: merged.entries, error: null });
        await write('Keeping the imported feedback', async (st) => {
          for (const e of merged.added) await st.put(e);
        });
        return { added: merged.added.length, duplicates: merged.duplicates };
      },

      exportText() {
        return serializeFeedback(get().entries);
      },
    };
  });
}
