// A searchable list of the cohort's patients (id, age, sex). A listbox: Tab focuses it, arrow keys,
// Home and End move the selection, typing in the search box filters by id.
import { useId, useMemo, useState, type CSSProperties, type KeyboardEvent, memo } from 'react';
import type { Patient } from '../data/schema';
import { ageAtLastVisit } from './format';

/** Rows rendered at most; the search narrows the rest down. */
export const MAX_ROWS = 250;
/** Rows per block of the list. A block out of the list's view is skipped by layout, paint and hit
 *  testing (`content-visibility: auto`). Blocks, not rows: each such element costs the browser an
 *  intersection check and a clipped layer to hit-test on every frame that changes anything on the
 *  page, and with 200 rows that was ~1 ms a frame (BENCHMARKS.md, 2026-12-06, sixth session). */
export const ROWS_PER_BLOCK = 20;

export interface PatientListProps {
  patients: Patient[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  /** predicted risk per patient for the selected task, when the cohort has been predicted */
  risks?: Record<string, number> | null;
  task?: string | null;
}

export const PatientList = memo(function PatientList({ patients, selectedId, onSelect, risks, task }: PatientListProps) {
  const [query, setQuery] = useState('');
  const [byRisk, setByRisk] = useState(false);
  const base = useId();
  const optionId = (pid: string) => `${base}-p-${pid}`;
  const matches = useMemo(() => {
    const q = query.trim().toLowerCase();
    const found = q ? patients.filter((p) => p.id.toLowerCase().includes(q)) : patients;
    return byRisk && risks ? found.slice().sort((a, b) => (risks[b.id] ?? -1) - (risks[a.id] ?? -1)) : found;
  }, [patients, query, byRisk, risks]);
  const shown = matches.slice(0, MAX_ROWS);
  const index = shown.findIndex((p) => p.id === selectedId);

  const onKeyDown = (e: KeyboardEvent) => {
    if (!shown.length) return;
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: shown.length - 1, PageDown: index + 10, PageUp: index - 10 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const target = shown[Math.max(0, Math.min(shown.length - 1, index < 0 && e.key === 'ArrowUp' ? 0 : next))];
    onSelect(target.id);
    document.getElementById(optionId(target.id))?.scrollIntoView({ block: 'nearest' });
  };

  return (
    <section className="patients" aria-labelledby={`${base}-h`}>
      <h2 id={`${base}-h`}>Patients</h2>
      <label htmlFor={`${base}-q`} className="field-label">
        Search by patient id
      </label>
      <input
        id={`${base}-q`}
        type="search"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        placeholder="e.g. syn-0001"
        autoComplete="off"
        spellCheck={false}
        aria-controls={`${base}-list`}
        data-testid="patient-search"
      />
      <label className="small sort-toggle">
        <input type="checkbox" checked={byRisk} disabled={!risks} onChange={(e) => setByRisk(e.target.checked)} data-testid="sort-by-risk" /> Highest
        risk first{task ? ` (${task})` : ''}
      </label>
      <p className="muted small" aria-live="polite">
        {matches.length === patients.length ? `${patients.length} patients` : `${matches.length} of ${patients.length} patients match`}
        {matches.length > shown.length && `; showing the first ${shown.length}`}
      </p>
      <div className="patient-cols" aria-hidden="true">
        <span>Patient</span>
        <span>Age</span>
        <span>Sex</span>
        <span title={task ? `predicted risk of ${task}` : undefined}>Risk</span>
      </div>
      <ul
        id={`${base}-list`}
        role="listbox"
        aria-label="Patients"
        tabIndex={0}
        aria-activedescendant={index >= 0 ? optionId(shown[index].id) : undefined}
        onKeyDown={onKeyDown}
        className="patient-list"
        data-testid="patient-list"
      >
        {blocksOf(shown).map((block, b) => (
          // presentational wrappers: the accessibility tree sees the options as the listbox's own
          <li key={b} role="none" className="patient-block" style={{ '--rows': block.length } as CSSProperties}>
            <ul role="none">
              {block.map((p) => (
                <PatientRow key={p.id} patient={p} optionId={optionId(p.id)} selected={p.id === selectedId} risk={risks?.[p.id]} onSelect={onSelect} />
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </section>
  );
});

function blocksOf<T>(rows: T[]): T[][] {
  const blocks: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_BLOCK) blocks.push(rows.slice(i, i + ROWS_PER_BLOCK));
  return blocks;
}

interface PatientRowProps {
  patient: Patient;
  optionId: string;
  selected: boolean;
  risk: number | undefined;
  onSelect: (id: string) => void;
}

// A memo component: opening a patient re-renders the two rows whose selection changed, not every row.
// React 19 diffs a re-rendered element's props while committing, so re-rendering all 200 rows put
// ~1,800 elements' diffs into the click's frame (BENCHMARKS.md, 2026-12-06, fourth session).
const PatientRow = memo(function PatientRow({ patient: p, optionId, selected, risk, onSelect }: PatientRowProps) {
  const age = ageAtLastVisit(p);
  return (
    <li id={optionId} role="option" aria-selected={selected} onClick={() => onSelect(p.id)} data-testid={`patient-${p.id}`} data-patient-id={p.id}>
      {/* the accessible name is the visible text, with hidden words that say what each number is */}
      <span className="pid">{p.id}</span>
      <span>
        <span className="visually-hidden">, age </span>
        {age ?? '–'}
      </span>
      <span>
        <span className="visually-hidden">, sex </span>
        {p.sex}
      </span>
      <span className="risk-col">
        {risk !== undefined && (
          <>
            <span className="visually-hidden">, risk </span>
            {risk.toFixed(3)}
          </>
        )}
      </span>
    </li>
  );
});
