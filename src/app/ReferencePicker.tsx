// Whose normal? The reference population expected gradients compare the patient with: the whole
// reference set, patients of the same sex and age band, patients sharing a diagnosis, or a custom
// filter. Shows the population's size, age range and mean risk, so the reader knows what the
// explanation is relative to.
import { useId } from 'react';
import type { ReferenceFilter } from '../attribution/reference';
import type { Patient } from '../data/schema';
import type { ReferenceRisks } from '../state/engine-client';
import { ageAtLastVisit } from './format';

export type ReferenceMode = 'all' | 'matched' | 'diagnosis' | 'custom';

/** The filter of a preset for this patient: same sex and age within ±5 years, or a diagnosis. */
export function presetFilter(mode: ReferenceMode, patient: Patient, diagnosis = ''): ReferenceFilter {
  const age = ageAtLastVisit(patient) ?? 60;
  if (mode === 'matched') return { sex: patient.sex, ageMin: age - 5, ageMax: age + 5 };
  if (mode === 'diagnosis') return diagnosis ? { diagnosis } : {};
  return {};
}

export function modeOf(f: ReferenceFilter, patient: Patient): ReferenceMode {
  if (!Object.keys(f).length) return 'all';
  const m = presetFilter('matched', patient);
  if (f.sex === m.sex && f.ageMin === m.ageMin && f.ageMax === m.ageMax && f.diagnosis === undefined) return 'matched';
  if (f.diagnosis !== undefined && f.sex === undefined && f.ageMin === undefined && f.ageMax === undefined) return 'diagnosis';
  return 'custom';
}

const categoriesOf = new WeakMap<Patient, string[]>();

/** The patient's diagnosis categories (3-character ICD-10), for the "shares a diagnosis" choice.
 *  Once per patient object (patients are immutable; an edit makes a new one): the pickers re-render
 *  with the page, and a long patient's events take a few ms to scan. */
export function diagnosisCategories(p: Patient): string[] {
  let cats = categoriesOf.get(p);
  if (!cats) categoriesOf.set(p, (cats = [...new Set(p.visits.flatMap((v) => v.events.filter((e) => e.modality === 'diagnosis').map((e) => e.code.slice(0, 3))))].sort()));
  return cats;
}

export function describeFilter(f: ReferenceFilter): string {
  const parts = [
    f.sex ? `sex ${f.sex}` : '',
    f.ageMin !== undefined || f.ageMax !== undefined ? `age ${f.ageMin ?? 0}–${f.ageMax ?? '∞'}` : '',
    f.diagnosis ? `a diagnosis starting ${f.diagnosis}` : '',
  ].filter(Boolean);
  return parts.length ? `reference patients with ${parts.join(', ')}` : 'the whole reference population';
}

export interface ReferencePickerProps {
  patient: Patient;
  filter: ReferenceFilter;
  stats: ReferenceRisks | null | undefined;
  task: string | null;
  onChange: (f: ReferenceFilter) => void;
  label?: string;
  testId?: string;
}

const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

export function ReferencePicker({ patient, filter, stats, task, onChange, label = 'Reference population', testId = 'reference' }: ReferencePickerProps) {
  const base = useId();
  const mode = modeOf(filter, patient);
  const cats = diagnosisCategories(patient);
  const mean = stats && task && stats.sorted[task]?.length ? stats.sorted[task].reduce((a, b) => a + b, 0) / stats.sorted[task].length : null;
  return (
    <fieldset className="reference-picker" data-testid={`${testId}-picker`}>
      <legend>{label}</legend>
      <label>
        Compare with
        <select
          value={mode}
          data-testid={`${testId}-mode`}
          onChange={(e) => onChange(presetFilter(e.target.value as ReferenceMode, patient, cats[0] ?? ''))}
        >
          <option value="all">the whole reference population</option>
          <option value="matched">same sex, age ±5 years</option>
          <option value="diagnosis" disabled={!cats.length}>
            patients sharing a diagnosis
          </option>
          <option value="custom">a custom filter</option>
        </select>
      </label>
      {mode === 'diagnosis' && (
        <label>
          Diagnosis
          <select value={filter.diagnosis ?? ''} onChange={(e) => onChange({ diagnosis: e.target.value })} data-testid={`${testId}-diagnosis`}>
            {cats.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      )}
      {mode === 'custom' && (
        <>
          <label>
            Sex
            <select value={filter.sex ?? ''} onChange={(e) => onChange({ ...filter, sex: (e.target.value || undefined) as ReferenceFilter['sex'] })}>
              <option value="">any</option>
              <option value="F">F</option>
              <option value="M">M</option>
            </select>
          </label>
          <label>
            Age from
            <input type="number" defaultValue={filter.ageMin} onBlur={(e) => onChange({ ...filter, ageMin: num(e.target.value) })} />
          </label>
          <label>
            to
            <input type="number" defaultValue={filter.ageMax} onBlur={(e) => onChange({ ...filter, ageMax: num(e.target.value) })} />
          </label>
          <label>
            Diagnosis prefix
            <input type="text" defaultValue={filter.diagnosis} onBlur={(e) => onChange({ ...filter, diagnosis: e.target.value.trim() || undefined })} />
          </label>
        </>
      )}
      <p className="small" id={`${base}-stats`} data-testid={`${testId}-stats`} data-size={stats?.size ?? ''}>
        {stats === undefined
          ? 'Counting…'
          : stats === null
            ? 'This model has no reference population.'
            : `${stats.size} patients${stats.ages ? `, aged ${Math.round(stats.ages[0])}–${Math.round(stats.ages[1])}` : ''}${mean !== null ? `, mean ${task} risk ${mean.toFixed(3)}` : ''}.`}
      </p>
    </fieldset>
  );
}
