// src/backend.ts re-registers wasm's BatchMatMul to run batched products as one XNNPACK 2-D
// product per batch item. Checked against a plain triple loop in float64, for every transpose
// combination, rank 3 and 4, and the cases that keep the built-in kernel; and for leaks: tensors,
// and wasm memory (XNNPACK caches an operator per right-hand tensor, which must go with it).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/node-tf';

beforeAll(async () => {
  expect(await useBackend('wasm')).toBe('wasm');
});

/** a @ b over the last two axes, batch dims broadcast, in float64 */
function reference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): { shape: number[]; values: number[] } {
  const av = a.dataSync();
  const bv = b.dataSync();
  const [ar, br] = [a.shape.length, b.shape.length];
  const m = tA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = tA ? a.shape[ar - 2] : a.shape[ar - 1];
  const n = tB ? b.shape[br - 2] : b.shape[br - 1];
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const outer = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const values: number[] = [];
  for (let p = 0; p < batch; p++) {
    const oa = (batchA === 1 ? 0 : p) * m * k;
    const ob = (batchB === 1 ? 0 : p) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += av[oa + (tA ? q * m + i : i * k + q)] * bv[ob + (tB ? j * k + q : q * n + j)];
        values.push(s);
      }
  }
  return { shape: [...outer, m, n], values };
}

const operand = (outer: number[], rows: number, cols: number, seed: number) => tf.randomNormal([...outer, rows, cols], 0, 1, 'float32', seed);

describe('wasm BatchMatMul, batched through XNNPACK', () => {
  const [m, k, n] = [5, 7, 3];
  for (const outer of [[4], [2, 3]])
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]])
      it(`batch ${JSON.stringify(outer)}, transposeA ${tA}, transposeB ${tB}: the exact product within float32 rounding`, () => {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const a = operand(outer, tA ? k : m, tA ? m : k, 1);
          const b = operand(outer, tB ? n : k, tB ? k : n, 2);
          const got = tf.matMul(a, b, tA, tB);
          const want = reference(a, b, tA, tB);
          expect(got.shape).toEqual(want.shape);
          const g = got.dataSync();
          want.values.forEach((v, i) => expect(Math.abs(g[i] - v)).toBeLessThan(1e-5));
        });
        expect(tf.memory().numTensors).toBe(before);
      });

  it('keeps the built-in kernel where batch dims broadcast, and for a single product', () => {
    tf.tidy(() => {
      for (const [a, b] of [
        [operand([1], m, k, 3), operand([4], k, n, 4)],
        [operand([4], m, k, 5), operand([1], k, n, 6)],
        [operand([], m, k, 7), operand([], k, n, 8)],
        [operand([1], m, k, 9), operand([1], k, n, 10)],
      ]) {
        const got = tf.matMul(a, b);
        const want = reference(a, b, false, false);
        expect(got.shape).toEqual(want.shape);
        const g = got.dataSync();
        want.values.forEach((v, i) => expect(Math.abs(g[i] - v)).toBeLessThan(1e-5));
      }
    });
  });

  it('gives gradients through it (the attention backward) equal to the exact ones', () => {
    tf.tidy(() => {
      const q = operand([2, 2], 6, 4, 11);
      const kk = operand([2, 2], 6, 4, 12);
      const dy = operand([2, 2], 6, 6, 13);
      // d/dq sum(dy * q k^T) = dy k; d/dk = dy^T q
      const [gq, gk] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(dy, tf.matMul(x, y, false, true))))([q, kk]);
      for (const [got, want] of [
        [gq, reference(dy, kk, false, false)],
        [gk, reference(dy, q, true, false)],
      ] as const) {
        const g = got.dataSync();
        want.values.forEach((v, i) => expect(Math.abs(g[i] - v)).toBeLessThan(1e-5));
      }
    });
  });

  it('frees what it allocates: tensors, and wasm memory over many products', () => {
    const a = operand([8], 64, 64, 14);
    const b = operand([8], 64, 64, 15);
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    for (let i = 0; i < 20; i++) tf.dispose(tf.matMul(a, b, i % 2 === 0, i % 3 === 0)); // warm-up: the heap reaches its working size
    const [tensors, bytes] = [tf.memory().numTensors, heap()];
    // 400 products x 8 items: a leaked 16 KB XNNPACK operator per item would need 50 MB more
    for (let i = 0; i < 400; i++) tf.dispose(tf.matMul(a, b, i % 2 === 0, i % 3 === 0));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(heap()).toBe(bytes);
    tf.dispose([a, b]);
  });
});
