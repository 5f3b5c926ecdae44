// Why the reference matters: the same patient explained against two reference populations, and
// the codes whose attribution changes most between them.
import { useEffect, useId, useState } from 'react';
import type { ReferenceFilter } from '../attribution/reference';
import { describeCode } from '../data/codes';
import type { Patient } from '../data/schema';
import type { ReferenceRisks } from '../state/engine-client';
import type { Explanation } from '../state/store';
import { describeFilter, presetFilter, ReferencePicker } from './ReferencePicker';

export interface ReferenceCompareProps {
  patient: Patient;
  task: string | null;
  filterA: ReferenceFilter;
  explanationA: Explanation | null;
  explanationOf: (f: ReferenceFilter) => Explanation | null;
  statsOf: (f: ReferenceFilter) => ReferenceRisks | null | undefined;
  busy: boolean;
  onStats: (f: ReferenceFilter) => void;
  onExplain: (f: ReferenceFilter) => void;
}

/** Codes by how much their summed attribution differs between two results, largest first. */
export function codeShifts(a: Record<string, number>, b: Record<string, number>, n = 10) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .map((k) => ({ key: k, a: a[k] ?? 0, b: b[k] ?? 0, change: (b[k] ?? 0) - (a[k] ?? 0) }))
    .sort((x, y) => Math.abs(y.change) - Math.abs(x.change))
    .slice(0, n);
}

const fmt = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(3);

export function ReferenceCompare(p: ReferenceCompareProps) {
  const base = useId();
  // the second reference starts as "same sex and age" for each patient. Reset while rendering, not by a
  // key: a remount replaces the section's form controls, and Chromium's autofill answers added or
  // removed controls with a task that forces style and layout of the whole page in the click's frames.
  const [state, setState] = useState(() => ({ patientId: p.patient.id, filterB: presetFilter('matched', p.patient) }));
  if (state.patientId !== p.patient.id) setState({ patientId: p.patient.id, filterB: presetFilter('matched', p.patient) });
  const { filterB } = state;
  const b = p.explanationOf(filterB);
  const ra = p.explanationA?.status === 'done' ? p.explanationA.result : null;
  const rb = b?.status === 'done' ? b.result : null;
  const shifts = ra && rb ? codeShifts(ra.code, rb.code) : [];
  const keyB = JSON.stringify(filterB);
  const { onStats } = p;
  useEffect(() => onStats(JSON.parse(keyB)), [keyB, onStats]);
  const change = (f: ReferenceFilter) => setState({ patientId: p.patient.id, filterB: f });
  return (
    <section className="card reference-compare" aria-labelledby={`${base}-h`} data-testid="reference-compare">
      <h2 id={`${base}-h`}>Whose normal? Two references</h2>
      <p className="muted small">
        Expected gradients explain how this patient differs from a reference population. Against {describeFilter(p.filterA)} (the explanation above) and
        against another reference, the same patient can look different.
      </p>
      <div className="explain-form">
        <ReferencePicker patient={p.patient} filter={filterB} stats={p.statsOf(filterB)} task={p.task} onChange={change} label="Second reference" testId="reference-b" />
        <button type="button" disabled={p.busy || !p.task} onClick={() => p.onExplain(filterB)} data-testid="explain-references">
          Explain against both
        </button>
      </div>
      {b?.status === 'running' && <p className="small">Explaining against the second reference… {b.result ? `${b.result.samplesDone}/${b.result.samplesTotal}` : ''}</p>}
      {ra && rb && (
        <div className="table-scroll">
          <table className="compare-table" data-testid="reference-shifts">
            <caption>
              Codes whose attribution changes most (logit {ra.logit.toFixed(3)}; mean reference logit {ra.referenceLogit.toFixed(3)} vs {rb.referenceLogit.toFixed(3)})
            </caption>
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Description</th>
                <th scope="col">First reference</th>
                <th scope="col">Second reference</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {shifts.map((r) => {
                const [modality, ...rest] = r.key.split(':');
                const code = rest.join(':');
                return (
                  <tr key={r.key}>
                    <th scope="row">
                      {modality} {code}
                    </th>
                    <td>{describeCode(modality, code) ?? ''}</td>
                    <td>{fmt(r.a)}</td>
                    <td>{fmt(r.b)}</td>
                    <td>{fmt(r.change)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
