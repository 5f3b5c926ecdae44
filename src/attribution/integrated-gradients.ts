// Integrated gradients (Sundararajan et al. 2017) from one fixed baseline: an all-PAD patient or a
// chosen reference patient; midpoint Riemann sum over `steps` alphas.
import type { ModelConfig } from '../model/config';
import { bareGrid, type TokenGrid } from '../tokens/layout';
import type { PathDraw } from './path';

export function igDraws(steps: number): PathDraw[] {
  return Array.from({ length: steps }, (_, i) => ({ ref: 0, alpha: (i + 0.5) / steps }));
}

/** A patient of PAD tokens (id 0 everywhere, mask 0): the usual "absence" baseline. */
export function padBaseline(c: ModelConfig): TokenGrid {
  const L = c.max_len;
  return bareGrid({
    patientId: '[PAD baseline]',
    length: L,
    realLength: 0,
    diagnosis: new Int32Array(L),
    age: new Int32Array(L),
    segment: new Int32Array(L),
    position: new Int32Array(L),
    attentionMask: new Float32Array(L),
    modalities: Object.fromEntries(c.modalities.map((m) => [m.name, new Int32Array(m.rows * L)])),
    static: c.static ? new Int32Array(L) : null,
  });
}
