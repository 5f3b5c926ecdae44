// config.json of a model folder: the architecture, its modalities and tasks. Written by training,
// read by every loader; a BEHRT export writes the same file with no extra modalities.
import { z } from 'zod';
import { issueLines } from '../data/zod-issues';

// Limits on what a config.json may ask for. Nothing else bounds these: they fix no tensor shape, so
// a config claiming max_len 2^31 with valid weights would load and then allocate gigabytes per
// patient, and num_hidden_layers 2^31 would make the loader list tensors for ever (both found while
// writing tests/unit/fuzz-parsers.test.ts, which checks them). The limits are far above any BEHRT-sized model (the shipped
// ones: max_len 256, 2 layers, at most 3 rows).
/** the longest token sequence a model may read (BEHRT: 256 or 512) */
export const MAX_SEQUENCE_LENGTH = 4096;
export const MAX_LAYERS = 128;
/** rows a modality may lay onto the diagnosis slots */
export const MAX_ROWS = 64;

export const ModalityConfigSchema = z.object({
  /** timeline modality this table embeds (procedure, medication, lab, vital, smoking, characteristic) */
  name: z.string().min(1),
  vocab_size: z.number().int().positive(),
  /** wrap-around rows laid onto the diagnosis slots */
  rows: z.number().int().positive().max(MAX_ROWS, `at most ${MAX_ROWS} rows (the workbench's limit)`),
});

export const TaskConfigSchema = z.object({
  name: z.string().min(1),
  /** human-readable description, e.g. "heart failure within 12 months" */
  description: z.string().optional(),
  /** 1 for a binary head (one logit) */
  num_labels: z.number().int().positive().default(1),
  /** the patients the task is defined for (its head saw only them): those with a diagnosis code
   *  starting with `diagnosis_prefix`; absent: every patient (src/model/population.ts) */
  population: z.object({ diagnosis_prefix: z.string().min(1), description: z.string().min(1) }).optional(),
});
export type TaskConfig = z.infer<typeof TaskConfigSchema>;

export const ModelConfigSchema = z.object({
  model_type: z.enum(['exbehrt', 'behrt']),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive().max(MAX_LAYERS, `at most ${MAX_LAYERS} layers (the workbench's limit)`),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  /** token sequence length (CLS + diagnoses + SEPs), the longest a model reads */
  max_len: z.number().int().min(4).max(MAX_SEQUENCE_LENGTH, `at most ${MAX_SEQUENCE_LENGTH} tokens (the workbench's sequence limit)`),
  /** diagnosis vocabulary size (word_embeddings rows) */
  vocab_size: z.number().int().positive(),
  /** number of ages (age_embeddings rows); age index = floor(age in age_unit), clipped */
  age_vocab_size: z.number().int().positive(),
  age_unit: z.enum(['years', 'months']).default('years'),
  /** segment ids 0/1 */
  type_vocab_size: z.number().int().positive().default(2),
  /** visit positions (posi_embeddings rows) */
  max_position_embeddings: z.number().int().positive(),
  modalities: z.array(ModalityConfigSchema).default([]),
  /** static facts broadcast over every non-PAD token; null for none */
  static: z.object({ name: z.literal('sex'), vocab_size: z.number().int().positive() }).nullable().default(null),
  layer_norm_eps: z.number().positive().default(1e-12),
  hidden_act: z.literal('gelu').default('gelu'),
  /** added to attention scores of PAD keys: large and finite (never -Infinity, NaN on some backends) */
  attention_mask_value: z.number().finite().default(-10000),
  hidden_dropout_prob: z.number().min(0).max(1).default(0.1),
  attention_probs_dropout_prob: z.number().min(0).max(1).default(0.1),
  tasks: z.array(TaskConfigSchema).min(1),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseConfig(input: unknown, file = 'config.json'): ModelConfig {
  const res = ModelConfigSchema.safeParse(input);
  if (!res.success) {
    const msgs = issueLines(res.error, file);
    throw new ConfigError(msgs.join('\n'));
  }
  const c = res.data;
  if (c.hidden_size % c.num_attention_heads !== 0)
    throw new ConfigError(`${file}: field hidden_size: ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  const names = new Set<string>();
  for (const m of c.modalities) {
    if (names.has(m.name)) throw new ConfigError(`${file}: field modalities: modality ${m.name} listed twice`);
    names.add(m.name);
  }
  const tasks = new Set<string>();
  for (const t of c.tasks) {
    if (tasks.has(t.name)) throw new ConfigError(`${file}: field tasks: task ${t.name} listed twice`);
    tasks.add(t.name);
  }
  return c;
}

/** Every tensor a model of this config must carry, with its PyTorch shape ([out, in] for Linear).
 *  Names follow BEHRT's state_dict (see shared/design/EXBEHRT.md). The MLM head is optional. */
export function expectedTensors(c: ModelConfig, opts: { mlm?: boolean } = {}): Map<string, number[]> {
  const H = c.hidden_size;
  const I = c.intermediate_size;
  const t = new Map<string, number[]>();
  const e = 'bert.embeddings.';
  t.set(e + 'word_embeddings.weight', [c.vocab_size, H]);
  t.set(e + 'segment_embeddings.weight', [c.type_vocab_size, H]);
  t.set(e + 'age_embeddings.weight', [c.age_vocab_size, H]);
  t.set(e + 'posi_embeddings.weight', [c.max_position_embeddings, H]);
  for (const m of c.modalities) t.set(`${e}${m.name}_embeddings.weight`, [m.vocab_size, H]);
  if (c.static) t.set(`${e}${c.static.name}_embeddings.weight`, [c.static.vocab_size, H]);
  t.set(e + 'LayerNorm.weight', [H]);
  t.set(e + 'LayerNorm.bias', [H]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const l = `bert.encoder.layer.${i}.`;
    for (const q of ['query', 'key', 'value']) {
      t.set(`${l}attention.self.${q}.weight`, [H, H]);
      t.set(`${l}attention.self.${q}.bias`, [H]);
    }
    t.set(`${l}attention.output.dense.weight`, [H, H]);
    t.set(`${l}attention.output.dense.bias`, [H]);
    t.set(`${l}attention.output.LayerNorm.weight`, [H]);
    t.set(`${l}attention.output.LayerNorm.bias`, [H]);
    t.set(`${l}intermediate.dense.weight`, [I, H]);
    t.set(`${l}intermediate.dense.bias`, [I]);
    t.set(`${l}output.dense.weight`, [H, I]);
    t.set(`${l}output.dense.bias`, [H]);
    t.set(`${l}output.LayerNorm.weight`, [H]);
    t.set(`${l}output.LayerNorm.bias`, [H]);
  }
  t.set('bert.pooler.dense.weight', [H, H]);
  t.set('bert.pooler.dense.bias', [H]);
  for (const task of c.tasks) {
    t.set(`heads.${task.name}.weight`, [task.num_labels, H]);
    t.set(`heads.${task.name}.bias`, [task.num_labels]);
  }
  if (opts.mlm) {
    t.set('cls.predictions.transform.dense.weight', [H, H]);
    t.set('cls.predictions.transform.dense.bias', [H]);
    t.set('cls.predictions.transform.LayerNorm.weight', [H]);
    t.set('cls.predictions.transform.LayerNorm.bias', [H]);
    // decoder weight is tied to word_embeddings; only its bias is stored
    t.set('cls.predictions.bias', [c.vocab_size]);
  }
  return t;
}

/** Aliases accepted on load (HuggingFace BertModel names, BEHRT's single `classifier`). */
export function canonicalTensorName(name: string, c: ModelConfig): string {
  let n = name.replace(/^module\./, '');
  n = n.replace('bert.embeddings.token_type_embeddings.', 'bert.embeddings.segment_embeddings.');
  n = n.replace('bert.embeddings.position_embeddings.', 'bert.embeddings.posi_embeddings.');
  if (c.tasks.length === 1) n = n.replace(/^classifier\./, `heads.${c.tasks[0].name}.`);
  return n;
}
