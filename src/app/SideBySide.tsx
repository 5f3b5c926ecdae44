// Two models, one patient: both risks, both attribution timelines on the same time axis (the same
// patient gives both charts the same date range), and how much their attributions agree.
import { useId, useMemo } from 'react';
import { eventRankAgreement, topKOverlap } from '../attribution/rank';
import type { Patient } from '../data/schema';
import type { Explanation, ModelEntry } from '../state/store';
import { buildTimeline } from './timeline/model';
import { Timeline } from './timeline/Timeline';

export interface SideBySideProps {
  patient: Patient;
  task: string | null;
  primary: { id: string; label: string; explanation: Explanation | null };
  second: { id: string; label: string; explanation: Explanation | null } | null;
  candidates: ModelEntry[];
  labelOf: (id: string) => string;
  busy: boolean;
  width: number;
  onSelectSecond: (id: string | null) => void;
  onExplainBoth: () => void;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function Pane({ patient, label, explanation, width }: { patient: Patient; label: string; explanation: Explanation | null; width: number }) {
  const r = explanation?.result ?? null;
  const model = useMemo(() => buildTimeline(patient, r), [patient, r]);
  return (
    <div className="sbs-pane" data-testid="sbs-pane">
      <h3>
        {label}
        {r && (
          <span className="muted small">
            {' '}
            · risk <span data-testid="sbs-risk">{sigmoid(r.logit).toFixed(4)}</span>
            {explanation?.status === 'running' && ` · ${r.samplesDone}/${r.samplesTotal} samples`}
          </span>
        )}
      </h3>
      {!r && <p className="muted small">{explanation?.status === 'running' ? 'Explaining…' : 'Not explained yet.'}</p>}
      <Timeline model={model} width={width} />
    </div>
  );
}

export function SideBySide({ patient, task, primary, second, candidates, labelOf, busy, width, onSelectSecond, onExplainBoth }: SideBySideProps) {
  const base = useId();
  const a = primary.explanation?.status === 'done' ? primary.explanation.result : null;
  const b = second?.explanation?.status === 'done' ? second.explanation.result : null;
  const agree = a && b ? eventRankAgreement(a, b) : null;
  const overlap = a && b ? topKOverlap(a, b, 5) : null;
  return (
    <section className="card side-by-side" aria-labelledby={`${base}-h`} data-testid="side-by-side">
      <div className="card-head">
        <h2 id={`${base}-h`}>Two models, one patient</h2>
      </div>
      <div className="explain-form">
        <label>
          Compare {primary.label} with
          <select value={second?.id ?? ''} onChange={(e) => onSelectSecond(e.target.value || null)} data-testid="second-model">
            <option value="">(choose a model)</option>
            {candidates.map((m) => (
              <option key={m.id} value={m.id}>
                {labelOf(m.id)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!second || !task || busy} onClick={onExplainBoth} data-testid="explain-both">
          Explain {task ?? ''} with both
        </button>
      </div>
      {agree && (
        <p data-testid="sbs-agreement" data-rho={agree.rho}>
          Rank agreement of their event attributions: Spearman {Number.isFinite(agree.rho) ? agree.rho.toFixed(2) : 'n/a'} over the {agree.n} events both
          models read; {overlap !== null && Number.isFinite(overlap) ? `${Math.round(overlap * 100)}%` : 'n/a'} of the top 5 events in common.
        </p>
      )}
      {second && (
        <div className="sbs-panes">
          <Pane patient={patient} label={primary.label} explanation={primary.explanation} width={width} />
          <Pane patient={patient} label={second.label} explanation={second.explanation} width={width} />
        </div>
      )}
    </section>
  );
}
