// Expected gradients (Erion et al. 2021): integrated gradients averaged over references drawn from
// a population D and alphas from U(0,1). Stratified draws: alphas one per stratum of [0,1),
// references cycled through a seeded permutation, and both paired at random.
import { rng, shuffle } from '../data/random';
import type { PathDraw } from './path';

export function egDraws(samples: number, references: number, seed: number): PathDraw[] {
  const rand = rng(seed);
  const perm = (n: number) => shuffle(Array.from({ length: n }, (_, i) => i), rand);
  // alpha strata in random order so every prefix (progressive estimate) covers [0,1) evenly-ish
  const strata = perm(samples);
  const refOrder: number[] = [];
  while (refOrder.length < samples) refOrder.push(...perm(references));
  return strata.map((s, k) => ({ ref: refOrder[k], alpha: (s + rand()) / samples }));
}
