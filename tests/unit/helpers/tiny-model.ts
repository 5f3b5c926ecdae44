// A tiny random ExBEHRT with a vocab built from hand-made patients, for engine tests that need a
// model but not a trained one.
import * as tf from '@tensorflow/tfjs';
import { parsePatient, type Patient } from '../../../src/data/schema';
import { expectedTensors, parseConfig } from '../../../src/model/config';
import type { LoadedModel } from '../../../src/model/runtime';
import { buildVocab } from '../../../src/tokens/vocab';

export function tinyPatients(): Patient[] {
  const mk = (id: string, sex: 'F' | 'M', n: number) =>
    parsePatient({
      id,
      sex,
      birthDate: '1950-01-01',
      visits: Array.from({ length: n }, (_, i) => ({
        date: `2015-0${1 + (i % 9)}-1${i % 10}`,
        events: [
          ...(i % 3 === 2 ? [] : [{ modality: 'diagnosis', code: ['I10', 'E11.9', 'J06.9'][i % 3] }]),
          ...(i % 2 ? [{ modality: 'diagnosis', code: 'I10' }] : []),
          { modality: 'medication', code: i % 2 ? 'C03CA01' : 'N02BE01' },
          { modality: 'medication', code: 'A10BA02' },
          { modality: 'medication', code: 'C10AA05' },
          { modality: 'lab', code: '33762-6', value: 100 + 150 * i, unit: 'pg/mL' },
        ],
      })),
    }, { today: '2030-01-01' });
  return [mk('a', 'F', 4), mk('b', 'M', 6), mk('c', 'F', 3), mk('d', 'M', 5), mk('e', 'F', 2)];
}

export function tinyModel(seed = 1): LoadedModel {
  const patients = tinyPatients();
  const vocab = buildVocab(patients, ['medication', 'lab'], { minCount: 1 });
  const config = parseConfig({
    model_type: 'exbehrt', hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 32,
    max_len: 32, vocab_size: vocab.diagnosis.length, age_vocab_size: 121, max_position_embeddings: 32,
    modalities: [
      { name: 'medication', rows: 2, vocab_size: vocab.modalities.medication.length },
      { name: 'lab', rows: 1, vocab_size: vocab.modalities.lab.length },
    ],
    static: { name: 'sex', vocab_size: 4 },
    tasks: [{ name: 'hf' }, { name: 'death' }],
  });
  const weights = new Map<string, tf.Tensor>();
  let s = seed;
  for (const [name, shape] of expectedTensors(config))
    weights.set(name, name.endsWith('LayerNorm.weight') ? tf.ones(shape) : tf.randomNormal(shape, 0, 0.3, 'float32', s++));
  return { folder: { name: 'tiny', config, vocab, weights: new Map(), card: null, reference: null }, weights };
}
