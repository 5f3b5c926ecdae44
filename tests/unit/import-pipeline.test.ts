// The shared import pipeline and the code map: mapping rules, visits, pseudonyms, date shifts,
// future dates, dropped patients, the coverage report's accounting, and format detection.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mapEvent, mergeCodeMaps, normaliseIcd10, parseCodeMap, SHIPPED_CODE_MAP, type CodeMap } from '../../src/data/import/codemap';
import { buildTimelines } from '../../src/data/import/pipeline';
import { detectFormat, formatCoverage, importFiles } from '../../src/data/import';
import { pseudonym, sha256Hex } from '../../src/data/import/deidentify';
import { ImportError, type SourceEvent, type SourceRead } from '../../src/data/import/source';
import { CODE_CATALOGUE } from '../../src/data/codes';
import { MODALITIES, parsePatient } from '../../src/data/schema';
import { eventToken, parseVocab } from '../../src/tokens/vocab';
import { assembleModelFolder } from '../../src/model/folder';

const TODAY = '2025-01-01';
const vocab = parseVocab(JSON.parse(readFileSync(fileURLToPath(new URL('../../public/models/exbehrt/vocab.json', import.meta.url)), 'utf8')));
const ev = (e: Partial<SourceEvent>): SourceEvent => ({ person: 'k1', date: '2020-01-01', kind: 'condition', system: 'SNOMED', code: '38341003', origin: 'test', ...e });
const read = (events: Array<Partial<SourceEvent>>, persons: SourceRead['persons'] = [{ key: 'k1', sex: 'F', birthDate: '1950-01-01' }]): SourceRead => ({
  format: 'fhir',
  persons,
  events: events.map(ev),
  recordsRead: {},
  skipped: {},
});

describe('code map', () => {
  const m = (e: Partial<SourceEvent>) => mapEvent(SHIPPED_CODE_MAP, ev(e));

  it('maps the SNOMED, RxNorm, CVX and LOINC codes Synthea emits', () => {
    expect(m({ code: '38341003' })).toMatchObject({ modality: 'diagnosis', code: 'I10' });
    expect(m({ code: '44054006' })).toMatchObject({ modality: 'diagnosis', code: 'E11.9' });
    expect(m({ kind: 'medication', system: 'RxNorm', code: '316049' })).toMatchObject({ modality: 'medication', code: 'C03AA03' });
    expect(m({ kind: 'immunization', system: 'CVX', code: '140' })).toMatchObject({ modality: 'procedure', code: '86198006' });
    expect(m({ kind: 'observation', system: 'LOINC', code: '2339-0', value: 101, unit: 'mg/dL' })).toEqual({ modality: 'lab', code: '2345-7', value: 101, unit: 'mg/dL', how: 'code map' });
  });

  it('passes ICD-10-CM through with the dot, LOINC as lab or vital, SNOMED procedures and ATC as they are', () => {
    expect(normaliseIcd10('E119')).toBe('E11.9');
    expect(normaliseIcd10('I10')).toBe('I10');
    expect(normaliseIcd10('c34.90')).toBe('C34.90');
    expect(m({ system: 'ICD10CM', code: 'E119' })).toMatchObject({ modality: 'diagnosis', code: 'E11.9', how: 'ICD-10-CM pass-through' });
    expect(m({ kind: 'observation', system: 'LOINC', code: '8867-4', value: 70 })).toMatchObject({ modality: 'vital', code: '8867-4', value: 70 });
    expect(m({ kind: 'observation', system: 'LOINC', code: '4548-4', value: 6.1 })).toMatchObject({ modality: 'lab', code: '4548-4', value: 6.1 });
    expect(m({ kind: 'procedure', code: '73761001' })).toMatchObject({ modality: 'procedure', code: '73761001' });
    expect(m({ kind: 'medication', system: 'ATC', code: 'a10ba02' })).toMatchObject({ modality: 'medication', code: 'A10BA02' });
    // a SNOMED finding with no map entry is unmapped, not passed through as a diagnosis
    expect(m({ code: '160903007' })).toBeNull();
    expect(m({ kind: 'medication', system: 'RxNorm', code: '1043400' })).toBeNull();
  });

  it('maps smoking status by its coded value (FHIR) or the value text (Synthea CSV)', () => {
    const smoke = (valueCode: SourceEvent['valueCode']) => m({ kind: 'observation', system: 'LOINC', code: '72166-2', valueCode });
    expect(smoke({ system: 'SNOMED', code: '449868002' })).toMatchObject({ modality: 'smoking', code: 'SMOKING:current' });
    expect(smoke({ system: 'SNOMED', code: '8517006' })).toMatchObject({ code: 'SMOKING:former' });
    expect(smoke({ system: 'text', code: '', display: 'Never smoker' })).toMatchObject({ code: 'SMOKING:never' });
    expect(smoke({ system: 'SNOMED', code: '266927001' })).toBeNull(); // unknown if ever smoked
    expect(smoke(undefined)).toBeNull();
  });

  it('targets only codes of the model code systems; what the catalogue knows, it describes', () => {
    const known = new Set(CODE_CATALOGUE.map((c) => `${c.modality}:${c.code}`));
    let inCatalogue = 0;
    for (const [k, t] of Object.entries(SHIPPED_CODE_MAP.codes)) {
      if (t.modality === 'diagnosis') expect(t.code, k).toMatch(/^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/);
      if (t.modality === 'medication') expect(t.code, k).toMatch(/^[A-Z]\d\d[A-Z][A-Z]\d\d$/);
      if (t.modality === 'procedure') expect(t.code, k).toMatch(/^\d{6,18}$/);
      if (t.modality === 'diagnosis' && t.code.startsWith('C')) expect(k, 'C = cancer in this project').toMatch(/SNOMED\|(254637007|254632001|363406005|109838007|254837009)/);
      if (known.has(`${t.modality}:${t.code}`)) inCatalogue++;
    }
    expect(inCatalogue).toBeGreaterThan(30);
    for (const table of Object.values(SHIPPED_CODE_MAP.values)) for (const t of Object.values(table)) expect(known.has(`${t.modality}:${t.code}`)).toBe(true);
  });

  it('parses codemap.json with errors naming the file and field; later maps win', () => {
    expect(() => parseCodeMap({ format: 'exbehrt-codemap', version: 1, codes: { 'SNOMED|1': { modality: 'diagnosis', code: '' } } }, 'm/codemap.json')).toThrow(
      /m\/codemap\.json: field codes\.SNOMED\|1\.code: code must not be empty/,
    );
    expect(() => parseCodeMap({ format: 'exbehrt-codemap', version: 1, codes: { nopipe: { modality: 'diagnosis', code: 'I10' } } }, 'c.json')).toThrow(/c\.json: field codes/);
    expect(() => parseCodeMap({ format: 'other', version: 1 }, 'c.json')).toThrow(ImportError);
    expect(() => parseCodeMap({ format: 'exbehrt-codemap', version: 1, codes: { 'SNOMED|1': { modality: 'dx', code: 'I10' } } }, 'c.json')).toThrow(/field codes\.SNOMED\|1\.modality/);
    const local = parseCodeMap({ format: 'exbehrt-codemap', version: 1, name: 'site', codes: { 'SNOMED|160903007': { modality: 'diagnosis', code: 'Z56.9' }, 'SNOMED|38341003': { modality: 'diagnosis', code: 'I15.9' } } }, 'c.json');
    const merged = mergeCodeMaps(SHIPPED_CODE_MAP, local);
    expect(mapEvent(merged, ev({ code: '160903007' }))).toMatchObject({ code: 'Z56.9' });
    expect(mapEvent(merged, ev({ code: '38341003' }))).toMatchObject({ code: 'I15.9' });
    expect(mapEvent(merged, ev({ code: '44054006' }))).toMatchObject({ code: 'E11.9' });
    // round trip: the shipped map is its own valid codemap.json
    expect(parseCodeMap(JSON.parse(JSON.stringify(SHIPPED_CODE_MAP)), 'x')).toEqual(SHIPPED_CODE_MAP);
  });

  it('a model folder may carry codemap.json (validated with the folder)', () => {
    const dir = fileURLToPath(new URL('../../public/models/exbehrt/', import.meta.url));
    const files = { config: readFileSync(dir + 'config.json', 'utf8'), vocab: readFileSync(dir + 'vocab.json', 'utf8'), safetensors: new Uint8Array(readFileSync(dir + 'model.safetensors')) };
    expect(assembleModelFolder('m', files).codeMap).toBeNull();
    const withMap = assembleModelFolder('m', { ...files, codeMap: JSON.stringify({ format: 'exbehrt-codemap', version: 1, codes: { 'SNOMED|1': { modality: 'diagnosis', code: 'I10' } } }) });
    expect(withMap.codeMap?.codes['SNOMED|1']).toEqual({ modality: 'diagnosis', code: 'I10' });
    expect(() => assembleModelFolder('m', { ...files, codeMap: '{"format":"exbehrt-codemap","version":2}' })).toThrow(/codemap\.json: field version/);
  });
});

describe('buildTimelines', () => {
  it('groups by encounter, else by day, and dates a visit by its first event', () => {
    const { patients } = buildTimelines(
      read([
        { encounter: 'E1', date: '2020-01-02', code: '44054006' },
        { encounter: 'E1', date: '2020-01-01' },
        { date: '2020-01-01', kind: 'procedure', code: '73761001' },
        { date: '2020-03-01', kind: 'procedure', code: '73761001' },
      ]),
      { today: TODAY, seed: 1 },
    );
    expect(patients[0].visits).toEqual([
      { date: '2020-01-01', id: 'v1', events: [{ modality: 'diagnosis', code: 'E11.9' }, { modality: 'diagnosis', code: 'I10' }] },
      { date: '2020-01-01', id: 'v2', events: [{ modality: 'procedure', code: '73761001' }] },
      { date: '2020-03-01', id: 'v3', events: [{ modality: 'procedure', code: '73761001' }] },
    ]);
  });

  it('keeps unmapped codes as <SYSTEM>:<code> in their modality and lists them with counts', () => {
    const { patients, coverage } = buildTimelines(
      read([
        { code: '160903007', display: 'Full-time employment (finding)' },
        { code: '160903007', date: '2021-01-01' },
        { kind: 'immunization', system: 'CVX', code: '999' },
        { kind: 'observation', system: 'local', code: 'QX', value: 3 },
      ]),
      { today: TODAY, seed: 1, vocab },
    );
    const events = patients[0].visits.flatMap((v) => v.events);
    expect(events).toContainEqual({ modality: 'diagnosis', code: 'SNOMED:160903007' });
    expect(events).toContainEqual({ modality: 'procedure', code: 'CVX:999' });
    expect(events).toContainEqual({ modality: 'lab', code: 'local:QX', value: 3 });
    expect(coverage.unmapped[0]).toEqual({ system: 'SNOMED', code: '160903007', display: 'Full-time employment (finding)', kind: 'condition', count: 2 });
    expect(coverage.unmappedEvents).toBe(4);
    expect(coverage.mappedFraction).toBe(0);
    // no unmapped diagnosis may look like a cancer code (C...)
    const c = buildTimelines(read([{ system: 'CPT', code: '1' }]), { today: TODAY, seed: 1 });
    expect(c.patients[0].visits[0].events[0].code).toBe('SRC:CPT:1');
  });

  it('counts in-vocabulary codes and lists mapped codes the model does not know', () => {
    const { coverage } = buildTimelines(
      read([
        { code: '38341003' },
        { kind: 'medication', system: 'RxNorm', code: '314076' }, // lisinopril: ATC C09AA03, not in the shipped vocab
        { kind: 'observation', system: 'LOINC', code: '8480-6', value: 150 },
        { kind: 'observation', system: 'LOINC', code: '2093-3' }, // no value: no bin, not a vocab token
      ]),
      { today: TODAY, seed: 1, vocab },
    );
    expect(coverage.inVocab).toMatchObject({ diagnosis: 1, medication: 0, vital: 1, lab: 0 });
    expect(coverage.notInVocab).toEqual([
      { modality: 'lab', code: '2093-3', count: 1 },
      { modality: 'medication', code: 'C09AA03', count: 1 },
    ]);
    expect(coverage.inVocabFraction).toBe(0.5);
  });

  it('checks a series\' latest value in the form the tokenizer gives it (vocab.json last_value)', () => {
    // two systolic readings of 150 in the same bin: the earlier is `<code>|q<k>`, the later `<code>|q<k>|last`
    const obs = (date: string) => ({ kind: 'observation' as const, system: 'LOINC', code: '8480-6', value: 150, date });
    const plain = eventToken({ modality: 'vital', code: '8480-6', value: 150 }, vocab.bins);
    expect(vocab.last_value).toBe(true);
    expect(vocab.modalities.vital).toContain(plain);
    expect(vocab.modalities.vital).toContain(`${plain}|last`);
    const both = buildTimelines(read([obs('2020-01-01'), obs('2021-01-01')]), { today: TODAY, seed: 1, vocab });
    expect(both.coverage.inVocab).toMatchObject({ vital: 2 });
    // a vocab that knows the bin but not its latest-value form: the later reading becomes UNK
    const noLast = { ...vocab, modalities: { ...vocab.modalities, vital: vocab.modalities.vital.filter((t) => t !== `${plain}|last`) } };
    const one = buildTimelines(read([obs('2020-01-01'), obs('2021-01-01')]), { today: TODAY, seed: 1, vocab: noLast });
    expect(one.coverage.inVocab).toMatchObject({ vital: 1 });
    expect(one.coverage.notInVocab).toEqual([{ modality: 'vital', code: '8480-6', count: 1 }]);
    // and one without last_value checks the plain form for both
    const off = buildTimelines(read([obs('2020-01-01'), obs('2021-01-01')]), { today: TODAY, seed: 1, vocab: { ...noLast, last_value: false } });
    expect(off.coverage.inVocab).toMatchObject({ vital: 2 });
  });

  it('pseudonyms: salted, stable under a seed, different across seeds, never the source key', () => {
    const r = read([{}]);
    const a = buildTimelines(r, { today: TODAY, seed: 1 }).patients[0].id;
    expect(buildTimelines(r, { today: TODAY, seed: 1 }).patients[0].id).toBe(a);
    expect(buildTimelines(r, { today: TODAY, seed: 2 }).patients[0].id).not.toBe(a);
    expect(buildTimelines(r, { today: TODAY }).patients[0].id).not.toBe(buildTimelines(r, { today: TODAY }).patients[0].id);
    expect(a).toBe(pseudonym('exbehrt-import:1', 'k1'));
    expect(a).not.toContain('k1');
    expect(sha256Hex('k1')).not.toContain(a.slice(1));
    // the SHA-256 itself (FIPS 180-4 test vectors)
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('a'.repeat(1000))).toBe('41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3');
  });

  it('shifts all dates of a patient by one offset when asked (ages and intervals kept)', () => {
    const r = read([{ date: '2020-01-01' }, { date: '2020-06-15' }], [
      { key: 'k1', sex: 'F', birthDate: '1950-01-01' },
      { key: 'k2', sex: 'M', birthDate: '1960-01-01' },
    ]);
    r.events.push({ ...ev({ person: 'k2', date: '2020-01-01' }) });
    const plain = buildTimelines(r, { today: TODAY, seed: 9 });
    const shifted = buildTimelines(r, { today: TODAY, seed: 9, shiftDates: true });
    expect(shifted.coverage.dateShift).toEqual({ applied: true, movedBackFromFuture: 0 });
    const d = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;
    const offsets = shifted.patients.map((p, i) => d(plain.patients[i].birthDate, p.birthDate));
    for (const [i, p] of shifted.patients.entries()) {
      expect(offsets[i]).toBeLessThan(0);
      expect(offsets[i]).toBeGreaterThanOrEqual(-365);
      p.visits.forEach((v, j) => expect(d(plain.patients[i].visits[j].date, v.date)).toBe(offsets[i]));
    }
    expect(offsets[0]).not.toBe(offsets[1]); // one offset per patient, not one per import
    // the report says that dates were shifted, never by how much
    expect(Object.keys(shifted.coverage.dateShift)).toEqual(['applied', 'movedBackFromFuture']);
  });

  it('moves a timeline that runs past today back as a whole, and says so', () => {
    const { patients, coverage } = buildTimelines(read([{ date: '2150-01-01' }, { date: '2152-07-01' }], [{ key: 'k1', sex: 'M', birthDate: '2090-05-05' }]), { today: TODAY, seed: 1 });
    expect(coverage.dateShift.movedBackFromFuture).toBe(1);
    const p = patients[0];
    expect(p.visits[1].date).toBe('2024-12-31');
    const d = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;
    expect(d(p.birthDate, p.visits[0].date)).toBe(d('2090-05-05', '2150-01-01'));
    expect(d(p.visits[0].date, p.visits[1].date)).toBe(d('2150-01-01', '2152-07-01'));
  });

  it('drops a patient whose timeline is invalid, whole, and accounts for every event', () => {
    const r = read(
      [{ date: '1940-01-01' }, { date: '2020-01-01' }, { person: 'k2', date: '2020-01-01' }, { person: 'ghost' }, { person: 'k3', kind: 'death', system: 'LOINC', code: '69453-9' }],
      [
        { key: 'k1', sex: 'F', birthDate: '1950-01-01' },
        { key: 'k2', sex: 'F', birthDate: '1950-01-01', deathDate: '2021-01-01' },
        { key: 'k3', sex: 'M', birthDate: '1950-01-01' },
        { key: 'k4', sex: 'M', birthDate: '1950-01-01', droppedFields: ['Patient.name', 'Patient.name'] },
      ],
    );
    const { patients, coverage } = buildTimelines(r, { today: TODAY, seed: 1 });
    expect(patients.length).toBe(1);
    expect(coverage.droppedPatients).toHaveLength(1);
    expect(coverage.droppedPatients[0].reason).toMatch(/visit before birth date/);
    expect(coverage.droppedPatients[0].reason).not.toContain('k1');
    expect(coverage).toMatchObject({ personsRead: 4, personsWithoutEvents: 2, deaths: 2, eventsRead: 5, eventsInTimelines: 1, eventsOfDroppedPatients: 2, eventsWithoutPerson: 1, deathRecords: 1 });
    expect(coverage.removed['Patient.name']).toBe(2);
    expect(formatCoverage(coverage)).toMatch(/1 of 4 read/);
  });

  it('every output passes parsePatient; a duplicate source key or cancellation is an ImportError', () => {
    const { patients } = buildTimelines(read([{}]), { today: TODAY, seed: 1 });
    for (const p of patients) expect(parsePatient(p, { today: TODAY })).toEqual(p);
    expect(() => buildTimelines(read([], [{ key: 'a', sex: 'F', birthDate: '1950-01-01' }, { key: 'a', sex: 'F', birthDate: '1950-01-01' }]))).toThrow(ImportError);
    const ac = new AbortController();
    ac.abort();
    const many = read([], Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, sex: 'F' as const, birthDate: '1950-01-01' })));
    expect(() => buildTimelines(many, { signal: ac.signal })).toThrow(/cancelled/);
  });

  it('derives BMI classes for adults only, with the generator cut points', () => {
    const bmi = (value: number, birthDate = '1950-01-01') =>
      buildTimelines(read([{ kind: 'observation', system: 'LOINC', code: '39156-5', value }], [{ key: 'k1', sex: 'F', birthDate }]), { today: TODAY, seed: 1 }).patients[0].visits[0].events.map((e) => e.code);
    expect(bmi(18.4)).toEqual(['39156-5', 'BMI:underweight']);
    expect(bmi(24.9)).toEqual(['39156-5', 'BMI:normal']);
    expect(bmi(29.99)).toEqual(['39156-5', 'BMI:overweight']);
    expect(bmi(30)).toEqual(['39156-5', 'BMI:obese']);
    expect(bmi(30, '2010-01-01')).toEqual(['39156-5']);
  });

  it('reports zero for every modality it did not see', () => {
    const { coverage } = buildTimelines(read([{}]), { today: TODAY, seed: 1 });
    expect(Object.keys(coverage.mapped)).toEqual([...MODALITIES]);
  });
});

describe('detectFormat and importFiles', () => {
  it('detects formats from names and contents', () => {
    expect(detectFormat([{ name: 'a/patients.csv', text: 'Id,BIRTHDATE' }, { name: 'a/conditions.csv', text: '' }])).toBe('synthea-csv');
    expect(detectFormat([{ name: 'PERSON.csv', text: '' }, { name: 'CONDITION_OCCURRENCE.csv', text: '' }])).toBe('omop');
    expect(detectFormat([{ name: 'data/train/0.parquet', bytes: new Uint8Array(4) }])).toBe('meds');
    expect(detectFormat([{ name: 'Patient.ndjson', text: '' }])).toBe('fhir');
    expect(detectFormat([{ name: 'x.json', text: '{"resourceType": "Bundle"}' }])).toBe('fhir');
    expect(detectFormat([{ name: 'p.jsonl', text: '{"id":"a","sex":"F","birthDate":"1950-01-01","visits":[]}' }])).toBe('timeline');
    expect(detectFormat([{ name: 'x.txt', text: 'hello' }])).toBeNull();
  });

  it('imports the project timeline format as it is, and names an undetectable input', async () => {
    const p = { id: 'a', sex: 'F', birthDate: '1950-01-01', visits: [{ date: '2020-01-01', events: [{ modality: 'diagnosis', code: 'I10' }] }] };
    const res = await importFiles([{ name: 'p.jsonl', text: JSON.stringify(p) + '\n' }], { today: TODAY });
    expect(res.format).toBe('timeline');
    expect(res.patients).toEqual([p]);
    expect(res.coverage.mapped.diagnosis).toBe(1);
    await expect(importFiles([{ name: 'x.txt', text: 'hello' }])).rejects.toThrow(/cannot tell the format of x\.txt/);
    await expect(importFiles([{ name: 'p.jsonl', text: '{"id":"a"}' }], { format: 'timeline' })).rejects.toThrow(ImportError);
  });
});

// a CodeMap type check: the exported interface is what codemap.json parses to
const _typed: CodeMap = SHIPPED_CODE_MAP;
void _typed;
