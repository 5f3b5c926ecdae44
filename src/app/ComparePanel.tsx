// The same patient explained by every method, side by side: each method's top events and its rank
// agreement with expected gradients (Spearman over all events, and the overlap of the top 5).
import { useId } from 'react';
import { eventRankAgreement, topKOverlap } from '../attribution/rank';
import type { AttributionResult, Method } from '../attribution/types';
import { describeCode } from '../data/codes';
import type { Patient } from '../data/schema';
import { METHOD_LABEL, METHODS, type Explanation } from '../state/store';

export interface ComparePanelProps {
  patient: Patient;
  explanations: Partial<Record<Method, Explanation | null>>;
  busy: boolean;
  disabled: boolean;
  onCompare: () => void;
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(d) : 'n/a');

/** The k events a result ranks highest (placeholders left out), with date and description. */
export function topEvents(patient: Patient, r: AttributionResult | null | undefined, k = 5) {
  if (!r) return [];
  return r.events
    .filter((x) => x.event >= 0)
    .sort((a, b) => b.value - a.value)
    .slice(0, k)
    .map((x) => ({
      key: `${x.visit}:${x.event}`,
      date: patient.visits[x.visit]?.date ?? '',
      modality: x.modality,
      code: x.code,
      description: describeCode(x.modality, x.code) ?? '',
      value: x.value,
    }));
}

export function ComparePanel({ patient, explanations, busy, disabled, onCompare }: ComparePanelProps) {
  const base = useId();
  const eg = explanations.eg?.status === 'done' ? explanations.eg.result : null;
  return (
    <section className="card compare-panel" aria-labelledby={`${base}-h`} data-testid="compare-panel">
      <div className="card-head">
        <h2 id={`${base}-h`}>Compare methods</h2>
        <button type="button" data-testid="compare-button" disabled={disabled || busy} onClick={onCompare}>
          Run all four methods
        </button>
      </div>
      <p className="muted small">
        Expected gradients averages over a reference population; integrated gradients uses one fixed baseline; gradient × input is a single
        local slope; occlusion removes each event and re-predicts. Agreement is the Spearman rank correlation of all event attributions with
        expected gradients, and the share of the top 5 events they have in common.
      </p>
      <div className="table-scroll">
        <table className="compare-table" data-testid="compare-table">
          <caption className="visually-hidden">Attribution methods compared for patient {patient.id}</caption>
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col">Status</th>
              <th scope="col">Rank agreement with EG</th>
              <th scope="col">Top-5 overlap with EG</th>
              <th scope="col">Completeness gap</th>
              <th scope="col">Top events</th>
            </tr>
          </thead>
          <tbody>
            {METHODS.map((m) => {
              const e = explanations[m];
              const r = e?.result ?? null;
              const agree = eg && r && m !== 'eg' && e?.status === 'done' ? eventRankAgreement(eg, r) : null;
              const overlap = eg && r && m !== 'eg' && e?.status === 'done' ? topKOverlap(eg, r, 5) : null;
              return (
                <tr key={m} data-testid={`compare-${m}`} data-rho={agree ? agree.rho : ''}>
                  <th scope="row">{METHOD_LABEL[m]}</th>
                  <td>
                    {!e ? 'not run' : e.status === 'running' ? `running${r ? ` (${r.samplesDone}/${r.samplesTotal})` : '…'}` : e.status}
                  </td>
                  <td>{m === 'eg' ? '—' : agree ? `${fmt(agree.rho, 2)} (${agree.n} events)` : ''}</td>
                  <td>{m === 'eg' ? '—' : overlap !== null && Number.isFinite(overlap) ? `${Math.round(overlap * 100)}%` : ''}</td>
                  <td>{r && Number.isFinite(r.gap) ? r.gap.toFixed(4) : r ? 'n/a (not a path method)' : ''}</td>
                  <td>
                    <ol className="compact-list">
                      {topEvents(patient, e?.result, 3).map((t) => (
                        <li key={t.key} title={t.description}>
                          {t.code} <span className="muted">{t.date}</span> {fmt(t.value)}
                        </li>
                      ))}
                    </ol>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
