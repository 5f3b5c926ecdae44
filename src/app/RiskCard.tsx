// The selected patient's predicted risk per task, and which backend computed it.
import type { Patient } from '../data/schema';
import type { BackendName, ModelSummary, PredictionRow } from '../state/engine-client';
import { ageAtLastVisit, BACKEND_LABEL, formatProbability, lastVisitDate, SEX_LABEL } from './format';

export interface RiskCardProps {
  backend: BackendName | null;
  patient: Patient | null;
  tasks: ModelSummary['tasks'];
  /** prediction rows for this patient; null while they are being computed */
  rows: PredictionRow[] | null;
  modelName?: string;
  /** per task, the share of the reference population with a lower risk (0..1) */
  percentiles?: Record<string, number | null>;
  /** the reference population the percentile is measured in */
  reference?: { description: string; size: number } | null;
  /** set when the patient shown is a what-if edit of the recorded one */
  edited?: boolean;
}

export function RiskCard({ backend, patient, tasks, rows, modelName, percentiles, reference, edited }: RiskCardProps) {
  const byTask = new Map((rows ?? []).map((r) => [r.task, r]));
  const age = patient ? ageAtLastVisit(patient) : null;
  return (
    <section className="card risk-card" aria-labelledby="risk-heading" data-testid="risk-card" data-patient-id={patient?.id ?? ''}>
      <div className="card-head">
        <h2 id="risk-heading">Predicted risk</h2>
        <p className="backend-label" title="The tfjs backend that runs the model in this page">
          Backend: <span data-testid="backend">{backend ? BACKEND_LABEL[backend] : 'starting…'}</span>
        </p>
      </div>
      {!patient ? (
        <p className="muted">Select a patient to see the model's prediction.</p>
      ) : (
        <>
          <p className="patient-line">
            Patient <strong>{patient.id}</strong>, {SEX_LABEL[patient.sex]}
            {age !== null && <>, {age} years at the last visit ({lastVisitDate(patient)})</>}; {patient.visits.length} visit
            {patient.visits.length === 1 ? '' : 's'}
            {modelName && <> · model {modelName}</>}
            {edited && (
              <>
                {' '}
                · <strong className="edited-flag">what-if edits applied</strong>
              </>
            )}
          </p>
          {tasks.length === 0 || !rows ? (
            <p className="muted" role="status">
              Computing…
            </p>
          ) : (
            <ul className="risk-list">
              {tasks.map((t) => {
                const r = byTask.get(t.name);
                const outcome = patient.outcomes?.[t.name];
                return (
                  <li key={t.name} className="risk-row">
                    <div className="risk-task">
                      <span className="task-name" id={`risk-label-${t.name}`}>
                        {t.name}
                      </span>
                      {t.description && <span className="task-desc">{t.description}</span>}
                    </div>
                    {r && r.probability === null ? (
                      <span className="muted" data-testid={`risk-outside-${t.name}`}>
                        no risk: {r.outside ?? 'outside the task\'s population'}
                      </span>
                    ) : r && r.probability !== null ? (
                      <div className="risk-value">
                        <meter min={0} max={1} value={r.probability} aria-labelledby={`risk-label-${t.name}`} />
                        <span className="prob" data-testid={`risk-${t.name}`} aria-label={`probability of ${t.name}`}>
                          {formatProbability(r.probability)}
                        </span>
                        {percentiles?.[t.name] != null && (
                          <span className="percentile" data-testid={`percentile-${t.name}`} title={reference ? `among ${reference.size} patients: ${reference.description}` : undefined}>
                            higher than {ordinalPercent(percentiles[t.name]!)} of the reference population
                          </span>
                        )}
                      </div>
                    ) : (
                      <span className="muted">no prediction</span>
                    )}
                    {outcome && (
                      <span className="outcome muted">
                        recorded outcome: {outcome.label === 1 ? 'yes' : 'no'}
                      </span>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

/** 0.934 -> "93%"; the extremes say "all" or "none" rather than 100% or 0% */
export function ordinalPercent(q: number): string {
  if (q >= 1) return 'all';
  if (q <= 0) return 'none';
  return `${Math.min(99, Math.max(1, Math.round(q * 100)))}%`;
}
