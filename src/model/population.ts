// A task's population (config.json `tasks[].population`): the patients a task is defined for, e.g.
// death_6m among patients with a cancer diagnosis. Its head was trained on them only, so outside
// the population the model's output means nothing: no risk is given and nothing is explained.
// One definition for training, prediction and references: a diagnosis token the model reads (after
// truncation and vocabulary lookup) whose code starts with the population's prefix.
import type { TokenGrid } from '../tokens/layout';
import type { Vocab } from '../tokens/vocab';
import type { TaskConfig } from './config';

export function inTaskPopulation(task: Pick<TaskConfig, 'population'>, grid: TokenGrid, vocab: Vocab): boolean {
  const prefix = task.population?.diagnosis_prefix;
  if (!prefix) return true;
  for (let t = 0; t < grid.realLength; t++) if (vocab.diagnosis[grid.diagnosis[t]]?.startsWith(prefix)) return true;
  return false;
}

/** The sentence the views and errors use, e.g. "death_6m is defined for patients with a cancer
 *  diagnosis (a diagnosis code starting with C)". */
export function populationSentence(task: Pick<TaskConfig, 'name' | 'population'>): string {
  const p = task.population;
  return p ? `${task.name} is defined for ${p.description} (a diagnosis code starting with ${p.diagnosis_prefix})` : `${task.name} is defined for every patient`;
}

/** The reference grids a task's explanations compare with: those in its population (all of them
 *  for a task without one). */
export function populationReferences(task: Pick<TaskConfig, 'population'>, grids: TokenGrid[], vocab: Vocab): TokenGrid[] {
  return task.population ? grids.filter((g) => inTaskPopulation(task, g, vocab)) : grids;
}
