// attribute(): one entry point and one result shape for every method.
import type { LoadedModel } from '../model/runtime';
import { tokenize } from '../tokens/layout';
import { egDraws } from './expected-gradients';
import { gxiDraws } from './gradient-x-input';
import { igDraws, padBaseline } from './integrated-gradients';
import { occlusion } from './occlusion';
import { AttributionError, pathAttribution } from './path';
import type { AttributeRequest, AttributionResult } from './types';

export { AttributionError };
export const MAX_SAMPLES = 10_000;

export async function attribute(model: LoadedModel, req: AttributeRequest): Promise<AttributionResult> {
  const c = model.folder.config;
  if (!c.tasks.some((t) => t.name === req.task))
    throw new AttributionError(`unknown task ${JSON.stringify(req.task)}: this model has ${c.tasks.map((t) => t.name).join(', ')}`);
  const samples = req.samples ?? (req.method === 'ig' ? 32 : 128);
  if (req.method === 'eg' || req.method === 'ig') {
    if (!Number.isInteger(samples) || samples <= 0) throw new AttributionError(`samples must be a positive integer, got ${req.samples}`);
    if (samples > MAX_SAMPLES) throw new AttributionError(`samples ${samples} is more than the limit of ${MAX_SAMPLES}`);
  }
  const grid = tokenize(req.patient, model.folder.vocab, c);
  const common = { model, patient: req.patient, grid, task: req.task, onProgress: req.onProgress, signal: req.signal, batchSize: req.batchSize };
  switch (req.method) {
    case 'eg': {
      const refs = req.reference ?? [];
      if (refs.length === 0) throw new AttributionError('expected gradients needs a reference population: the reference set is empty');
      return pathAttribution({ ...common, method: 'eg', references: refs, draws: egDraws(samples, refs.length, req.seed ?? 0) });
    }
    case 'ig': {
      const base = req.baseline === 'reference' ? req.reference?.[0] : padBaseline(c);
      if (!base) throw new AttributionError('integrated gradients with baseline "reference" needs a reference patient');
      return pathAttribution({ ...common, method: 'ig', references: [base], draws: igDraws(samples) });
    }
    case 'gxi':
      return pathAttribution({ ...common, method: 'gxi', references: 'zero', draws: gxiDraws });
    case 'occlusion':
      return occlusion(common);
    default:
      throw new AttributionError(`unknown method ${JSON.stringify(req.method)}: use eg, ig, gxi or occlusion`);
  }
}
