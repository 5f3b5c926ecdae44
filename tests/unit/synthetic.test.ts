import { describe, expect, it } from 'vitest';
import { CODE_CATALOGUE, codeKey, describeCode, unitOf } from '../../src/data/codes';
import { ageInYears, parsePatient, type Patient } from '../../src/data/schema';
import {
  DEATH_BASE,
  HF_BASE,
  NOISE_DIAGNOSES,
  NOISE_MEDICATIONS,
  NTPROBNP_HIGH,
  TASK_NAMES,
  TASK_WINDOW_DAYS,
  counterfactualTimeline,
  generateCohort,
  shuffledSeriesTimeline,
  truncatedTimeline,
  isCancerPatient,
  plantedTruth,
  truthEventsFor,
  valuesByCode,
  type TaskName,
} from '../../src/data/synthetic';
import { rng } from '../../src/data/random';

const N = 2000;
const { patients, truth } = generateCohort({ n: N, seed: 11 });
const cancer = patients.filter(isCancerPatient);
const nonCancer = patients.filter((p) => !isCancerPatient(p));

const rate = (ps: Patient[], task: TaskName) => ps.filter((p) => p.outcomes![task].label === 1).length / ps.length;
const meanProb = (ps: Patient[], task: TaskName) => ps.reduce((s, p) => s + truth.patients[p.id][task].probability, 0) / ps.length;
const has = (p: Patient, code: string) => p.visits.some((v) => v.events.some((e) => e.code === code));
const hasFactor = (p: Patient, task: TaskName, factor: string) => truth.patients[p.id][task].factors.includes(factor);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('generateCohort: determinism', () => {
  it('gives byte-identical JSON for the same (n, seed) and different cohorts for different seeds', () => {
    const a = JSON.stringify(generateCohort({ n: 150, seed: 42 }));
    const b = JSON.stringify(generateCohort({ n: 150, seed: 42 }));
    expect(a).toBe(b);
    expect(JSON.stringify(generateCohort({ n: 150, seed: 43 }).patients)).not.toBe(JSON.stringify(JSON.parse(a).patients));
  });
  it('a smaller cohort is a prefix of a larger one (one PRNG stream per patient)', () => {
    const small = generateCohort({ n: 20, seed: 5 });
    const big = generateCohort({ n: 60, seed: 5 });
    expect(JSON.stringify(small.patients)).toBe(JSON.stringify(big.patients.slice(0, 20)));
    expect(small.truth.patients['syn-000020']).toEqual(big.truth.patients['syn-000020']);
  });
  it('honours the date window and rejects bad options', () => {
    const { patients: ps } = generateCohort({ n: 40, seed: 1, startDate: '2018-01-01', endDate: '2020-06-30' });
    for (const p of ps) for (const v of p.visits) expect(v.date >= '2018-01-01' && v.date <= '2020-06-30', v.date).toBe(true);
    expect(() => generateCohort({ n: -1, seed: 1 })).toThrow(/n must be/);
    expect(() => generateCohort({ n: 1, seed: 1, startDate: '2020-13-01' })).toThrow(/startDate/);
    expect(() => generateCohort({ n: 1, seed: 1, endDate: '2023-02-31' })).toThrow(/endDate/);
    expect(() => generateCohort({ n: 1, seed: 1, startDate: '2020-01-01', endDate: '2020-01-10' })).toThrow(/60 days/);
    expect(generateCohort({ n: 0, seed: 1 }).patients).toEqual([]);
  });
  it('generates 5,000 patients quickly', () => {
    const t0 = performance.now();
    generateCohort({ n: 5000, seed: 3 });
    const ms = performance.now() - t0;
    // target: < 3 s on an idle machine; the bound leaves room for a loaded CI box
    expect(ms).toBeLessThan(9000);
  });
});

describe('generateCohort: timelines', () => {
  it('every patient passes parsePatient', () => {
    for (const p of patients) expect(() => parsePatient(p, { today: '2030-01-01' })).not.toThrow();
  });
  it('has plausible shape: ids, adults 30-90, 3-25 dated visits, 0-4 diagnoses a visit', () => {
    const problems: string[] = [];
    patients.forEach((p, i) => {
      if (p.id !== `syn-${String(i + 1).padStart(6, '0')}`) problems.push(`id ${p.id} at ${i}`);
      if (p.sex !== 'F' && p.sex !== 'M') problems.push(`${p.id}: sex ${p.sex}`);
      const age = ageInYears(p.birthDate, p.visits[p.visits.length - 1].date);
      if (!(age >= 29.99 && age <= 90.01)) problems.push(`${p.id}: age ${age} at index`);
      if (p.visits.length < 3 || p.visits.length > 25) problems.push(`${p.id}: ${p.visits.length} visits`);
      for (let v = 1; v < p.visits.length; v++) if (!(p.visits[v].date > p.visits[v - 1].date)) problems.push(`${p.id}: visit ${v} not after ${v - 1}`);
      for (const v of p.visits) if (v.events.filter((e) => e.modality === 'diagnosis').length > 4) problems.push(`${p.id} ${v.date}: > 4 diagnoses`);
    });
    expect(problems.slice(0, 5)).toEqual([]);
    const visits = patients.flatMap((p) => p.visits);
    const noDx = visits.filter((v) => !v.events.some((e) => e.modality === 'diagnosis')).length / visits.length;
    expect(noDx).toBeGreaterThan(0.02); // visits without a diagnosis occur
    expect(noDx).toBeLessThan(0.4);
    // span of several years on average
    const years = patients.map((p) => ageInYears(p.visits[0].date, p.visits[p.visits.length - 1].date));
    expect(years.reduce((a, b) => a + b, 0) / years.length).toBeGreaterThan(2);
    // every modality occurs
    const mods = new Set(visits.flatMap((v) => v.events.map((e) => e.modality)));
    expect([...mods].sort()).toEqual(['characteristic', 'diagnosis', 'lab', 'medication', 'procedure', 'smoking', 'vital']);
  });
  it('chronic conditions recur and clusters co-occur', () => {
    const htn = patients.filter((p) => has(p, 'I10'));
    const recurring = htn.filter((p) => p.visits.filter((v) => v.events.some((e) => e.code === 'I10')).length >= 2);
    expect(recurring.length / htn.length).toBeGreaterThan(0.5);
    // metabolic cluster: diabetes is commoner with obesity; COPD with current smoking
    const frac = (ps: Patient[], code: string) => ps.filter((p) => has(p, code)).length / ps.length;
    expect(frac(patients.filter((p) => has(p, 'E66.9')), 'E11.9')).toBeGreaterThan(1.5 * frac(patients.filter((p) => !has(p, 'E66.9')), 'E11.9'));
    expect(frac(patients.filter((p) => has(p, 'SMOKING:current')), 'J44.9')).toBeGreaterThan(3 * frac(patients.filter((p) => has(p, 'SMOKING:never')), 'J44.9'));
    // oncology subgroup ~20-25%, with metastasis codes and chemotherapy in part of it
    expect(cancer.length / N).toBeGreaterThan(0.17);
    expect(cancer.length / N).toBeLessThan(0.28);
    expect(cancer.filter((p) => has(p, 'C78.7') || has(p, 'C79.51')).length / cancer.length).toBeGreaterThan(0.2);
    expect(cancer.filter((p) => has(p, '367336001')).length / cancer.length).toBeGreaterThan(0.25);
    expect(nonCancer.some((p) => has(p, 'C78.7') || has(p, '367336001') || has(p, 'L01XA01'))).toBe(false);
  });
  it('labs and vitals carry realistic values with the catalogue unit', () => {
    const values: Record<string, number[]> = {};
    const problems: string[] = []; // collected, not asserted per event: ~500k events
    for (const p of patients)
      for (const v of p.visits)
        for (const e of v.events) {
          if (e.modality !== 'lab' && e.modality !== 'vital') {
            if (e.value !== undefined || e.unit !== undefined) problems.push(`${p.id} ${e.code}: value on a ${e.modality}`);
            continue;
          }
          if (typeof e.value !== 'number' || e.unit !== unitOf(e.modality, e.code)) problems.push(`${p.id} ${e.code}: ${e.value} ${e.unit}`);
          (values[e.code] ??= []).push(e.value!);
        }
    expect(problems.slice(0, 5)).toEqual([]);
    const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
    expect(median(values['1751-7'])).toBeGreaterThan(3.5); // albumin g/dL
    expect(median(values['1751-7'])).toBeLessThan(4.6);
    expect(median(values['4548-4'])).toBeGreaterThan(4.5); // HbA1c %
    expect(median(values['4548-4'])).toBeLessThan(8.5);
    expect(median(values['2160-0'])).toBeGreaterThan(0.6); // creatinine mg/dL
    expect(median(values['2160-0'])).toBeLessThan(1.6);
    expect(median(values['29463-7'])).toBeGreaterThan(60); // weight kg
    expect(median(values['29463-7'])).toBeLessThan(100);
    expect(median(values['8480-6'])).toBeGreaterThan(110); // systolic mmHg
    expect(median(values['8480-6'])).toBeLessThan(150);
    expect(Math.min(...values['33762-6'])).toBeGreaterThan(0);
  });
  it('no heart failure code before the index date (it is the outcome)', () => {
    expect(patients.some((p) => has(p, 'I50.9'))).toBe(false);
  });
});

describe('code catalogue', () => {
  it('describes every emitted code', () => {
    const missing = new Set<string>();
    for (const p of patients) for (const v of p.visits) for (const e of v.events) if (!describeCode(e.modality, e.code)) missing.add(codeKey(e.modality, e.code));
    expect([...missing]).toEqual([]);
  });
  it('is large enough, unique, and uses the right code shapes', () => {
    const count = (m: string) => CODE_CATALOGUE.filter((c) => c.modality === m).length;
    expect(count('diagnosis')).toBeGreaterThanOrEqual(60);
    expect(count('procedure')).toBeGreaterThanOrEqual(18);
    expect(count('medication')).toBeGreaterThanOrEqual(25);
    expect(new Set(CODE_CATALOGUE.map((c) => codeKey(c.modality, c.code))).size).toBe(CODE_CATALOGUE.length);
    for (const c of CODE_CATALOGUE) {
      expect(c.description.length).toBeGreaterThan(2);
      if (c.modality === 'diagnosis') expect(c.code, c.code).toMatch(/^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$/);
      if (c.modality === 'procedure') expect(c.code, c.code).toMatch(/^\d{6,18}$/);
      if (c.modality === 'medication') expect(c.code, c.code).toMatch(/^[A-Z]\d{2}[A-Z]{2}\d{2}$/);
      if (c.modality === 'lab' || c.modality === 'vital') {
        expect(c.code, c.code).toMatch(/^\d{1,5}-\d$/);
        expect(c.unit, c.code).toBeTruthy();
      }
      // the cancer subgroup is "any C code": only malignant neoplasms may start with C
      if (c.modality === 'diagnosis' && c.code.startsWith('C')) expect(c.description).toMatch(/malignant neoplasm/i);
    }
  });
  it('describes binned value tokens by their code, and knows nothing it should not', () => {
    expect(describeCode('lab', '33762-6|q5')).toBe(describeCode('lab', '33762-6'));
    expect(describeCode('diagnosis', 'I10')).toBe('Essential (primary) hypertension');
    expect(describeCode('medication', 'C03CA01')).toMatch(/furosemide/);
    expect(describeCode('smoking', 'SMOKING:current')).toBeTruthy();
    expect(describeCode('lab', 'I10')).toBeUndefined();
    expect(codeKey('lab', '1751-7')).toBe('lab:1751-7');
  });
});

describe('planted outcomes', () => {
  it('prevalences are in the target ranges', () => {
    const hf = rate(patients, 'hf_12m');
    expect(hf).toBeGreaterThan(0.15);
    expect(hf).toBeLessThan(0.25);
    const death = rate(cancer, 'death_6m');
    expect(death).toBeGreaterThan(0.25);
    expect(death).toBeLessThan(0.4);
    // death_6m is defined among cancer patients only: everyone else is 0, with probability 0
    expect(rate(nonCancer, 'death_6m')).toBe(0);
    for (const p of nonCancer) {
      expect(truth.patients[p.id].death_6m.eligible).toBe(false);
      expect(truth.patients[p.id].death_6m.probability).toBe(0);
    }
  });
  it('labels are Bernoulli draws from the planted probability', () => {
    // mean probability ~ prevalence
    expect(Math.abs(meanProb(patients, 'hf_12m') - rate(patients, 'hf_12m'))).toBeLessThan(0.025);
    expect(Math.abs(meanProb(cancer, 'death_6m') - rate(cancer, 'death_6m'))).toBeLessThan(0.05);
    // calibrated by probability band, and not a deterministic threshold: mid-risk patients get both labels
    const mid = patients.filter((p) => truth.patients[p.id].hf_12m.probability > 0.35 && truth.patients[p.id].hf_12m.probability < 0.65);
    expect(mid.length).toBeGreaterThan(50);
    expect(Math.abs(rate(mid, 'hf_12m') - meanProb(mid, 'hf_12m'))).toBeLessThan(0.1);
    const low = patients.filter((p) => truth.patients[p.id].hf_12m.probability < 0.1);
    const high = patients.filter((p) => truth.patients[p.id].hf_12m.probability > 0.5);
    expect(rate(low, 'hf_12m')).toBeGreaterThan(0);
    expect(rate(high, 'hf_12m')).toBeLessThan(1);
    expect(rate(high, 'hf_12m')).toBeGreaterThan(5 * rate(low, 'hf_12m'));
  });
  it('outcome times: events inside the window, non-events censored at its end', () => {
    for (const p of patients)
      for (const task of TASK_NAMES) {
        const o = p.outcomes![task];
        const w = TASK_WINDOW_DAYS[task];
        if (o.label === 1) {
          expect(o.time).toBeGreaterThanOrEqual(1);
          expect(o.time).toBeLessThanOrEqual(w);
        } else expect(o.time).toBe(w);
      }
  });
  it('planted effects are real', () => {
    const highBnp = (p: Patient) => hasFactor(p, 'hf_12m', 'high NT-proBNP');
    const triple = patients.filter((p) => has(p, 'I10') && has(p, 'E11.9') && highBnp(p));
    const none = patients.filter((p) => !has(p, 'I10') && !has(p, 'E11.9') && !highBnp(p));
    expect(triple.length).toBeGreaterThan(20);
    expect(rate(triple, 'hf_12m')).toBeGreaterThan(0.5);
    expect(rate(triple, 'hf_12m')).toBeGreaterThan(4 * rate(none, 'hf_12m'));
    // each HF factor on its own raises the rate
    for (const f of ['hypertension', 'type 2 diabetes', 'high NT-proBNP', 'loop diuretic', 'current smoking', 'chronic kidney disease']) {
      const w = patients.filter((p) => hasFactor(p, 'hf_12m', f));
      const wo = patients.filter((p) => !hasFactor(p, 'hf_12m', f));
      expect(rate(w, 'hf_12m'), f).toBeGreaterThan(1.3 * rate(wo, 'hf_12m'));
    }
    const meta = cancer.filter((p) => has(p, 'C78.7') || has(p, 'C79.51'));
    const noMeta = cancer.filter((p) => !(has(p, 'C78.7') || has(p, 'C79.51')));
    expect(rate(meta, 'death_6m')).toBeGreaterThan(2 * rate(noMeta, 'death_6m'));
    const alb = cancer.filter((p) => hasFactor(p, 'death_6m', 'falling albumin'));
    const noAlb = cancer.filter((p) => !hasFactor(p, 'death_6m', 'falling albumin'));
    expect(rate(alb, 'death_6m')).toBeGreaterThan(1.5 * rate(noAlb, 'death_6m'));
  });
  it('noise codes carry ~no association; confounders correlate with risk but carry no truth', () => {
    // per noise diagnosis / drug: the mean TRUE probability (lower variance than labels) among
    // carriers is within sampling error (4 standard errors) of that among non-carriers
    const probs = patients.map((p) => truth.patients[p.id].hf_12m.probability);
    const mu = probs.reduce((a, b) => a + b, 0) / N;
    const sd = Math.sqrt(probs.reduce((a, b) => a + (b - mu) ** 2, 0) / N);
    for (const code of [...NOISE_DIAGNOSES, ...NOISE_MEDICATIONS]) {
      const w = patients.filter((p) => has(p, code));
      if (w.length < 30) continue;
      const wo = patients.filter((p) => !has(p, code));
      const se = sd * Math.sqrt(1 / w.length + 1 / wo.length);
      expect(Math.abs(meanProb(w, 'hf_12m') - meanProb(wo, 'hf_12m')), code).toBeLessThan(4 * se);
    }
    const anyNoise = patients.filter((p) => NOISE_DIAGNOSES.some((c) => has(p, c)));
    const noNoise = patients.filter((p) => !NOISE_DIAGNOSES.some((c) => has(p, c)));
    expect(Math.abs(rate(anyNoise, 'hf_12m') - rate(noNoise, 'hf_12m'))).toBeLessThan(0.05);
    // statins and echocardiography go with higher risk, yet no truth event is ever a statin or an echo
    const statin = patients.filter((p) => has(p, 'C10AA05'));
    expect(meanProb(statin, 'hf_12m')).toBeGreaterThan(1.2 * meanProb(patients.filter((p) => !has(p, 'C10AA05')), 'hf_12m'));
    const truthCodes = new Set(patients.flatMap((p) => TASK_NAMES.flatMap((t) => truth.patients[p.id][t].events.map((e) => e.code))));
    for (const c of ['C10AA05', '40701008', 'B01AC06', 'N02BE01', 'A02BC01', ...NOISE_DIAGNOSES]) expect(truthCodes.has(c), c).toBe(false);
  });
});

describe('ground truth', () => {
  it('describes both tasks with their mechanisms', () => {
    expect(Object.keys(truth.tasks).sort()).toEqual(['death_6m', 'hf_12m']);
    expect(truth.tasks.hf_12m.base).toBe(HF_BASE);
    expect(truth.tasks.death_6m.base).toBe(DEATH_BASE);
    for (const t of TASK_NAMES)
      for (const m of truth.tasks[t].mechanism) {
        expect(m.rule.length).toBeGreaterThan(5);
        expect(m.weight).toBeGreaterThan(0);
        if (m.modality !== 'age') expect(m.codes.length).toBeGreaterThan(0);
      }
    expect(Object.keys(truth.patients)).toHaveLength(N);
  });
  it('truth events point at events that exist with the stated code, and the logit adds up', () => {
    const problems: string[] = [];
    const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;
    for (const p of patients)
      for (const task of TASK_NAMES) {
        const t = truth.patients[p.id][task];
        const mech = truth.tasks[task].mechanism;
        for (const te of t.events) {
          const at = `${p.id} ${task} ${te.factor} ${te.visitIndex}:${te.eventIndex}`;
          const e = p.visits[te.visitIndex]?.events[te.eventIndex];
          const m = mech.find((x) => x.factor === te.factor);
          if (!e) problems.push(`${at}: no such event`);
          else if (e.code !== te.code || e.modality !== te.modality) problems.push(`${at}: event is ${e.modality}:${e.code}`);
          else if (!m || !m.codes.includes(te.code) || m.modality !== te.modality || m.weight !== te.weight) problems.push(`${at}: does not match the mechanism`);
          else if (te.factor === 'high NT-proBNP' && !((e.value ?? 0) > NTPROBNP_HIGH && te.visitIndex >= p.visits.length - 2)) problems.push(`${at}: not high at the last 2 visits`);
        }
        if (!t.eligible) continue;
        // factors present = factors with events; logit = base + their weights + age
        if ([...new Set(t.events.map((e) => e.factor))].sort().join() !== [...t.factors].sort().join()) problems.push(`${p.id} ${task}: factors vs events`);
        const logit = truth.tasks[task].base + t.ageContribution + t.factors.reduce((s, f) => s + mech.find((m) => m.factor === f)!.weight, 0);
        if (!near(t.trueLogit, logit) || !near(t.probability, sigmoid(t.trueLogit))) problems.push(`${p.id} ${task}: logit/probability`);
        const age = ageInYears(p.birthDate, p.visits[p.visits.length - 1].date);
        const ageW = mech.find((m) => m.modality === 'age')!.weight;
        if (!near(t.ageContribution, ageW * Math.max(0, (age - 50) / 10))) problems.push(`${p.id} ${task}: age contribution`);
      }
    expect(problems.slice(0, 5)).toEqual([]);
  });
  it('lists every event of a present event-wise factor (e.g. every I10, every furosemide)', () => {
    for (const p of patients.slice(0, 500)) {
      const t = truth.patients[p.id].hf_12m;
      const i10 = p.visits.flatMap((v, vi) => v.events.flatMap((e, ei) => (e.modality === 'diagnosis' && e.code === 'I10' ? [`${vi}:${ei}`] : [])));
      expect(t.events.filter((e) => e.factor === 'hypertension').map((e) => `${e.visitIndex}:${e.eventIndex}`)).toEqual(i10);
      const smoking = p.visits.some((v) => v.events.some((e) => e.code === 'SMOKING:current'));
      expect(t.factors.includes('current smoking')).toBe(smoking);
    }
  });
  it('is a pure function of the timeline (plantedTruth), so edited timelines get their own truth', () => {
    for (const p of patients.slice(0, 200)) for (const task of TASK_NAMES) expect(plantedTruth(p, task)).toEqual(truth.patients[p.id][task]);
    // removing every I10 event removes the hypertension factor and lowers the logit by its weight
    const p = patients.find((x) => has(x, 'I10'))!;
    const edited: Patient = { ...p, visits: p.visits.map((v) => ({ ...v, events: v.events.filter((e) => e.code !== 'I10') })) };
    const before = plantedTruth(p, 'hf_12m');
    const after = plantedTruth(edited, 'hf_12m');
    expect(after.factors).not.toContain('hypertension');
    expect(before.trueLogit - after.trueLogit).toBeCloseTo(truth.tasks.hf_12m.mechanism.find((m) => m.factor === 'hypertension')!.weight, 10);
  });
  it('most at-risk patients have truth events, and truthEventsFor reads them', () => {
    const withEvents = patients.filter((p) => truthEventsFor(truth, p.id, 'hf_12m').length > 0);
    expect(withEvents.length / N).toBeGreaterThan(0.4);
    expect(cancer.filter((p) => truthEventsFor(truth, p.id, 'death_6m').length > 0).length / cancer.length).toBeGreaterThan(0.4);
    expect(truthEventsFor(truth, 'no-such-patient', 'hf_12m')).toEqual([]);
    expect(truthEventsFor(truth, patients[0].id, 'no-such-task')).toEqual([]);
  });
  it('is plain JSON (no Infinity/NaN lost on the way)', () => {
    const back = JSON.parse(JSON.stringify(truth));
    expect(back).toEqual(truth);
  });
});

describe('counterfactual timelines (training augmentation)', () => {
  const values = valuesByCode(patients);
  const events = (p: Patient) => p.visits.flatMap((v) => v.events);
  it('rates of zero give the same timeline back; the original is never changed', () => {
    const p = cancer[0];
    const before = JSON.stringify(p);
    const same = counterfactualTimeline(p, { codeRate: 0, eventRate: 0, valueRate: 0, values }, rng(1));
    expect(JSON.stringify(same)).toBe(before);
    counterfactualTimeline(p, { codeRate: 0.9, eventRate: 0.9, valueRate: 1, values }, rng(1));
    expect(JSON.stringify(p)).toBe(before);
  });
  it('removes whole codes, swaps the primary cancer for another (still eligible), keeps every visit, and draws swapped values from the pool', () => {
    let removedAllOfACode = 0;
    let renamedPrimary = 0;
    for (const p of cancer.slice(0, 50)) {
      const cf = counterfactualTimeline(p, { codeRate: 0.5, eventRate: 0, valueRate: 1, values }, rng(7));
      expect(cf.visits.map((v) => v.date)).toEqual(p.visits.map((v) => v.date));
      // the primary cancer stays (same visits), possibly as another primary of the patient's sex
      const primaries = ['C34.90', 'C18.9', 'C50.919', 'C61', 'C25.9'];
      const primaryAt = (q: Patient) => q.visits.map((v) => v.events.filter((e) => e.modality === 'diagnosis' && primaries.includes(e.code)).length);
      expect(primaryAt(cf)).toEqual(primaryAt(p));
      const newPrimaries = new Set(events(cf).filter((e) => primaries.includes(e.code)).map((e) => e.code));
      expect(newPrimaries.size).toBe(1);
      expect([...newPrimaries][0]).not.toBe(p.sex === 'F' ? 'C61' : 'C50.919');
      if ([...newPrimaries][0] !== events(p).find((e) => primaries.includes(e.code))!.code) renamedPrimary++;
      expect(isCancerPatient(cf)).toBe(true);
      const codes = (q: Patient) => new Set(events(q).filter((e) => !primaries.includes(e.code)).map((e) => `${e.modality}|${e.code}`));
      for (const k of codes(p)) if (!codes(cf).has(k)) removedAllOfACode++;
      // any other code either keeps all its events or loses all of them (eventRate 0)
      for (const k of codes(cf)) expect(events(cf).filter((e) => `${e.modality}|${e.code}` === k).length).toBe(events(p).filter((e) => `${e.modality}|${e.code}` === k).length);
      for (const e of events(cf)) if (e.value !== undefined) expect(values.get(e.code)).toContain(e.value);
    }
    expect(removedAllOfACode).toBeGreaterThan(100);
    expect(renamedPrimary).toBeGreaterThan(10);
  });
  it('is scored by plantedTruth like any timeline: removing I10 everywhere removes the hypertension factor', () => {
    const p = patients.find((q) => hasFactor(q, 'hf_12m', 'hypertension'))!;
    const rand = rng(3);
    let cf = p;
    while (events(cf).some((e) => e.code === 'I10')) cf = counterfactualTimeline(p, { codeRate: 0.5, eventRate: 0, valueRate: 0, values }, rand);
    expect(plantedTruth(cf, 'hf_12m').factors).not.toContain('hypertension');
    expect(plantedTruth(cf, 'hf_12m').trueLogit).toBeLessThan(truth.patients[p.id].hf_12m.trueLogit);
  });
});

describe('truncatedTimeline', () => {
  it('drops the last 1 to 3 visits (one always kept), leaves the rest as it was, and the truth reads the new last albumin', () => {
    const dropped = new Set<number>();
    const rand = rng(3);
    let moved = 0;
    for (const p of cancer.slice(0, 80)) {
      const before = JSON.stringify(p);
      const t = truncatedTimeline(p, rand);
      expect(JSON.stringify(p)).toBe(before);
      const drop = p.visits.length - t.visits.length;
      if (p.visits.length === 1) expect(drop).toBe(0);
      else expect(drop).toBeGreaterThanOrEqual(1);
      expect(drop).toBeLessThanOrEqual(3);
      dropped.add(drop);
      expect(JSON.stringify(t.visits)).toBe(JSON.stringify(p.visits.slice(0, t.visits.length)));
      // the falling-albumin factor, if it fires, is carried by the last albumin of the shorter timeline
      const alb = plantedTruth(t, 'death_6m').events.filter((e) => e.factor === 'falling albumin');
      const last = t.visits.flatMap((v, vi) => v.events.map((e, ei) => ({ e, vi, ei }))).filter(({ e }) => e.code === '1751-7').pop();
      for (const a of alb) expect([a.visitIndex, a.eventIndex]).toEqual([last!.vi, last!.ei]);
      if (alb.length && !truth.patients[p.id].death_6m.events.some((e) => e.factor === 'falling albumin' && e.visitIndex === alb[0].visitIndex)) moved++;
    }
    expect([...dropped].sort()).toEqual([1, 2, 3]);
    expect(moved).toBeGreaterThan(0); // some patients' albumin factor now sits on an earlier measurement
    const one = { ...cancer[0], visits: cancer[0].visits.slice(0, 1) };
    expect(truncatedTimeline(one, rng(1))).toBe(one);
  });
});

describe('shuffledSeriesTimeline', () => {
  const events = (p: Patient) => p.visits.flatMap((v) => v.events);
  const series = (p: Patient, code: string) => events(p).filter((e) => e.code === code).map((e) => e.value);
  it('reorders the values of a measured series and changes nothing else', () => {
    const rand = rng(5);
    let reordered = 0;
    let factorChanged = 0;
    for (const p of cancer.slice(0, 60)) {
      const before = JSON.stringify(p);
      const s = shuffledSeriesTimeline(p, 1, rand);
      expect(JSON.stringify(p)).toBe(before);
      // same visits, dates, events and codes in the same places; only values move
      expect(s.visits.map((v) => [v.date, v.events.map((e) => `${e.modality}|${e.code}|${e.value === undefined}`)])).toEqual(p.visits.map((v) => [v.date, v.events.map((e) => `${e.modality}|${e.code}|${e.value === undefined}`)]));
      for (const code of ['1751-7', '29463-7']) {
        const [a, b] = [series(p, code), series(s, code)];
        expect([...b].sort()).toEqual([...a].sort());
        if (a.join() !== b.join()) reordered++;
      }
      if (plantedTruth(s, 'death_6m').factors.includes('falling albumin') !== truth.patients[p.id].death_6m.factors.includes('falling albumin')) factorChanged++;
    }
    expect(reordered).toBeGreaterThan(60);
    expect(factorChanged).toBeGreaterThan(0); // same values, another last one: the albumin rule reads order
    expect(shuffledSeriesTimeline(cancer[0], 0, rng(1))).toBe(cancer[0]);
  });
});
