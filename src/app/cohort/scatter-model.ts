// The cohort scatter's view model: pixel coordinates, colours and the legend for one colouring,
// computed once and drawn by either renderer (SVG circles for small cohorts, a canvas for large
// ones), and read by the lasso, so that what is selected is what is seen.
import { scaleLinear, schemeTableau10 } from 'd3';
import type { CohortOutcome } from '../../state/engine-client';
import { attributionColour } from '../timeline/model';

export type ColourBy = 'cluster' | 'risk' | 'outcome';

export const SCATTER_WIDTH = 460;
export const SCATTER_HEIGHT = 340;
const PAD = 12;
/** above this many points the scatter is drawn on a canvas: thousands of SVG circles make every
 *  re-render (a new selection, another colouring) cost tens of milliseconds of style and layout */
export const CANVAS_THRESHOLD = 400;
export const POINT_RADIUS = 3.5;
export const SELECTED_PATIENT_RADIUS = 6;

export const clusterColour = (c: number) => (c < 0 ? '#8c959f' : schemeTableau10[c % 10]);
export const OUTCOME_COLOURS = { positive: '#b2182b', negative: '#92c5de', unknown: '#d0d7de' } as const;
// risk 0 -> blue, 0.5 -> white, 1 -> red: the attribution scale read as a probability
const riskColour = attributionColour(1);
export const riskToColour = (p: number | undefined) => riskColour(2 * (p ?? 0) - 1);

export interface ScatterLayout {
  width: number;
  height: number;
  ids: string[];
  /** pixel coordinates in the scatter's box, x0 y0 x1 y1 ... (y grows downwards) */
  xy: Float64Array;
  fills: string[];
  /** cluster label per point (-1: DBSCAN noise) */
  labels: number[];
}

export interface LegendEntry {
  label: string;
  colour: string;
}

/** Points of a cohort run in the scatter's pixel box, coloured by cluster, predicted risk or
 *  recorded outcome for `task`. */
export function scatterLayout(o: Pick<CohortOutcome, 'ids' | 'xy' | 'labels' | 'risks' | 'outcomes'>, task: string, colourBy: ColourBy, width = SCATTER_WIDTH, height = SCATTER_HEIGHT): ScatterLayout {
  const n = o.ids.length;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, o.xy[2 * i]);
    x1 = Math.max(x1, o.xy[2 * i]);
    y0 = Math.min(y0, o.xy[2 * i + 1]);
    y1 = Math.max(y1, o.xy[2 * i + 1]);
  }
  const sx = scaleLinear().domain([x0, x1]).range([PAD, width - PAD]);
  const sy = scaleLinear().domain([y0, y1]).range([height - PAD, PAD]);
  const xy = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    xy[2 * i] = sx(o.xy[2 * i]);
    xy[2 * i + 1] = sy(o.xy[2 * i + 1]);
  }
  const risk = o.risks[task];
  const outcome = o.outcomes[task];
  const fills = o.ids.map((_, i) => {
    if (colourBy === 'cluster') return clusterColour(o.labels[i]);
    if (colourBy === 'risk') return risk && !Number.isFinite(risk[i]) ? OUTCOME_COLOURS.unknown : riskToColour(risk?.[i]); // no risk: outside the task's population
    const y = outcome?.[i];
    return y === 1 ? OUTCOME_COLOURS.positive : y === 0 ? OUTCOME_COLOURS.negative : OUTCOME_COLOURS.unknown;
  });
  return { width, height, ids: o.ids, xy, fills, labels: o.labels };
}

/** What each colour means, for the legend under the scatter. */
export function scatterLegend(colourBy: ColourBy, labels: readonly number[], task: string): LegendEntry[] {
  if (colourBy === 'cluster')
    return [...new Set(labels)].sort((a, b) => (a < 0 ? 1 : b < 0 ? -1 : a - b)).map((c) => ({ label: c < 0 ? 'noise' : `cluster ${c}`, colour: clusterColour(c) }));
  if (colourBy === 'risk') return [0, 0.25, 0.5, 0.75, 1].map((p) => ({ label: `${task} risk ${p}`, colour: riskToColour(p) }));
  return [
    { label: `${task} recorded`, colour: OUTCOME_COLOURS.positive },
    { label: `no ${task}`, colour: OUTCOME_COLOURS.negative },
    { label: 'outcome unknown', colour: OUTCOME_COLOURS.unknown },
  ];
}
