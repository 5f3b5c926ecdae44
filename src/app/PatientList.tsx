// A searchable list of the cohort's patients (id, age, sex). A listbox: Tab focuses it, arrow keys,
// Home and End move the selection, typing in the search box filters by id.
import { memo, useCallback, useId, useLayoutEffect, useMemo, useState, useSyncExternalStore, type CSSProperties, type KeyboardEvent } from 'react';
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
  const matches = useMemo(() => {
    const q = query.trim().toLowerCase();
    const found = q ? patients.filter((p) => p.id.toLowerCase().includes(q)) : patients;
    return byRisk && risks ? found.slice().sort((a, b) => (risks[b.id] ?? -1) - (risks[a.id] ?? -1)) : found;
  }, [patients, query, byRisk, risks]);
  const shown = useMemo(() => matches.slice(0, MAX_ROWS), [matches]);
  const index = shown.findIndex((p) => p.id === selectedId);
  const selection = useSelection(selectedId);
  // the rows follow at once, in the same render as the page's update for the patient (one commit)
  const choose = useCallback(
    (id: string) => {
      selection.set(id);
      onSelect(id);
    },
    [selection, onSelect],
  );
  // the rows do not depend on the selection (each row follows it on its own), so a new selection
  // leaves this element tree as it is and React skips it
  const rows = useMemo(
    () =>
      blocksOf(shown).map((block, b) => (
        // presentational wrappers: the accessibility tree sees the options as the listbox's own
        <li key={b} role="none" className="patient-block" style={{ '--rows': block.length } as CSSProperties}>
          <ul role="none">
            {block.map((p) => (
              <PatientRow key={p.id} patient={p} optionId={optionIdOf(base, p.id)} selection={selection} risk={risks?.[p.id]} onSelect={choose} />
            ))}
          </ul>
        </li>
      )),
    [shown, base, selection, risks, choose],
  );

  const onKeyDown = (e: KeyboardEvent) => {
    if (!shown.length) return;
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: shown.length - 1, PageDown: index + 10, PageUp: index - 10 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const target = shown[Math.max(0, Math.min(shown.length - 1, index < 0 && e.key === 'ArrowUp' ? 0 : next))];
    choose(target.id);
    document.getElementById(optionIdOf(base, target.id))?.scrollIntoView({ block: 'nearest' });
  };

  return (
    <section className="patients" aria-labelledby={`${base}-h`}>
      <ListControls base={base} query={query} onQuery={setQuery} byRisk={byRisk} onByRisk={setByRisk} canSort={!!risks} task={task} total={patients.length} matching={matches.length} shown={shown.length} />
      <ul
        id={`${base}-list`}
        role="listbox"
        aria-label="Patients"
        tabIndex={0}
        aria-activedescendant={index >= 0 ? optionIdOf(base, shown[index].id) : undefined}
        onKeyDown={onKeyDown}
        className="patient-list"
        data-testid="patient-list"
      >
        {rows}
      </ul>
    </section>
  );
});

interface ListControlsProps {
  base: string;
  query: string;
  onQuery: (q: string) => void;
  byRisk: boolean;
  onByRisk: (on: boolean) => void;
  canSort: boolean;
  task?: string | null;
  total: number;
  matching: number;
  shown: number;
}

/** The list's heading, search box, sort toggle, count and column heads: a memo component, so that a
 *  new selection does not re-render them (React re-sets an input's attributes on each render). */
const ListControls = memo(function ListControls({ base, query, onQuery, byRisk, onByRisk, canSort, task, total, matching, shown }: ListControlsProps) {
  return (
    <>
      <h2 id={`${base}-h`}>Patients</h2>
      <label htmlFor={`${base}-q`} className="field-label">
        Search by patient id
      </label>
      <input
        id={`${base}-q`}
        type="search"
        value={query}
        onChange={(e) => onQuery(e.target.value)}
        placeholder="e.g. syn-0001"
        autoComplete="off"
        spellCheck={false}
        aria-controls={`${base}-list`}
        data-testid="patient-search"
      />
      <label className="small sort-toggle">
        <input type="checkbox" checked={byRisk} disabled={!canSort} onChange={(e) => onByRisk(e.target.checked)} data-testid="sort-by-risk" /> Highest
        risk first{task ? ` (${task})` : ''}
      </label>
      <p className="muted small" aria-live="polite">
        {matching === total ? `${total} patients` : `${matching} of ${total} patients match`}
        {matching > shown && `; showing the first ${shown}`}
      </p>
      <div className="patient-cols" aria-hidden="true">
        <span>Patient</span>
        <span>Age</span>
        <span>Sex</span>
        <span title={task ? `predicted risk of ${task}` : undefined}>Risk</span>
      </div>
    </>
  );
});

const optionIdOf = (base: string, patientId: string) => `${base}-p-${patientId}`;

function blocksOf<T>(rows: T[]): T[][] {
  const blocks: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_BLOCK) blocks.push(rows.slice(i, i + ROWS_PER_BLOCK));
  return blocks;
}

/** The selected id as a small store the rows subscribe to: a new selection re-renders the two rows
 *  whose state changed, and neither the list nor its other rows (re-rendering the list's 250 row
 *  elements was ~1 ms of the click's script when opening a patient: BENCHMARKS.md, 2026-12-07). */
interface Selection {
  get(): string | null;
  set(id: string | null): void;
  subscribe(listener: () => void): () => void;
}

function useSelection(selectedId: string | null): Selection {
  const [store] = useState(() => {
    let current = selectedId;
    const listeners = new Set<() => void>();
    return {
      get: () => current,
      set(id: string | null) {
        if (id === current) return;
        current = id;
        for (const f of listeners) f();
      },
      subscribe(listener: () => void) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
  });
  // a selection made elsewhere (the cohort map, an import); the list's own clicks and keys set the
  // store themselves, with the page's update (the rows' re-render follows in the same task anyway)
  useLayoutEffect(() => store.set(selectedId), [store, selectedId]);
  return store;
}

interface PatientRowProps {
  patient: Patient;
  optionId: string;
  selection: Selection;
  risk: number | undefined;
  onSelect: (id: string) => void;
}

// A memo component: opening a patient re-renders the two rows whose selection changed, not every row.
// React 19 diffs a re-rendered element's props while committing, so re-rendering all 200 rows put
// ~1,800 elements' diffs into the click's frame (BENCHMARKS.md, 2026-12-06, fourth session).
const PatientRow = memo(function PatientRow({ patient: p, optionId, selection, risk, onSelect }: PatientRowProps) {
  const isSelected = () => selection.get() === p.id;
  const selected = useSyncExternalStore(selection.subscribe, isSelected, isSelected);
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
