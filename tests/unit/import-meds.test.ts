// MEDS reader: the project's own small parquet fixtures (written once by
// tests/fixtures/import/meds-mini/make-fixtures.mjs), the third-party samples in
// ../shared/ehr-samples (counts derived here independently with hyparquet), and the whole import
// through importFiles.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { readMeds } from '../../src/data/import/meds';
import { ImportError, type SourceFile, type SourceRead } from '../../src/data/import/source';
import { importFiles } from '../../src/data/import/index';
import { parsePatient } from '../../src/data/schema';

const MINI = resolve(__dirname, '../fixtures/import/meds-mini');
const SHARED = resolve(__dirname, '../../../shared/ehr-samples');
const EXAMPLE = join(SHARED, 'meds-example');
const MIMIC = join(SHARED, 'meds-mimic-iv-demo');
const CI = process.env.CI === 'true';
const haveSamples = existsSync(join(EXAMPLE, 'metadata/codes.parquet')) && existsSync(join(MIMIC, 'mimic_iv_demo_meds_events.parquet'));
if (!haveSamples) {
  if (CI) throw new Error(`MEDS conformance tests need ${SHARED}/meds-example and meds-mimic-iv-demo, and CI=true: the samples are missing`);
  console.warn(`skipping MEDS conformance tests: ${SHARED}/meds-* is absent (they run, and must pass, where ../shared/ehr-samples exists)`);
}

function loadDir(dir: string): SourceFile[] {
  const walk = (d: string): string[] => readdirSync(d).sort().flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  return walk(dir).map((p) => ({ name: relative(dir, p), bytes: new Uint8Array(readFileSync(p)) }));
}
const folder = () => loadDir(join(MINI, 'folder'));
const variant = (): SourceFile[] => [{ name: 'variant-events.parquet', bytes: new Uint8Array(readFileSync(join(MINI, 'variant-events.parquet'))) }];

async function rejection(p: Promise<unknown>): Promise<ImportError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImportError);
    return e as ImportError;
  }
  throw new Error('expected an ImportError');
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

describe('MEDS reader on the project fixtures', () => {
  it('takes birth, death and sex out as person facts, drops text_value, skips a subject without birth', async () => {
    const r = await readMeds(folder());
    expect(r.format).toBe('meds');
    expect(r.persons).toEqual([
      { key: '4', sex: 'U', birthDate: '2001-09-09' },
      { key: '1', sex: 'F', birthDate: '1950-03-04', deathDate: '2022-02-02', droppedFields: ['text_value'] },
      { key: '2', sex: 'M', birthDate: '1962-07-15' }, // DOB, the other birth code; before 1970 (negative time)
    ]);
    expect(r.events.some((e) => e.person === '3')).toBe(false);
    expect(JSON.stringify(r)).not.toMatch(/Jane Roe|Elm St|Dr Smith/);
    expect(r.recordsRead).toEqual({ 'metadata/codes': 2, events: 21 });
    expect(r.skipped).toEqual({
      'static row without a time (other than sex)': 1,
      'administrative (admission, discharge, transfer, DRG)': 2,
      'end of an interval already recorded at its start (PROCEDURE//END, INFUSION_END, MEDICATION//STOP)': 1,
      'rows of subjects without a birth row (MEDS_BIRTH/DOB)': 1,
    });
    // every row: an event, a skip, or a person fact (3 births, 1 death, 2 sexes)
    expect(r.events.length + sum(r.skipped) + 6).toBe(r.recordsRead.events);
  });

  it('translates MEDS codes into systems, units and values; a hospital stay becomes the encounter', async () => {
    const r = await readMeds(folder());
    const row = (n: number) => r.events.find((e) => e.origin === `data/train/0.parquet row ${n}`)!;
    expect(row(5)).toMatchObject({ kind: 'observation', system: 'local', code: 'LAB//50912', unit: 'mg/dL', value: 1.2, display: 'Creatinine', date: '2020-01-01' });
    expect(row(6)).toMatchObject({ kind: 'medication', system: 'local', code: 'MEDICATION//Furosemide 40mg' });
    expect(row(8)).toMatchObject({ kind: 'condition', system: 'ICD10CM', code: 'I50.9', date: '2020-01-03' });
    expect(row(9)).toMatchObject({ kind: 'procedure', system: 'ICD10PCS', code: '0DJD8ZZ' });
    expect(row(11)).toMatchObject({ kind: 'condition', system: 'ICD9CM', code: '428.0' });
    expect(row(12)).toMatchObject({ system: 'LOINC', code: '8867-4', value: 88.4, display: 'Heart rate' }); // HR -> parent code in codes.parquet
    expect(row(16)).toMatchObject({ system: 'LOINC', code: '8867-4', value: 61 });
    expect(row(17)).toMatchObject({ kind: 'procedure', system: 'local', code: 'PROCEDURE//225459' });
    expect(r.events.find((e) => e.person === '4')).toMatchObject({ system: 'ICD9CM', code: 'V15.82' });
    // admission 2020-01-01 .. discharge 2020-01-03: one encounter across three days, none outside it
    const stay = new Set([5, 6, 7, 8, 9].map((n) => row(n).encounter));
    expect(stay.size).toBe(1);
    expect([...stay][0]).toMatch(/^stay-\d+$/);
    expect(row(11).encounter).toBeUndefined();
  });

  it('tolerates the variants: `value` column, string ids, time as bare INT64 microseconds, hadm_id, UNK unit', async () => {
    const r = await readMeds(variant());
    expect(r.persons).toEqual([{ key: 'a7', sex: 'F', birthDate: '1988-02-29' }]);
    expect(r.events.map((e) => [e.date, e.system, e.code, e.value, e.unit, e.encounter])).toEqual([
      ['2030-06-01', 'ICD9CM', '250.00', undefined, undefined, 'h1'],
      ['2030-06-01', 'local', 'LAB//50931', 142.5, 'mg/dL', 'h1'],
      ['2030-06-02', 'RxNorm', '197361', undefined, undefined, 'h1'],
      ['2030-07-01', 'local', 'LAB//50931', undefined, undefined, undefined],
    ]);
  });

  it('names the file (and rows) of bad input', async () => {
    const good = folder();
    const train = good.find((f) => f.name === 'data/train/0.parquet')!.bytes!;
    const cases: Array<[SourceFile[], RegExp]> = [
      [[{ name: 'x/data/train/0.parquet', bytes: new TextEncoder().encode('subject_id,time,code\n1,2020,X\n') }], /^x\/data\/train\/0\.parquet: not a readable parquet file/],
      [[{ name: 'data/train/0.parquet', bytes: train.slice(0, train.length - 9) }], /^data\/train\/0\.parquet: not a readable parquet file/],
      // a data page cut short: the footer is intact, the rows are not
      [[{ name: 'data/train/0.parquet', bytes: new Uint8Array([...train.slice(0, 4), ...new Uint8Array(60), ...train.slice(64)]) }], /^data\/train\/0\.parquet( rows 1-18)?: /],
      [[{ name: 'codes-as-events.parquet', bytes: good.find((f) => f.name.endsWith('codes.parquet'))!.bytes! }], /^codes-as-events\.parquet: missing columns subject_id, time/],
      [[{ name: 'data/train/0.parquet' }], /^data\/train\/0\.parquet: no contents/],
      [[{ name: 'README.md', text: '# hello' }], /MEDS import needs at least one events parquet file/],
    ];
    for (const [input, re] of cases) expect((await rejection(readMeds(input))).message).toMatch(re);
  });

  it('a damaged data page ends at once in an ImportError naming file, column, row group and page', async () => {
    // subject_id's dictionary indices (page 1, after the dictionary page), inside a snappy literal:
    // byte 59 is the header of an RLE run of 13 indices, byte 60 the run's index
    const train = folder().find((f) => f.name === 'data/train/0.parquet')!.bytes!;
    const damaged = (at: number, v: number): SourceFile[] => {
      const bytes = train.slice();
      bytes[at] = v;
      return [{ name: 'data/train/0.parquet', bytes }];
    };
    const where = 'data/train/0.parquet: column subject_id, row group 0, page 1: ';
    const t0 = performance.now();
    expect((await rejection(readMeds(damaged(59, 0x7e)))).message).toBe(`${where}a run of 63 dictionary indices where 18 remain (the page is damaged)`);
    expect((await rejection(readMeds(damaged(60, 5)))).message).toBe(`${where}a dictionary index 5 past the 2 values of the dictionary (the page is damaged)`);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('reports progress and stops on cancel with ImportError("cancelled")', async () => {
    const seen: number[] = [];
    let total = 0;
    await readMeds(folder(), { onProgress: (d, t) => (seen.push(d), (total = t)) });
    expect(total).toBe(folder().reduce((n, f) => n + f.bytes!.length, 0));
    expect(seen.at(-1)).toBe(total);
    const ac = new AbortController();
    ac.abort();
    expect((await rejection(readMeds(folder(), { signal: ac.signal }))).message).toBe('cancelled');
    const ac2 = new AbortController();
    expect((await rejection(readMeds(folder(), { signal: ac2.signal, onProgress: () => ac2.abort() }))).message).toBe('cancelled');
  });
});

/** Counts from the events parquet files read with hyparquet directly, independently of the reader. */
async function countEvents(files: SourceFile[]) {
  const rows: Array<Record<string, unknown>> = [];
  for (const f of files) {
    if (!f.name.endsWith('.parquet') || f.name.includes('metadata') || f.name.includes('labels')) continue;
    const b = f.bytes!;
    for (const row of await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer })) rows.push(row);
  }
  const subjects = new Set(rows.map((r) => String(r.subject_id)));
  const births = new Set(rows.filter((r) => r.code === 'MEDS_BIRTH' || r.code === 'DOB').map((r) => String(r.subject_id)));
  const deaths = new Set(rows.filter((r) => r.code === 'MEDS_DEATH').map((r) => String(r.subject_id)));
  const codeCount = (re: RegExp) => rows.filter((r) => typeof r.code === 'string' && re.test(r.code)).length;
  return { rows, subjects, births, deaths, codeCount };
}

describe.skipIf(!haveSamples)('MEDS reader on the shared samples (../shared/ehr-samples/meds-*)', () => {
  it('meds-example: every subject and row, DOB births, codes.parquet parents and descriptions', async () => {
    const files = loadDir(EXAMPLE);
    const c = await countEvents(files);
    const r = await readMeds(files);
    expect(r.recordsRead.events).toBe(c.rows.length);
    expect(r.persons.map((p) => p.key).sort()).toEqual([...c.subjects].sort());
    expect(r.persons).toHaveLength(6);
    expect(r.persons.filter((p) => p.deathDate)).toHaveLength(c.deaths.size);
    // HR and TEMP carry LOINC parent codes in metadata/codes.parquet
    const hr = c.codeCount(/^HR$/);
    const temp = c.codeCount(/^TEMP$/);
    expect(r.events.filter((e) => e.system === 'LOINC' && e.code === '8867-4' && e.display === 'Heart Rate')).toHaveLength(hr);
    expect(r.events.filter((e) => e.system === 'LOINC' && e.code === '8310-5')).toHaveLength(temp);
    const facts = c.codeCount(/^(DOB|MEDS_BIRTH|MEDS_DEATH)$/);
    expect(r.events.length + sum(r.skipped) + facts).toBe(c.rows.length);
  });

  let mimic: SourceRead;
  it('MIMIC-IV demo: 100 subjects, 916k rows, MEDS_BIRTH/MEDS_DEATH, ICD-9 and ICD-10 mixed, `value` column', async () => {
    const files = loadDir(MIMIC);
    const c = await countEvents(files);
    const t0 = performance.now();
    mimic = await readMeds(files);
    const ms = performance.now() - t0;
    console.log(`MEDS MIMIC-IV demo: ${c.rows.length} rows -> ${mimic.events.length} events in ${ms.toFixed(0)} ms`);
    expect(c.subjects.size).toBe(100);
    expect(mimic.recordsRead.events).toBe(c.rows.length);
    expect(mimic.persons.map((p) => p.key).sort()).toEqual([...c.births].sort());
    expect(mimic.persons.filter((p) => p.deathDate).map((p) => p.key).sort()).toEqual([...c.deaths].sort());
    expect(mimic.persons.filter((p) => p.sex !== 'U')).toHaveLength(c.codeCount(/^GENDER\/\/[FM]$/));
    const n = (system: string) => mimic.events.filter((e) => e.system === system).length;
    expect(n('ICD9CM')).toBe(c.codeCount(/^DIAGNOSIS\/\/ICD\/\/9\/\//));
    expect(n('ICD10CM')).toBe(c.codeCount(/^DIAGNOSIS\/\/ICD\/\/10\/\//));
    expect(n('ICD9Proc')).toBe(c.codeCount(/^PROCEDURE\/\/ICD\/\/9\/\//));
    expect(n('ICD10PCS')).toBe(c.codeCount(/^PROCEDURE\/\/ICD\/\/10\/\//));
    const labs = mimic.events.filter((e) => e.code.startsWith('LAB//'));
    expect(labs).toHaveLength(c.codeCount(/^LAB\/\//));
    expect(labs.filter((e) => e.value !== undefined)).toHaveLength(c.rows.filter((r) => typeof r.code === 'string' && r.code.startsWith('LAB//') && r.value !== null).length);
    expect(mimic.events.every((e) => /^\d{4}-\d\d-\d\d$/.test(e.date) && e.date >= '2030' && e.date <= '2203')).toBe(true);
    const facts = c.codeCount(/^(MEDS_BIRTH|MEDS_DEATH|GENDER\/\/.*)$/);
    expect(mimic.events.length + sum(mimic.skipped) - mimic.skipped['mimic_iv_demo_meds_labels.parquet: labels file, not events'] + facts).toBe(c.rows.length);
  });

  it('imports end to end: every patient passes the timeline schema; the coverage counts agree', async () => {
    const files = loadDir(MIMIC);
    const c = await countEvents(files);
    // dates run to 2202: `today` past them keeps the timelines where the source put them
    const today = '2300-01-01';
    const { patients, coverage } = await importFiles(files, { format: 'meds', seed: 3, today });
    for (const p of patients) parsePatient(p, { today });
    expect(coverage.recordsRead.events).toBe(c.rows.length);
    expect(coverage.personsRead).toBe(c.births.size);
    expect(coverage.patients + coverage.personsWithoutEvents + coverage.droppedPatients.length).toBe(c.births.size);
    expect(coverage.deaths).toBe(c.deaths.size);
    expect(coverage.eventsRead).toBe(coverage.eventsInTimelines + coverage.deathRecords + coverage.eventsWithoutPerson + coverage.eventsOfDroppedPatients);
  });
});
