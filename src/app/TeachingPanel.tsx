// Teaching mode: a guided walk through one patient's explanation for educators, offline. Every
// step runs on the live engine (src/state/teaching.ts); the charts draw what it returns.
import { useEffect, useId, useState } from 'react';
import { useStore } from 'zustand';
import { eventRankAgreement, topKOverlap } from '../attribution/rank';
import type { AttributionResult, Method } from '../attribution/types';
import type { Patient } from '../data/schema';
import { METHOD_LABEL } from '../state/store';
import { TEACHING_SAMPLES, TEACHING_STEPS, type TeachingStore } from '../state/teaching';
import { SEX_LABEL } from './format';
import { LineChart } from './LineChart';
import { codeShifts } from './ReferenceCompare';
import { describeFilter, presetFilter } from './ReferencePicker';
import { topEvents } from './ComparePanel';

export interface TeachingPanelProps {
  store: TeachingStore;
  patient: Patient;
  task: string;
  modelName: string;
  onClose: () => void;
}

const BLUE = '#0969da';
const ORANGE = '#bc4c00';
const GREY = '#57606a';
const num = (x: number | null | undefined, d = 3) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const signed = (x: number, d = 3) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(d) : 'n/a');

export function TeachingPanel({ store, patient, task, modelName, onClose }: TeachingPanelProps) {
  const t = useStore(store);
  const base = useId();
  const step = TEACHING_STEPS[t.step];
  // the walk follows the workbench: another patient, revision or task starts it afresh
  useEffect(() => store.getState().sync(), [store, patient, task]);
  return (
    <section className="card teaching" aria-labelledby={`${base}-h`} data-testid="teaching">
      <div className="card-head">
        <h2 id={`${base}-h`}>Teaching mode: how expected gradients explains {patient.id}</h2>
        <button type="button" onClick={() => (void t.cancel(), onClose())} data-testid="teach-close">
          Leave teaching mode
        </button>
      </div>
      <p className="muted small">
        A walk in five steps through the explanation of {modelName}'s {task} risk for this patient. Each step runs the model in this page now;
        nothing is precomputed and nothing leaves the page.
      </p>
      <nav aria-label="Teaching steps">
        <ol className="teach-steps">
          {TEACHING_STEPS.map((s, i) => (
            <li key={s.id}>
              <button type="button" aria-current={i === t.step ? 'step' : undefined} onClick={() => t.go(i)} data-testid={`teach-step-${s.id}`}>
                {i + 1}. {s.title}
                {t[s.id].status === 'done' ? ' ✓' : ''}
              </button>
            </li>
          ))}
        </ol>
      </nav>
      {t.error && (
        <p className="error-inline" role="alert" data-testid="teach-error">
          {t.error}
        </p>
      )}
      <div className="teach-step" data-testid={`teach-panel-${step.id}`} data-status={t[step.id].status} aria-live="polite">
        <h3>
          Step {t.step + 1} of {TEACHING_STEPS.length}: {step.title}
        </h3>
        {step.id === 'path' && <PathStep store={store} />}
        {step.id === 'convergence' && <ConvergenceStep store={store} />}
        {step.id === 'reference' && <ReferenceStep store={store} patient={patient} />}
        {step.id === 'sanity' && <SanityStep store={store} />}
        {step.id === 'methods' && <MethodsStep store={store} patient={patient} />}
      </div>
      <div className="teach-nav">
        <button type="button" disabled={t.step === 0} onClick={() => t.go(t.step - 1)} data-testid="teach-back">
          Back
        </button>
        <button type="button" disabled={t.step === TEACHING_STEPS.length - 1} onClick={() => t.go(t.step + 1)} data-testid="teach-next">
          Next
        </button>
      </div>
    </section>
  );
}

function RunButton({ store, label, onRun, running }: { store: TeachingStore; label: string; onRun: () => void; running: boolean }) {
  return running ? (
    <button type="button" onClick={() => void store.getState().cancel()} data-testid="teach-cancel">
      Cancel
    </button>
  ) : (
    <button type="button" onClick={onRun} data-testid="teach-run">
      {label}
    </button>
  );
}

function PathStep({ store }: { store: TeachingStore }) {
  const t = useStore(store);
  const [refIndex, setRefIndex] = useState(0);
  const id = useId();
  useEffect(() => void store.getState().loadRefs(), [store, t.contextKey]);
  const p = t.path.data;
  const rise = p ? p.logits[p.logits.length - 1] - p.logits[0] : NaN;
  return (
    <>
      <p>
        Expected gradients asks why this patient <i>x</i> scores differently from reference patients <i>x′</i>. For one reference it walks the
        straight line <i>x′ + α(x − x′)</i> through the model's embedding space, from α = 0 (the reference, laid on this patient's timeline) to
        α = 1 (this patient), and adds up how the logit changes on the way. The first chart is the logit along that path; the second is its
        rate of change <i>(x − x′) · ∇f</i> at each α. The area under the second curve is the whole rise <i>f(x) − f(x′)</i>: this is why the
        attributions add up to the difference from the reference (completeness).
      </p>
      <div className="teach-controls">
        <label htmlFor={id}>Reference patient</label>
        <select id={id} value={refIndex} onChange={(e) => setRefIndex(Number(e.target.value))} data-testid="teach-ref">
          {t.refs.slice(0, 50).map((r) => (
            <option key={r.index} value={r.index}>
              {r.id}: {r.age} y, {SEX_LABEL[r.sex]}, {r.diagnoses} diagnosis codes
            </option>
          ))}
        </select>
        <RunButton store={store} label="Walk the path (21 points)" running={t.path.status === 'running'} onRun={() => void store.getState().runPath(refIndex)} />
      </div>
      {p && (
        <>
          <div className="teach-charts">
            <LineChart
              label={`Logit along the path from ${p.reference.id} (alpha 0) to this patient (alpha 1)`}
              testId="teach-path-logit"
              series={[{ label: 'logit f', colour: BLUE, points: p.alphas.map((a, i) => [a, p.logits[i]]), dots: true }]}
              rules={[
                { y: p.logits[0], label: "f(x′)", colour: GREY },
                { y: p.logits[p.logits.length - 1], label: 'f(x)', colour: ORANGE },
              ]}
              xLabel="α (0 = reference, 1 = this patient)"
              yLabel="logit"
              xDomain={[0, 1]}
            />
            <LineChart
              label="Rate of change of the logit along the path"
              testId="teach-path-integrand"
              series={[{ label: '(x − x′) · ∇f', colour: ORANGE, points: p.alphas.map((a, i) => [a, p.integrand[i]]), dots: true }]}
              rules={[{ y: 0, label: '0', colour: GREY }]}
              xLabel="α"
              yLabel="(x − x′) · ∇f"
              xDomain={[0, 1]}
            />
          </div>
          <dl className="teach-numbers" data-testid="teach-path-numbers" data-logit0={p.logits[0]} data-logit1={p.logits[p.logits.length - 1]} data-integral={p.integral}>
            <dt>f(x′), reference {p.reference.id}</dt>
            <dd>{num(p.logits[0])}</dd>
            <dt>f(x), this patient</dt>
            <dd>{num(p.logits[p.logits.length - 1])}</dd>
            <dt>rise f(x) − f(x′)</dt>
            <dd>{signed(rise)}</dd>
            <dt>area under the rate (trapezoids over 21 points)</dt>
            <dd>
              {signed(p.integral)} (differs by {num(Math.abs(p.integral - rise))}: the integral of a curve sampled at 21 points)
            </dd>
          </dl>
        </>
      )}
    </>
  );
}

function ConvergenceStep({ store }: { store: TeachingStore }) {
  const t = useStore(store);
  const d = t.convergence.data;
  const last = d?.history[d.history.length - 1];
  return (
    <>
      <p>
        Each sample of expected gradients draws one reference patient and one α and takes a gradient there: a noisy, unbiased estimate. The
        attribution is their mean, so it settles as samples accumulate. Two numbers tell how far it has come: the running standard error, and
        the completeness gap, the sum of the attributions minus <i>f(x) − mean f(x′)</i>, which is zero for the exact expectation. In
        expectation the standard error shrinks like 1/√n, and the gap with it; but a rare sample that lands on a steep stretch of the path can
        push both up again, so the curves are not smooth, and the gap stays large relative to a small difference <i>f(x) − mean f(x′)</i>.
        That is the plain mean (orange dots). The workbench goes one step further: each sample's own gap, the sum of its attributions minus{' '}
        <i>f(x) − f(x′)</i> for its reference, averages to zero over α, so every attribution is corrected by how it moves with that gap across
        the samples (a control variate, fitted anew after each batch). The corrected estimate (blue) has the same expectation, a sum that is
        nearly complete, and a standard error that is, if anything, smaller; the standard error, not the gap, is then the measure of how far it has come.
        This run uses the seed of the explanation settings. The run below publishes its estimate after every {TEACHING_SAMPLES.convergenceBatch} samples.
      </p>
      <div className="teach-controls">
        <RunButton
          store={store}
          label={`Run ${TEACHING_SAMPLES.convergence} samples`}
          running={t.convergence.status === 'running'}
          onRun={() => void store.getState().runConvergence()}
        />
        {d && (
          <progress max={d.samples} value={last?.samples ?? 0} aria-label="Samples done">
            {last?.samples ?? 0} of {d.samples}
          </progress>
        )}
      </div>
      {d && d.history.length > 0 && (
        <>
          <div className="teach-charts">
            <LineChart
              label="Completeness gap as a share of the logit difference, against samples"
              testId="teach-gap-chart"
              series={[
                { label: 'plain mean', colour: ORANGE, points: d.history.map((h) => [h.samples, h.relativePlainGap * 100]), dots: true },
                { label: 'with the control variate', colour: BLUE, points: d.history.map((h) => [h.samples, h.relativeGap * 100]) },
              ]}
              xLabel="samples"
              yLabel="|gap| (%)"
              xDomain={[0, d.samples]}
            />
            <LineChart
              label="Running standard error against samples"
              testId="teach-stderr-chart"
              series={[{ label: 'standard error', colour: BLUE, points: d.history.map((h) => [h.samples, h.stderr]), dots: true }]}
              xLabel="samples"
              yLabel="mean s.e. per token"
              xDomain={[0, d.samples]}
            />
          </div>
          {last && (
            <p data-testid="teach-convergence-numbers" data-samples={last.samples} data-gap={last.gap} data-first-gap={d.history[0].relativeGap} data-last-gap={last.relativeGap} data-first-stderr={d.history[0].stderr} data-stderr-64={d.history.find((h) => h.samples >= 64)?.stderr} data-last-stderr={last.stderr} data-delta={last.gap / Math.max(1e-9, last.relativeGap)}>
              After {last.samples} samples: gap {signed(last.gap, 4)} ({num(last.relativeGap * 100, 1)}% of |f(x) − mean f(x′)|; the plain mean's{' '}
              {num(last.relativePlainGap * 100, 1)}%; after the first {d.history[0].samples} the plain mean's was {num(d.history[0].relativePlainGap * 100, 1)}%),
              standard error {num(last.stderr, 4)}.
            </p>
          )}
        </>
      )}
    </>
  );
}

function ReferenceStep({ store, patient }: { store: TeachingStore; patient: Patient }) {
  const t = useStore(store);
  const d = t.reference.data;
  const filters = [{}, presetFilter('matched', patient)] as const;
  const [a, b] = d?.results ?? [null, null];
  const shifts = a && b ? codeShifts(a.code, b.code, 6) : [];
  return (
    <>
      <p>
        An attribution answers “why this patient rather than the reference?”, so the reference is part of the question. Against the whole
        training-like population, an old patient's age explains much of the risk; against patients of the same sex and age (±5 years), age
        explains little and the codes that set this patient apart from their peers come forward. The same patient, the same model, two honest
        answers to two different questions.
      </p>
      <div className="teach-controls">
        <RunButton
          store={store}
          label={`Explain against both (${TEACHING_SAMPLES.reference} samples each)`}
          running={t.reference.status === 'running'}
          onRun={() => void store.getState().runReference(filters[0], filters[1])}
        />
      </div>
      {d && (
        <>
          <table className="metrics" data-testid="teach-reference-table">
            <caption className="visually-hidden">The same patient explained against two reference populations</caption>
            <thead>
              <tr>
                <th scope="col">Reference</th>
                <th scope="col">Patients</th>
                <th scope="col">mean f(x′)</th>
                <th scope="col">f(x) − mean f(x′)</th>
                <th scope="col">age part</th>
              </tr>
            </thead>
            <tbody>
              {d.results.map((r, i) => (
                <tr key={i}>
                  <th scope="row">{describeFilter(d.filters[i])}</th>
                  <td>{r ? r.referenceSize : '…'}</td>
                  <td>{r ? num(r.referenceLogit) : ''}</td>
                  <td>{r ? signed(r.logit - r.referenceLogit) : ''}</td>
                  <td>{r ? signed(r.modality.age ?? NaN) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shifts.length > 0 && (
            <table className="metrics" data-testid="teach-reference-shifts">
              <caption>Codes whose attribution changes most between the two references</caption>
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">whole population</th>
                  <th scope="col">same sex and age</th>
                  <th scope="col">change</th>
                </tr>
              </thead>
              <tbody>
                {shifts.map((s) => (
                  <tr key={s.key}>
                    <th scope="row">{s.key}</th>
                    <td>{signed(s.a)}</td>
                    <td>{signed(s.b)}</td>
                    <td>{signed(s.change)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}

function SanityStep({ store }: { store: TeachingStore }) {
  const t = useStore(store);
  const d = t.sanity.data;
  return (
    <>
      <p>
        An explanation that does not change when the model's learned weights are replaced by random ones explains the input, not the model
        (Adebayo et al., 2018). Here the model is re-initialised from the top down, one layer group at a time (task heads, pooler, each
        encoder layer, then the embeddings), and the same patient is explained again each time with {TEACHING_SAMPLES.sanity} samples. The rank
        correlation with the trained model's attribution should fall towards zero as more of the network is random; if it stayed near 1, the
        method would fail the check. The first stages can swing either way, even below zero: a random task head reads the same learned
        features with random weights.
      </p>
      <div className="teach-controls">
        <RunButton store={store} label="Randomise and explain again" running={t.sanity.status === 'running'} onRun={() => void store.getState().runSanity()} />
        {d && t.sanity.status === 'running' && (
          <progress max={d.total || 1} value={d.stages.length} aria-label="Stages done">
            {d.stages.length} of {d.total}
          </progress>
        )}
      </div>
      {d && d.stages.length > 0 && (
        <>
          <LineChart
            label="Spearman correlation with the trained model's attribution, as layers are randomised"
            testId="teach-sanity-chart"
            series={[{ label: 'Spearman ρ', colour: BLUE, points: d.stages.map((s, i) => [i + 1, s.spearman]), dots: true }]}
            rules={[{ y: 0, label: 'no agreement', colour: GREY }]}
            xLabel="layer groups randomised (top down)"
            yLabel="Spearman ρ"
            xDomain={[1, Math.max(2, d.total || d.stages.length)]}
          />
          <table className="metrics" data-testid="teach-sanity-table">
            <caption className="visually-hidden">Rank correlation with the trained model per randomisation stage</caption>
            <thead>
              <tr>
                <th scope="col">Randomised down to</th>
                <th scope="col">Spearman ρ with the trained model</th>
                <th scope="col">logit of the randomised model</th>
              </tr>
            </thead>
            <tbody>
              {d.stages.map((s) => (
                <tr key={s.stage} data-rho={s.spearman}>
                  <th scope="row">{s.stage}</th>
                  <td>{num(s.spearman, 2)}</td>
                  <td>{num(s.logits[0])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

const WALK_METHODS: Method[] = ['eg', 'ig', 'occlusion'];

function MethodsStep({ store, patient }: { store: TeachingStore; patient: Patient }) {
  const t = useStore(store);
  const d = t.methods.data;
  const eg = d?.eg ?? null;
  return (
    <>
      <p>
        Expected gradients averages over reference patients and random α ({TEACHING_SAMPLES.eg} samples here). Integrated gradients walks
        one fixed path from an all-padding patient in {TEACHING_SAMPLES.igSteps} even steps: no population, so it answers “why this patient
        rather than nobody?”. Occlusion uses no gradient at all: it removes each event and predicts again. Where they agree, the explanation is
        easier to trust; where they differ, the question each one asks is different.
      </p>
      <div className="teach-controls">
        <RunButton store={store} label="Run the three methods" running={t.methods.status === 'running'} onRun={() => void store.getState().runMethods()} />
      </div>
      {d && (
        <table className="metrics" data-testid="teach-methods-table">
          <caption className="visually-hidden">Expected gradients, integrated gradients and occlusion on the same patient</caption>
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col">Rank agreement with EG</th>
              <th scope="col">Top-5 overlap with EG</th>
              <th scope="col">Completeness gap</th>
              <th scope="col">Top 3 events</th>
            </tr>
          </thead>
          <tbody>
            {WALK_METHODS.map((m) => {
              const r: AttributionResult | undefined = d[m];
              const agree = eg && r && m !== 'eg' ? eventRankAgreement(eg, r) : null;
              return (
                <tr key={m} data-testid={`teach-method-${m}`} data-rho={agree?.rho ?? ''}>
                  <th scope="row">{METHOD_LABEL[m]}</th>
                  <td>{!r ? 'running…' : m === 'eg' ? '—' : `${signed(agree!.rho, 2)} (${agree!.n} events)`}</td>
                  <td>{r && eg && m !== 'eg' ? `${Math.round(topKOverlap(eg, r, 5) * 100)}%` : r ? '—' : ''}</td>
                  <td>{r ? (Number.isNaN(r.gap) ? 'n/a (no completeness)' : signed(r.gap, 4)) : ''}</td>
                  <td>
                    {r &&
                      topEvents(patient, r, 3)
                        .map((e) => `${e.code} (${signed(e.value)})`)
                        .join(', ')}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
