// src/model/gradients.ts replaces tfjs's Sum and Mean gradients (dy times a CPU-built ones tensor)
// by broadcasts: the numbers must be exactly the ones tfjs's formula gives, for every axis form.
// It also replaces BatchMatMul's: a 2-D untransposed matMul's gradient uses explicit transposes
// (XNNPACK on wasm), and no gradient is computed for an input nobody differentiates.
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

describe('BatchMatMul gradient', () => {
  /** tfjs 4.22's own formulas (tfjs-core/src/gradients/BatchMatMul_grad.ts), written out */
  function tfjsFormula(a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, tA: boolean, tB: boolean): [tf.Tensor, tf.Tensor] {
    if (!tA && !tB) return [tf.matMul(dy, b, false, true), tf.matMul(a, dy, true, false)];
    if (!tA) return [tf.matMul(dy, b, false, false), tf.matMul(dy, a, true, false)];
    if (!tB) return [tf.matMul(b, dy, false, true), tf.matMul(a, dy, false, false)];
    return [tf.matMul(b, dy, true, true), tf.matMul(dy, a, true, true)];
  }
  for (const batch of [[], [2, 3]])
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]])
      it(`${batch.length ? 'batched' : '2-D'}, transposeA ${tA}, transposeB ${tB}: tfjs's gradient within float rounding`, () => {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const [m, k, n] = [5, 7, 4];
          const a = tf.randomNormal([...batch, ...(tA ? [k, m] : [m, k])], 0, 1, 'float32', 4);
          const b = tf.randomNormal([...batch, ...(tB ? [n, k] : [k, n])], 0, 1, 'float32', 5);
          const dy = tf.randomNormal([...batch, m, n], 0, 1, 'float32', 6);
          const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(dy, tf.matMul(x, y, tA, tB))))([a, b]);
          const [wa, wb] = tfjsFormula(a, b, dy, tA, tB);
          // the 2-D untransposed case multiplies explicit transposes: the same products, summed in
          // an order that may differ in the last bit
          for (const [got, want] of [[ga, wa], [gb, wb]]) {
            expect(got.shape).toEqual(want.shape);
            expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5);
          }
        });
        expect(tf.memory().numTensors).toBe(before);
      });

  it("computes only the gradients asked for: a linear's weight gradient is skipped when only its input is differentiated", async () => {
    const x = tf.randomNormal([6, 8], 0, 1, 'float32', 7);
    const w = tf.randomNormal([8, 3], 0, 1, 'float32', 8);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(t as tf.Tensor2D, w as tf.Tensor2D)))(x));
    // the forward's matMul and dx = dy @ transpose(w); dw = transpose(x) @ dy would be a third
    expect(info.kernels.filter((k) => k.name === 'BatchMatMul')).toHaveLength(2);
    expect(info.kernels.filter((k) => k.name === 'Transpose')).toHaveLength(1);
    tf.dispose(info.result as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});
