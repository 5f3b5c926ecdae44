// attribute(): one entry point and one result shape for every method.
import { inTaskPopulation, populationReferences, populationSentence } from '../model/population';
import type { LoadedModel } from '../model/runtime';
import { tokenize } from '../tokens/layout';
import { egDraws } from './expected-gradients';
import { gxiDraws } from './gradient-x-input';
import { igDraws, padBaseline } from './integrated-gradients';
import { occlusion } from './occlusion';
import { AttributionError, OutsidePopulationError, pathAttribution } from './path';
import { usesSamples, type AttributeRequest, type AttributionResult } from './types';

export { AttributionError, OutsidePopulationError };
export const MAX_SAMPLES = 10_000;

export async function attribute(model: LoadedModel, req: AttributeRequest): Promise<AttributionResult> {
  const c = model.folder.config;
  if (!c.tasks.some((t) => t.name === req.task))
    throw new AttributionError(`unknown task ${JSON.stringify(req.task)}: this model has ${c.tasks.map((t) => t.name).join(', ')}`);
  const samples = req.samples ?? (req.method === 'ig' ? 32 : 128);
  if (usesSamples(req.method)) {
    if (!Number.isInteger(samples) || samples <= 0) throw new AttributionError(`samples must be a positive integer, got ${req.samples}`);
    if (samples > MAX_SAMPLES) throw new AttributionError(`samples ${samples} is more than the limit of ${MAX_SAMPLES}`);
  }
  const grid = tokenize(req.patient, model.folder.vocab, c);
  // a task with a population: nothing to explain outside it, and references from within it
  const task = c.tasks.find((t) => t.name === req.task)!;
  if (!inTaskPopulation(task, grid, model.folder.vocab))
    throw new OutsidePopulationError(`patient ${req.patient.id}: ${populationSentence(task)}; this patient has no such diagnosis, so the model gives no ${task.name} risk to explain`, populationSentence(task));
  const inPopulation = populationReferences(task, req.reference ?? [], model.folder.vocab);
  if (task.population && req.reference?.length && !inPopulation.length)
    throw new AttributionError(`none of the ${req.reference.length} reference patients is in ${task.name}'s population (${task.population.description}): choose a wider reference population`);
  const common = { model, patient: req.patient, grid, task: req.task, onProgress: req.onProgress, signal: req.signal, batchSize: req.batchSize };
  switch (req.method) {
    case 'eg': {
      const refs = inPopulation;
      if (refs.length === 0) throw new AttributionError('expected gradients needs a reference population: the reference set is empty');
      return pathAttribution({ ...common, method: 'eg', references: refs, referenceSize: refs.length, draws: egDraws(samples, refs.length, req.seed ?? 0), controlVariate: true });
    }
    case 'ig': {
      const base = req.baseline === 'reference' ? inPopulation[0] : padBaseline(c);
      if (!base) throw new AttributionError('integrated gradients with baseline "reference" needs a reference patient');
      return pathAttribution({ ...common, method: 'ig', references: [base], referenceSize: req.baseline === 'reference' ? 1 : 0, draws: igDraws(samples) });
    }
    case 'gxi':
      return pathAttribution({ ...common, method: 'gxi', references: 'zero', referenceSize: 0, draws: gxiDraws });
    case 'occlusion':
      return occlusion(common);
    default:
      throw new AttributionError(`unknown method ${JSON.stringify(req.method)}: use eg, ig, gxi or occlusion`);
  }
}
