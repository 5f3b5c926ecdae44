// Synthea CSV reader: conformance on ../shared/ehr-samples/synthea-csv (row counts taken here with
// papaparse), the project's own mini export, and clear errors for bad input.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { readSyntheaCsv } from '../../src/data/import/synthea-csv';
import { detectFormat, importFiles } from '../../src/data/import';
import { ImportError, type SourceFile } from '../../src/data/import/source';
import { parsePatient } from '../../src/data/schema';
import { parseVocab } from '../../src/tokens/vocab';
import { importCommand, ImportUsageError } from '../../src/cli/import-cmd';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SAMPLES = fileURLToPath(new URL('../../../shared/ehr-samples/synthea-csv/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
const haveSamples = existsSync(SAMPLES);
const TODAY = '2025-01-01';
const vocab = parseVocab(JSON.parse(readFileSync(fileURLToPath(new URL('../../public/models/exbehrt/vocab.json', import.meta.url)), 'utf8')));
const TABLES = ['patients', 'encounters', 'conditions', 'procedures', 'medications', 'observations', 'immunizations'];

const dirFiles = (dir: string): SourceFile[] =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.csv'))
    .sort()
    .map((n) => ({ name: n, text: readFileSync(dir + n, 'utf8') }));
const rows = (text: string) => Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true }).data;

describe('Synthea CSV export (../shared/ehr-samples/synthea-csv)', () => {
  if (!haveSamples) {
    if (process.env.CI === 'true')
      it('needs ../shared/ehr-samples', () => {
        throw new Error(`${SAMPLES} is absent; CI=true requires the third-party samples (see ../shared/ehr-samples/README.md)`);
      });
    else it.skip(`skipped: ${SAMPLES} is absent (third-party samples; the tests run where ../shared/ehr-samples exists)`, () => {});
    return;
  }
  const files = dirFiles(SAMPLES);
  const table = (t: string) => rows(files.find((f) => f.name === `${t}.csv`)!.text!);

  it('reads every row of the seven tables it uses and names the tables it does not', async () => {
    expect(detectFormat(files)).toBe('synthea-csv');
    const read = await readSyntheaCsv(files);
    for (const t of TABLES) expect(read.recordsRead[`${t}.csv`], t).toBe(table(t).length);
    const patients = table('patients');
    expect(read.persons.length).toBe(patients.length);
    expect(read.persons.filter((p) => p.deathDate).length).toBe(patients.filter((p) => p.DEATHDATE).length);
    const metrics = table('observations').filter((r) => ['QALY', 'DALY', 'QOLS'].includes(r.CODE)).length;
    const expectedEvents = ['conditions', 'procedures', 'medications', 'observations', 'immunizations'].reduce((s, t) => s + table(t).length, 0) - metrics;
    expect(read.events.length).toBe(expectedEvents);
    expect(read.events.filter((e) => e.kind === 'death').length).toBe(table('observations').filter((r) => r.CODE === '69453-9').length);
    expect(Object.keys(read.skipped).filter((k) => k.endsWith('(file)')).length).toBe(files.length - TABLES.length);
  });

  it('builds valid, de-identified timelines with a complete coverage report', async () => {
    const { patients, coverage } = await importFiles(files, { today: TODAY, seed: 5, vocab, shiftDates: true });
    const src = table('patients');
    expect(patients.length).toBe(src.length);
    for (const p of patients) parsePatient(p, { today: TODAY });
    expect(coverage.deaths).toBe(src.filter((p) => p.DEATHDATE).length);
    expect(coverage.eventsInTimelines + coverage.deathRecords + coverage.eventsWithoutPerson + coverage.eventsOfDroppedPatients).toBe(coverage.eventsRead);
    expect(coverage.mappedFraction).toBeGreaterThan(0.8);
    expect(coverage.inVocabFraction).toBeGreaterThan(0.25);
    expect(coverage.dateShift.applied).toBe(true);
    expect(coverage.removed['patients.csv:SSN']).toBe(src.filter((p) => p.SSN).length);
    expect(coverage.removed['patients.csv:ADDRESS']).toBe(src.filter((p) => p.ADDRESS).length);
    // the employment and social findings Synthea writes as conditions have no ICD-10-CM code: listed
    expect(coverage.unmapped[0]).toMatchObject({ system: 'SNOMED', code: '160903007', count: table('conditions').filter((r) => r.CODE === '160903007').length });
    const text = JSON.stringify(patients);
    for (const p of src) for (const k of ['Id', 'SSN', 'FIRST', 'LAST', 'ADDRESS', 'DRIVERS', 'PASSPORT', 'BIRTHDATE'] as const) if (p[k]) expect(text, k).not.toContain(p[k]);
    // the survey answer "What address do you live at?" (LOINC 56799-0) is free text: never stored
    for (const r of table('observations')) if (r.CODE === '56799-0') expect(text).not.toContain(r.VALUE);
    // date shifting keeps every patient's age at every visit
    const unshifted = await importFiles(files, { today: TODAY, seed: 5 });
    for (const [i, p] of patients.entries()) {
      const q = unshifted.patients[i];
      expect(p.id).toBe(q.id);
      const span = (x: typeof p) => x.visits.map((v) => (Date.parse(v.date) - Date.parse(x.birthDate)) / 86_400_000);
      expect(span(p)).toEqual(span(q));
      expect(p.birthDate).not.toBe(q.birthDate);
    }
  });
});

describe('Synthea CSV mini export (tests/fixtures/import/synthea-csv-mini)', () => {
  const files = () => dirFiles(FIXTURES + 'synthea-csv-mini/');

  it('maps the events and derives what the generator derives', async () => {
    const { patients, coverage } = await importFiles(files(), { today: TODAY, seed: 2, vocab });
    expect(coverage.eventsRead).toBe(16);
    expect(coverage.deathRecords).toBe(1);
    expect(coverage.skipped['observations.csv: Synthea summary metric (QALY/DALY/QOLS), not an observation']).toBe(1);
    expect(coverage.unmapped).toEqual([{ system: 'SNOMED', code: '160903007', display: 'Full-time employment (finding)', kind: 'condition', count: 1 }]);
    expect(coverage.removed['observations.csv:VALUE (text)']).toBe(3);
    const [a, b] = patients;
    expect(a.sex).toBe('M');
    expect(a.visits.map((v) => v.date)).toEqual(['2019-03-05', '2021-01-10']);
    expect(a.visits[0].events).toEqual([
      { modality: 'diagnosis', code: 'I10' },
      { modality: 'diagnosis', code: 'SNOMED:160903007' },
      { modality: 'medication', code: 'C09AA03' },
      { modality: 'lab', code: '56799-0' },
      { modality: 'vital', code: '8480-6', value: 148, unit: 'mm[Hg]' },
      { modality: 'vital', code: '39156-5', value: 27.3, unit: 'kg/m2' },
      { modality: 'smoking', code: 'SMOKING:former' },
      { modality: 'characteristic', code: 'BMI:overweight' },
    ]);
    // inpatient stay over three days: one visit dated at its first event
    expect(a.visits[1].events).toEqual([
      { modality: 'diagnosis', code: 'I21.9' },
      { modality: 'procedure', code: '415070008' },
      { modality: 'medication', code: 'B01AC04' },
      { modality: 'lab', code: '2160-0', value: 1.3, unit: 'mg/dL' },
    ]);
    // a child: no adult BMI class; influenza vaccine -> the model's vaccination procedure
    expect(b.visits[0].events).toEqual([
      { modality: 'procedure', code: '171207006' },
      { modality: 'procedure', code: '86198006' },
      { modality: 'procedure', code: '33879002' },
      { modality: 'vital', code: '39156-5', value: 16.1, unit: 'kg/m2' },
    ]);
    expect(JSON.stringify(patients)).not.toMatch(/Imaginary|Quentin|Fixturely|999-00|aaaa-1|enc-1/);
  });

  it('reports progress and honours cancellation', async () => {
    const seen: number[] = [];
    await readSyntheaCsv(files(), { onProgress: (d) => seen.push(d) });
    expect(seen.length).toBeGreaterThan(0);
    const ac = new AbortController();
    ac.abort();
    await expect(readSyntheaCsv(files(), { signal: ac.signal })).rejects.toThrow(/cancelled/);
  });

  it('raises ImportError naming the file, line and field', async () => {
    const bad = (n: string): SourceFile => ({ name: n, text: readFileSync(FIXTURES + 'bad/' + n, 'utf8') });
    const cases: Array<[SourceFile[], RegExp]> = [
      [[bad('patients.csv'), bad('conditions.csv')], /conditions\.csv line 3, field START: 2019-13-01 is not a calendar date/],
      [[bad('conditions.csv')], /patients\.csv: missing/],
      [[{ name: 'patients.csv', text: 'Id,GENDER\np,F\n' }], /patients\.csv: column BIRTHDATE missing/],
      [[{ name: 'patients.csv', text: 'Id,BIRTHDATE,GENDER\np,1970-01-01,X\n' }], /patients\.csv line 2, field GENDER: expected F or M/],
      [[{ name: 'patients.csv', text: 'Id,BIRTHDATE,GENDER\np,1970-01-01,F\nq,1970-01-01\n' }], /patients\.csv line 3: Too few fields/],
      [[bad('patients.csv'), { name: 'observations.csv', text: 'DATE,PATIENT,ENCOUNTER,CODE,VALUE,UNITS,TYPE\n2019-01-01,p1,,2339-0,abc,mg/dL,numeric\n' }], /observations\.csv line 2, field VALUE: expected a number/],
      [[bad('patients.csv'), { name: 'procedures.csv', text: 'PATIENT,CODE\np1,1\n' }], /procedures\.csv: column START \(or DATE\) missing/],
      [[bad('patients.csv'), { name: 'notes.csv', text: 'a\n1\n' }], /notes\.csv: not a Synthea CSV table/],
      [[bad('patients.csv'), { name: 'encounters.csv', text: 'Id,START,PATIENT\ne1,2019-01-01,p1\n' }, { name: 'conditions.csv', text: 'START,PATIENT,ENCOUNTER,CODE\n2019-01-01,p1,e9,1\n' }], /conditions\.csv line 2, field ENCOUNTER: e9 is not in encounters\.csv/],
    ];
    for (const [fs, msg] of cases) {
      const err = await readSyntheaCsv(fs).catch((e) => e);
      expect(err, String(msg)).toBeInstanceOf(ImportError);
      expect(err.message).toMatch(msg);
    }
  });
});

describe('exbehrt import (CLI)', () => {
  it('writes JSON lines and the coverage report, and prints the summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exbehrt-import-'));
    const log: string[] = [];
    const model = fileURLToPath(new URL('../../public/models/exbehrt', import.meta.url));
    await importCommand(['auto', FIXTURES + 'synthea-csv-mini', '-o', join(dir, 'p.jsonl'), '--coverage', join(dir, 'c.json'), '--seed', '4', '--shift-dates', '--model', model, '--today', TODAY], (s) => log.push(s));
    const lines = readFileSync(join(dir, 'p.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(2);
    for (const l of lines) parsePatient(JSON.parse(l), { today: TODAY });
    const cov = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8'));
    expect(cov).toMatchObject({ format: 'synthea-csv', patients: 2, eventsRead: 16, dateShift: { applied: true } });
    expect(cov.inVocab).not.toBeNull();
    expect(log.join('\n')).toMatch(/patients: 2 of 2 read[\s\S]*unmapped codes \(1\)[\s\S]*SNOMED 160903007/);
    await expect(importCommand(['nope', 'x', '-o', 'y'])).rejects.toThrow(ImportUsageError);
    await expect(importCommand(['auto', FIXTURES + 'synthea-csv-mini'])).rejects.toThrow(/missing -o/);
    await expect(importCommand(['auto', FIXTURES + 'synthea-csv-mini', '-o', join(dir, 'q.jsonl'), '--bogus'])).rejects.toThrow(ImportUsageError);
  });
});
