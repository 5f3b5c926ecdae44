// The cohort benchmarks' patients as a JSONL file: `npx tsx bench/cohort-patients.ts <out.jsonl> [n] [seed]`
// (default n 1,000, seed 11, as bench/cohort.ts: held out from the shipped models' training seed 7).
// bench/browser.mjs runs it to feed the same patients to the page's worker.
import { writeFileSync } from 'node:fs';
import { generateCohort } from '../src/data/synthetic';

const [out, n = '1000', seed = '11'] = process.argv.slice(2);
if (!out) throw new Error('usage: tsx bench/cohort-patients.ts <out.jsonl> [n] [seed]');
const { patients } = generateCohort({ n: Number(n), seed: Number(seed) });
writeFileSync(out, patients.map((p) => JSON.stringify(p)).join('\n') + '\n');
