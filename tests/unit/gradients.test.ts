// src/model/gradients.ts replaces tfjs's Sum and Mean gradients (dy times a CPU-built ones tensor)
// by broadcasts: the numbers must be exactly the ones tfjs's formula gives, for every axis form.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/model/gradients';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** tfjs 4.22's own gradient of sum / mean: reshape dy, multiply by ones(x.shape), divide by n for the mean. */
function tfjsFormula(x: tf.Tensor, dy: tf.Tensor, axis: number | number[] | null, mean: boolean): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape);
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  const g = tf.mul(tf.reshape(dy, shape), tf.ones(x.shape));
  return mean ? tf.div(g, n) : g;
}

describe('Sum and Mean gradients', () => {
  const cases: Array<[number | number[] | null, boolean]> = [
    [-1, true],
    [-1, false],
    [1, false],
    [[0, 2], true],
    [[0, 2], false],
    [null, false],
  ];
  for (const mean of [false, true])
    for (const [axis, keepDims] of cases)
      it(`${mean ? 'mean' : 'sum'} over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''} equals tfjs's formula exactly`, () => {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const x = tf.randomNormal([3, 5, 7], 0, 1, 'float32', 1);
          const reduce = (t: tf.Tensor) => (mean ? tf.mean(t, axis ?? undefined, keepDims) : tf.sum(t, axis ?? undefined, keepDims));
          const w = tf.randomNormal(reduce(x).shape, 0, 1, 'float32', 2);
          // d/dx sum(w * reduce(x)) = the reduction's gradient with dy = w
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, reduce(t))))(x);
          expect(g.shape).toEqual(x.shape);
          expect(Array.from(g.dataSync())).toEqual(Array.from(tfjsFormula(x, w, axis, mean).dataSync()));
        });
        expect(tf.memory().numTensors).toBe(before);
      });

  it('is the one tfjs runs: the gradient broadcasts (Tile) instead of multiplying by ones', async () => {
    const x = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 3);
    const f = tf.grad((t: tf.Tensor) => tf.sum(tf.mean(t, -1)));
    const info = await tf.profile(() => f(x));
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('Tile');
    expect(names).not.toContain('Multiply');
    tf.dispose(x);
  });
});
