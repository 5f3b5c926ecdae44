import { describe, expect, it } from 'vitest';
import { parsePatient, parsePatientsText } from '../../src/data/schema';

const ok = { id: 'p1', sex: 'F', birthDate: '1950-01-01', visits: [{ date: '2020-01-01', events: [{ modality: 'diagnosis', code: 'I10' }] }] };

describe('timeline schema', () => {
  it('names the patient, visit and field of a bad value', () => {
    const bad = { ...ok, visits: [ok.visits[0], { date: '2021-02-03', events: [{ modality: 'lab', code: '718-7', value: 'high' }] }] };
    expect(() => parsePatient(bad)).toThrow('patient p1, visit 2 (2021-02-03), event 1, field value: ');
    expect(() => parsePatient({ ...ok, sex: 'X' })).toThrow(/patient p1, field sex/);
    expect(() => parsePatient({ ...ok, visits: [{ date: '2020-02-30', events: [] }] })).toThrow(/visit 1 \(2020-02-30\), field date: not a real calendar date/);
    expect(() => parsePatient({ ...ok, visits: [{ date: '2020-01-01', events: [{ modality: 'genome', code: 'x' }] }] })).toThrow(/event 1, field modality/);
  });
  it('refuses future visits, visits before birth and ages over 120', () => {
    expect(() => parsePatient({ ...ok, visits: [{ date: '2099-01-01', events: [] }] }, { today: '2026-11-27' })).toThrow(/visit 1 \(2099-01-01\), field date: visit in the future/);
    expect(() => parsePatient({ ...ok, visits: [{ date: '1949-01-01', events: [] }] })).toThrow(/visit before birth date 1950-01-01/);
    expect(() => parsePatient({ ...ok, birthDate: '1880-01-01' })).toThrow(/age over 120/);
  });
  it('reads a JSON array, one pretty-printed patient, or JSON lines', () => {
    expect(parsePatientsText(JSON.stringify([ok, { ...ok, id: 'p2' }])).map((p) => p.id)).toEqual(['p1', 'p2']);
    expect(parsePatientsText(JSON.stringify(ok, null, 2)).map((p) => p.id)).toEqual(['p1']);
    expect(parsePatientsText(`${JSON.stringify(ok)}\n\n${JSON.stringify({ ...ok, id: 'p3' })}\n`).map((p) => p.id)).toEqual(['p1', 'p3']);
    expect(() => parsePatientsText(`${JSON.stringify(ok)}\n{"id": oops}`, 'f.jsonl')).toThrow(/f.jsonl line 2: not valid JSON/);
    expect(() => parsePatientsText('  ', 'f.json')).toThrow(/f.json: file is empty/);
  });
});
