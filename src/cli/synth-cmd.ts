// `exbehrt synth`: write a seeded synthetic cohort (JSONL) and optionally its ground truth.
import { writeFile } from 'node:fs/promises';
import { generateCohort } from '../data/synthetic';

export async function synthCommand(v: Record<string, string | boolean | undefined>): Promise<void> {
  const n = typeof v.n === 'string' ? Number(v.n) : 1000;
  const seed = typeof v.seed === 'string' ? Number(v.seed) : 7;
  if (!Number.isInteger(n) || n <= 0 || n > 1_000_000) throw new Error(`--n must be an integer in 1..1000000, got ${v.n}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${v.seed}`);
  const { patients, truth } = generateCohort({ n, seed });
  const text = patients.map((p) => JSON.stringify(p)).join('\n') + '\n';
  if (typeof v.out === 'string') await writeFile(v.out, text);
  else process.stdout.write(text);
  if (typeof v.truth === 'string') await writeFile(v.truth, JSON.stringify(truth) + '\n');
}
