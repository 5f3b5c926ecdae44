// model-card.json: what a model is for, what it was trained on, how well it did. Lenient: only the
// fields the workbench shows are checked; anything else is kept as is.
import { z } from 'zod';
import { issueLines } from '../data/zod-issues';

/** AUROC/AUPRC are null in JSON where they were NaN (one class absent in the test set) */
const score = z.number().nullable();
export const TaskMetricsSchema = z
  .object({ auroc: score, auprc: score, n: z.number().int().nonnegative(), positives: z.number().nonnegative() })
  .catchall(z.number().nullable());
export type TaskMetrics = z.infer<typeof TaskMetricsSchema>;

export const ModelCardSchema = z.looseObject({
  name: z.string().min(1),
  model_type: z.string().min(1),
  version: z.union([z.string(), z.number().transform(String)]).optional(),
  intended_use: z.string(),
  out_of_scope: z.string().optional(),
  training_data: z.string(),
  reference_population: z.string().optional(),
  /** task name (or a subgroup label such as "death_6m (cancer patients)") -> held-out metrics */
  metrics: z.record(z.string(), TaskMetricsSchema).optional(),
  /** the same metrics of the baseline model, for comparison */
  baseline_metrics: z.record(z.string(), TaskMetricsSchema).optional(),
  baseline_name: z.string().optional(),
  training: z.looseObject({ command: z.string(), seed: z.number().optional() }).optional(),
  created: z.string().optional(),
});
export type ModelCard = z.infer<typeof ModelCardSchema>;

export class ModelCardError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ModelCardError';
    this.problems = problems;
  }
}

export function parseModelCard(json: unknown, file = 'model-card.json'): ModelCard {
  const res = ModelCardSchema.safeParse(json);
  if (!res.success)
    throw new ModelCardError(issueLines(res.error, file));
  return res.data;
}
