// Seeded synthetic cohort of multimorbid adults with PLANTED causal mechanisms for two outcomes,
// and the ground truth of which events carry risk and how much.
//
// Why: attribution methods (expected gradients and friends) can only be checked against a truth,
// and real EHR data has none. Here the outcome of every patient is drawn from a logistic model
// whose inputs are explicit events in the patient's own timeline, so "which events should an
// explanation point at" has an exact answer per patient (GroundTruth.patients[id][task].events).
//
// The two tasks (mechanisms in HF and DEATH below, weights on the logit):
// - hf_12m, all patients: I10, E11.9, NT-proBNP > 400 pg/mL at one of the last 2 visits,
//   furosemide (C03CA01), SMOKING:current, N18.3, and age per decade over 50. No patient carries
//   I50.9 (heart failure is the outcome, so it never appears before the index date).
// - death_6m, cancer patients only (any C diagnosis; everyone else gets label 0, probability 0):
//   metastasis (C78.7, C79.51), chemotherapy procedure (367336001), L01 chemotherapy drugs,
//   falling albumin (last < 3.0 g/dL or > 0.7 g/dL below the first), R63.4, body weight down
//   > 7% from the first measurement, and age per decade over 50.
// - Outcome time: days from the index visit to the event, or the window length (censored).
//
// Design:
// - Latent clinical state (conditions, smoking, cancer course) is drawn first; the timeline is
//   rendered from it (chronic codes recur, treatments follow diagnoses, labs and vitals follow the
//   physiology). The planted mechanism is then evaluated on the RENDERED timeline
//   (`plantedTruth`), never on the latent state, so the truth is exactly what a model can see.
// - Labels are Bernoulli draws from the planted probability, so a model must learn the signal,
//   not a deterministic rule.
// - Confounders correlate with causal factors but carry no weight (statins and echocardiography
//   with the metabolic/cardiac cluster, aspirin with age, antihypertensives with I10, COPD and
//   nicotine dependence with smoking, CT/radiotherapy/morphine/anaemia with cancer). Noise codes
//   (common acute diagnoses, paracetamol, omeprazole, ...) are drawn per patient independently of
//   everything else and carry zero weight.
// - Deterministic: every patient gets its own PRNG stream seeded from (seed, patient number), so
//   the same (n, seed) gives byte-identical JSON and a cohort of n is a prefix of a cohort of n+k.
//   No Math.random, no clock, no Node imports (runs in the browser too). Within one JS engine the
//   output is exact; engines may differ in the last bit of Math.exp/log, which only matters for a
//   value that lands exactly on a rounding boundary.
import { ageInYears, type ClinicalEvent, type Modality, type Patient, type Visit } from './schema';
import { unitOf } from './codes';

// ---------------------------------------------------------------------------------------------
// Public types

export type TaskName = 'hf_12m' | 'death_6m';
export const TASK_NAMES: readonly TaskName[] = ['hf_12m', 'death_6m'];
/** outcome window after the index (last) visit, in days */
export const TASK_WINDOW_DAYS: Record<TaskName, number> = { hf_12m: 365, death_6m: 182 };

export interface MechanismFactor {
  factor: string;
  /** modality of the events that carry the factor; 'age' for the factor without events */
  modality: Modality | 'age';
  codes: string[];
  /** added to the logit once when the factor is present (age: per decade over 50) */
  weight: number;
  /** the rule, in words, that decides presence and which events carry it */
  rule: string;
}

export interface TaskTruth {
  description: string;
  /** who the task is defined for; ineligible patients get label 0 and probability 0 */
  population: string;
  windowDays: number;
  /** intercept of the planted logit */
  base: number;
  mechanism: MechanismFactor[];
}

export interface TruthEvent {
  /** index into patient.visits */
  visitIndex: number;
  /** index into patient.visits[visitIndex].events */
  eventIndex: number;
  modality: Modality;
  code: string;
  factor: string;
  weight: number;
}

export interface PatientTaskTruth {
  /** false for death_6m in patients without a cancer diagnosis */
  eligible: boolean;
  /** base + present factor weights + ageContribution; INELIGIBLE_LOGIT when not eligible */
  trueLogit: number;
  /** sigmoid(trueLogit); exactly 0 when not eligible. The label is a Bernoulli draw from it. */
  probability: number;
  /** logit contribution of age (the one factor without events) */
  ageContribution: number;
  /** names of the factors present in this patient (age excluded) */
  factors: string[];
  /** exactly the events of the timeline that carry risk for the task, in timeline order */
  events: TruthEvent[];
}

export interface GroundTruth {
  tasks: Record<TaskName, TaskTruth>;
  patients: Record<string, Record<TaskName, PatientTaskTruth>>;
}

export interface CohortOptions {
  n: number;
  /** any integer (taken modulo 2^32) */
  seed: number;
  /** earliest visit date, YYYY-MM-DD (default 2014-01-01) */
  startDate?: string;
  /** latest visit (index) date, YYYY-MM-DD (default 2023-12-31) */
  endDate?: string;
}

/** trueLogit reported for ineligible patients (JSON has no -Infinity) */
export const INELIGIBLE_LOGIT = -99;

// ---------------------------------------------------------------------------------------------
// The planted mechanisms

/** NT-proBNP above this (pg/mL) at one of the last HF_BNP_VISITS visits counts as high */
export const NTPROBNP_HIGH = 400;
export const HF_BNP_VISITS = 2;
/** albumin below this (g/dL) at the last measurement, or a fall of more than ALBUMIN_DROP */
export const ALBUMIN_LOW = 3.0;
export const ALBUMIN_DROP = 0.7;
/** body weight at the last measurement below (1 - WEIGHT_DROP) x the first measurement */
export const WEIGHT_DROP = 0.07;

const LAB_NTPROBNP = '33762-6';
const LAB_ALBUMIN = '1751-7';
const VITAL_WEIGHT = '29463-7';
const CHEMO_PROC = '367336001';
const CHEMO_DRUGS = ['L01XA01', 'L01BC06', 'L01CD01'];
const METASTASIS = ['C78.7', 'C79.51'];

export const HF_BASE = -4.0;
const HF: MechanismFactor[] = [
  { factor: 'hypertension', modality: 'diagnosis', codes: ['I10'], weight: 1.2, rule: 'I10 recorded at any visit; every I10 event carries it' },
  { factor: 'type 2 diabetes', modality: 'diagnosis', codes: ['E11.9'], weight: 1.1, rule: 'E11.9 recorded at any visit; every E11.9 event carries it' },
  {
    factor: 'high NT-proBNP',
    modality: 'lab',
    codes: [LAB_NTPROBNP],
    weight: 1.6,
    rule: `NT-proBNP > ${NTPROBNP_HIGH} pg/mL at one of the last ${HF_BNP_VISITS} visits; those lab events carry it`,
  },
  { factor: 'loop diuretic', modality: 'medication', codes: ['C03CA01'], weight: 1.1, rule: 'furosemide prescribed at any visit; every C03CA01 event carries it' },
  { factor: 'current smoking', modality: 'smoking', codes: ['SMOKING:current'], weight: 1.0, rule: 'smoking status recorded as current at any visit' },
  { factor: 'chronic kidney disease', modality: 'diagnosis', codes: ['N18.3'], weight: 0.9, rule: 'N18.3 recorded at any visit; every N18.3 event carries it' },
  { factor: 'age', modality: 'age', codes: [], weight: 0.45, rule: 'per decade of age over 50 at the index visit (fractional, 0 below 50)' },
];

export const DEATH_BASE = -3.4;
const DEATH: MechanismFactor[] = [
  { factor: 'metastasis', modality: 'diagnosis', codes: METASTASIS, weight: 1.8, rule: 'a secondary malignant neoplasm (C78.7 liver, C79.51 bone) recorded; every such event carries it' },
  { factor: 'chemotherapy', modality: 'procedure', codes: [CHEMO_PROC], weight: 0.5, rule: 'chemotherapy procedure recorded; every 367336001 event carries it' },
  { factor: 'chemotherapy drug', modality: 'medication', codes: CHEMO_DRUGS, weight: 0.5, rule: 'an L01 antineoplastic (cisplatin, capecitabine, paclitaxel) prescribed; every such event carries it' },
  {
    factor: 'falling albumin',
    modality: 'lab',
    codes: [LAB_ALBUMIN],
    weight: 1.5,
    rule: `last albumin < ${ALBUMIN_LOW} g/dL, or last albumin more than ${ALBUMIN_DROP} g/dL below the first; the last albumin event carries it`,
  },
  { factor: 'weight loss diagnosis', modality: 'diagnosis', codes: ['R63.4'], weight: 0.7, rule: 'R63.4 abnormal weight loss recorded; every R63.4 event carries it' },
  {
    factor: 'weight drop',
    modality: 'vital',
    codes: [VITAL_WEIGHT],
    weight: 0.7,
    rule: `last body weight more than ${WEIGHT_DROP * 100}% below the first; the last body-weight event carries it`,
  },
  { factor: 'age', modality: 'age', codes: [], weight: 0.3, rule: 'per decade of age over 50 at the index visit (fractional, 0 below 50)' },
];

/** code -> the factors that name it (the per-event scan of plantedTruth is the hot loop) */
function indexByCode(mech: MechanismFactor[]): Map<string, MechanismFactor[]> {
  const index = new Map<string, MechanismFactor[]>();
  for (const m of mech) for (const c of m.codes) index.set(c, [...(index.get(c) ?? []), m]);
  return index;
}
const HF_INDEX = indexByCode(HF);
const DEATH_INDEX = indexByCode(DEATH);

function taskTruths(): Record<TaskName, TaskTruth> {
  return {
    hf_12m: {
      description: 'heart failure within 12 months (365 days) after the index (last) visit',
      population: 'all patients (no patient has heart failure I50.9 before the index date)',
      windowDays: TASK_WINDOW_DAYS.hf_12m,
      base: HF_BASE,
      mechanism: HF.map((m) => ({ ...m, codes: [...m.codes] })),
    },
    death_6m: {
      description: 'death within 6 months (182 days) after the index (last) visit',
      population: 'patients with a cancer diagnosis (an ICD-10 C code); all others get label 0 and probability 0',
      windowDays: TASK_WINDOW_DAYS.death_6m,
      base: DEATH_BASE,
      mechanism: DEATH.map((m) => ({ ...m, codes: [...m.codes] })),
    },
  };
}

const isCancerCode = (e: ClinicalEvent) => e.modality === 'diagnosis' && e.code.charCodeAt(0) === 67; /* C */
const isPrimaryCancer = (e: ClinicalEvent) => e.modality === 'diagnosis' && PRIMARY_CANCERS.includes(e.code as CancerType);

/** Cancer patient = any diagnosis code starting with C (only malignant neoplasms do in the catalogue). */
export function isCancerPatient(p: Patient): boolean {
  return p.visits.some((v) => v.events.some(isCancerCode));
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Evaluate a task's planted mechanism on a timeline: the true logit, probability and the events
 *  that carry risk. A pure function of the timeline (visits in date order, last visit = index), so
 *  it also gives the true risk of an edited (counterfactual) timeline. */
export function plantedTruth(patient: Patient, task: TaskName): PatientTaskTruth {
  const visits = patient.visits;
  const V = visits.length;
  if (task === 'death_6m' && !isCancerPatient(patient)) {
    return { eligible: false, trueLogit: INELIGIBLE_LOGIT, probability: 0, ageContribution: 0, factors: [], events: [] };
  }
  const mech = task === 'hf_12m' ? HF : DEATH;
  const index = task === 'hf_12m' ? HF_INDEX : DEATH_INDEX;
  const base = task === 'hf_12m' ? HF_BASE : DEATH_BASE;
  const age = V ? ageInYears(patient.birthDate, visits[V - 1].date) : 0;
  const ageFactor = mech.find((m) => m.modality === 'age')!;
  const ageContribution = ageFactor.weight * Math.max(0, (age - 50) / 10);

  const hits = new Map<string, TruthEvent[]>(); // factor -> events, in timeline order
  const add = (m: MechanismFactor, vi: number, ei: number, e: ClinicalEvent) => {
    const list = hits.get(m.factor) ?? [];
    list.push({ visitIndex: vi, eventIndex: ei, modality: e.modality, code: e.code, factor: m.factor, weight: m.weight });
    hits.set(m.factor, list);
  };
  // first/last value events, for the trend rules
  let albFirst: [number, number, number] | null = null; // [visit, event, value]
  let albLast: [number, number, number] | null = null;
  let wtFirst: [number, number, number] | null = null;
  let wtLast: [number, number, number] | null = null;

  for (let vi = 0; vi < V; vi++) {
    const events = visits[vi].events;
    for (let ei = 0; ei < events.length; ei++) {
      const e = events[ei];
      if (task === 'death_6m' && e.value !== undefined) {
        if (e.modality === 'lab' && e.code === LAB_ALBUMIN) {
          albFirst ??= [vi, ei, e.value];
          albLast = [vi, ei, e.value];
        } else if (e.modality === 'vital' && e.code === VITAL_WEIGHT) {
          wtFirst ??= [vi, ei, e.value];
          wtLast = [vi, ei, e.value];
        }
      }
      const candidates = index.get(e.code);
      if (!candidates) continue;
      for (const m of candidates) {
        if (m.modality !== e.modality) continue;
        if (m.factor === 'high NT-proBNP' && !(vi >= V - HF_BNP_VISITS && (e.value ?? 0) > NTPROBNP_HIGH)) continue;
        if (m.factor === 'falling albumin' || m.factor === 'weight drop') continue; // trend rules below
        add(m, vi, ei, e);
      }
    }
  }
  if (task === 'death_6m') {
    const alb = DEATH.find((m) => m.factor === 'falling albumin')!;
    if (albLast && (albLast[2] < ALBUMIN_LOW || albFirst![2] - albLast[2] > ALBUMIN_DROP)) add(alb, albLast[0], albLast[1], visits[albLast[0]].events[albLast[1]]);
    const wt = DEATH.find((m) => m.factor === 'weight drop')!;
    if (wtLast && wtFirst && wtLast[2] < (1 - WEIGHT_DROP) * wtFirst[2]) add(wt, wtLast[0], wtLast[1], visits[wtLast[0]].events[wtLast[1]]);
  }

  let logit = base + ageContribution;
  const factors: string[] = [];
  const events: TruthEvent[] = [];
  for (const m of mech) {
    const h = hits.get(m.factor);
    if (!h) continue;
    logit += m.weight;
    factors.push(m.factor);
    events.push(...h);
  }
  events.sort((a, b) => a.visitIndex - b.visitIndex || a.eventIndex - b.eventIndex);
  return { eligible: true, trueLogit: logit, probability: sigmoid(logit), ageContribution, factors, events };
}

/** A counterfactual copy of a timeline for training: each distinct (modality, code) of the patient
 *  is removed everywhere with probability `codeRate` (a primary cancer is instead replaced
 *  everywhere by another primary cancer of the patient's sex, so that the patient stays in the
 *  death_6m population), then each remaining event is removed with probability `eventRate`, and
 *  each remaining measurement's value is replaced with probability `valueRate` by one drawn from
 *  `values` (that code's values in the training data). Why: a cause and its proxy (I10 and an
 *  antihypertensive, metastasis and morphine, an aggressive cancer type and metastasis) nearly
 *  always come together, and albumin falls over several visits while the rule reads the last
 *  value, so a model fitted to observed timelines cannot tell which event carries the risk; edited
 *  timelines scored by `plantedTruth` can. Visits left without events are kept (the visit still
 *  happened). */
export function counterfactualTimeline(
  patient: Patient,
  o: { codeRate: number; eventRate: number; valueRate: number; values: ReadonlyMap<string, readonly number[]> },
  rand: () => number,
): Patient {
  const keys = new Set<string>();
  for (const v of patient.visits) for (const e of v.events) keys.add(`${e.modality}|${e.code}`);
  const primaries = PRIMARY_CANCERS.filter((c) => c !== (patient.sex === 'F' ? 'C61' : 'C50.919'));
  const renamed = new Map<string, string>();
  const dropped = new Set<string>();
  for (const k of [...keys].sort()) {
    if (!(rand() < o.codeRate)) continue;
    const code = k.slice(k.indexOf('|') + 1);
    if (k.startsWith('diagnosis|') && primaries.includes(code as CancerType)) {
      const others = primaries.filter((c) => c !== code);
      renamed.set(code, others[Math.floor(rand() * others.length)]);
    } else dropped.add(k);
  }
  const visits = patient.visits.map((v) => {
    const events: ClinicalEvent[] = [];
    for (const e of v.events) {
      if (isPrimaryCancer(e)) {
        // never removed: it keeps the patient in the death_6m population
        events.push(renamed.has(e.code) ? { ...e, code: renamed.get(e.code)! } : e);
        continue;
      }
      if (dropped.has(`${e.modality}|${e.code}`) || rand() < o.eventRate) continue;
      const pool = e.value !== undefined ? o.values.get(e.code) : undefined;
      events.push(pool?.length && rand() < o.valueRate ? { ...e, value: pool[Math.floor(rand() * pool.length)] } : e);
    }
    return { ...v, events };
  });
  return { ...patient, visits };
}

/** A timeline ending earlier: the last 1 to 3 visits dropped (at least one visit kept), so that an
 *  earlier visit becomes the index. Why: rules that read the most recent value (the last albumin,
 *  NT-proBNP at the last two visits) can only be learnt from timelines where "most recent" moves;
 *  without it a model reads any low albumin of the patient as if it were the last. */
export function truncatedTimeline(patient: Patient, rand: () => number): Patient {
  const V = patient.visits.length;
  const drop = Math.min(V - 1, 1 + Math.floor(rand() * 3));
  return drop > 0 ? { ...patient, visits: patient.visits.slice(0, V - drop) } : patient;
}

/** A timeline whose measured series are reordered: for each measured code of the patient, with
 *  probability `rate`, its values are shuffled among its events (dates, visits and the set of values
 *  stay). Why: per-value swaps change which values a patient has, so a model that reads a series'
 *  mean still gains from them; a shuffle keeps the values and changes only which one is last, the
 *  one the albumin, body-weight and NT-proBNP rules read, so only a model that reads order gains. */
export function shuffledSeriesTimeline(patient: Patient, rate: number, rand: () => number): Patient {
  const key = (e: ClinicalEvent) => `${e.modality}|${e.code}`;
  const series = new Map<string, number[]>();
  for (const v of patient.visits) for (const e of v.events) if (e.value !== undefined) (series.get(key(e)) ?? series.set(key(e), []).get(key(e))!).push(e.value);
  const shuffled = new Map<string, number[]>();
  for (const [k, xs] of [...series].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (xs.length < 2 || !(rand() < rate)) continue;
    const a = xs.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    shuffled.set(k, a);
  }
  if (shuffled.size === 0) return patient;
  const next = new Map<string, number>();
  const visits = patient.visits.map((v) => ({
    ...v,
    events: v.events.map((e) => {
      const a = e.value !== undefined ? shuffled.get(key(e)) : undefined;
      if (!a) return e;
      const i = next.get(key(e)) ?? 0;
      next.set(key(e), i + 1);
      return { ...e, value: a[i] };
    }),
  }));
  return { ...patient, visits };
}

/** Every measured value per code (labs, vitals), for `counterfactualTimeline`. */
export function valuesByCode(patients: Patient[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const p of patients) for (const v of p.visits) for (const e of v.events) if (e.value !== undefined) (out.get(e.code) ?? out.set(e.code, []).get(e.code)!).push(e.value);
  return out;
}

/** The truth events of one patient for one task (empty when unknown). */
export function truthEventsFor(truth: GroundTruth, patientId: string, task: string): TruthEvent[] {
  return truth.patients[patientId]?.[task as TaskName]?.events ?? [];
}

// ---------------------------------------------------------------------------------------------
// PRNG: mulberry32, one stream per patient seeded by a hash of (seed, patient number)

function hash2(a: number, b: number): number {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul((b | 0) + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** Box-Muller normal */
  normal(mu = 0, sd = 1): number {
    return mu + sd * Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  /** k distinct items, in random order */
  sample<T>(xs: readonly T[], k: number): T[] {
    const a = xs.slice();
    const m = Math.min(k, a.length);
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(this.next() * (a.length - i));
      const x = a[i];
      a[i] = a[j];
      a[j] = x;
    }
    a.length = m;
    return a;
  }
}

// ---------------------------------------------------------------------------------------------
// Code pools

/** common diagnoses with no planted risk, drawn per patient independently of everything */
export const NOISE_DIAGNOSES: readonly string[] = [
  'J06.9', 'M54.5', 'K21.9', 'F32.9', 'J45.909', 'M17.9', 'H52.4', 'L30.9', 'R51', 'Z00.00', 'N39.0', 'K59.00', 'G47.00',
  'M25.50', 'R10.9', 'J02.9', 'B34.9', 'R05', 'H10.9', 'K29.70', 'M79.1', 'R53.83', 'Z23', 'E55.9', 'G43.909', 'F41.9',
  'J20.9', 'J30.9', 'K57.30', 'K80.20', 'L40.0', 'M10.9', 'M54.2', 'R42', 'R11.0', 'S93.401A', 'T78.40XA', 'H61.20',
  'B35.1', 'I83.90', 'D64.9', 'L57.0', 'R35.0',
];
/** over-the-counter / symptomatic drugs with no planted risk, drawn per patient */
export const NOISE_MEDICATIONS: readonly string[] = ['N02BE01', 'A02BC01', 'M01AE01'];
/** administrative / preventive procedures with no planted risk, drawn per patient */
export const NOISE_PROCEDURES: readonly string[] = ['430193006', '710824005', '86013001', '171207006', '76601001', '86198006'];
/** a noise diagnosis that usually brings its own (equally noisy) drug */
const NOISE_DX_DRUG: Record<string, string> = {
  'F32.9': 'N06AB06', 'G47.00': 'N05CF02', 'E55.9': 'A11CC05', 'J30.9': 'R06AE07', 'J02.9': 'J01CA04', 'N39.0': 'J01CA04', 'J20.9': 'J01CA04',
};

type CancerType = 'C34.90' | 'C18.9' | 'C50.919' | 'C61' | 'C25.9';
const PRIMARY_CANCERS: readonly CancerType[] = ['C34.90', 'C18.9', 'C50.919', 'C61', 'C25.9'];

// ---------------------------------------------------------------------------------------------
// Generation

const DAY = 86_400_000;
const INF = Number.POSITIVE_INFINITY;
/** YYYY-MM-DD of a UTC day number (days since 1970-01-01), by integer arithmetic: the civil-from-days
 *  algorithm of H. Hinnant. Much faster than Date#toISOString, which dominated the run time. */
function isoDay(day: number): string {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y < 1000 ? String(y).padStart(4, "0") : y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}
const iso = (ms: number) => isoDay(Math.floor(ms / DAY));
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function parseDay(s: string, name: string): number {
  const ms = Date.parse(s + 'T00:00:00Z');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(ms) || iso(ms) !== s) throw new Error(`generateCohort: ${name} must be a date YYYY-MM-DD, got ${JSON.stringify(s)}`);
  return ms;
}

export function generateCohort(opts: CohortOptions): { patients: Patient[]; truth: GroundTruth } {
  const { n, seed } = opts;
  if (!Number.isInteger(n) || n < 0) throw new Error(`generateCohort: n must be a non-negative integer, got ${n}`);
  if (!Number.isFinite(seed)) throw new Error(`generateCohort: seed must be a finite number, got ${seed}`);
  const start = parseDay(opts.startDate ?? '2014-01-01', 'startDate');
  const end = parseDay(opts.endDate ?? '2023-12-31', 'endDate');
  if (end - start < 60 * DAY) throw new Error('generateCohort: endDate must be at least 60 days after startDate');

  const patients: Patient[] = [];
  const truth: GroundTruth = { tasks: taskTruths(), patients: {} };
  const seed32 = Number(BigInt.asUintN(32, BigInt(Math.trunc(seed))));
  for (let i = 0; i < n; i++) {
    const rnd = new Rng(hash2(seed32, i + 1));
    const id = `syn-${String(i + 1).padStart(6, '0')}`;
    const patient = generateTimeline(id, rnd, start, end);
    const hf = plantedTruth(patient, 'hf_12m');
    const death = plantedTruth(patient, 'death_6m');
    patient.outcomes = { hf_12m: drawOutcome(rnd, hf.probability, TASK_WINDOW_DAYS.hf_12m), death_6m: drawOutcome(rnd, death.probability, TASK_WINDOW_DAYS.death_6m) };
    patients.push(patient);
    truth.patients[id] = { hf_12m: hf, death_6m: death };
  }
  return { patients, truth };
}

/** Bernoulli label from the planted probability; an event gets a time inside the window (earlier
 *  for higher risk, so Kaplan-Meier curves separate), a non-event is censored at the window end. */
function drawOutcome(rnd: Rng, p: number, window: number): { label: 0 | 1; time: number } {
  const u = rnd.next(); // drawn for everyone, so the stream does not depend on the outcome
  const t = rnd.next();
  if (u < p) return { label: 1, time: Math.min(window, 1 + Math.floor((window - 1) * t ** (1 + p))) };
  return { label: 0, time: window };
}

/** Onset visit index of a condition: mostly present from the first visit, otherwise any visit. */
function onsetOf(rnd: Rng, present: boolean, V: number, early = 0.6): number {
  if (!present) return INF;
  return rnd.chance(early) ? 0 : rnd.int(0, V - 1);
}

interface Chronic {
  code: string;
  onset: number;
  /** probability of being coded again at each later visit (chronic conditions persist) */
  recur: number;
}

function generateTimeline(id: string, rnd: Rng, start: number, end: number): Patient {
  // --- who: sex, age at index (skewed older: a multimorbid population), index date
  const sex: 'F' | 'M' = rnd.chance(0.5) ? 'F' : 'M';
  const age = 30 + 60 * rnd.next() ** 0.75;
  const decades = (age - 30) / 10; // 0..6
  const totalDays = Math.floor((end - start) / DAY);
  const indexMs = end - rnd.int(0, Math.min(700, Math.floor(totalDays / 3))) * DAY;
  const birthMs = indexMs - Math.round(age * 365.2425) * DAY;

  // --- latent state: comorbidity clusters
  const smoking = rnd.chance(0.18) ? 'current' : rnd.chance(0.2 + 0.03 * decades) ? 'former' : 'never';
  const obese = rnd.chance(0.2 + 0.02 * decades);
  const htn = rnd.chance(0.06 + 0.07 * decades + (obese ? 0.12 : 0));
  const dm = rnd.chance(0.03 + 0.03 * decades + (obese ? 0.18 : 0));
  const prediabetes = !dm && rnd.chance(0.05 + (obese ? 0.1 : 0));
  const dyslip = rnd.chance(0.1 + 0.03 * decades + (htn || dm ? 0.2 : 0));
  const copd = rnd.chance(0.01 + 0.005 * decades + (smoking === 'current' ? 0.18 : smoking === 'former' ? 0.07 : 0));
  const ckd = rnd.chance(0.02 + 0.012 * decades + (htn ? 0.07 : 0) + (dm ? 0.08 : 0));
  const afib = rnd.chance(0.01 + 0.02 * decades);
  const cad = rnd.chance(0.02 + 0.012 * decades + (htn ? 0.05 : 0) + (dm ? 0.04 : 0) + (smoking === 'current' ? 0.05 : 0));
  const hypothyroid = rnd.chance(sex === 'F' ? 0.08 : 0.03);
  // subclinical cardiac stress: raises NT-proBNP, and (as confounders) brings echo, ECG, beta blockers
  const stressed = rnd.chance(0.02 + 0.02 * decades + (htn ? 0.12 : 0) + (ckd ? 0.1 : 0) + (afib ? 0.2 : 0) + (cad ? 0.1 : 0) + (dm ? 0.05 : 0));
  const loop = rnd.chance(0.03 + (stressed ? 0.4 : 0) + (ckd ? 0.08 : 0));
  // oncology subgroup (~24%): type, spread, treatment, decline in the last visits
  const cancer = rnd.chance(0.155 + 0.025 * decades);
  let cancerType: CancerType | null = null;
  if (cancer) {
    const u = rnd.next();
    const smoker = smoking !== 'never';
    if (sex === 'F') cancerType = u < 0.45 ? 'C50.919' : u < 0.65 ? 'C18.9' : u < (smoker ? 0.93 : 0.85) ? 'C34.90' : u < 0.95 ? 'C25.9' : 'C18.9';
    else cancerType = u < 0.35 ? 'C61' : u < 0.6 ? 'C18.9' : u < (smoker ? 0.92 : 0.85) ? 'C34.90' : u < 0.95 ? 'C25.9' : 'C18.9';
  }
  const aggressive = cancerType === 'C25.9' || cancerType === 'C34.90';
  const metastasis = cancer && rnd.chance(0.25 + (aggressive ? 0.2 : 0));
  const metLiver = metastasis && (cancerType === 'C18.9' || cancerType === 'C25.9' ? rnd.chance(0.85) : rnd.chance(0.35));
  const metBone = metastasis && (!metLiver || rnd.chance(0.25));
  const chemo = cancer && cancerType !== 'C61' ? rnd.chance(0.3 + (metastasis ? 0.35 : 0)) : cancer && metastasis && rnd.chance(0.4);
  const decline = cancer && rnd.chance(0.12 + (metastasis ? 0.4 : 0) + (aggressive ? 0.12 : 0));
  const weightLoss = cancer && rnd.chance(0.08 + (decline ? 0.6 : 0));

  // --- visits: more with age and burden, over up to 8 years before the index date
  const burden = [htn, dm, copd, ckd, cancer, stressed, afib, cad, dyslip, obese].filter(Boolean).length;
  const Vwanted = clamp(rnd.int(3, 9) + Math.round(burden * 1.5 * rnd.next()) + Math.floor(decades / 2), 3, 25);
  const spanDays = Math.min(rnd.int(400, 8 * 365), Math.floor((indexMs - start) / DAY));
  const V = Math.min(Vwanted, spanDays + 1);
  const offsets = new Set<number>();
  while (offsets.size < V - 1) offsets.add(rnd.int(1, spanDays));
  const daysBefore = [...offsets].sort((a, b) => b - a);
  daysBefore.push(0);
  const dates = daysBefore.map((d) => iso(indexMs - d * DAY));

  // --- onsets (visit index; INF = never)
  const on = {
    htn: onsetOf(rnd, htn, V),
    dm: onsetOf(rnd, dm, V),
    dyslip: onsetOf(rnd, dyslip, V),
    obese: onsetOf(rnd, obese, V, 0.8),
    copd: onsetOf(rnd, copd, V),
    ckd: onsetOf(rnd, ckd, V, 0.3),
    afib: onsetOf(rnd, afib, V, 0.4),
    cad: onsetOf(rnd, cad, V, 0.5),
    hypothyroid: onsetOf(rnd, hypothyroid, V),
    // cancer is diagnosed in the last years; spread, chemo and decline follow it
    cancer: cancer ? Math.max(0, V - rnd.int(2, Math.min(8, V))) : INF,
    stress: stressed ? Math.max(0, V - rnd.int(1, 4)) : INF,
  };
  const metOnset = metastasis ? Math.min(V - 1, on.cancer + rnd.int(0, 2)) : INF;
  const chemoOnset = chemo ? Math.min(V - 1, on.cancer + rnd.int(0, 1)) : INF;
  const chemoUntil = chemoOnset + rnd.int(1, 4);
  const declineOnset = decline ? Math.max(on.cancer, V - rnd.int(2, 3)) : INF;
  const weightLossOnset = weightLoss ? Math.max(on.cancer, V - rnd.int(2, 3)) : INF;
  const loopOnset = loop ? (stressed && rnd.chance(0.75) ? Math.min(V - 1, on.stress + rnd.int(0, 1)) : onsetOf(rnd, true, V, 0.3)) : INF;
  const statin = rnd.chance(0.04 + (dyslip ? 0.55 : 0) + (dm ? 0.15 : 0) + (htn ? 0.05 : 0));
  const statinOnset = statin ? Math.max(on.dyslip === INF ? 0 : on.dyslip, rnd.int(0, V - 1)) : INF;
  const aspirin = rnd.chance(0.02 + 0.04 * decades + (cad ? 0.5 : 0));
  const aspirinOnset = aspirin ? rnd.int(0, V - 1) : INF;
  const anticoag = afib && rnd.chance(0.7);
  const betaBlocker = (afib || cad || stressed) && rnd.chance(0.6);
  const bbOnset = betaBlocker ? Math.min(on.afib, on.cad, on.stress) : INF;
  const antihypertensives = htn ? rnd.sample(['C09AA02', 'C09CA01', 'C08CA01', 'C03AA03'], rnd.int(1, 2)) : [];
  const insulin = dm && rnd.chance(0.2);
  const tamoxifen = cancerType === 'C50.919' && rnd.chance(0.5);
  const metCode = (): string => (metLiver && metBone ? rnd.pick(METASTASIS) : metLiver ? 'C78.7' : 'C79.51');

  const chronic: Chronic[] = [];
  const addChronic = (code: string, onset: number, recur: number) => onset < INF && chronic.push({ code, onset, recur });
  addChronic('I10', on.htn, 0.6);
  addChronic('E11.9', on.dm, 0.6);
  addChronic('R73.03', prediabetes ? onsetOf(rnd, true, V) : INF, 0.2);
  addChronic('E78.5', on.dyslip, 0.35);
  addChronic('E66.9', on.obese, 0.25);
  addChronic('J44.9', on.copd, 0.5);
  addChronic('N18.3', on.ckd, 0.5);
  addChronic('I48.91', on.afib, 0.45);
  addChronic('I25.10', on.cad, 0.4);
  addChronic('E03.9', on.hypothyroid, 0.3);
  addChronic('F17.210', smoking === 'current' && rnd.chance(0.4) ? onsetOf(rnd, true, V) : INF, 0.2);
  if (cancerType) addChronic(cancerType, on.cancer, 0.8);
  addChronic('R63.4', weightLossOnset, 0.8);
  addChronic('D63.0', decline && rnd.chance(0.4) ? declineOnset : INF, 0.4);
  // age- and sex-related conditions: realistic, unplanted (they correlate with age only)
  addChronic('M81.0', sex === 'F' && age > 60 && rnd.chance(0.15) ? onsetOf(rnd, true, V) : INF, 0.25);
  addChronic('N40.0', sex === 'M' && age > 55 && rnd.chance(0.2) ? onsetOf(rnd, true, V) : INF, 0.3);
  addChronic('H25.9', age > 60 && rnd.chance(0.12) ? onsetOf(rnd, true, V) : INF, 0.15);
  addChronic('H40.9', age > 50 && rnd.chance(0.05) ? onsetOf(rnd, true, V) : INF, 0.2);
  addChronic('N95.1', sex === 'F' && age > 45 && age < 62 && rnd.chance(0.2) ? onsetOf(rnd, true, V) : INF, 0.2);

  // --- diagnoses per visit: at most 4. A condition not yet coded is coded at its first chance
  // (even if its onset visit was full), then recurs at random; the cap drops recurrences in a
  // random order, so no condition is systematically lost.
  const dxByVisit: string[][] = [];
  const coded = new Set<string>();
  for (let v = 0; v < V; v++) {
    const must: string[] = [];
    const may: string[] = [];
    for (const c of chronic) {
      if (v < c.onset) continue;
      if (!coded.has(c.code)) must.push(c.code);
      else if (rnd.chance(c.recur)) may.push(c.code);
    }
    if (v >= metOnset && (v === metOnset || rnd.chance(0.7))) (v === metOnset ? must : may).push(metCode());
    const list = must.length > 4 ? must.slice(0, 4) : must;
    if (may.length) for (const c of rnd.sample(may, may.length)) if (list.length < 4 && !list.includes(c)) list.push(c);
    for (const c of list) coded.add(c);
    dxByVisit.push(list);
  }
  // noise diagnoses: how many and which are independent of everything (not of the visit count),
  // each coded at 1-3 visits that still have room
  for (const code of rnd.sample(NOISE_DIAGNOSES, rnd.int(0, 5))) {
    const times = rnd.int(1, 3);
    for (let k = 0; k < times; k++) {
      const room: number[] = [];
      for (let v = 0; v < V; v++) if (dxByVisit[v].length < 4 && !dxByVisit[v].includes(code)) room.push(v);
      if (room.length) dxByVisit[rnd.pick(room)].push(code);
    }
  }
  const noiseMeds = rnd.sample(NOISE_MEDICATIONS, rnd.int(0, 2)).map((code) => ({ code, visits: new Set(rnd.sample(range(V), rnd.int(1, 3))) }));
  const noiseProcs = rnd.sample(NOISE_PROCEDURES, rnd.int(0, 2)).map((code) => ({ code, visits: new Set(rnd.sample(range(V), rnd.int(1, 2))) }));

  // --- render the visits
  const baseWeight = rnd.normal(sex === 'F' ? 70 : 83, 11) + (obese ? 20 : 0);
  const heightM = rnd.normal(sex === 'F' ? 1.64 : 1.77, 0.065);
  const wlSteps = [0.95, 0.9, 0.86]; // weight multiplier at the 1st, 2nd, 3rd visit of weight loss
  const visits: Visit[] = dates.map((date, v) => {
    const ageNow = age - daysBefore[v] / 365.2425;
    const cancerActive = v >= on.cancer;
    const chemoActive = v >= chemoOnset && v <= chemoUntil;
    const declining = v >= declineOnset;
    const dxs = dxByVisit[v];
    const procs: string[] = [];
    const meds: string[] = [];
    const labs: ClinicalEvent[] = [];
    const vitals: ClinicalEvent[] = [];

    // procedures: specific ones first (the tokenizer lays events left to right and drops overflow)
    if (chemoActive && rnd.chance(0.85)) procs.push(CHEMO_PROC);
    if (v === on.cancer) {
      if (cancerType === 'C34.90') procs.push('65575008');
      else if (cancerType === 'C18.9') procs.push('73761001');
      else if (cancerType === 'C50.919') procs.push('71651007');
    }
    if (cancerActive && v === on.cancer + 1 && !metastasis && rnd.chance(0.5)) procs.push('387713003');
    if (cancerActive && rnd.chance(0.25)) procs.push(rnd.chance(0.75) ? '77477000' : '113091000');
    if (cancerActive && rnd.chance(0.1)) procs.push('33195004');
    if (v >= metOnset && metLiver && rnd.chance(0.3)) procs.push('45036003');
    if (v >= on.stress ? rnd.chance(0.35) : v >= on.htn || v >= on.dm ? rnd.chance(0.07) : false) procs.push('40701008');
    if (v >= on.afib || v >= on.cad || v >= on.stress ? rnd.chance(0.25) : ageNow > 60 && rnd.chance(0.04)) procs.push('29303009');
    if (v === on.cad && rnd.chance(0.3)) procs.push('415070008');
    if (v >= on.copd && rnd.chance(0.2)) procs.push('127783003');
    if ((v >= on.copd || cancerType === 'C34.90') && rnd.chance(0.1)) procs.push('399208008');
    if (ageNow > 50 && rnd.chance(0.03)) procs.push(sex === 'F' && rnd.chance(0.5) ? '71651007' : '73761001');
    if (rnd.chance(0.25)) procs.push('17636008'); // routine specimen collection
    for (const np of noiseProcs) if (np.visits.has(v)) procs.push(np.code);

    // medications: causal and confounding treatments first, symptomatic/noise last
    if (v >= loopOnset && rnd.chance(0.8)) meds.push('C03CA01');
    if (chemoActive && rnd.chance(0.8)) {
      meds.push(cancerType === 'C18.9' || cancerType === 'C25.9' ? 'L01BC06' : cancerType === 'C34.90' ? 'L01XA01' : 'L01CD01');
      if (cancerType === 'C34.90' && rnd.chance(0.3)) meds.push('L01CD01');
    }
    if (v >= on.htn) for (const m of antihypertensives) if (rnd.chance(0.75)) meds.push(m);
    if (v >= on.dm && rnd.chance(0.75)) meds.push('A10BA02');
    if (insulin && v >= on.dm && rnd.chance(0.7)) meds.push('A10AE04');
    if (v >= statinOnset && rnd.chance(0.75)) meds.push('C10AA05');
    if (v >= aspirinOnset && rnd.chance(0.7)) meds.push('B01AC06');
    if (anticoag && v >= on.afib && rnd.chance(0.8)) meds.push('B01AF01');
    if (v >= bbOnset && rnd.chance(0.7)) meds.push('C07AB07');
    if (v >= on.copd) {
      if (rnd.chance(0.6)) meds.push('R03BB04');
      if (rnd.chance(0.4)) meds.push('R03AC02');
    }
    if (v >= on.hypothyroid && rnd.chance(0.85)) meds.push('H03AA01');
    if (tamoxifen && cancerActive && rnd.chance(0.6)) meds.push('L02BA01');
    if (cancerType === 'C61' && cancerActive && rnd.chance(0.5)) meds.push('L02AE02');
    if ((declining || v >= metOnset) && rnd.chance(0.35)) meds.push('N02AA01');
    if (sex === 'M' && dxs.includes('N40.0') && rnd.chance(0.6)) meds.push('G04CA02');
    for (const d of dxs) if (NOISE_DX_DRUG[d] && rnd.chance(0.6) && !meds.includes(NOISE_DX_DRUG[d])) meds.push(NOISE_DX_DRUG[d]);
    for (const nm of noiseMeds) if (nm.visits.has(v)) meds.push(nm.code);

    // labs: targeted tests first, then the routine panel
    const ntProbnpP = v >= on.stress ? 0.75 : v >= on.htn || v >= on.ckd || v >= loopOnset || v >= on.afib ? 0.2 : ageNow > 65 ? 0.08 : 0.04;
    if (rnd.chance(ntProbnpP)) {
      // rises with age, hypertension, CKD and AF; very high under cardiac stress
      const median = v >= on.stress
        ? 1200
        : (30 + 1.5 * Math.max(0, ageNow - 30)) * (v >= on.htn ? 1.3 : 1) * (v >= on.ckd ? 1.6 : 1) * (v >= on.afib ? 1.5 : 1);
      addLab(labs, LAB_NTPROBNP, Math.exp(rnd.normal(Math.log(median), 0.55)), 0);
    }
    if (rnd.chance(declining ? 0.85 : cancerActive ? 0.75 : v >= on.ckd ? 0.25 : 0.08)) {
      // albumin falls in cancer, and steeply in the decline of the last visits
      const albumin = declining ? rnd.normal(2.75 - 0.15 * (v - declineOnset), 0.25) : rnd.normal(cancerActive ? 3.9 : 4.2, 0.28);
      addLab(labs, LAB_ALBUMIN, clamp(albumin, 1.5, 5.4), 1);
    }
    if (rnd.chance(v >= on.ckd ? 0.7 : 0.4)) {
      const creat = clamp(v >= on.ckd ? rnd.normal(1.7, 0.3) : rnd.normal(sex === 'F' ? 0.8 : 1.0, 0.15), 0.4, 4);
      addLab(labs, '2160-0', creat, 2);
      if (rnd.chance(0.7)) addLab(labs, '33914-3', clamp(175 * round(creat, 2) ** -1.154 * ageNow ** -0.203 * (sex === 'F' ? 0.742 : 1), 5, 150), 0);
    }
    if (rnd.chance(v >= on.dm ? 0.7 : prediabetes ? 0.4 : 0.12)) addLab(labs, '4548-4', clamp(v >= on.dm ? rnd.normal(7.6, 1.0) : prediabetes ? rnd.normal(6.0, 0.2) : rnd.normal(5.3, 0.3), 4, 14), 1);
    if (rnd.chance(0.4)) addLab(labs, '2345-7', clamp(v >= on.dm ? rnd.normal(155, 35) : prediabetes ? rnd.normal(108, 8) : rnd.normal(92, 9), 55, 450), 0);
    if (rnd.chance(cancerActive ? 0.7 : 0.35)) addLab(labs, '718-7', clamp(declining ? rnd.normal(10.2, 0.9) : cancerActive ? rnd.normal(12.3, 1) : rnd.normal(sex === 'F' ? 13.5 : 14.9, 1), 6, 19), 1);
    if (rnd.chance(v >= on.dyslip || v >= statinOnset ? 0.5 : 0.25)) {
      // statins lower cholesterol: a treated hyperlipidaemia looks normal
      addLab(labs, '2093-3', clamp(v >= statinOnset ? rnd.normal(175, 25) : dyslip ? rnd.normal(240, 25) : rnd.normal(195, 25), 100, 350), 0);
      if (rnd.chance(0.8)) addLab(labs, '2085-9', clamp(rnd.normal(sex === 'F' ? 58 : 48, 10), 20, 100), 0);
    }
    if (rnd.chance(chemoActive ? 0.8 : 0.3)) {
      addLab(labs, '6690-2', clamp(chemoActive ? rnd.normal(4.0, 1.2) : rnd.normal(7, 1.8), 0.8, 20), 1);
      if (rnd.chance(0.8)) addLab(labs, '777-3', clamp(chemoActive ? rnd.normal(170, 50) : rnd.normal(260, 55), 30, 600), 0);
    }
    if (rnd.chance(v >= metOnset && metLiver ? 0.6 : 0.15)) {
      const liver = v >= metOnset && metLiver;
      addLab(labs, '1920-8', clamp(liver ? rnd.normal(75, 20) : rnd.normal(24, 6), 8, 300), 0);
      addLab(labs, '1742-6', clamp(liver ? rnd.normal(60, 18) : rnd.normal(25, 8), 6, 300), 0);
    }
    if (rnd.chance(v >= loopOnset ? 0.5 : 0.25)) {
      addLab(labs, '2823-3', clamp(v >= loopOnset ? rnd.normal(3.8, 0.35) : rnd.normal(4.3, 0.35), 2.5, 6.5), 1);
      addLab(labs, '2951-2', clamp(rnd.normal(139, 2.5), 125, 150), 0);
    }
    if (rnd.chance(v >= on.hypothyroid ? 0.5 : 0.08)) addLab(labs, '3016-3', clamp(v >= on.hypothyroid ? rnd.normal(3.0, 1.5) : rnd.normal(1.8, 0.7), 0.1, 12), 2);
    if (rnd.chance(declining ? 0.4 : 0.08)) addLab(labs, '1988-5', clamp(declining ? rnd.normal(35, 15) : rnd.normal(3, 2), 0.2, 200), 1);

    // vitals: body weight first (weight drop is planted), then blood pressure, then the rest
    if (rnd.chance(cancerActive ? 0.85 : 0.6)) {
      const k = v - weightLossOnset;
      const w = baseWeight * (k >= 0 ? wlSteps[Math.min(k, wlSteps.length - 1)] : 1) + rnd.normal(0, 1);
      addVital(vitals, VITAL_WEIGHT, clamp(w, 35, 220), 1);
      if (rnd.chance(0.5)) addVital(vitals, '39156-5', w / (heightM * heightM), 1);
    }
    if (rnd.chance(0.65)) {
      const h = v >= on.htn;
      addVital(vitals, '8480-6', clamp(h ? rnd.normal(146, 13) : rnd.normal(122, 11), 85, 220), 0);
      addVital(vitals, '8462-4', clamp(h ? rnd.normal(89, 9) : rnd.normal(77, 8), 45, 130), 0);
    }
    if (rnd.chance(0.4)) addVital(vitals, '8867-4', clamp(v >= on.afib ? rnd.normal(92, 12) : rnd.normal(72, 9), 40, 160), 0);
    if (rnd.chance(0.2)) addVital(vitals, '59408-5', clamp(v >= on.copd ? rnd.normal(92, 2) : rnd.normal(97, 1.2), 80, 100), 0);
    if (rnd.chance(0.15)) addVital(vitals, '9279-1', clamp(v >= on.copd ? rnd.normal(19, 2.5) : rnd.normal(15, 2), 8, 35), 0);
    if (rnd.chance(0.12)) addVital(vitals, '8310-5', clamp(rnd.normal(36.8, 0.3), 35.5, 39.5), 1);

    const events: ClinicalEvent[] = [
      ...dxs.map((code) => ({ modality: 'diagnosis' as const, code })),
      ...procs.map((code) => ({ modality: 'procedure' as const, code })),
      ...meds.map((code) => ({ modality: 'medication' as const, code })),
      ...labs,
      ...vitals,
    ];
    // smoking status at the first visit and now and then; BMI class occasionally
    if (v === 0 || rnd.chance(0.12)) events.push({ modality: 'smoking', code: `SMOKING:${smoking}` });
    if (rnd.chance(0.1)) {
      const bmi = baseWeight / (heightM * heightM);
      events.push({ modality: 'characteristic', code: `BMI:${bmi < 18.5 ? 'underweight' : bmi < 25 ? 'normal' : bmi < 30 ? 'overweight' : 'obese'}` });
    }
    return { date, id: `${id}-v${v + 1}`, events };
  });

  return { id, sex, birthDate: iso(birthMs), visits };
}

/** A lab or vital with its value rounded as a lab reports it, and the catalogue's unit. */
function addLab(into: ClinicalEvent[], code: string, value: number, digits: number): void {
  into.push({ modality: 'lab', code, value: round(value, digits), unit: (LAB_UNIT[code] ??= unitOf('lab', code)) });
}
function addVital(into: ClinicalEvent[], code: string, value: number, digits: number): void {
  into.push({ modality: 'vital', code, value: round(value, digits), unit: (VITAL_UNIT[code] ??= unitOf('vital', code)) });
}
/** unit caches: the catalogue lookup builds a key string per call */
const LAB_UNIT: Record<string, string | undefined> = {};
const VITAL_UNIT: Record<string, string | undefined> = {};

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
