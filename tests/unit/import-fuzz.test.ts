// Property-based tests: mutated and truncated FHIR and Synthea CSV files end either in an
// ImportError that names the file, or in valid timelines where every record read is accounted for
// (an event, or skipped with a reason): never an uncaught TypeError, never a silently partial patient.
// FUZZ_RUNS sets the runs per property (default 200 for CI; `npm run fuzz` uses 10000).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { importFiles } from '../../src/data/import';
import { readFhir } from '../../src/data/import/fhir';
import { readSyntheaCsv } from '../../src/data/import/synthea-csv';
import { buildTimelines } from '../../src/data/import/pipeline';
import { ImportError, type SourceFile, type SourceRead } from '../../src/data/import/source';
import { parsePatient } from '../../src/data/schema';
import { DELETE, mutate } from './helpers/json-mutation';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const TODAY = '2025-01-01';
const FIXTURES = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
const TIMEOUT = Math.max(30_000, RUNS * 20);

const bulk: SourceFile[] = readdirSync(FIXTURES + 'fhir-bulk/')
  .filter((n) => n.endsWith('.ndjson'))
  .sort()
  .map((n) => ({ name: n, text: readFileSync(FIXTURES + 'fhir-bulk/' + n, 'utf8') }));
const resources = bulk.flatMap((f) => f.text!.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)));
const bundle = { resourceType: 'Bundle', type: 'transaction', entry: resources.map((r) => ({ fullUrl: `urn:uuid:${r.resourceType}-${r.id}`, resource: r })) };
const csvMini: SourceFile[] = readdirSync(FIXTURES + 'synthea-csv-mini/')
  .sort()
  .map((n) => ({ name: n, text: readFileSync(FIXTURES + 'synthea-csv-mini/' + n, 'utf8') }));

const replacement = fc.oneof(
  fc.constant(DELETE),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constantFrom('2019-02-30', '2019', '2019-07', 'Patient/nobody', 'urn:uuid:x', '', 'female', 'E119', '72166-2', '1e400'),
  fc.jsonValue({ maxDepth: 2 }),
);

/** the outcome every fuzzed import must have */
async function checkOutcome(files: SourceFile[], read: (f: SourceFile[]) => Promise<SourceRead>, accounted: (r: SourceRead) => void): Promise<void> {
  let r: SourceRead;
  try {
    r = await read(files);
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(ImportError);
    // the message names one of the files
    expect(files.some((f) => (e as Error).message.includes(f.name)), (e as Error).message).toBe(true);
    return;
  }
  accounted(r);
  const { patients, coverage } = buildTimelines(r, { today: TODAY, seed: 1 });
  for (const p of patients) parsePatient(p, { today: TODAY });
  expect(coverage.eventsInTimelines + coverage.deathRecords + coverage.eventsWithoutPerson + coverage.eventsOfDroppedPatients).toBe(coverage.eventsRead);
  const mapped = Object.values(coverage.mapped).reduce((a, b) => a + b, 0);
  expect(mapped + coverage.unmappedEvents).toBe(coverage.eventsInTimelines);
  expect(patients.length + coverage.personsWithoutEvents + coverage.droppedPatients.length).toBe(coverage.personsRead);
  // a patient in the output carries every event read for it
  const perPerson = new Map<string, number>();
  for (const e of r.events) if (e.kind !== 'death') perPerson.set(e.person, (perPerson.get(e.person) ?? 0) + 1);
  const placed = patients.reduce((s, p) => s + p.visits.reduce((t, v) => t + v.events.length, 0), 0) - Object.values(coverage.derived).reduce((a, b) => a + b, 0);
  expect(placed).toBe(coverage.eventsInTimelines);
}

/** FHIR: every resource read is a patient, the origin of events, or skipped with a reason */
function fhirAccounted(r: SourceRead): void {
  const total = Object.values(r.recordsRead).reduce((a, b) => a + b, 0);
  const origins = new Set(r.events.map((e) => e.origin)).size;
  const skipped = Object.values(r.skipped).reduce((a, b) => a + b, 0);
  expect(r.persons.length + origins + skipped).toBe(total);
}

/** CSV: every data row of an event table is an event or skipped */
function csvAccounted(files: SourceFile[]) {
  return (r: SourceRead) => {
    for (const t of ['conditions', 'procedures', 'medications', 'observations', 'immunizations']) {
      const n = r.recordsRead[`${t}.csv`];
      if (n === undefined) continue;
      const events = r.events.filter((e) => e.origin.startsWith(`${t}.csv line`)).length;
      const skipped = t === 'observations' ? Object.entries(r.skipped).filter(([k]) => k.startsWith('observations.csv:')).reduce((s, [, v]) => s + v, 0) : 0;
      expect(events + skipped, t).toBe(n);
    }
    const patients = files.find((f) => f.name === 'patients.csv');
    if (patients) expect(r.persons.length).toBe(r.recordsRead['patients.csv']);
  };
}

describe(`import fuzzing (${RUNS} runs per property)`, () => {
  it('the unmutated fixtures import cleanly', async () => {
    await checkOutcome([{ name: 'bundle.json', text: JSON.stringify(bundle) }], (f) => readFhir(f), fhirAccounted);
    await checkOutcome(bulk, (f) => readFhir(f), fhirAccounted);
    await checkOutcome(csvMini, (f) => readSyntheaCsv(f), csvAccounted(csvMini));
    const ok = await importFiles([{ name: 'bundle.json', text: JSON.stringify(bundle) }], { today: TODAY });
    expect(ok.patients.length).toBe(3);
  });

  it(
    'FHIR bundle with mutated values or deleted fields',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 4 }), async (picks) => {
          const files = [{ name: 'Bündel ü.json', text: JSON.stringify(mutate(bundle, picks)) }];
          await checkOutcome(files, (f) => readFhir(f), fhirAccounted);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'FHIR bundle truncated at any point',
    async () => {
      const text = JSON.stringify(bundle, null, 1);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: text.length }), async (n) => {
          await checkOutcome([{ name: 'b.json', text: text.slice(0, n) }], (f) => readFhir(f), fhirAccounted);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'FHIR NDJSON with mutated resources, truncated files and shuffled lines',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.array(fc.tuple(fc.nat(), replacement), { minLength: 0, maxLength: 3 }),
          fc.option(fc.nat()),
          async (which, picks, cut) => {
            const files = bulk.map((f) => ({ ...f }));
            const f = files[which % files.length];
            const lines = f.text!.split('\n').filter((l) => l.trim());
            const li = which % lines.length;
            lines[li] = JSON.stringify(mutate(JSON.parse(lines[li]), picks));
            f.text = lines.join('\n');
            if (cut !== null) f.text = f.text.slice(0, cut % (f.text.length + 1));
            await checkOutcome(files, (x) => readFhir(x), fhirAccounted);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'Synthea CSV with edited cells, truncated files and stray characters',
    async () => {
      const tables = csvMini.map((f) => ({ name: f.name, rows: Papa.parse<string[]>(f.text!, { skipEmptyLines: true }).data }));
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.array(fc.tuple(fc.nat(), fc.nat(), fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('', '2019-02-30', 'X', 'NaN', '1e999', 'enc-9', 'aaaa-1', 'Never smoker', '"', ',', '\n'))), { maxLength: 4 }),
          fc.option(fc.nat()),
          fc.option(fc.tuple(fc.nat(), fc.string({ maxLength: 3 }))),
          async (which, edits, cut, stray) => {
            const t = tables[which % tables.length];
            const rows = t.rows.map((r) => [...r]);
            for (const [ri, ci, v] of edits) {
              const row = rows[ri % rows.length];
              row[ci % row.length] = v;
            }
            let text = Papa.unparse(rows);
            if (stray) text = text.slice(0, stray[0] % (text.length + 1)) + stray[1] + text.slice(stray[0] % (text.length + 1));
            if (cut !== null) text = text.slice(0, cut % (text.length + 1));
            const files = csvMini.map((f) => (f.name === t.name ? { name: f.name, text } : f));
            await checkOutcome(files, (x) => readSyntheaCsv(x), csvAccounted(files));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});
