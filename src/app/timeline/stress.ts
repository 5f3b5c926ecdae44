// A RENDERING FIXTURE, not a model output: a long synthetic patient (by default 2,000 events in
// ~300 visits over 15 years, every modality) and an AttributionResult with random attributions and
// standard errors, for the timeline's benchmarks and tests. The result is well-formed and
// internally consistent (tokens, events, visit, part and code sums agree; placeholder slots for
// visits without diagnoses, a [CLS] and a [SEP] per visit), but its numbers mean nothing.
import type { AttributionResult, EventAttribution } from '../../attribution/types';
import { CODE_CATALOGUE, type CodeInfo } from '../../data/codes';
import { rng } from '../../data/random';
import type { ClinicalEvent, Modality, Patient, Visit } from '../../data/schema';

/** Share of events per modality, roughly what a long primary-care record looks like. */
const MODALITY_WEIGHTS: Array<[Modality, number]> = [
  ['diagnosis', 0.3],
  ['procedure', 0.1],
  ['medication', 0.2],
  ['lab', 0.22],
  ['vital', 0.15],
  ['smoking', 0.015],
  ['characteristic', 0.015],
];

const DAY = 86_400_000;
const END = Date.parse('2024-12-31T00:00:00Z');
const SPAN = 15 * 365 * DAY;
const STATIC_PARTS = ['age', 'segment', 'position', 'static'] as const;

function gaussian(rand: () => number): number {
  // Box-Muller; 1 - u keeps log() away from 0
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function stressPatient(nEvents = 2000, seed = 1): { patient: Patient; result: AttributionResult } {
  const rand = rng(seed);
  const nVisits = Math.max(1, Math.round(nEvents * 0.15));
  const byModality = new Map<Modality, CodeInfo[]>();
  for (const c of CODE_CATALOGUE) byModality.set(c.modality, [...(byModality.get(c.modality) ?? []), c]);
  const pickModality = (): Modality => {
    let u = rand();
    for (const [m, w] of MODALITY_WEIGHTS) if ((u -= w) < 0) return m;
    return 'diagnosis';
  };

  // visit dates: sorted random days over 15 years, a few on the same day (a realistic nuisance)
  const days = Array.from({ length: nVisits }, () => Math.floor(rand() * (SPAN / DAY))).sort((a, b) => a - b);
  const visits: Visit[] = days.map((d, i) => ({ date: new Date(END - SPAN + d * DAY).toISOString().slice(0, 10), id: `enc${i + 1}`, events: [] }));
  // events: busy visits get more (a squared uniform weight), every visit at least one when possible
  const weights = visits.map(() => 0.2 + rand() ** 2);
  const wSum = weights.reduce((s, w) => s + w, 0);
  const visitFor = () => {
    let u = rand() * wSum;
    for (let i = 0; i < weights.length; i++) if ((u -= weights[i]) < 0) return i;
    return weights.length - 1;
  };
  for (let k = 0; k < nEvents; k++) {
    const vi = k < nVisits ? k : visitFor();
    const modality = pickModality();
    const pool = byModality.get(modality)!;
    const info = pool[Math.floor(rand() * pool.length)];
    const ev: ClinicalEvent = { modality, code: info.code };
    if (info.unit) {
      ev.value = round(10 + rand() * 140, 1);
      ev.unit = info.unit;
    }
    visits[vi].events.push(ev);
  }
  const patient: Patient = { id: `stress-${nEvents}-${seed}`, sex: rand() < 0.5 ? 'F' : 'M', birthDate: '1950-03-15', visits };
  return { patient, result: stressResult(patient, seed + 1) };
}

/** A fake result for `patient`: random attributions on a plausible token layout (CLS, one slot per
 *  diagnosis or a placeholder, laid-on events wrapped over the slots, SEP per visit). */
export function stressResult(patient: Patient, seed = 2, samplesDone = 128, samplesTotal = 128): AttributionResult {
  const rand = rng(seed);
  // a few codes matter a lot, most a little: a heavy tail like real attributions
  const codeScale = new Map<string, number>();
  const scaleOf = (key: string) => {
    let s = codeScale.get(key);
    if (s === undefined) codeScale.set(key, (s = rand() < 0.08 ? 0.15 + rand() * 0.2 : 0.005 + rand() * 0.03));
    return s;
  };
  const tokenVisit: number[] = [-1]; // CLS
  const eventParts: Modality[] = ['diagnosis', 'procedure', 'medication', 'lab', 'vital', 'smoking', 'characteristic'];
  const token: Record<string, number[]> = {};
  const tokenStderr: Record<string, number[]> = {};
  const events: EventAttribution[] = [];
  const push = (part: string, t: number, value: number, se: number) => {
    (token[part] ??= [])[t] = (token[part][t] ?? 0) + value;
    (tokenStderr[part] ??= [])[t] = (tokenStderr[part][t] ?? 0) + se;
  };
  const draw = (key: string) => {
    const s = scaleOf(key);
    return { value: gaussian(rand) * s, stderr: s * (0.03 + 0.1 * rand()) };
  };
  patient.visits.forEach((v, vi) => {
    const dx = v.events.map((e, i) => ({ e, i })).filter(({ e }) => e.modality === 'diagnosis');
    const slots: number[] = [];
    const slot = (event: number, code: string) => {
      const t = tokenVisit.length;
      tokenVisit.push(vi);
      slots.push(t);
      const a = draw(`diagnosis:${code}`);
      push('diagnosis', t, a.value, a.stderr);
      events.push({ visit: vi, event, part: 'diagnosis', row: 0, t, modality: 'diagnosis', code, value: a.value, stderr: a.stderr });
    };
    if (dx.length === 0) slot(-1, '[no diagnosis]');
    for (const { e, i } of dx) slot(i, e.code);
    tokenVisit.push(vi); // SEP
    for (const part of eventParts.slice(1)) {
      let j = 0;
      v.events.forEach((e, i) => {
        if (e.modality !== part) return;
        const t = slots[j % slots.length];
        const row = Math.floor(j / slots.length);
        j++;
        const a = draw(`${part}:${e.code}`);
        push(part, t, a.value, a.stderr);
        events.push({ visit: vi, event: i, part, row, t, modality: part, code: e.code, value: a.value, stderr: a.stderr });
      });
    }
  });
  const L = tokenVisit.length;
  for (const part of [...eventParts, ...STATIC_PARTS]) {
    token[part] = Array.from({ length: L }, (_, t) => token[part]?.[t] ?? 0);
    tokenStderr[part] = Array.from({ length: L }, (_, t) => tokenStderr[part]?.[t] ?? 0);
  }
  // the non-event parts: small per-token values, age a little larger (older = riskier)
  for (const part of STATIC_PARTS) {
    const s = part === 'age' ? 0.01 : 0.002;
    for (let t = 0; t < L; t++) {
      token[part][t] = (part === 'age' ? 0.5 * s : 0) + gaussian(rand) * s;
      tokenStderr[part][t] = s * 0.1;
    }
  }
  const modality: Record<string, number> = {};
  const visit: Record<number, number> = {};
  let stderrSum = 0;
  for (const [part, vals] of Object.entries(token)) {
    modality[part] = vals.reduce((s, x) => s + x, 0);
    vals.forEach((x, t) => (visit[tokenVisit[t]] = (visit[tokenVisit[t]] ?? 0) + x));
    stderrSum += tokenStderr[part].reduce((s, x) => s + x, 0);
  }
  const code: Record<string, number> = {};
  for (const e of events) code[`${e.modality}:${e.code}`] = (code[`${e.modality}:${e.code}`] ?? 0) + e.value;
  const total = Object.values(modality).reduce((s, x) => s + x, 0);
  return {
    method: 'eg',
    task: 'stress',
    patientId: patient.id,
    logit: total - 2,
    referenceLogit: -2,
    referenceSize: 300,
    samplesDone,
    samplesTotal,
    token,
    tokenStderr,
    visit,
    modality,
    code,
    events,
    gap: 0,
    plainGap: 0,
    stderr: L ? stderrSum / L : 0,
    truncatedVisits: 0,
    done: samplesDone >= samplesTotal,
    cancelled: false,
  };
}
