// The three faithfulness checks of issue 3 on the shipped ExBEHRT, through the same function
// `npx exbehrt faithfulness` prints: planted-factor precision@5 on held-out patients with a true
// risk factor (>= 0.8, the issue's target, for both tasks), EG's deletion curve below random order's, and the cascading randomisation
// bringing the rank correlation below 0.2. The bundled patients are held out (never trained on).
// death_6m is defined for cancer patients (config.json tasks.death_6m.population): attribute()
// compares with the reference patients inside the population whatever filter is given, so the
// whole reference set here gives the same 73 references as the README's --ref-diagnosis C.
import { describe, expect, it } from 'vitest';
import { readPatients } from '../../src/cli/exbehrt';
import { faithfulnessCommand } from '../../src/cli/faithfulness-cmd';
import { useBackend } from '../../src/cli/node-tf';

interface Report {
  reference: { size: number };
  planted_factor_recovery: { precision_at_5: number; patients: number };
  deletion: { attributed_area: number; random_area: number; beats_random_fraction: number };
  randomisation: { cascade: Array<{ stage: string; spearman: number }> };
}

async function check(task: string, referenceFilter: { diagnosis?: string }): Promise<Report> {
  await useBackend('wasm');
  const report = (await faithfulnessCommand({
    model: 'public/models/exbehrt',
    patients: await readPatients('public/cohort/patients.jsonl'),
    truthFile: 'public/cohort/truth.json',
    task,
    method: 'eg',
    samples: 64,
    seed: 0,
    limit: 30,
    referenceFilter,
    log: () => {},
  })) as unknown as Report;
  const { planted_factor_recovery: p, deletion: d, randomisation: r } = report;
  console.log(
    `${task}: precision@5 ${p.precision_at_5.toFixed(3)} (${p.patients} patients); deletion area ${d.attributed_area.toFixed(3)} vs random ${d.random_area.toFixed(3)} ` +
      `(beats random for ${(100 * d.beats_random_fraction).toFixed(0)}%); randomisation ${r.cascade.map((s) => `${s.stage} ${s.spearman.toFixed(2)}`).join(', ')}`,
  );
  return report;
}

function expectFaithful(r: Report, minPrecision: number) {
  expect(r.planted_factor_recovery.patients).toBe(30);
  expect(r.planted_factor_recovery.precision_at_5).toBeGreaterThanOrEqual(minPrecision);
  expect(r.deletion.attributed_area).toBeLessThan(r.deletion.random_area);
  const last = r.randomisation.cascade.at(-1)!;
  expect(last.stage).toBe('embeddings');
  expect(Math.abs(last.spearman)).toBeLessThan(0.2);
}

describe('faithfulness of EG on the shipped model (64 samples, seed 0, 30 held-out patients)', { timeout: 600_000 }, () => {
  it('hf_12m, whole reference set', async () => expectFaithful(await check('hf_12m', {}), 0.8));
  // measured 0.836; before the latest albumin was its own token (vocab.json last_value), 0.766: the
  // model read albumin as a mean over visits and credited earlier low values
  it('death_6m, its population as the reference', async () => {
    const r = await check('death_6m', {});
    expect(r.reference.size).toBe(73); // the cancer patients among the 300 shipped references
    expectFaithful(r, 0.8);
  });
});
