// The patient list's rows: what a screen reader says for each (the option's name is its text, with
// hidden words that say what each number is), rendered to HTML in Node.
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { Patient } from '../../src/data/schema';
import { PatientList } from '../../src/app/PatientList';

describe('PatientList', () => {
  const patients: Patient[] = [
    { id: 'p1', sex: 'F', birthDate: '1950-06-01', visits: [{ date: '2020-06-02', events: [{ modality: 'diagnosis', code: 'I10' }] }] },
    { id: 'p2', sex: 'M', birthDate: '1960-01-01', visits: [] },
  ];
  const html = renderToStaticMarkup(<PatientList patients={patients} selectedId="p2" onSelect={() => {}} risks={{ p1: 0.12345 }} task="hf_12m" />);
  const options = [...html.matchAll(/<li [^>]*role="option"[^>]*>(.*?)<\/li>/g)].map(([li, inner]) => ({
    selected: li.match(/aria-selected="([^"]*)"/)?.[1],
    text: inner.replace(/<[^>]*>/g, ''),
    shown: inner.replace(/<span class="visually-hidden">[^<]*<\/span>/g, '').replace(/<[^>]*>/g, ' ').trim().split(/\s+/),
  }));

  it('reads each option as id, age, sex and risk, saying what each number is', () => {
    expect(options.map((o) => o.text)).toEqual(['p1, age 70, sex F, risk 0.123', 'p2, age –, sex M']);
    expect(options.map((o) => o.selected)).toEqual(['false', 'true']);
  });

  it('shows the numbers alone, in columns', () => {
    expect(options.map((o) => o.shown)).toEqual([
      ['p1', '70', 'F', '0.123'],
      ['p2', '–', 'M'],
    ]);
  });
});
