// Per-cluster summaries for the cohort view (issue 7): size, outcome rate and mean predicted risk
// per task, Kaplan-Meier curves of time to outcome, the codes that most distinguish a cluster from
// the rest, and cohort-level attribution (mean expected gradients per code over a cluster).
// Pure functions over plain data: the worker and the CLI call them alike.
import { codeKey, describeCode } from '../data/codes';
import { ageInYears, type Patient } from '../data/schema';
import type { AttributionResult } from '../attribution/types';
import type { Vocab } from '../tokens/vocab';
import { eventToken } from '../tokens/vocab';

/** What the summaries need of a patient: small enough to keep for a million patients and to
 *  carry in shard files, so that merging needs neither the patients file nor the model. */
export interface PatientProfile {
  id: string;
  sex: string;
  /** age in years at the last visit */
  age: number;
  /** known outcomes per task (`time` in days to the event or censoring, when known) */
  outcomes: Record<string, { label: 0 | 1; time?: number }>;
  /** unique `<modality>:<token>` keys of the patient's events; labs and vitals as value-bin tokens
   *  (`lab:1751-7|q1`) when the model's bins are given, else as the bare code */
  codes: string[];
}

export function profileOf(p: Patient, bins?: Vocab['bins']): PatientProfile {
  const codes = new Set<string>();
  let last = '';
  for (const v of p.visits) {
    if (v.date > last) last = v.date;
    for (const e of v.events) codes.add(codeKey(e.modality, bins ? eventToken(e, bins) : e.code));
  }
  return {
    id: p.id,
    sex: p.sex,
    age: last ? Math.round(ageInYears(p.birthDate, last) * 10) / 10 : NaN,
    outcomes: { ...(p.outcomes ?? {}) },
    codes: [...codes].sort(),
  };
}

/** Patients with at least one diagnosis whose code starts with `prefix` (e.g. `C` for cancer,
 *  `I10`); case-insensitive, dots ignored (`C787` matches `C78.7`). */
export function filterByDiagnosis(patients: Patient[], prefix: string): Patient[] {
  const norm = (s: string) => s.toUpperCase().replace(/\./g, '');
  const want = norm(prefix);
  return patients.filter((p) => p.visits.some((v) => v.events.some((e) => e.modality === 'diagnosis' && norm(e.code).startsWith(want))));
}

/** The same on profiles (a merge has no patients). */
export function filterProfilesByDiagnosis(profiles: PatientProfile[], prefix: string): boolean[] {
  const norm = (s: string) => s.toUpperCase().replace(/\./g, '');
  const want = norm('diagnosis:' + prefix);
  return profiles.map((p) => p.codes.some((c) => norm(c).startsWith(want)));
}

// ---------------------------------------------------------------------------------------------
// Kaplan-Meier

export interface KmPoint {
  /** days */
  time: number;
  /** S(t) just after `time` (a right-continuous step function) */
  survival: number;
  /** Greenwood standard error of S(t) */
  se: number;
  /** number at risk just before `time` (time >= this) */
  atRisk: number;
  events: number;
  censored: number;
}

export interface KaplanMeier {
  n: number;
  events: number;
  censored: number;
  /** first point at time 0 (S = 1, all at risk), then one per distinct observed time */
  points: KmPoint[];
  /** smallest time with S <= 0.5; null when the curve never gets there */
  median: number | null;
}

/** Product-limit estimate from (time, event) pairs. Ties: at a time t all d events happen first
 *  (S *= 1 - d / n, n = number with time >= t), and patients censored at t count as at risk at t
 *  (the usual convention). */
export function kaplanMeier(times: ArrayLike<number>, events: ArrayLike<number>): KaplanMeier {
  const n = times.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => times[a] - times[b]);
  const points: KmPoint[] = [{ time: 0, survival: 1, se: 0, atRisk: n, events: 0, censored: 0 }];
  let s = 1;
  let green = 0;
  let atRisk = n;
  let totalEvents = 0;
  let median: number | null = null;
  for (let k = 0; k < n; ) {
    const t = times[order[k]];
    let d = 0;
    let c = 0;
    while (k < n && times[order[k]] === t) {
      if (events[order[k]]) d++;
      else c++;
      k++;
    }
    if (d > 0) {
      s *= 1 - d / atRisk;
      green += atRisk > d ? d / (atRisk * (atRisk - d)) : 0;
      if (median === null && s <= 0.5) median = t;
    }
    points.push({ time: t, survival: s, se: s * Math.sqrt(green), atRisk, events: d, censored: c });
    totalEvents += d;
    atRisk -= d + c;
  }
  return { n, events: totalEvents, censored: n - totalEvents, points, median };
}

// ---------------------------------------------------------------------------------------------
// Chi-square test of equal outcome rates across clusters

/** Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x) (Numerical Recipes: series below
 *  a + 1, continued fraction above, so that tiny upper tails keep their digits). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lgA = lgamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let del = sum;
    for (let ap = a; Math.abs(del) > Math.abs(sum) * 1e-15; ) {
      del *= x / ++ap;
      sum += del;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lgA);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - lgA) * h;
}

function lgamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9)
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = g[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

export interface ChiSquare {
  statistic: number;
  df: number;
  pValue: number;
}

/** Pearson chi-square test of homogeneity for a groups x 2 table of (positives, total). Groups with
 *  total 0 are left out. */
export function chiSquareRates(groups: { positives: number; total: number }[]): ChiSquare {
  const g = groups.filter((x) => x.total > 0);
  const N = g.reduce((s, x) => s + x.total, 0);
  const P = g.reduce((s, x) => s + x.positives, 0);
  if (g.length < 2 || P === 0 || P === N) return { statistic: 0, df: Math.max(0, g.length - 1), pValue: 1 };
  let stat = 0;
  for (const x of g) {
    const e1 = (x.total * P) / N;
    const e0 = x.total - e1;
    stat += (x.positives - e1) ** 2 / e1 + (x.total - x.positives - e0) ** 2 / e0;
  }
  const df = g.length - 1;
  return { statistic: stat, df, pValue: Math.min(1, Math.max(0, gammaQ(df / 2, stat / 2))) };
}

// ---------------------------------------------------------------------------------------------
// Cluster summaries

export interface TaskSummary {
  /** patients of the cluster with a known outcome label for the task */
  known: number;
  positives: number;
  /** positives / known; null when known = 0 */
  rate: number | null;
  /** mean predicted probability over the cluster's patients that have one (a task with a population: those in it); NaN when none */
  meanRisk: number;
  /** from the patients with a label and a time; null when none has a time */
  km: KaplanMeier | null;
}

export interface DistinguishingCode {
  /** `<modality>:<token>` */
  key: string;
  modality: string;
  code: string;
  description?: string;
  /** patients with the code in the cluster / in the rest */
  inCluster: number;
  inRest: number;
  prevalenceCluster: number;
  prevalenceRest: number;
  /** log odds ratio cluster vs rest, 0.5 added to every cell */
  logOdds: number;
  /** logOdds / its standard error: what the list is sorted by */
  z: number;
}

export interface ClusterSummary {
  /** -1: DBSCAN noise */
  cluster: number;
  size: number;
  meanAge: number;
  female: number;
  tasks: Record<string, TaskSummary>;
  /** codes over-represented in the cluster, most distinguishing first */
  distinguishing: DistinguishingCode[];
}

export interface CohortSummary {
  n: number;
  tasks: string[];
  /** the whole cohort, as one group (cluster = -2) */
  overall: ClusterSummary;
  /** clusters in label order, noise (-1) last when present */
  clusters: ClusterSummary[];
  /** per task: are the outcome rates of the clusters (noise excluded) equal? */
  rateTest: Record<string, ChiSquare & { maxRate: number | null; minRate: number | null }>;
}

export interface SummaryOptions {
  /** distinguishing codes per cluster (default 15) */
  topCodes?: number;
  /** a code must be in at least this many of the cluster's patients (default 3) */
  minCount?: number;
}

function splitKey(key: string): { modality: string; code: string } {
  const i = key.indexOf(':');
  return { modality: key.slice(0, i), code: key.slice(i + 1) };
}

function summarizeGroup(cluster: number, rows: number[], profiles: PatientProfile[], risks: Record<string, ArrayLike<number>>, tasks: string[]): ClusterSummary {
  const size = rows.length;
  const taskSummaries: Record<string, TaskSummary> = {};
  for (const t of tasks) {
    let known = 0;
    let positives = 0;
    let riskSum = 0;
    let riskN = 0;
    const times: number[] = [];
    const evs: number[] = [];
    for (const r of rows) {
      const risk = risks[t]?.[r];
      // patients outside a task's population have no risk (NaN) and are left out of the mean
      if (risk !== undefined && Number.isFinite(risk)) {
        riskSum += risk;
        riskN++;
      }
      const o = profiles[r].outcomes[t];
      if (!o) continue;
      known++;
      positives += o.label;
      if (o.time !== undefined) {
        times.push(o.time);
        evs.push(o.label);
      }
    }
    taskSummaries[t] = { known, positives, rate: known ? positives / known : null, meanRisk: riskN ? riskSum / riskN : NaN, km: times.length ? kaplanMeier(times, evs) : null };
  }
  const ages = rows.map((r) => profiles[r].age).filter((a) => Number.isFinite(a));
  return {
    cluster,
    size,
    meanAge: ages.length ? ages.reduce((a, b) => a + b, 0) / ages.length : NaN,
    female: size ? rows.filter((r) => profiles[r].sex === 'F').length / size : 0,
    tasks: taskSummaries,
    distinguishing: [],
  };
}

/** Summaries per cluster label (labels[i] is the cluster of profiles[i]; -1 = noise). `risks` are
 *  predicted probabilities per task, row-aligned with the profiles. */
export function summarizeClusters(labels: ArrayLike<number>, profiles: PatientProfile[], risks: Record<string, ArrayLike<number>>, opts: SummaryOptions = {}): CohortSummary {
  const n = profiles.length;
  if (labels.length !== n) throw new Error(`summarizeClusters: ${labels.length} labels for ${n} patients`);
  const tasks = Object.keys(risks);
  const topCodes = opts.topCodes ?? 15;
  const minCount = opts.minCount ?? 3;
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!groups.has(l)) groups.set(l, []);
    groups.get(l)!.push(i);
  }
  const keys = [...groups.keys()].sort((a, b) => (a < 0 ? 1 : b < 0 ? -1 : a - b));

  // code prevalence overall and per cluster
  const total = new Map<string, number>();
  for (const p of profiles) for (const c of p.codes) total.set(c, (total.get(c) ?? 0) + 1);

  const clusters = keys.map((l) => {
    const rows = groups.get(l)!;
    const s = summarizeGroup(l, rows, profiles, risks, tasks);
    const inC = new Map<string, number>();
    for (const r of rows) for (const c of profiles[r].codes) inC.set(c, (inC.get(c) ?? 0) + 1);
    const nc = rows.length;
    const nr = n - nc;
    const list: DistinguishingCode[] = [];
    for (const [key, a] of inC) {
      if (a < minCount) continue;
      const b = total.get(key)! - a;
      const lo = Math.log(((a + 0.5) * (nr - b + 0.5)) / ((nc - a + 0.5) * (b + 0.5)));
      const se = Math.sqrt(1 / (a + 0.5) + 1 / (nc - a + 0.5) + 1 / (b + 0.5) + 1 / (nr - b + 0.5));
      if (lo <= 0) continue;
      const { modality, code } = splitKey(key);
      list.push({ key, modality, code, description: describeCode(modality, code), inCluster: a, inRest: b, prevalenceCluster: a / nc, prevalenceRest: nr ? b / nr : 0, logOdds: lo, z: lo / se });
    }
    list.sort((x, y) => y.z - x.z || x.key.localeCompare(y.key));
    s.distinguishing = list.slice(0, topCodes);
    return s;
  });

  const rateTest: CohortSummary['rateTest'] = {};
  for (const t of tasks) {
    const real = clusters.filter((c) => c.cluster >= 0);
    const rates = real.map((c) => c.tasks[t].rate).filter((r): r is number => r !== null);
    rateTest[t] = {
      ...chiSquareRates(real.map((c) => ({ positives: c.tasks[t].positives, total: c.tasks[t].known }))),
      maxRate: rates.length ? Math.max(...rates) : null,
      minRate: rates.length ? Math.min(...rates) : null,
    };
  }
  return { n, tasks, overall: summarizeGroup(-2, Array.from({ length: n }, (_, i) => i), profiles, risks, tasks), clusters, rateTest };
}

// ---------------------------------------------------------------------------------------------
// Cohort-level attribution

export interface CodeAttribution {
  key: string;
  modality: string;
  code: string;
  description?: string;
  /** patients whose explanation has the code */
  patients: number;
  /** sum over patients of the code's attribution (summed over its events) */
  total: number;
  /** total / number of results: the code's mean contribution per patient of the group (absent = 0) */
  meanPerPatient: number;
  /** total / patients: the mean contribution where the code is present */
  meanWhenPresent: number;
}

/** Mean attribution per code over a group of explanations (e.g. EG of a cluster's patients for one
 *  task), sorted by |meanPerPatient|, largest first. The caller runs the explanations. */
export function meanAttributionPerCode(results: AttributionResult[]): CodeAttribution[] {
  const total = new Map<string, number>();
  const count = new Map<string, number>();
  for (const r of results)
    for (const [key, v] of Object.entries(r.code)) {
      total.set(key, (total.get(key) ?? 0) + v);
      count.set(key, (count.get(key) ?? 0) + 1);
    }
  const n = results.length;
  return [...total.entries()]
    .map(([key, sum]) => {
      const { modality, code } = splitKey(key);
      const c = count.get(key)!;
      return { key, modality, code, description: describeCode(modality, code), patients: c, total: sum, meanPerPatient: sum / n, meanWhenPresent: sum / c };
    })
    .sort((a, b) => Math.abs(b.meanPerPatient) - Math.abs(a.meanPerPatient) || a.key.localeCompare(b.key));
}
