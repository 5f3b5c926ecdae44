// Backend selection in Node: no navigator.gpu here, so the chain starts at wasm.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { activeBackend, backendsFrom, fallbackOf, selectBackend, webgpuAdapterAvailable } from '../../src/backend';

describe('backend selection', () => {
  it('orders the chain from the preferred backend down', () => {
    expect(backendsFrom()).toEqual(['webgpu', 'wasm', 'cpu']);
    expect(backendsFrom('wasm')).toEqual(['wasm', 'cpu']);
    expect(backendsFrom('cpu')).toEqual(['cpu']);
    expect(fallbackOf('webgpu')).toBe('wasm');
    expect(fallbackOf('wasm')).toBe('cpu');
    expect(fallbackOf('cpu')).toBeNull();
  });

  it('skips WebGPU without an adapter and lands on wasm, which computes', async () => {
    expect(await webgpuAdapterAvailable()).toBe(false);
    const skipped: string[] = [];
    expect(await selectBackend(undefined, { onSkip: (n, why) => skipped.push(`${n}: ${why}`) })).toBe('wasm');
    expect(skipped).toEqual(['webgpu: no WebGPU adapter']);
    expect(activeBackend()).toBe('wasm');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).data())).toEqual([4, 6]);
  });

  it('honours an explicit cpu', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
