// The attribution timeline's view model: a pure function from a patient and an (optionally
// partial) attribution result to what the chart draws — marks per event, visits, lanes, the static
// strip — plus the summary rows (per-part totals, top codes). No React, no tensors, no DOM, so it
// runs in tests and is cheap enough to rebuild on every progressive result (a few times a second).
import { interpolateRdBu } from 'd3';
import type { AttributionResult, Method } from '../../attribution/types';
import { describeCode, unitOf } from '../../data/codes';
import type { Modality, Patient } from '../../data/schema';

export type LaneId = 'diagnosis' | 'procedure' | 'medication' | 'lab' | 'vital' | 'other';

export interface LaneSpec {
  id: LaneId;
  label: string;
  modalities: readonly Modality[];
}

/** Lanes top to bottom. Smoking and characteristic events are rare, so they share one lane. */
export const LANES: readonly LaneSpec[] = [
  { id: 'diagnosis', label: 'Diagnoses', modalities: ['diagnosis'] },
  { id: 'procedure', label: 'Procedures', modalities: ['procedure'] },
  { id: 'medication', label: 'Medications', modalities: ['medication'] },
  { id: 'lab', label: 'Labs', modalities: ['lab'] },
  { id: 'vital', label: 'Vitals', modalities: ['vital'] },
  { id: 'other', label: 'Other', modalities: ['smoking', 'characteristic'] },
];

const LANE_OF: Record<Modality, LaneId> = {
  diagnosis: 'diagnosis',
  procedure: 'procedure',
  medication: 'medication',
  lab: 'lab',
  vital: 'vital',
  smoking: 'other',
  characteristic: 'other',
};

/** Display names of the result's parts (result.modality keys), in display order. */
export const PART_LABEL: Record<string, string> = {
  diagnosis: 'Diagnoses',
  procedure: 'Procedures',
  medication: 'Medications',
  lab: 'Labs',
  vital: 'Vitals',
  smoking: 'Smoking',
  characteristic: 'Characteristics',
  age: 'Age',
  segment: 'Segment',
  position: 'Visit position',
  static: 'Sex',
};
const PART_ORDER = Object.keys(PART_LABEL);

/** Parts that belong to no event: they are drawn in the static strip left of the lanes. */
export const STATIC_PARTS = ['age', 'segment', 'position', 'static'] as const;

export interface TimelineMark {
  /** `${visit}:${event}`: stable across progressive results of the same patient */
  id: string;
  visit: number;
  event: number;
  date: string;
  /** UTC milliseconds of the visit date */
  time: number;
  lane: LaneId;
  modality: Modality;
  code: string;
  description: string | undefined;
  value: number | undefined;
  unit: string | undefined;
  /** null: no result yet, or the event is not in the model's input (truncated visit, dropped
   *  row, a modality the model does not read) */
  attribution: number | null;
  stderr: number | null;
  /** position of this mark among its visit's marks in the same lane, and how many there are */
  stack: number;
  stackSize: number;
}

export interface TimelineVisit {
  index: number;
  date: string;
  time: number;
  /** result.visit[index]: every part of every token of the visit (placeholder and [SEP] included) */
  contribution: number | null;
  eventCount: number;
  /** marks of this visit, in lane order then event order: model.marks[firstMark + j] is markIds[j] */
  markIds: string[];
  firstMark: number;
}

export interface StaticPartCell {
  part: string;
  label: string;
  attribution: number | null;
}

export interface TimelineLane extends LaneSpec {
  markCount: number;
  /** the most marks any one visit has in this lane */
  maxStack: number;
}

export interface TimelineModel {
  patientId: string;
  /** changes when the set of marks or visits changes (another patient, a what-if edit), not when
   *  only attributions change: the chart re-joins its marks on this and only recolours otherwise */
  structureKey: string;
  marks: TimelineMark[];
  markIndex: ReadonlyMap<string, number>;
  visits: TimelineVisit[];
  lanes: TimelineLane[];
  /** mark indices per lane, ordered by time (then visit, then stack): keyboard navigation order */
  laneOrder: Record<LaneId, number[]>;
  staticParts: StaticPartCell[];
  /** [first, last] visit time in UTC ms; [0, 0] without visits */
  timeExtent: [number, number];
  /** the mark colour domain is ±markMax: the 95th percentile of |attribution| over marks (the max
   *  for fewer than 20 marks; 0 when none), so that one or two dominant events do not wash every
   *  other mark out to the pale centre; the few beyond it take the darkest band */
  markMax: number;
  /** max |contribution| over visits (0 when none) */
  visitMax: number;
  /** max |attribution| over the static strip */
  staticMax: number;
  result: {
    method: Method;
    task: string;
    samplesDone: number;
    samplesTotal: number;
    done: boolean;
    logit: number;
    referenceLogit: number;
  } | null;
}

const dayMs = (date: string) => Date.parse(date + 'T00:00:00Z');

/** Everything about a patient's timeline that does not depend on attributions. Built once per
 *  patient object (patients are treated as immutable: a what-if edit makes a new object), so a
 *  progressive result only costs the attribution pass. */
interface Skeleton {
  structureKey: string;
  marks: TimelineMark[];
  markIndex: ReadonlyMap<string, number>;
  /** [visit][event] -> mark index */
  eventMark: number[][];
  visits: TimelineVisit[];
  lanes: TimelineLane[];
  laneOrder: Record<LaneId, number[]>;
  timeExtent: [number, number];
}

const skeletons = new WeakMap<Patient, Skeleton>();

function skeletonOf(patient: Patient): Skeleton {
  const cached = skeletons.get(patient);
  if (cached) return cached;
  const marks: TimelineMark[] = [];
  const visits: TimelineVisit[] = [];
  const eventMark: number[][] = [];
  const laneCounts = Object.fromEntries(LANES.map((l) => [l.id, { count: 0, max: 0 }])) as Record<LaneId, { count: number; max: number }>;
  let t0 = Infinity;
  let t1 = -Infinity;
  patient.visits.forEach((v, vi) => {
    const time = dayMs(v.date);
    t0 = Math.min(t0, time);
    t1 = Math.max(t1, time);
    const perLane = new Map<LaneId, number[]>();
    v.events.forEach((ev, ei) => {
      const lane = LANE_OF[ev.modality];
      let list = perLane.get(lane);
      if (!list) perLane.set(lane, (list = []));
      list.push(ei);
    });
    const markIds: string[] = [];
    const toMark: number[] = [];
    const firstMark = marks.length;
    for (const lane of LANES) {
      const list = perLane.get(lane.id);
      if (!list) continue;
      const c = laneCounts[lane.id];
      c.count += list.length;
      c.max = Math.max(c.max, list.length);
      list.forEach((ei, stack) => {
        const ev = v.events[ei];
        const id = `${vi}:${ei}`;
        markIds.push(id);
        toMark[ei] = marks.length;
        marks.push({
          id,
          visit: vi,
          event: ei,
          date: v.date,
          time,
          lane: lane.id,
          modality: ev.modality,
          code: ev.code,
          description: describeCode(ev.modality, ev.code),
          value: ev.value,
          unit: ev.unit ?? (ev.value !== undefined ? unitOf(ev.modality, ev.code) : undefined),
          attribution: null,
          stderr: null,
          stack,
          stackSize: list.length,
        });
      });
    }
    eventMark.push(toMark);
    visits.push({ index: vi, date: v.date, time, contribution: null, eventCount: v.events.length, markIds, firstMark });
  });
  const laneOrder = Object.fromEntries(LANES.map((l) => [l.id, [] as number[]])) as Record<LaneId, number[]>;
  marks.forEach((m, i) => laneOrder[m.lane].push(i));
  for (const lane of LANES) {
    laneOrder[lane.id].sort((a, b) => marks[a].time - marks[b].time || marks[a].visit - marks[b].visit || marks[a].stack - marks[b].stack);
  }
  const skeleton: Skeleton = {
    // includes every visit's date and per-lane counts, so a what-if edit that removes or moves an event changes it
    structureKey: `${patient.id}|${marks.length}|${patient.visits.map((v, vi) => `${v.date}/${visits[vi].markIds.length}`).join(',')}`,
    marks,
    markIndex: new Map(marks.map((m, i) => [m.id, i])),
    eventMark,
    visits,
    lanes: LANES.map((l) => ({ ...l, markCount: laneCounts[l.id].count, maxStack: laneCounts[l.id].max })),
    laneOrder,
    timeExtent: visits.length ? [t0, t1] : [0, 0],
  };
  skeletons.set(patient, skeleton);
  return skeleton;
}

function robustMax(values: Float64Array): number {
  const abs = Array.from(values).filter((v) => !Number.isNaN(v)).map(Math.abs).sort((a, b) => a - b);
  if (!abs.length) return 0;
  return abs.length < 20 ? abs[abs.length - 1] : abs[Math.floor(0.95 * (abs.length - 1))];
}

export function buildTimeline(patient: Patient, result: AttributionResult | null): TimelineModel {
  const sk = skeletonOf(patient);
  // a result for another patient must not colour this one (a stale batch after a switch)
  const r = result && result.patientId === patient.id ? result : null;
  let marks = sk.marks;
  let visits = sk.visits;
  let markMax = 0;
  let visitMax = 0;
  if (r) {
    const value = new Float64Array(marks.length).fill(NaN);
    const stderr = new Float64Array(marks.length);
    for (const e of r.events) {
      const i = e.event >= 0 ? sk.eventMark[e.visit]?.[e.event] : undefined;
      if (i === undefined) continue;
      value[i] = e.value;
      stderr[i] = e.stderr;
    }
    markMax = robustMax(value);
    marks = marks.map((m, i) => (Number.isNaN(value[i]) ? m : { ...m, attribution: value[i], stderr: stderr[i] }));
    visits = visits.map((v) => {
      const contribution = r.visit[v.index];
      if (contribution === undefined) return v;
      visitMax = Math.max(visitMax, Math.abs(contribution));
      return { ...v, contribution };
    });
  }

  let staticMax = 0;
  const staticParts = STATIC_PARTS.map((part) => {
    const value = r?.modality[part];
    const attribution = value === undefined ? null : value;
    if (attribution !== null) staticMax = Math.max(staticMax, Math.abs(attribution));
    return { part, label: PART_LABEL[part], attribution };
  });

  return {
    patientId: patient.id,
    structureKey: sk.structureKey,
    marks,
    markIndex: sk.markIndex,
    visits,
    lanes: sk.lanes,
    laneOrder: sk.laneOrder,
    staticParts,
    timeExtent: sk.timeExtent,
    markMax,
    visitMax,
    staticMax,
    result: r
      ? {
          method: r.method,
          task: r.task,
          samplesDone: r.samplesDone,
          samplesTotal: r.samplesTotal,
          done: r.done,
          logit: r.logit,
          referenceLogit: r.referenceLogit,
        }
      : null,
  };
}

// ---- colour -------------------------------------------------------------------------------------

/** Marks without an attribution: a mid grey, darker than the scale's pale centre, so "not
 *  attributed" never reads as "attributed zero". */
export const NO_ATTRIBUTION_COLOUR = '#8c959f';

/** A colour-blind-safe diverging scale (ColorBrewer RdBu, reversed so that risk-raising is red)
 *  centred at zero over the symmetric domain ±domainMax; values beyond the domain clamp. With a
 *  zero (or invalid) domain everything maps to the neutral centre instead of dividing by zero.
 *  stepsPerSide > 0 quantises to that many classes on each side of a neutral centre class. */
export function attributionColour(domainMax: number, stepsPerSide = 0): (value: number | null) => string {
  const max = Number.isFinite(domainMax) && domainMax > 0 ? domainMax : 0;
  // in steps there are only 2 * stepsPerSide + 1 colours: each is interpolated and formatted once
  // (per mark, that was most of a 2,000-event timeline's first scene)
  const stepColours = new Map<number, string>();
  return (value) => {
    if (value === null || !Number.isFinite(value)) return NO_ATTRIBUTION_COLOUR;
    const s = max > 0 ? Math.max(-1, Math.min(1, value / max)) : 0;
    if (stepsPerSide <= 0) return interpolateRdBu(0.5 - s / 2);
    const step = Math.round(s * stepsPerSide);
    let colour = stepColours.get(step);
    if (colour === undefined) stepColours.set(step, (colour = interpolateRdBu(0.5 - step / stepsPerSide / 2)));
    return colour;
  };
}

/** The smallest 1, 2, 2.5 or 5 × 10^k at or above x (0 for x <= 0). The chart's colour domains are
 *  rounded up to these, so that a progressive result whose maximum drifts a little does not
 *  recolour every mark on every batch. */
export function niceDomain(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 0;
  const e = 10 ** Math.floor(Math.log10(x));
  const m = x / e;
  // a little tolerance: 2.0000000001 (float noise) stays 2
  const step = [1, 2, 2.5, 5, 10].find((t) => m <= t * (1 + 1e-9)) ?? 10;
  return step * e;
}

// ---- text ---------------------------------------------------------------------------------------

/** An attribution with its sign: 3 decimals, or 2 significant digits when smaller than 0.001. */
export function formatAttribution(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v === 0) return '0.000';
  const sign = v > 0 ? '+' : '\u2212';
  const a = Math.abs(v);
  return sign + (a >= 0.0005 ? a.toFixed(3) : a.toExponential(1));
}

/** A standard error (no sign), same precision rules as formatAttribution. */
export function formatStderr(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v === 0 || v >= 0.0005 ? v.toFixed(3) : v.toExponential(1);
}

const MODALITY_WORD: Record<Modality, string> = {
  diagnosis: 'diagnosis',
  procedure: 'procedure',
  medication: 'medication',
  lab: 'lab',
  vital: 'vital sign',
  smoking: 'smoking',
  characteristic: 'characteristic',
};

/** The attribution of a mark in words ("attribution +0.231 ± 0.012"), or why there is none. */
export function describeAttribution(m: Pick<TimelineMark, 'attribution' | 'stderr'>, hasResult: boolean): string {
  if (m.attribution === null) return hasResult ? 'not in the model input' : 'no attribution yet';
  const se = m.stderr !== null && m.stderr > 0 ? ` \u00b1 ${formatStderr(m.stderr)}` : '';
  return `attribution ${formatAttribution(m.attribution)}${se}`;
}

/** One sentence per mark, for screen readers and the tooltip:
 *  "2019-03-04, diagnosis I10 Essential (primary) hypertension, attribution +0.231 ± 0.012". */
export function describeMark(m: TimelineMark, hasResult: boolean): string {
  const what = [MODALITY_WORD[m.modality], m.code, m.description].filter(Boolean).join(' ');
  const value = m.value !== undefined ? `, ${m.value}${m.unit ? ' ' + m.unit : ''}` : '';
  return `${m.date}, ${what}${value}, ${describeAttribution(m, hasResult)}`;
}

// ---- summaries ----------------------------------------------------------------------------------

export interface ModalityTotalRow {
  part: string;
  label: string;
  total: number;
}

/** Total attribution per part (result.modality), in display order; parts this view does not know
 *  come last under their own name. The rows sum to the sum of result.modality. */
export function modalityTotals(result: AttributionResult): ModalityTotalRow[] {
  const parts = Object.keys(result.modality);
  const known = PART_ORDER.filter((p) => parts.includes(p));
  const unknown = parts.filter((p) => !PART_ORDER.includes(p)).sort();
  return [...known, ...unknown].map((part) => ({ part, label: PART_LABEL[part] ?? part, total: result.modality[part] }));
}

export interface TopCodeRow {
  rank: number;
  modality: string;
  code: string;
  description: string | undefined;
  /** result.code[`${modality}:${code}`]: summed over the code's events */
  total: number;
  count: number;
  /** mean of the per-event standard errors; null when the method has none (all zero) */
  meanStderr: number | null;
}

/** Placeholder slots of visits without diagnoses carry attribution too (the rollup names their
 *  code `[no diagnosis]`); the table says what they are instead of leaving the description blank. */
const PLACEHOLDER_DESCRIPTION = 'Placeholder slot of a visit without diagnoses';

/** The n codes with the largest |total attribution|, rank 1 first. Totals are result.code; counts
 *  and standard errors come from result.events. A result for another patient than `patient` (a
 *  stale batch after a switch) gives no rows; pass null to skip that check. */
export function topCodes(result: AttributionResult, patient: Patient | null, n = 20): TopCodeRow[] {
  if (patient && result.patientId !== patient.id) return [];
  const agg = new Map<string, { modality: string; code: string; count: number; seSum: number }>();
  for (const e of result.events) {
    const key = `${e.modality}:${e.code}`;
    let a = agg.get(key);
    if (!a) agg.set(key, (a = { modality: e.modality, code: e.code, count: 0, seSum: 0 }));
    a.count++;
    a.seSum += e.stderr;
  }
  const rows = Object.entries(result.code).map(([key, total]) => {
    const a = agg.get(key);
    const sep = key.indexOf(':');
    const modality = a?.modality ?? key.slice(0, sep);
    const code = a?.code ?? key.slice(sep + 1);
    const description = code === '[no diagnosis]' ? PLACEHOLDER_DESCRIPTION : describeCode(modality, code);
    const count = a?.count ?? 0;
    return { rank: 0, modality, code, description, total, count, meanStderr: a && a.seSum > 0 ? a.seSum / a.count : null };
  });
  rows.sort((x, y) => Math.abs(y.total) - Math.abs(x.total) || x.modality.localeCompare(y.modality) || x.code.localeCompare(y.code));
  return rows.slice(0, Math.max(0, n)).map((row, i) => ({ ...row, rank: i + 1 }));
}
