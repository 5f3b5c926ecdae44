// Seeded synthetic cohort of multimorbid adults with PLANTED causal mechanisms for two outcomes,
// and the ground truth of which events carry risk and how much. Deterministic for (n, seed);
// no Math.random or clock, so it runs the same in Node and in the browser.
//
// hf_12m: heart failure within 12 months after the index (last) visit. logit = base + weights of
//   hypertension, type 2 diabetes, NT-proBNP > 400 pg/mL at one of the last 3 visits, loop
//   diuretic, current smoking, CKD stage 3, and 0.35 per decade of age over 50.
// death_6m: death within 6 months, among cancer patients (label 0 for the others): metastasis
//   codes, chemotherapy (procedure and L01 drugs), albumin < 3.0 g/dL at one of the last 3 visits,
//   weight loss (R63.4), and age.
// Confounders without causal weight: statins and aspirin go with the metabolic cluster and age,
// echocardiography and ECG with cardiac stress, radiotherapy and CT with cancer; noise codes are
// drawn independently of everything.
import type { ClinicalEvent, Modality, Patient, Visit } from './schema';

export interface MechanismFactor {
  factor: string;
  modality: Modality | 'age';
  codes: string[];
  weight: number;
  rule: string;
}
export interface TruthEvent {
  visitIndex: number;
  eventIndex: number;
  modality: Modality;
  code: string;
  factor: string;
  weight: number;
}
export interface PatientTruth {
  trueLogit: number;
  probability: number;
  /** logit contribution of age (a factor without events) */
  ageContribution: number;
  /** factors present in this patient */
  factors: string[];
  events: TruthEvent[];
}
export interface GroundTruth {
  tasks: Record<string, { description: string; base: number; population: string; mechanism: MechanismFactor[] }>;
  patients: Record<string, Record<string, PatientTruth>>;
}

export const HF_BASE = -4.0;
export const DEATH_BASE = -2.9;
const HF: MechanismFactor[] = [
  { factor: 'hypertension', modality: 'diagnosis', codes: ['I10'], weight: 1.0, rule: 'I10 recorded' },
  { factor: 'type 2 diabetes', modality: 'diagnosis', codes: ['E11.9'], weight: 0.9, rule: 'E11.9 recorded' },
  { factor: 'high NT-proBNP', modality: 'lab', codes: ['33762-6'], weight: 1.6, rule: 'NT-proBNP > 400 pg/mL at one of the last 3 visits' },
  { factor: 'loop diuretic', modality: 'medication', codes: ['C03CA01'], weight: 1.0, rule: 'furosemide prescribed' },
  { factor: 'current smoking', modality: 'smoking', codes: ['SMOKING:current'], weight: 0.8, rule: 'smoking status current' },
  { factor: 'chronic kidney disease', modality: 'diagnosis', codes: ['N18.3'], weight: 0.7, rule: 'N18.3 recorded' },
  { factor: 'age', modality: 'age', codes: [], weight: 0.35, rule: 'per decade of age over 50 at the index visit' },
];
const DEATH: MechanismFactor[] = [
  { factor: 'metastasis', modality: 'diagnosis', codes: ['C78.7', 'C79.51'], weight: 1.6, rule: 'a secondary malignant neoplasm recorded' },
  { factor: 'chemotherapy', modality: 'procedure', codes: ['367336001'], weight: 0.5, rule: 'chemotherapy procedure' },
  { factor: 'chemotherapy drug', modality: 'medication', codes: ['L01XA01', 'L01BC06', 'L01CD01'], weight: 0.4, rule: 'an L01 antineoplastic prescribed' },
  { factor: 'falling albumin', modality: 'lab', codes: ['1751-7'], weight: 1.3, rule: 'albumin < 3.0 g/dL at one of the last 3 visits' },
  { factor: 'weight loss', modality: 'diagnosis', codes: ['R63.4'], weight: 1.1, rule: 'R63.4 abnormal weight loss recorded' },
  { factor: 'age', modality: 'age', codes: [], weight: 0.3, rule: 'per decade of age over 50 at the index visit' },
];

const NOISE_DX = ['J06.9', 'M54.5', 'K21.9', 'F32.9', 'J45.909', 'M17.9', 'H52.4', 'L30.9', 'R51', 'Z00.00', 'N39.0', 'K59.00', 'G47.00', 'M25.50', 'R10.9', 'J02.9', 'B34.9', 'R05', 'H10.9', 'K29.70', 'M79.1', 'R53.83', 'Z23', 'E55.9', 'G43.909', 'F41.9'];
const NOISE_MED = ['N02BE01', 'A02BC01', 'M01AE01', 'J01CA04', 'A11CC05'];
const NOISE_PROC = ['17636008', '430193006', '710824005', '86013001', '76601001'];

function makeRng(seed: number) {
  let a = (seed ^ 0x9e3779b9) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p: number) => next() < p,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(a: readonly T[]) => a[Math.floor(next() * a.length)],
    normal: (mu = 0, sd = 1) => mu + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const r1 = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface Onsets {
  [condition: string]: number; // visit index of onset, Infinity when absent
}

export function generateCohort(opts: { n: number; seed: number; startDate?: string; endDate?: string }): { patients: Patient[]; truth: GroundTruth } {
  const start = Date.parse((opts.startDate ?? '2014-01-01') + 'T00:00:00Z');
  const end = Date.parse((opts.endDate ?? '2023-12-31') + 'T00:00:00Z');
  const rnd = makeRng(opts.seed);
  const patients: Patient[] = [];
  const truth: GroundTruth = {
    tasks: {
      hf_12m: { description: 'heart failure within 12 months after the last visit', base: HF_BASE, population: 'all patients', mechanism: HF },
      death_6m: { description: 'death within 6 months after the last visit', base: DEATH_BASE, population: 'patients with a cancer diagnosis; 0 for the others', mechanism: DEATH },
    },
    patients: {},
  };
  for (let i = 0; i < opts.n; i++) {
    const { patient, truth: pt } = generatePatient(`syn-${String(i + 1).padStart(6, '0')}`, rnd, start, end);
    patients.push(patient);
    truth.patients[patient.id] = pt;
  }
  return { patients, truth };
}

function generatePatient(id: string, rnd: ReturnType<typeof makeRng>, start: number, end: number) {
  const sex = rnd.chance(0.5) ? 'F' : 'M';
  const age = rnd.int(30, 90); // at the index visit
  const indexMs = end - rnd.int(0, 700) * DAY;
  const birthMs = indexMs - (age * 365.25 + rnd.int(0, 364)) * DAY;
  const years = (age - 30) / 10;
  // latent conditions
  const smoking = rnd.chance(0.2) ? 'current' : rnd.chance(0.3) ? 'former' : 'never';
  const obese = rnd.chance(0.25);
  const htn = rnd.chance(0.12 + 0.07 * years + (obese ? 0.1 : 0));
  const dm = rnd.chance(0.06 + 0.03 * years + (obese ? 0.2 : 0));
  const dyslip = rnd.chance(0.15 + (htn || dm ? 0.25 : 0));
  const copd = rnd.chance(0.02 + (smoking === 'current' ? 0.15 : smoking === 'former' ? 0.06 : 0));
  const ckd = rnd.chance(0.03 + (htn ? 0.08 : 0) + (dm ? 0.08 : 0) + 0.01 * years);
  const afib = rnd.chance(0.02 + 0.015 * years);
  const cad = rnd.chance(0.03 + (htn ? 0.05 : 0) + (smoking === 'current' ? 0.05 : 0) + 0.01 * years);
  const hypothyroid = rnd.chance(sex === 'F' ? 0.08 : 0.03);
  // cardiac stress drives NT-proBNP and, as a confounder, loop diuretics and echocardiography
  const stressed = rnd.chance(0.06 + (htn ? 0.14 : 0) + (ckd ? 0.1 : 0) + (afib ? 0.15 : 0) + 0.02 * years);
  const loop = rnd.chance(0.04 + (stressed ? 0.3 : 0) + (ckd ? 0.1 : 0));
  const cancer = rnd.chance(0.22);
  const cancerType = cancer ? (sex === 'F' && rnd.chance(0.4) ? 'C50.919' : smoking !== 'never' && rnd.chance(0.5) ? 'C34.90' : sex === 'M' && rnd.chance(0.3) ? 'C61' : 'C18.9') : '';
  const metastasis = cancer && rnd.chance(0.35);
  const chemo = cancer && rnd.chance(0.35 + (metastasis ? 0.3 : 0));
  const decline = cancer && rnd.chance(0.2 + (metastasis ? 0.35 : 0));
  const weightLoss = cancer && rnd.chance(0.15 + (decline ? 0.45 : 0));

  // visits: more with age and conditions, spread over up to 8 years before the index date
  const burden = [htn, dm, copd, ckd, cancer, stressed, afib, cad].filter(Boolean).length;
  const nVisits = Math.min(30, Math.max(3, rnd.int(3, 10) + burden * rnd.int(0, 3) + Math.floor(years)));
  const spanDays = Math.min(rnd.int(365, 8 * 365), Math.floor((indexMs - start) / DAY));
  const offsets = Array.from({ length: nVisits - 1 }, () => rnd.int(1, spanDays)).sort((a, b) => b - a);
  const dates = [...new Set([...offsets.map((d) => iso(indexMs - d * DAY)), iso(indexMs)])].sort();
  const V = dates.length;
  const onset = (present: boolean, early = 0.6): number => (present ? (rnd.chance(early) ? 0 : rnd.int(0, V - 1)) : Infinity);
  const on: Onsets = {
    htn: onset(htn), dm: onset(dm), dyslip: onset(dyslip), copd: onset(copd), ckd: onset(ckd, 0.3), obese: onset(obese, 0.8),
    afib: onset(afib, 0.4), cad: onset(cad, 0.5), hypothyroid: onset(hypothyroid),
    // cancer is diagnosed in the last years; metastasis, chemo and decline follow it
    cancer: cancer ? Math.max(0, V - rnd.int(2, Math.min(8, V))) : Infinity,
  };
  on.metastasis = metastasis ? Math.min(V - 1, on.cancer + rnd.int(0, 2)) : Infinity;
  on.chemo = chemo ? Math.min(V - 1, on.cancer + rnd.int(0, 1)) : Infinity;
  on.weightLoss = weightLoss ? Math.max(on.cancer, V - rnd.int(1, 2)) : Infinity;
  on.stress = stressed ? Math.max(0, V - rnd.int(1, 4)) : Infinity;
  on.loop = loop ? (stressed && rnd.chance(0.7) ? Math.max(on.stress, V - rnd.int(1, 3)) : onset(true, 0.3)) : Infinity;
  const statin = rnd.chance(0.05 + (dyslip ? 0.6 : 0) + (dm ? 0.15 : 0));
  const aspirin = rnd.chance(0.03 + 0.05 * years + (cad ? 0.5 : 0));
  on.statin = statin ? Math.max(on.dyslip === Infinity ? 0 : on.dyslip, rnd.int(0, V - 1)) : Infinity;
  on.aspirin = aspirin ? rnd.int(0, V - 1) : Infinity;

  const baseWeight = rnd.normal(sex === 'F' ? 70 : 84, 12) + (obese ? 18 : 0);
  const heightM = rnd.normal(sex === 'F' ? 1.64 : 1.77, 0.07);
  const visits: Visit[] = dates.map((date, v) => {
    const events: ClinicalEvent[] = [];
    const dx = (code: string) => events.push({ modality: 'diagnosis', code });
    const med = (code: string) => events.push({ modality: 'medication', code });
    const proc = (code: string) => events.push({ modality: 'procedure', code });
    const lab = (code: string, value: number, unit: string) => events.push({ modality: 'lab', code, value, unit });
    const vital = (code: string, value: number, unit: string) => events.push({ modality: 'vital', code, value, unit });
    const chronic = (key: string, code: string, p = 0.55) => v >= on[key] && (v === on[key] || rnd.chance(p)) && dx(code);
    // diagnoses: chronic conditions recur after onset; noise codes drawn independently
    chronic('htn', 'I10');
    chronic('dm', 'E11.9');
    chronic('dyslip', 'E78.5', 0.35);
    chronic('copd', 'J44.9');
    chronic('ckd', 'N18.3', 0.5);
    chronic('obese', 'E66.9', 0.25);
    chronic('afib', 'I48.91', 0.5);
    chronic('cad', 'I25.10', 0.45);
    chronic('hypothyroid', 'E03.9', 0.3);
    if (smoking === 'current') chronic('htn', 'F17.210', 0.15);
    if (cancer) chronic('cancer', cancerType, 0.8);
    chronic('metastasis', rnd.chance(0.5) ? 'C78.7' : 'C79.51', 0.7);
    chronic('weightLoss', 'R63.4', 0.8);
    if (v >= on.cancer && decline && rnd.chance(0.3)) dx('D63.0');
    const nNoise = rnd.chance(0.55) ? rnd.int(1, 2) : 0;
    for (let k = 0; k < nNoise; k++) dx(rnd.pick(NOISE_DX));
    if (sex === 'F' && age > 55 && rnd.chance(0.05)) dx('M81.0');
    if (sex === 'M' && age > 55 && rnd.chance(0.06)) dx('N40.0');
    // procedures
    if (v >= on.chemo && rnd.chance(0.75)) proc('367336001');
    if (v >= on.cancer && rnd.chance(0.25)) proc(rnd.pick(['77477000', '33195004', '113091000']));
    if (v === on.cancer && cancerType === 'C34.90') proc('65575008');
    if ((v >= on.stress || v >= on.htn) && rnd.chance(v >= on.stress ? 0.35 : 0.06)) proc('40701008');
    if ((v >= on.afib || v >= on.cad || v >= on.stress) && rnd.chance(0.25)) proc('29303009');
    if (v >= on.copd && rnd.chance(0.2)) proc('127783003');
    if (age > 50 && rnd.chance(0.03)) proc(sex === 'F' && rnd.chance(0.5) ? '71651007' : '73761001');
    if (rnd.chance(0.25)) proc(rnd.pick(NOISE_PROC));
    // medications: chronic treatment after onset, confounders, noise
    const rx = (key: string, code: string, p = 0.7) => v >= on[key] && rnd.chance(p) && med(code);
    rx('htn', rnd.chance(0.6) ? 'C09AA02' : 'C08CA01');
    rx('dm', 'A10BA02');
    if (dm && v >= on.dm && rnd.chance(0.15)) med('A10AE04');
    rx('statin', 'C10AA05');
    rx('aspirin', 'B01AC06');
    rx('loop', 'C03CA01', 0.8);
    rx('afib', 'C07AB07');
    rx('copd', rnd.chance(0.5) ? 'R03AC02' : 'R03BB04');
    rx('hypothyroid', 'H03AA01', 0.8);
    if (v >= on.chemo && rnd.chance(0.6)) med(cancerType === 'C18.9' ? 'L01BC06' : rnd.pick(['L01XA01', 'L01CD01']));
    if (events.some((e) => e.code === 'F32.9') && rnd.chance(0.5)) med('N06AB06');
    if (events.some((e) => e.code === 'G47.00') && rnd.chance(0.3)) med('N05CF02');
    if (sex === 'M' && age > 60 && rnd.chance(0.05)) med('G04CA02');
    if (rnd.chance(0.3)) med(rnd.pick(NOISE_MED));
    // labs: NT-proBNP rises with cardiac stress; albumin falls in cancer decline
    const lastThree = v >= V - 3;
    if (rnd.chance(v >= on.stress || v >= on.htn || v >= on.loop ? 0.55 : 0.15)) {
      const high = v >= on.stress;
      lab('33762-6', r1(high ? Math.exp(rnd.normal(Math.log(900), 0.45)) : Math.exp(rnd.normal(Math.log(90 + 4 * age), 0.5)), 0), 'pg/mL');
    }
    if (rnd.chance(cancer && v >= on.cancer ? 0.8 : 0.3)) {
      const low = decline && lastThree;
      lab('1751-7', r1(low ? rnd.normal(2.6, 0.25) : rnd.normal(cancer && v >= on.cancer ? 3.6 : 4.1, 0.3)), 'g/dL');
    }
    if (rnd.chance(0.5)) lab('2160-0', r1(v >= on.ckd ? rnd.normal(1.8, 0.3) : rnd.normal(0.9, 0.15), 2), 'mg/dL');
    if (rnd.chance(v >= on.dm ? 0.7 : 0.2)) lab('4548-4', r1(v >= on.dm ? rnd.normal(7.6, 1.0) : rnd.normal(5.4, 0.3)), '%');
    if (rnd.chance(0.5)) lab('2345-7', r1(v >= on.dm ? rnd.normal(150, 30) : rnd.normal(95, 10), 0), 'mg/dL');
    if (rnd.chance(0.4)) lab('718-7', r1(decline && lastThree ? rnd.normal(10.5, 1) : rnd.normal(sex === 'F' ? 13.2 : 14.8, 1)), 'g/dL');
    if (rnd.chance(0.3)) lab('2093-3', r1(rnd.normal(dyslip ? 235 : 190, 25), 0), 'mg/dL');
    if (rnd.chance(0.3)) lab('6690-2', r1(rnd.normal(7, 1.8)), '10*3/uL');
    if (rnd.chance(0.15)) lab('1920-8', r1(rnd.normal(v >= on.metastasis ? 60 : 25, 8), 0), 'U/L');
    if (rnd.chance(v >= on.loop ? 0.5 : 0.15)) lab('2823-3', r1(rnd.normal(v >= on.loop ? 3.8 : 4.3, 0.35)), 'mmol/L');
    // vitals: weight drops in the last visits with weight loss
    if (rnd.chance(0.6)) {
      const w = baseWeight * (weightLoss && v >= on.weightLoss - 1 ? 0.88 : 1) + rnd.normal(0, 1.5);
      vital('29463-7', r1(w), 'kg');
      if (rnd.chance(0.5)) vital('39156-5', r1(w / (heightM * heightM)), 'kg/m2');
    }
    if (rnd.chance(0.6)) {
      vital('8480-6', r1(rnd.normal(v >= on.htn ? 148 : 124, 12), 0), 'mm[Hg]');
      vital('8462-4', r1(rnd.normal(v >= on.htn ? 90 : 78, 8), 0), 'mm[Hg]');
    }
    if (rnd.chance(0.35)) vital('8867-4', r1(rnd.normal(v >= on.afib ? 95 : 74, 10), 0), '/min');
    // smoking status at the first visit and now and then; BMI class occasionally
    if (v === 0 || rnd.chance(0.15)) events.push({ modality: 'smoking', code: `SMOKING:${smoking}` });
    if (rnd.chance(0.12)) {
      const bmi = baseWeight / (heightM * heightM);
      const cls = bmi < 18.5 ? 'underweight' : bmi < 25 ? 'normal' : bmi < 30 ? 'overweight' : 'obese';
      events.push({ modality: 'characteristic', code: `BMI:${cls}` });
    }
    return { date, id: `${id}-v${v + 1}`, events };
  });

  // ground truth: the events that carry each factor, and the outcome drawn from the planted logit
  const truthFor = (mech: MechanismFactor[], base: number) => {
    const events: TruthEvent[] = [];
    const factors: string[] = [];
    let logit = base;
    const ageContribution = mech.find((m) => m.factor === 'age')!.weight * Math.max(0, (age - 50) / 10);
    logit += ageContribution;
    for (const m of mech) {
      if (m.modality === 'age') continue;
      const hits: TruthEvent[] = [];
      visits.forEach((visit, vi) =>
        visit.events.forEach((e, ei) => {
          if (e.modality !== m.modality || !m.codes.includes(e.code)) return;
          if (m.factor === 'high NT-proBNP' && !(vi >= V - 3 && (e.value ?? 0) > 400)) return;
          if (m.factor === 'falling albumin' && !(vi >= V - 3 && (e.value ?? 99) < 3.0)) return;
          hits.push({ visitIndex: vi, eventIndex: ei, modality: e.modality, code: e.code, factor: m.factor, weight: m.weight });
        }),
      );
      if (hits.length) {
        logit += m.weight;
        factors.push(m.factor);
        events.push(...hits);
      }
    }
    return { trueLogit: logit, probability: sigmoid(logit), ageContribution, factors, events };
  };
  const hf = truthFor(HF, HF_BASE);
  const hasCancerCode = visits.some((v) => v.events.some((e) => e.modality === 'diagnosis' && e.code.startsWith('C')));
  const death = hasCancerCode ? truthFor(DEATH, DEATH_BASE) : { trueLogit: -Infinity, probability: 0, ageContribution: 0, factors: [], events: [] };
  const draw = (p: number, window: number) => {
    const label = rnd.chance(p) ? 1 : 0;
    return { label: label as 0 | 1, time: label ? rnd.int(1, window) : window };
  };
  const patient: Patient = {
    id,
    sex,
    birthDate: iso(birthMs),
    visits,
    outcomes: { hf_12m: draw(hf.probability, 365), death_6m: draw(death.probability, 182) },
  };
  return { patient, truth: { hf_12m: hf, death_6m: { ...death, trueLogit: Number.isFinite(death.trueLogit) ? death.trueLogit : -99 } } };
}

export function truthEventsFor(truth: GroundTruth, patientId: string, task: string): TruthEvent[] {
  return truth.patients[patientId]?.[task]?.events ?? [];
}
