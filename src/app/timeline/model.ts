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
  { id: 'other', label: 'Smoking, other', modalities: ['smoking', 'characteristic'] },
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
  /** marks of this visit, in lane order then event order */
  markIds: string[];
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
  /** max |attribution| over marks (0 when none): the mark colour domain is ±markMax */
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

export function buildTimeline(patient: Patient, result: AttributionResult | null): TimelineModel {
  // a result for another patient must not colour this one (a stale batch after a switch)
  const r = result && result.patientId === patient.id ? result : null;
  const byEvent = new Map<string, { value: number; stderr: number }>();
  if (r) for (const e of r.events) if (e.event >= 0) byEvent.set(`${e.visit}:${e.event}`, { value: e.value, stderr: e.stderr });

  const marks: TimelineMark[] = [];
  const visits: TimelineVisit[] = [];
  const laneCounts = Object.fromEntries(LANES.map((l) => [l.id, { count: 0, max: 0 }])) as Record<LaneId, { count: number; max: number }>;
  let markMax = 0;
  let visitMax = 0;
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
    for (const lane of LANES) {
      const list = perLane.get(lane.id);
      if (!list) continue;
      const c = laneCounts[lane.id];
      c.count += list.length;
      c.max = Math.max(c.max, list.length);
      list.forEach((ei, stack) => {
        const ev = v.events[ei];
        const id = `${vi}:${ei}`;
        const a = byEvent.get(id);
        if (a) markMax = Math.max(markMax, Math.abs(a.value));
        markIds.push(id);
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
          attribution: a ? a.value : null,
          stderr: a ? a.stderr : null,
          stack,
          stackSize: list.length,
        });
      });
    }
    const contribution = r ? (r.visit[vi] ?? null) : null;
    if (contribution !== null) visitMax = Math.max(visitMax, Math.abs(contribution));
    visits.push({ index: vi, date: v.date, time, contribution, eventCount: v.events.length, markIds });
  });

  const markIndex = new Map(marks.map((m, i) => [m.id, i]));
  const laneOrder = Object.fromEntries(LANES.map((l) => [l.id, [] as number[]])) as Record<LaneId, number[]>;
  marks.forEach((m, i) => laneOrder[m.lane].push(i));
  for (const lane of LANES) {
    laneOrder[lane.id].sort((a, b) => marks[a].time - marks[b].time || marks[a].visit - marks[b].visit || marks[a].stack - marks[b].stack);
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
    structureKey: `${patient.id}|${patient.visits.length}|${marks.length}|${t0}|${t1}|${visits.map((v) => v.markIds.length).join(',')}`,
    marks,
    markIndex,
    visits,
    lanes: LANES.map((l) => ({ ...l, markCount: laneCounts[l.id].count, maxStack: laneCounts[l.id].max })),
    laneOrder,
    staticParts,
    timeExtent: visits.length ? [t0, t1] : [0, 0],
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
 *  zero (or invalid) domain everything maps to the neutral centre instead of dividing by zero. */
export function attributionColour(domainMax: number): (value: number | null) => string {
  const max = Number.isFinite(domainMax) && domainMax > 0 ? domainMax : 0;
  return (value) => {
    if (value === null || !Number.isFinite(value)) return NO_ATTRIBUTION_COLOUR;
    const s = max > 0 ? Math.max(-1, Math.min(1, value / max)) : 0;
    return interpolateRdBu(0.5 - s / 2);
  };
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
