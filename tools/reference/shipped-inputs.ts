// Token batches of the first 5 bundled sample patients for a shipped model, so that the PyTorch
// reference can compute golden logits for them (tools/reference/golden_shipped.py).
// usage: npx tsx tools/reference/shipped-inputs.ts <model folder> <out.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { parsePatientsText } from '../../src/data/schema';
import { loadModelFromDir } from '../../src/model/folder-node';
import { stackGrids, tokenize } from '../../src/tokens/layout';

const [dir, out] = process.argv.slice(2);
const folder = await loadModelFromDir(dir);
const patients = parsePatientsText(readFileSync('public/cohort/patients.jsonl', 'utf8'), 'public/cohort/patients.jsonl').slice(0, 5);
const b = stackGrids(patients.map((p) => tokenize(p, folder.vocab, folder.config)), folder.config);
const arr = (a: ArrayLike<number>) => Array.from(a);
writeFileSync(out, JSON.stringify({
  ids: patients.map((p) => p.id),
  patients: { ...b, diagnosis: arr(b.diagnosis), age: arr(b.age), segment: arr(b.segment), position: arr(b.position), attentionMask: arr(b.attentionMask), modalities: Object.fromEntries(Object.entries(b.modalities).map(([k, v]) => [k, arr(v)])), static: b.static ? arr(b.static) : null },
}) + '\n');
