// One cluster's cohort-level attribution: progress (patients explained / total) with Cancel while
// it runs, then the codes with the largest mean expected-gradients attribution per patient.
import { memo } from 'react';
import type { CohortAttributionState } from '../../state/store';
import { describeFilter } from '../ReferencePicker';

export interface ClusterAttributionProps {
  state: CohortAttributionState;
  /** codes shown (the worker returns up to 25) */
  top?: number;
  onCancel: () => void;
}

const fmt = (x: number) => (Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(2));

export const ClusterAttribution = memo(function ClusterAttribution({ state, top = 12, onCancel }: ClusterAttributionProps) {
  const { cluster, task, samples, status, done, total, outcome } = state;
  const name = cluster < 0 ? 'noise' : `cluster ${cluster}`;
  const codes = outcome?.codes.slice(0, top) ?? [];
  return (
    <section className="cohort-attribution" aria-label={`Mean attribution per code, ${name}`} data-testid={`cohort-attr-${cluster}`} data-status={status}>
      <h3 className="small">
        Mean attribution per code, {name} ({task}; expected gradients, {samples} samples per patient, seed {state.seed}, {describeFilter(state.reference)})
      </h3>
      {status === 'running' && (
        <div className="progress">
          <progress max={total || 1} value={done} aria-label={`Mean attribution of ${name}: patients explained`} />
          <span className="small" data-testid="cohort-attr-progress">
            {done}/{total} patients
          </span>
          <button type="button" onClick={onCancel} data-testid="cohort-attr-cancel">
            Cancel
          </button>
        </div>
      )}
      {status === 'cancelled' && (
        <p className="small">
          Cancelled after {outcome?.patients.length ?? done} of {total} patients{state.error ? ` (${state.error})` : ''}; run it again for the whole cluster.
        </p>
      )}
      {status === 'error' && <p className="small">Failed: {state.error}</p>}
      {status === 'done' && outcome && (
        <div className="table-scroll">
          <table className="compare-table" data-testid={`cohort-attr-table-${cluster}`}>
            <caption className="small">
              Over {outcome.outsidePopulation ? `the ${outcome.patients.length} patients of the ${name} in ${task}'s population (${outcome.outsidePopulation} outside it: no risk to explain)` : `all ${outcome.patients.length} patients of the ${name}`}, {outcome.referenceSize} reference patients; mean per patient counts a
              patient without the code as 0. Positive: pushes {task} up.
            </caption>
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Description</th>
                <th scope="col">Mean per patient</th>
                <th scope="col">Patients with the code</th>
              </tr>
            </thead>
            <tbody>
              {codes.map((c) => (
                <tr key={c.key} data-code={c.key} data-mean={c.meanPerPatient}>
                  <th scope="row">
                    <span className="muted small">{c.modality}</span> {c.code}
                  </th>
                  <td className="small">{c.description ?? ''}</td>
                  <td className="num">{fmt(c.meanPerPatient)}</td>
                  <td className="num">
                    {c.patients}/{outcome.patients.length}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
});
