// inParts: timelines in parts of about N events, for messages between threads (src/data/parts.ts).
import { describe, expect, it } from 'vitest';
import { inParts } from '../../src/data/parts';
import type { Patient } from '../../src/data/schema';

const patientWith = (id: string, events: number): Patient => ({
  id,
  sex: 'F',
  birthDate: '1950-01-01',
  visits: [{ date: '2020-01-01', events: Array.from({ length: events }, () => ({ modality: 'diagnosis', code: 'I10' })) }],
});

describe('inParts', () => {
  it('keeps every patient once, in order, each part within the budget unless one patient exceeds it', () => {
    const ps = [3, 4, 2, 9, 1, 1, 5].map((n, i) => patientWith(`p${i}`, n));
    const parts = inParts(ps, 6);
    expect(parts.flat().map((p) => p.id)).toEqual(ps.map((p) => p.id));
    expect(parts.map((part) => part.map((p) => p.id))).toEqual([['p0'], ['p1', 'p2'], ['p3'], ['p4', 'p5'], ['p6']]);
    for (const part of parts) {
      const events = part.reduce((s, p) => s + p.visits[0].events.length, 0);
      expect(part.length === 1 || events <= 6).toBe(true);
    }
  });

  it('gives no parts for no patients, and one part when all fit', () => {
    expect(inParts([], 10)).toEqual([]);
    const ps = [patientWith('a', 2), patientWith('b', 3)];
    expect(inParts(ps, 10)).toEqual([ps]);
  });
});
