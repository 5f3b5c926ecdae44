// One request and one result shape for every attribution method, so that views, exports and the
// faithfulness checks never branch on the method.
import type { Patient } from '../data/schema';
import type { TokenGrid } from '../tokens/layout';

export type Method = 'eg' | 'ig' | 'gxi' | 'occlusion';

/** Whether the method takes a count: EG's samples, IG's steps (gradient x input and occlusion run once). */
export const usesSamples = (method: Method): boolean => method === 'eg' || method === 'ig';

export interface AttributeRequest {
  patient: Patient;
  task: string;
  method: Method;
  /** reference population (EG draws from it; IG uses its first grid, or all-PAD when empty) */
  reference?: TokenGrid[];
  /** EG/IG samples (IG: path steps) */
  samples?: number;
  seed?: number;
  /** samples per forward+backward; default from sequence length */
  batchSize?: number;
  /** IG baseline: 'pad' (all-PAD patient) or 'reference' (reference[0]) */
  baseline?: 'pad' | 'reference';
  onProgress?: (partial: AttributionResult) => void;
  signal?: AbortSignal;
}

export interface EventAttribution {
  visit: number;
  /** index into the visit's events; -1 for a placeholder slot */
  event: number;
  part: string;
  row: number;
  t: number;
  modality: string;
  code: string;
  value: number;
  stderr: number;
}

export interface AttributionResult {
  method: Method;
  task: string;
  patientId: string;
  /** logit of the patient */
  logit: number;
  /** mean logit of the references (EG), baseline logit (IG), 0 otherwise */
  referenceLogit: number;
  /** how many reference patients the explanation compared with: EG the references in the task's
   *  population that it drew from, IG 1 with a reference baseline, 0 otherwise */
  referenceSize: number;
  samplesDone: number;
  samplesTotal: number;
  /** per part (diagnosis, modalities, age, segment, position, static) per token */
  token: Record<string, number[]>;
  /** standard error per part per token (0 where the method has no sampling) */
  tokenStderr: Record<string, number[]>;
  /** per original visit index */
  visit: Record<number, number>;
  /** per part: diagnosis, procedure, ..., age, segment, position, static */
  modality: Record<string, number>;
  /** per `<modality>:<code>` summed over its events */
  code: Record<string, number>;
  events: EventAttribution[];
  /** sum(phi) - (f(x) - referenceLogit); NaN for methods without completeness (gxi, occlusion) */
  gap: number;
  /** the same gap for the plain mean of the samples, before EG's control-variate correction (see
   *  cvEstimate in path.ts): the Monte-Carlo error that the correction removes. Equal to `gap` for
   *  IG, whose samples are not corrected; NaN where `gap` is */
  plainGap: number;
  /** mean over tokens of the per-token stderr summed over parts */
  stderr: number;
  /** tokens cut by max_len, said so in the result */
  truncatedVisits: number;
  done: boolean;
  cancelled: boolean;
}
