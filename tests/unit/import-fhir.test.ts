// FHIR R4 reader: conformance on the third-party Synthea bundles in ../shared/ehr-samples (counts
// derived here by a plain JSON walk), the project's own Bulk Data NDJSON fixture (relative,
// conditional and absolute references), and clear errors for bad input.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFhir } from '../../src/data/import/fhir';
import { buildTimelines } from '../../src/data/import/pipeline';
import { importFiles } from '../../src/data/import';
import { ImportError, type SourceFile } from '../../src/data/import/source';
import { parsePatient } from '../../src/data/schema';
import { parseVocab } from '../../src/tokens/vocab';

const SAMPLES = fileURLToPath(new URL('../../../shared/ehr-samples/synthea-fhir-r4/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
const haveSamples = existsSync(SAMPLES);
const TODAY = '2025-01-01';
const vocab = parseVocab(JSON.parse(readFileSync(fileURLToPath(new URL('../../public/models/exbehrt/vocab.json', import.meta.url)), 'utf8')));

const dirFiles = (dir: string, re: RegExp): SourceFile[] =>
  readdirSync(dir)
    .filter((n) => re.test(n))
    .sort()
    .map((n) => ({ name: n, text: readFileSync(dir + n, 'utf8') }));

describe('FHIR R4 Synthea bundles (../shared/ehr-samples/synthea-fhir-r4)', () => {
  if (!haveSamples) {
    if (process.env.CI === 'true')
      it('needs ../shared/ehr-samples', () => {
        throw new Error(`${SAMPLES} is absent; CI=true requires the third-party samples (see ../shared/ehr-samples/README.md)`);
      });
    else it.skip(`skipped: ${SAMPLES} is absent (third-party samples; the tests run where ../shared/ehr-samples exists)`, () => {});
    return;
  }
  const files = dirFiles(SAMPLES, /\.json$/);

  // independent expectations: a plain walk over the bundles
  const perType: Record<string, number> = {};
  let patients = 0;
  let deceased = 0;
  let clinicalEvents = 0;
  let causeOfDeath = 0;
  const identifying: string[] = [];
  for (const f of files) {
    const b = JSON.parse(f.text!);
    for (const e of b.entry) {
      const r = e.resource;
      perType[r.resourceType] = (perType[r.resourceType] ?? 0) + 1;
      if (r.resourceType === 'Patient') {
        patients++;
        if (r.deceasedDateTime) deceased++;
        for (const n of r.name ?? []) identifying.push(n.family, ...(n.given ?? []));
        for (const i of r.identifier ?? []) if (i.value && i.value.length > 6) identifying.push(i.value);
        for (const a of r.address ?? []) identifying.push(...(a.line ?? []));
        for (const t of r.telecom ?? []) identifying.push(t.value);
        identifying.push(r.id);
      }
      if (['Condition', 'Procedure', 'MedicationRequest', 'Immunization'].includes(r.resourceType)) clinicalEvents++;
      if (r.resourceType === 'Observation') {
        if (r.code.coding[0].code === '69453-9') causeOfDeath++;
        else if (r.component && !r.valueQuantity && !r.valueCodeableConcept) clinicalEvents += r.component.length;
        else clinicalEvents++;
      }
    }
  }

  it('reads every resource of the 30 bundles (non-ASCII file names, a 3.5 MB record)', async () => {
    expect(files.length).toBe(30);
    expect(files.some((f) => /[^\x00-\x7f]/.test(f.name))).toBe(true);
    expect(Math.max(...files.map((f) => f.text!.length))).toBeGreaterThan(3_000_000);
    const read = await readFhir(files);
    expect(read.recordsRead).toEqual(perType);
    expect(read.persons.length).toBe(patients);
    expect(read.persons.filter((p) => p.deathDate).length).toBe(deceased);
    expect(read.events.filter((e) => e.kind !== 'death').length).toBe(clinicalEvents);
    expect(read.events.filter((e) => e.kind === 'death').length).toBe(causeOfDeath);
    // nothing the model has no use for is silently lost: every record is read or skipped with a reason
    const used = perType.Patient + ['Condition', 'Procedure', 'MedicationRequest', 'Immunization', 'Observation'].reduce((s, t) => s + (perType[t] ?? 0), 0);
    const skippedTotal = Object.values(read.skipped).reduce((a, b) => a + b, 0);
    expect(used + skippedTotal).toBe(Object.values(perType).reduce((a, b) => a + b, 0));
  });

  it('builds valid, de-identified timelines with a complete coverage report', async () => {
    const t0 = performance.now();
    const { patients: out, coverage } = await importFiles(files, { today: TODAY, seed: 11, vocab });
    const ms = performance.now() - t0;
    expect(out.length).toBe(patients);
    for (const p of out) parsePatient(p, { today: TODAY });
    expect(coverage.deaths).toBe(deceased);
    expect(coverage.eventsRead).toBe(clinicalEvents + causeOfDeath);
    expect(coverage.eventsInTimelines + coverage.deathRecords + coverage.eventsWithoutPerson + coverage.eventsOfDroppedPatients).toBe(coverage.eventsRead);
    const mapped = Object.values(coverage.mapped).reduce((a, b) => a + b, 0);
    expect(mapped + coverage.unmappedEvents).toBe(coverage.eventsInTimelines);
    expect(coverage.mappedFraction).toBeGreaterThan(0.95);
    expect(coverage.inVocabFraction).toBeGreaterThan(0.4);
    expect(coverage.mapped.smoking).toBe(216);
    expect(coverage.removed['Patient.name']).toBe(patients);
    expect(coverage.removed['Patient.identifier(SS)']).toBe(patients);
    // no name, identifier, address, phone or source id reaches a timeline
    const text = JSON.stringify(out);
    for (const s of identifying) if (s && s.length > 3) expect(text, s).not.toContain(s);
    expect(ms).toBeLessThan(20_000);
  });

  it('maps what the brief names: hypertension -> I10, blood pressure components, smoking, BMI class', async () => {
    const { patients: out } = await importFiles(files, { today: TODAY, seed: 1 });
    const all = out.flatMap((p) => p.visits.flatMap((v) => v.events));
    expect(all.some((e) => e.modality === 'diagnosis' && e.code === 'I10')).toBe(true);
    expect(all.filter((e) => e.code === '8480-6' && e.modality === 'vital').length).toBe(353);
    expect(all.filter((e) => e.code === '8462-4' && e.modality === 'vital').length).toBe(353);
    expect(new Set(all.filter((e) => e.modality === 'smoking').map((e) => e.code))).toEqual(new Set(['SMOKING:never', 'SMOKING:former', 'SMOKING:current']));
    expect(all.some((e) => e.modality === 'characteristic' && e.code.startsWith('BMI:'))).toBe(true);
  });
});

describe('FHIR Bulk Data NDJSON (tests/fixtures/import/fhir-bulk)', () => {
  const files = () => dirFiles(FIXTURES + 'fhir-bulk/', /\.ndjson$/);

  it('resolves relative, conditional and absolute references and groups by encounter', async () => {
    const read = await readFhir(files());
    expect(read.persons.map((p) => p.key).sort()).toEqual(['Patient/p1', 'Patient/p2', 'Patient/p3']);
    expect(read.recordsRead).toEqual({ Patient: 3, Encounter: 4, Condition: 5, Observation: 8, MedicationRequest: 2, Procedure: 2, Immunization: 2, Claim: 1 });
    expect(read.skipped).toMatchObject({
      'Condition: status entered-in-error': 1,
      'Observation: status entered-in-error': 1,
      'Immunization: status not-done': 1,
      'Procedure: subject not among the Patients read': 1,
      'Claim: billing, not clinical': 1,
    });
    const p2 = read.events.filter((e) => e.person === 'Patient/p2');
    expect(p2.map((e) => e.code).sort()).toEqual(['160903007', '29463-7']);
    const c2 = read.events.find((e) => e.origin.startsWith('Condition/c2'))!;
    // no onset: the encounter's start date; the ICD-10-CM coding is preferred over SNOMED
    expect(c2).toMatchObject({ date: '2020-05-10', system: 'ICD10CM', code: 'E119', encounter: 'Encounter/e2' });
    // dates are cut to the day as written (not converted to UTC)
    expect(read.events.find((e) => e.origin.startsWith('Observation/o7'))!.date).toBe('2018-11-21');
    expect(read.persons.find((p) => p.key === 'Patient/p2')!.birthDate).toBe('1980-07-01');
    expect(read.persons.find((p) => p.key === 'Patient/p1')!.deathDate).toBe('2021-06-01');
  });

  it('gives the timelines the brief describes', async () => {
    const { patients, coverage } = await importFiles(files(), { today: TODAY, seed: 3, vocab });
    expect(coverage.eventsRead).toBe(16);
    expect(coverage.deathRecords).toBe(1);
    expect(coverage.eventsInTimelines).toBe(15);
    expect(coverage.unmapped.map((u) => `${u.system}|${u.code}`).sort()).toEqual(['RxNorm|1043400', 'SNOMED|160903007']);
    expect(coverage.derived).toEqual({ 'BMI:obese': 1 });
    expect(coverage.dateShift.movedBackFromFuture).toBe(1);
    expect(coverage.removed).toMatchObject({ 'Patient.name': 2, 'Patient.identifier(SS)': 1, 'Patient.identifier(MR)': 1, 'Patient.telecom': 1, 'Patient.address': 1 });
    const byVisits = patients.map((p) => p.visits.length).sort();
    expect(byVisits).toEqual([1, 2, 2]);
    const p1 = patients.find((p) => p.birthDate === '1950-03-04')!;
    expect(p1.visits[0]).toMatchObject({ date: '2019-02-01', id: 'v1' });
    expect(p1.visits[0].events).toEqual([
      { modality: 'diagnosis', code: 'I10' },
      { modality: 'procedure', code: '86198006' },
      { modality: 'medication', code: 'C03AA03' },
      // valueString is free text: the observation stays, its text does not
      { modality: 'lab', code: '8302-2' },
      { modality: 'vital', code: '8480-6', value: 151, unit: 'mm[Hg]' },
      { modality: 'vital', code: '8462-4', value: 92, unit: 'mm[Hg]' },
      { modality: 'vital', code: '39156-5', value: 31.2, unit: 'kg/m2' },
      { modality: 'smoking', code: 'SMOKING:current' },
      { modality: 'characteristic', code: 'BMI:obese' },
    ]);
    expect(p1.visits[1].events).toEqual([
      { modality: 'diagnosis', code: 'E11.9' },
      { modality: 'procedure', code: '40701008' },
      { modality: 'medication', code: 'RxNorm:1043400' },
      { modality: 'lab', code: '2345-7', value: 182, unit: 'mg/dL' },
    ]);
    // p3 lived in 2150: moved back as a whole, age kept (50 years at the visit)
    const p3 = patients.find((p) => p.sex === 'U')!;
    expect(p3.visits[0].date).toBe('2024-12-31');
    const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;
    expect(days(p3.birthDate, p3.visits[0].date)).toBe(days('2100-01-15', '2150-03-01'));
    expect(JSON.stringify(patients)).not.toMatch(/Testperson|Alma|999-11-2222|555-0100|Nowhere|MRN-0002|daughter|"p1"/);
  });

  it('reports progress and honours cancellation', async () => {
    const seen: Array<[number, number]> = [];
    await readFhir(files(), { onProgress: (d, t) => seen.push([d, t]) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1][0]).toBe(seen[seen.length - 1][1]);
    const ac = new AbortController();
    ac.abort();
    await expect(readFhir(files(), { signal: ac.signal })).rejects.toThrow(/cancelled/);
    // cancelled mid-way: from the progress callback
    const ac2 = new AbortController();
    const line = files().find((f) => f.name === 'Observation.ndjson')!.text!.split('\n')[3];
    const big: SourceFile = { name: 'Observation.ndjson', text: Array.from({ length: 20000 }, (_, i) => line.replace('"o4"', `"o4-${i}"`)).join('\n') };
    await expect(readFhir([files()[0], big], { signal: ac2.signal, onProgress: () => ac2.abort() })).rejects.toThrow(ImportError);
  });
});

describe('FHIR bad input: ImportError naming file, resource or line, and field', () => {
  const bad = (n: string): SourceFile => ({ name: n, text: readFileSync(FIXTURES + 'bad/' + n, 'utf8') });
  it.each([
    ['fhir-bad-date.json', /fhir-bad-date\.json entry 2.*field onsetDateTime.*2019-02-30.*calendar date/],
    ['fhir-no-subject.json', /Observation\/o \(fhir-no-subject\.json entry 2\), field subject: expected a Reference/],
    ['truncated.ndjson', /truncated\.ndjson line 2: not valid JSON/],
  ])('%s', async (name, msg) => {
    const err = await readFhir([bad(name)]).catch((e) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toMatch(msg);
  });

  it('names missing fields of inline resources', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ resourceType: 'Patient', id: 'a', gender: 'female' }, /Patient\/a in x\.json, field birthDate: missing/],
      [{ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', id: 'a', birthDate: '1970' } }, { resource: { resourceType: 'Condition', id: 'c', subject: { reference: 'Patient/a' }, onsetDateTime: '2019-01-01' } }] }, /Condition\/c \(x\.json entry 2\), field code: missing/],
      [{ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', id: 'a', birthDate: '1970' } }, { resource: { resourceType: 'Condition', id: 'c', subject: { reference: 'Patient/a' }, code: { coding: [{ code: 'x' }] } } }] }, /Condition\/c .*field onset\[x\]: missing/],
      [{ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', id: 'a', birthDate: '1970' } }, { resource: { resourceType: 'Observation', id: 'o', subject: { reference: 'Patient/a' }, effectiveDateTime: '2019-01-01', code: { coding: [{ code: '1-1' }] }, valueQuantity: { value: '12' } } }] }, /Observation\/o .*field valueQuantity\.value: expected a number/],
      [{ resourceType: 'Bundle', entry: 'nope' }, /x\.json: Bundle, field entry: expected an array/],
      [[1, 2], /x\.json: expected a FHIR resource/],
    ];
    for (const [json, msg] of cases) {
      const err = await readFhir([{ name: 'x.json', text: JSON.stringify(json) }]).catch((e) => e);
      expect(err, JSON.stringify(json)).toBeInstanceOf(ImportError);
      expect(err.message).toMatch(msg);
    }
  });

  it('builds timelines from a bundle with urn:uuid references', async () => {
    const b = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:aa', resource: { resourceType: 'Patient', id: 'aa', gender: 'male', birthDate: '1960-01-01' } },
        { fullUrl: 'urn:uuid:ee', resource: { resourceType: 'Encounter', id: 'ee', subject: { reference: 'urn:uuid:aa' }, period: { start: '2015-05-05T08:00:00Z' } } },
        { fullUrl: 'urn:uuid:cc', resource: { resourceType: 'Condition', id: 'cc', subject: { reference: 'urn:uuid:aa' }, encounter: { reference: 'urn:uuid:ee' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] }, onsetDateTime: '2015-05-05T08:10:00Z' } },
      ],
    };
    const read = await readFhir([{ name: 'b.json', text: JSON.stringify(b) }]);
    const { patients } = buildTimelines(read, { today: TODAY, seed: 1 });
    expect(patients[0].visits).toEqual([{ date: '2015-05-05', id: 'v1', events: [{ modality: 'diagnosis', code: 'E11.9' }] }]);
  });
});
