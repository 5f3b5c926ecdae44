// Small display helpers shared by the app's components.
import { ageInYears, type Patient } from '../data/schema';
import type { BackendName } from '../state/engine-client';

/** The backend label the page shows (and the browser tests read). */
export const BACKEND_LABEL: Record<BackendName, string> = { webgpu: 'WebGPU', wasm: 'wasm', cpu: 'cpu' };

export const SEX_LABEL: Record<Patient['sex'], string> = { F: 'female', M: 'male', U: 'unknown' };

export const MODEL_TYPE_LABEL: Record<string, string> = { exbehrt: 'ExBEHRT', behrt: 'BEHRT' };

/** The last visit's date (the index date predictions are made at), or null without visits. */
export const lastVisitDate = (p: Patient): string | null => (p.visits.length ? p.visits[p.visits.length - 1].date : null);

/** Whole years of age at the last visit, or null without visits. */
export function ageAtLastVisit(p: Patient): number | null {
  const d = lastVisitDate(p);
  return d ? Math.floor(ageInYears(p.birthDate, d)) : null;
}

/** A probability as the risk card shows it: 4 decimals. */
export const formatProbability = (p: number) => p.toFixed(4);

/** A metric (AUROC, AUPRC) with 3 decimals; null (undefined for a task without both classes) as n/a. */
export const formatMetric = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(3));
