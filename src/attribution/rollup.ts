// Roll per-token (and per-row) attributions up to events, visits, modalities and codes.
import type { Patient } from '../data/schema';
import type { TokenGrid } from '../tokens/layout';
import type { AttributionResult, EventAttribution, Method } from './types';

export interface TokenAttribution {
  /** part -> per-token mean attribution [L] */
  token: Record<string, Float64Array>;
  tokenStderr: Record<string, Float64Array>;
  /** modality part -> per-row per-token [rows * L] (rows of laid-on events) */
  rows: Record<string, Float64Array>;
  rowsStderr: Record<string, Float64Array>;
}

export function rollup(
  method: Method,
  task: string,
  patient: Patient,
  grid: TokenGrid,
  a: TokenAttribution,
  extra: { logit: number; referenceLogit: number; referenceSize: number; samplesDone: number; samplesTotal: number; gap: number; plainGap: number; done: boolean; cancelled: boolean },
): AttributionResult {
  const L = grid.realLength;
  const token: Record<string, number[]> = {};
  const tokenStderr: Record<string, number[]> = {};
  const modality: Record<string, number> = {};
  const visit: Record<number, number> = {};
  let stderrSum = 0;
  for (const [part, vals] of Object.entries(a.token)) {
    token[part] = Array.from(vals.subarray(0, L));
    tokenStderr[part] = Array.from(a.tokenStderr[part]?.subarray(0, L) ?? new Float64Array(L));
    modality[part] = token[part].reduce((s, x) => s + x, 0);
    for (let t = 0; t < L; t++) {
      const v = grid.tokenVisit[t];
      visit[v] = (visit[v] ?? 0) + token[part][t];
      stderrSum += tokenStderr[part][t];
    }
  }
  const events: EventAttribution[] = [];
  const code: Record<string, number> = {};
  for (const s of grid.slots) {
    const isDx = s.part === 'diagnosis';
    const value = isDx ? a.token.diagnosis[s.t] : a.rows[s.part]?.[s.row * L + s.t];
    if (value === undefined) continue;
    const stderr = isDx ? a.tokenStderr.diagnosis?.[s.t] ?? 0 : a.rowsStderr[s.part]?.[s.row * L + s.t] ?? 0;
    const ev = s.event >= 0 ? patient.visits[s.visit].events[s.event] : null;
    const c = ev ? ev.code : '[no diagnosis]';
    events.push({ visit: s.visit, event: s.event, part: s.part, row: s.row, t: s.t, modality: ev?.modality ?? 'diagnosis', code: c, value, stderr });
    const key = `${ev?.modality ?? 'diagnosis'}:${c}`;
    code[key] = (code[key] ?? 0) + value;
  }
  return {
    method,
    task,
    patientId: patient.id,
    logit: extra.logit,
    referenceLogit: extra.referenceLogit,
    referenceSize: extra.referenceSize,
    samplesDone: extra.samplesDone,
    samplesTotal: extra.samplesTotal,
    token,
    tokenStderr,
    visit,
    modality,
    code,
    events,
    gap: extra.gap,
    plainGap: extra.plainGap,
    stderr: L ? stderrSum / L : 0,
    truncatedVisits: grid.truncatedVisits,
    done: extra.done,
    cancelled: extra.cancelled,
  };
}
