// How to explain (method, samples, seed) and how far the explanation has got: a progress bar with
// the samples done, the running standard error and completeness gap, and Cancel. The numbers
// refine live as the worker publishes each batch.
import { memo, useId, useState, type ReactNode } from 'react';
import { usesSamples, type Method } from '../attribution/types';
import { METHOD_LABEL, METHODS, type ExplainSettings, type Explanation } from '../state/store';
import { BACKEND_LABEL } from './format';

export interface ExplainPanelProps {
  settings: ExplainSettings;
  explanation: Explanation | null;
  /** true while any job runs in the worker (for this or another explanation) */
  busy: boolean;
  disabled: boolean;
  /** why this patient cannot be explained for the task (outside the task's population) */
  unavailable?: string;
  referenceDescription?: string;
  /** false when the value is refused (the store shows why) */
  onSettings: (patch: Partial<ExplainSettings>) => boolean;
  onExplain: () => void;
  onCancel: () => void;
  /** the reference population picker (shown for expected gradients) */
  children?: ReactNode;
}

/** gap as a share of |f(x) - mean f(x')|, the scale EG's completeness is judged on */
export function relativeGap(e: Explanation['result'], which: 'gap' | 'plainGap' = 'gap'): number | null {
  if (!e || !Number.isFinite(e[which])) return null;
  const span = Math.abs(e.logit - e.referenceLogit);
  return span > 1e-9 ? Math.abs(e[which]) / span : null;
}

export function ExplainPanel({ settings, explanation, busy, disabled, unavailable, referenceDescription, onSettings, onExplain, onCancel, children }: ExplainPanelProps) {
  const base = useId();
  const r = explanation?.result ?? null;
  const running = explanation?.status === 'running';
  const sampled = usesSamples(settings.method);
  const rel = relativeGap(r);
  const relPlain = relativeGap(r, 'plainGap');
  const pct = r && r.samplesTotal ? Math.round((100 * r.samplesDone) / r.samplesTotal) : 0;
  return (
    <section className="card explain-panel" aria-labelledby={`${base}-h`} data-testid="explain-panel">
      <h2 id={`${base}-h`}>Explanation</h2>
      <ExplainForm
        settings={settings}
        busy={busy}
        canExplain={!disabled && !running && !unavailable}
        describedBy={unavailable ? 'explain-unavailable' : undefined}
        onSettings={onSettings}
        onExplain={onExplain}
        onCancel={onCancel}
      />
      {unavailable && (
        <p className="muted small" id="explain-unavailable" data-testid="explain-unavailable">
          Nothing to explain: {unavailable}, and this patient has no such diagnosis.
        </p>
      )}
      {settings.method === 'eg' && children}
      {settings.method === 'eg' && referenceDescription && <p className="muted small">Reference set: {referenceDescription}</p>}
      {explanation && (
        <div className="explain-status" data-testid="explain-status" data-status={explanation.status}>
          {(running || r) && sampled && (
            <div className="progress">
              <progress max={r?.samplesTotal ?? settings.samples} value={r?.samplesDone ?? 0} aria-label="Samples done" data-testid="explain-progress" />
              <span data-testid="samples-done">
                {r?.samplesDone ?? 0} / {r?.samplesTotal ?? settings.samples} samples ({pct}%)
              </span>
            </div>
          )}
          <p role="status" aria-live="polite" className="small">
            {explanation.status === 'running' && (r ? 'Refining…' : 'Starting…')}
            {explanation.status === 'done' &&
              `Done in ${(((explanation.finishedAt ?? explanation.startedAt) - explanation.startedAt) / 1000).toFixed(1)} s${explanation.backend ? ` on ${BACKEND_LABEL[explanation.backend]}` : ''}.`}
            {explanation.status === 'cancelled' && `Cancelled after ${r?.samplesDone ?? 0} samples; the estimate below is partial.`}
            {explanation.status === 'error' && `Failed: ${explanation.error}`}
            {explanation.fellBack && ` ${explanation.fellBack}.`}
          </p>
          {r && (
            <dl className="explain-numbers">
              <div>
                <dt>Logit f(x)</dt>
                <dd data-testid="explain-logit">{r.logit.toFixed(4)}</dd>
              </div>
              {r.method !== 'gxi' && r.method !== 'occlusion' && (
                <div>
                  <dt>{r.method === 'eg' ? 'Mean reference logit' : 'Baseline logit'}</dt>
                  <dd>{r.referenceLogit.toFixed(4)}</dd>
                </div>
              )}
              {Number.isFinite(r.gap) && (
                <div>
                  <dt title="sum of attributions minus (f(x) - reference logit); 0 for a complete explanation">Completeness gap</dt>
                  <dd data-testid="explain-gap">
                    {r.gap.toFixed(4)}
                    {rel !== null && <span className="muted"> ({(100 * rel).toFixed(1)}%)</span>}
                    {r.method === 'eg' && relPlain !== null && (
                      <span className="muted" data-testid="explain-plain-gap" title="the gap of the plain mean of the samples, before the control-variate correction">
                        {' '}
                        plain mean {(100 * relPlain).toFixed(1)}%
                      </span>
                    )}
                  </dd>
                </div>
              )}
              {sampled && (
                <div>
                  <dt title="mean standard error of a token's attribution over the samples so far">Running std. error</dt>
                  <dd data-testid="explain-stderr">{r.stderr.toFixed(4)}</dd>
                </div>
              )}
              {explanation.referenceSize !== undefined && r.method === 'eg' && (
                <div>
                  <dt>Reference patients</dt>
                  <dd>{explanation.referenceSize}</dd>
                </div>
              )}
            </dl>
          )}
          {r && r.truncatedVisits > 0 && (
            <p className="notice small">
              The patient is longer than the model's maximum length: the {r.truncatedVisits} oldest visit{r.truncatedVisits === 1 ? ' was' : 's were'} left out.
            </p>
          )}
        </div>
      )}
    </section>
  );
}

interface ExplainFormProps {
  settings: ExplainSettings;
  busy: boolean;
  canExplain: boolean;
  /** the id of the text saying why this patient cannot be explained */
  describedBy?: string;
  onSettings: ExplainPanelProps['onSettings'];
  onExplain: () => void;
  onCancel: () => void;
}

/** Method, samples, seed, Explain and Cancel: a memo component, so that opening another patient
 *  leaves the form alone. React re-sets a re-rendered input's attributes; this form, the reference
 *  picker and the cohort panel's form, left out of the click in a diagnostic build, were 0.4-0.8 ms of
 *  its script (profiles; BENCHMARKS.md, 2026-12-07, ninth session). */
const ExplainForm = memo(function ExplainForm({ settings, busy, canExplain, describedBy, onSettings, onExplain, onCancel }: ExplainFormProps) {
  const sampled = usesSamples(settings.method);
  const [samplesText, setSamplesText] = useState(String(settings.samples));
  const [seedText, setSeedText] = useState(String(settings.seed));
  return (
    <form
      className="explain-form"
      onSubmit={(e) => {
        e.preventDefault();
        // commit numbers typed but not yet blurred, then explain with them
        const ok =
          (Number(samplesText) === settings.samples || onSettings({ samples: Number(samplesText) })) &&
          (Number(seedText) === settings.seed || onSettings({ seed: Number(seedText) }));
        if (ok) onExplain();
      }}
    >
      <label>
        Method
        <select data-testid="method-select" value={settings.method} onChange={(e) => onSettings({ method: e.target.value as Method })}>
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {METHOD_LABEL[m]}
            </option>
          ))}
        </select>
      </label>
      <label>
        {settings.method === 'ig' ? 'Steps' : 'Samples'}
        <input
          data-testid="samples-input"
          type="number"
          min={1}
          max={10000}
          step={1}
          inputMode="numeric"
          disabled={!sampled}
          value={samplesText}
          onChange={(e) => setSamplesText(e.target.value)}
          onBlur={() => onSettings({ samples: Number(samplesText) })}
        />
      </label>
      <label>
        Seed
        <input
          data-testid="seed-input"
          type="number"
          min={0}
          step={1}
          inputMode="numeric"
          disabled={settings.method !== 'eg'}
          value={seedText}
          onChange={(e) => setSeedText(e.target.value)}
          onBlur={() => onSettings({ seed: Number(seedText) })}
        />
      </label>
      <button
        type="submit"
        data-testid="explain-button"
        disabled={!canExplain}
        aria-describedby={describedBy}
      >
        Explain
      </button>
      <button type="button" data-testid="cancel-button" disabled={!busy} onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
});
