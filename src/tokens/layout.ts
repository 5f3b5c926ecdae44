// The ExBEHRT token layout: a diagnosis sequence `[CLS] d d [SEP] d [SEP] ...` with parallel age,
// segment, visit-position and mask sequences, and every other modality laid onto the diagnosis
// slots of its visit in wrap-around rows (shared/design/EXBEHRT.md).
import type { Patient } from '../data/schema';
import { ageInYears } from '../data/schema';
import type { ModelConfig } from '../model/config';
import { chronologicalVisits, eventTokens, indexVocab, type Vocab, type VocabIndex } from './vocab';

/** What sits in one filled slot of the grid: which part (diagnosis or a modality), row, token index,
 *  and the event it came from (indices into the patient's original visits and events). */
export interface SlotRef {
  part: string;
  row: number;
  t: number;
  visit: number;
  /** index into visit.events; -1 for a placeholder slot of a visit without diagnoses */
  event: number;
}

export interface TokenGrid {
  patientId: string;
  length: number;
  /** tokens before padding (CLS + slots + SEPs) */
  realLength: number;
  diagnosis: Int32Array;
  age: Int32Array;
  segment: Int32Array;
  position: Int32Array;
  attentionMask: Float32Array;
  /** per extra modality, [rows, length] row-major */
  modalities: Record<string, Int32Array>;
  static: Int32Array | null;
  slots: SlotRef[];
  /** original visit index of each token; -1 for CLS and PAD */
  tokenVisit: Int32Array;
  /** original indices of the visits that made it into the grid (oldest dropped first) */
  visitsKept: number[];
  truncatedVisits: number;
  /** events that did not fit: laid-on events past the last row, diagnoses cut by max_len */
  droppedEvents: number;
  /** `<modality>:<token>` -> count of events that became UNK */
  unknown: Record<string, number>;
}

export interface TokenBatch {
  batch: number;
  length: number;
  diagnosis: Int32Array;
  age: Int32Array;
  segment: Int32Array;
  position: Int32Array;
  attentionMask: Float32Array;
  /** per modality [batch, rows, length] row-major */
  modalities: Record<string, Int32Array>;
  static: Int32Array | null;
}

/** A grid made from token arrays alone (a reference patient, a baseline, a fixture): no timeline
 *  behind it, so no slots, visits or truncation to report. */
export function bareGrid(g: Pick<TokenGrid, 'patientId' | 'length' | 'realLength' | 'diagnosis' | 'age' | 'segment' | 'position' | 'attentionMask' | 'modalities' | 'static'>): TokenGrid {
  return { ...g, slots: [], tokenVisit: new Int32Array(g.length).fill(-1), visitsKept: [], truncatedVisits: 0, droppedEvents: 0, unknown: {} };
}

export class TokenizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizeError';
  }
}

const indexCache = new WeakMap<Vocab, VocabIndex>();
function vocabIndex(v: Vocab): VocabIndex {
  let i = indexCache.get(v);
  if (!i) indexCache.set(v, (i = indexVocab(v)));
  return i;
}

function special(ix: VocabIndex, name: string): number {
  const id = ix.diagnosis.get(name);
  if (id === undefined) throw new TokenizeError(`vocab.json: diagnosis list has no ${name} token`);
  return id;
}

export function tokenize(patient: Patient, vocab: Vocab, config: ModelConfig): TokenGrid {
  if (patient.visits.length === 0) throw new TokenizeError(`patient ${patient.id}: no visits, nothing to tokenize`);
  const ix = vocabIndex(vocab);
  const L = config.max_len;
  const PAD = special(ix, '[PAD]');
  const UNK = special(ix, '[UNK]');
  const CLS = special(ix, '[CLS]');
  const SEP = special(ix, '[SEP]');
  const unknown: Record<string, number> = {};
  const noteUnknown = (m: string, tok: string) => (unknown[`${m}:${tok}`] = (unknown[`${m}:${tok}`] ?? 0) + 1);

  // chronological order, original indices kept for roll-up
  const order = chronologicalVisits(patient.visits);
  const tokens = eventTokens(patient.visits, vocab);
  const slotsOf = (vi: number) => Math.max(1, patient.visits[vi].events.filter((e) => e.modality === 'diagnosis').length);

  // keep the most recent visits that fit: CLS + (slots + SEP) per visit
  let budget = L - 1;
  let first = order.length;
  while (first > 0 && slotsOf(order[first - 1]) + 1 <= budget) budget -= slotsOf(order[--first]) + 1;
  let droppedEvents = 0;
  const kept = order.slice(first);
  const cutLast = kept.length === 0; // even the last visit alone is too long: cut its diagnoses
  if (cutLast) kept.push(order[order.length - 1]);

  const g: TokenGrid = {
    patientId: patient.id,
    length: L,
    realLength: 0,
    diagnosis: new Int32Array(L).fill(PAD),
    age: new Int32Array(L),
    segment: new Int32Array(L),
    position: new Int32Array(L),
    attentionMask: new Float32Array(L),
    modalities: Object.fromEntries(config.modalities.map((m) => [m.name, new Int32Array(m.rows * L)])),
    static: config.static ? new Int32Array(L) : null,
    slots: [],
    tokenVisit: new Int32Array(L).fill(-1),
    visitsKept: kept,
    truncatedVisits: order.length - kept.length,
    droppedEvents: 0,
    unknown,
  };
  const ageIndex = (date: string) => {
    const years = ageInYears(patient.birthDate, date);
    const a = Math.floor(config.age_unit === 'months' ? years * 12 : years);
    return Math.min(Math.max(a, 0), config.age_vocab_size - 1);
  };
  const sexId = ix.sex.get(patient.sex) ?? ix.sex.get('U') ?? 0;
  const maxPos = config.max_position_embeddings - 1;

  let t = 0;
  const put = (tok: number, vi: number, k: number) => {
    g.diagnosis[t] = tok;
    g.age[t] = ageIndex(patient.visits[vi].date);
    g.segment[t] = k % 2;
    g.position[t] = Math.min(k, maxPos);
    g.attentionMask[t] = 1;
    if (g.static) g.static[t] = sexId;
    return t++;
  };
  // CLS belongs to the first kept visit (BEHRT): same age, segment 0, position 0
  put(CLS, kept[0], 0);
  kept.forEach((vi, k) => {
    const visit = patient.visits[vi];
    const dx = visit.events.map((e, i) => ({ e, i })).filter(({ e }) => e.modality === 'diagnosis');
    const room = L - 1 - t; // leave one for SEP
    if (dx.length > room) {
      droppedEvents += dx.length - room;
      dx.splice(0, dx.length - room);
    }
    const slotTs: number[] = [];
    if (dx.length === 0) {
      // a visit without diagnoses gets one placeholder slot so its other events have a place
      const at = put(UNK, vi, k);
      g.slots.push({ part: 'diagnosis', row: 0, t: at, visit: vi, event: -1 });
      slotTs.push(at);
    }
    for (const { i } of dx) {
      const tok = tokens[vi][i];
      let id = ix.diagnosis.get(tok);
      if (id === undefined) {
        id = UNK;
        noteUnknown('diagnosis', tok);
      }
      const at = put(id, vi, k);
      g.slots.push({ part: 'diagnosis', row: 0, t: at, visit: vi, event: i });
      slotTs.push(at);
    }
    for (const at of slotTs) g.tokenVisit[at] = vi;
    g.tokenVisit[put(SEP, vi, k)] = vi;
    // lay each other modality onto this visit's slots, left to right, wrapping onto further rows
    for (const m of config.modalities) {
      const table = ix.modalities[m.name];
      const grid = g.modalities[m.name];
      let j = 0;
      visit.events.forEach((e, i) => {
        if (e.modality !== m.name) return;
        const row = Math.floor(j / slotTs.length);
        const at = slotTs[j % slotTs.length];
        j++;
        if (row >= m.rows) {
          droppedEvents++;
          return;
        }
        const tok = tokens[vi][i];
        let id = table?.get(tok);
        if (id === undefined) {
          id = 1; // [UNK] of every modality table
          noteUnknown(m.name, tok);
        }
        grid[row * L + at] = id;
        g.slots.push({ part: m.name, row, t: at, visit: vi, event: i });
      });
    }
  });
  g.realLength = t;
  g.droppedEvents = droppedEvents;
  return g;
}

/** Stack grids into one batch, trimmed to `length` (default: the longest real length) so that
 *  short patients do not pay for max_len. */
export function stackGrids(grids: TokenGrid[], config: ModelConfig, length?: number): TokenBatch {
  const B = grids.length;
  const L = length ?? Math.max(...grids.map((g) => g.realLength));
  const cut = <T extends Int32Array | Float32Array>(ctor: new (n: number) => T, pick: (g: TokenGrid) => T) => {
    const out = new ctor(B * L);
    grids.forEach((g, b) => out.set(pick(g).subarray(0, L), b * L));
    return out;
  };
  const modalities: Record<string, Int32Array> = {};
  for (const m of config.modalities) {
    const out = new Int32Array(B * m.rows * L);
    grids.forEach((g, b) => {
      const src = g.modalities[m.name];
      for (let r = 0; r < m.rows; r++) out.set(src.subarray(r * g.length, r * g.length + L), (b * m.rows + r) * L);
    });
    modalities[m.name] = out;
  }
  return {
    batch: B,
    length: L,
    diagnosis: cut(Int32Array, (g) => g.diagnosis),
    age: cut(Int32Array, (g) => g.age),
    segment: cut(Int32Array, (g) => g.segment),
    position: cut(Int32Array, (g) => g.position),
    attentionMask: cut(Float32Array, (g) => g.attentionMask),
    modalities,
    static: config.static ? cut(Int32Array, (g) => g.static!) : null,
  };
}
