// Backend selection in Node: no navigator.gpu here, so the chain starts at wasm.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { activeBackend, backendsFrom, fallbackOf, selectBackend, webgpuUnavailableReason } from '../../src/backend';

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
    expect(await webgpuUnavailableReason()).toBe('this browser has no WebGPU (navigator.gpu)');
    const skipped: string[] = [];
    expect(await selectBackend(undefined, { onSkip: (n, why) => skipped.push(`${n}: ${why}`) })).toBe('wasm');
    expect(skipped).toEqual(['webgpu: this browser has no WebGPU (navigator.gpu)']);
    expect(activeBackend()).toBe('wasm');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).data())).toEqual([4, 6]);
  });

  it('honours an explicit cpu', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('skips WebGPU whose adapter request fails or finds no adapter, says why, and lands on wasm', async () => {
    // a registered WebGPU backend whose factory must never be reached: the adapter check comes first
    let factoryCalls = 0;
    tf.registerBackend('webgpu', () => (factoryCalls++, tf.findBackend('cpu')!));
    try {
      for (const [requestAdapter, why] of [
        [() => Promise.reject(new Error('GPU process crashed')), 'the WebGPU adapter request failed (GPU process crashed)'],
        [() => Promise.resolve(null), 'no WebGPU adapter'],
      ] as const) {
        vi.stubGlobal('navigator', { gpu: { requestAdapter } });
        const skipped: string[] = [];
        expect(await selectBackend(undefined, { onSkip: (n, w) => skipped.push(`${n}: ${w}`) })).toBe('wasm');
        expect(skipped).toEqual([`webgpu: ${why}`]);
        vi.unstubAllGlobals();
      }
      expect(factoryCalls).toBe(0);
    } finally {
      vi.unstubAllGlobals();
      tf.removeBackend('webgpu');
    }
  });
});
