// The app shell: header (model, task, status), the patient list, and the patient's page: risk,
// explanation controls and progress, the attribution timeline with its summaries, what-if edits,
// the method comparison, exports and the model card. All model work goes through the store to the
// worker; this file only arranges views.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ReferenceFilter } from '../attribution/reference';
import type { Method } from '../attribution/types';
import type { ClinicalEvent } from '../data/schema';
import {
  currentRevision,
  explanationFor,
  METHODS,
  explanationWithReference,
  modelLabel,
  originalPrediction,
  predictionKey,
  referenceKey,
  secondExplanation,
  percentileOf,
  selectedExplanation,
  selectedModelInfo,
  selectedPatient,
  selectedPrediction,
  type Explanation,
  type ExplainSettings,
  type WorkbenchStore,
} from '../state/store';
import { CohortPanel } from './CohortPanel';
import { ComparePanel } from './ComparePanel';
import { contextNotices, ContextNotices } from './ContextNotices';
import { ReferenceCompare } from './ReferenceCompare';
import { ReferencePicker } from './ReferencePicker';
import { ExplainPanel } from './ExplainPanel';
import { ExplanationView } from './ExplanationView';
import { ImportPanel } from './ImportPanel';
import { Later } from './Later';
import { ModelsPanel } from './ModelsPanel';
import { SideBySide } from './SideBySide';
import { ModelCard } from './ModelCard';
import { PatientList } from './PatientList';
import { RiskCard } from './RiskCard';
import { WhatIfPanel } from './WhatIfPanel';
import { TeachingPanel } from './TeachingPanel';
import type { TeachingStore } from '../state/teaching';
import type { FeedbackStore } from '../feedback/store';
import { FeedbackPanel } from './FeedbackPanel';
import { describeFilter } from './ReferencePicker';
import { useStoreState } from './use-store-state';

export function App({ store, teaching, feedback, canKeep = false }: { store: WorkbenchStore; teaching?: TeachingStore; feedback?: FeedbackStore; canKeep?: boolean }) {
  const s = useStoreState(store);
  const info = selectedModelInfo(s);
  const patient = selectedPatient(s);
  const rows = selectedPrediction(s);
  const original = originalPrediction(s);
  const explanation = selectedExplanation(s);
  const revisions = s.patientId ? s.revisions[s.patientId] ?? [] : [];
  const [pinnedId, setPinnedId] = useState<string | null>(null);
  // stable, so that the timeline (a memo component) is left alone by renders that do not change it
  const removeEvent = s.removeEvent;
  const removeMark = useCallback(
    (id: string) => {
      const [v, e] = id.split(':').map(Number);
      void removeEvent(v, e);
    },
    [removeEvent],
  );
  /** An action of a panel under the timeline: those show the previous patient for a moment after
   *  another is opened (Later), and an action taken in that moment must not apply to the new one. */
  const shownId = patient?.id;
  const onShown =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A) => {
      if (store.getState().patientId === shownId) f(...a);
    };
  const [teachingOn, setTeachingOn] = useState(false);
  const reference = s.modelId ? s.referenceRisks[s.modelId] ?? null : null;
  const percentiles = Object.fromEntries((rows ?? []).map((r) => [r.task, r.probability === null ? null : percentileOf(reference?.sorted[r.task], r.probability)]));
  const compared = Object.fromEntries(METHODS.map((m) => [m, explanationFor(s, m)])) as Record<Method, Explanation | null>;
  const jobRunning = s.runningKey !== null;
  const ready = !!rows;
  // stable props, so the memoised list does not re-render on every progress report
  const cohortRisksOfModel = s.modelId ? s.cohortRisks[s.modelId] : undefined;
  const listRisks = useMemo(() => (s.task ? mapValues(cohortRisksOfModel, s.task) : null), [cohortRisksOfModel, s.task]);
  const cohortTasks = useMemo(() => info?.config.tasks.map((t) => t.name) ?? [], [info]);
  const refFilter = s.settings.reference;
  const refStats = s.modelId ? s.referenceStats[referenceKey(s.modelId, refFilter)] : undefined;
  const notices =
    patient && s.modelId
      ? contextNotices({
          patient,
          modelName: modelLabel(s, s.modelId),
          population: reference,
          chosen: refStats,
          filter: refFilter,
          tokens: s.tokenInfo[predictionKey(s.modelId, patient.id, currentRevision(s))],
        })
      : [];
  // stable while the models and their cards are, so that the memoised models panel is left alone by
  // renders that change neither (opening a patient)
  const { models, modelInfo } = s;
  const labelOf = useCallback((id: string) => modelLabel({ models, modelInfo }, id), [models, modelInfo]);
  const modelActions = useMemo(
    () => ({
      onFiles: (files: File[]) => void store.getState().addModelFiles(files),
      onUrl: (url: string) => void store.getState().addModelUrl(url),
      onKeep: (id: string) => void store.getState().keepModel(id),
      onForget: (id: string) => void store.getState().forgetModel(id),
    }),
    [store],
  );
  // stable, so that the explain form (a memo component) is left alone when another patient opens
  const explainActions = useMemo(
    () => ({
      onSettings: (patch: Partial<ExplainSettings>) => store.getState().updateSettings(patch),
      onExplain: () => void store.getState().explain(),
      onCancel: () => void store.getState().cancel(),
    }),
    [store],
  );
  const refFilterKey = JSON.stringify(refFilter);
  const loadStats = useCallback((f: ReferenceFilter) => void store.getState().loadReferenceStats(f), [store]);
  useEffect(() => {
    if (ready) void store.getState().loadReferenceStats();
  }, [ready, s.modelId, refFilterKey, store]);

  // once the first prediction is on screen, predict the cohort (risk column) and the reference
  // population (percentiles) in the background
  useEffect(() => {
    if (ready) void store.getState().warmUp();
  }, [ready, s.modelId, store]);
  // a pinned event belongs to one patient revision
  useEffect(() => setPinnedId(null), [s.patientId, currentRevision(s)]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to the patient
      </a>
      <header className="app-header">
        <h1>ExBEHRT Workbench</h1>
        <div className="model-picker">
          <label htmlFor="model-select">Model</label>
          <select
            id="model-select"
            data-testid="model-select"
            value={s.modelId ?? ''}
            disabled={s.models.length === 0}
            onChange={(e) => void s.selectModel(e.target.value)}
          >
            {s.models.length === 0 && <option value="">(no models)</option>}
            {s.models.map((m) => (
              <option key={m.id} value={m.id}>
                {modelLabel(s, m.id)}
              </option>
            ))}
          </select>
          <label htmlFor="task-select">Task</label>
          <select id="task-select" data-testid="task-select" value={s.task ?? ''} disabled={!info} onChange={(e) => s.selectTask(e.target.value)}>
            {(info?.config.tasks ?? []).map((t) => (
              <option key={t.name} value={t.name} title={t.description}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        {teaching && (
          <button type="button" aria-pressed={teachingOn} onClick={() => setTeachingOn(!teachingOn)} data-testid="teaching-toggle">
            Teaching mode
          </button>
        )}
        <a href="#import" className="header-link">
          Import patients
        </a>
        <button
          type="button"
          className="forget"
          data-testid="forget-everything"
          onClick={() => {
            if (confirm('Forget everything? This deletes the models kept in this browser and drops every imported patient, edit and explanation.')) void s.forgetEverything();
          }}
        >
          Forget everything
        </button>
        <p className="status" role="status" aria-live="polite" data-testid="status">
          {s.busy ?? (s.phase === 'ready' ? 'Ready. Everything runs in this page; no data leaves it.' : '')}
        </p>
      </header>
      {s.error && (
        <div className="error" role="alert" data-testid="error">
          {s.error.split('\n').map((line, i) => (
            <p key={i}>{line}</p>
          ))}
        </div>
      )}
      {s.notice && (
        <div className="notice" role="status" data-testid="notice">
          <p>{s.notice}</p>
        </div>
      )}
      <div className="layout">
        <aside className="sidebar">
          <PatientList
            patients={s.patients}
            selectedId={s.patientId}
            onSelect={s.selectPatient}
            risks={listRisks}
            task={s.task}
          />
        </aside>
        <main id="main" className="content" tabIndex={-1}>
          <RiskCard
            backend={s.backend}
            patient={patient}
            tasks={info?.config.tasks ?? []}
            rows={rows}
            modelName={info?.card?.name ?? info?.name}
            percentiles={percentiles}
            reference={reference}
            edited={revisions.length > 0}
          />
          <ContextNotices notices={notices} />
          {teaching && teachingOn && patient && info && s.task && (
            <TeachingPanel store={teaching} patient={patient} task={s.task} modelName={info.card?.name ?? info.name} onClose={() => setTeachingOn(false)} />
          )}
          {patient && info && (
            <>
              <ExplainPanel
                settings={s.settings}
                explanation={explanation}
                busy={jobRunning}
                disabled={!s.task || s.phase !== 'ready'}
                unavailable={rows?.find((r) => r.task === s.task)?.outside}
                referenceDescription={reference ? `${reference.description} (${reference.size} patients)` : undefined}
                {...explainActions}
              >
                <ReferencePicker
                  patient={patient}
                  filter={refFilter}
                  stats={refStats}
                  task={s.task}
                  onChange={(f) => void s.updateSettings({ reference: f })}
                />
              </ExplainPanel>
              <ExplanationView
                patient={patient}
                explanation={explanation}
                pinnedId={pinnedId}
                onPin={setPinnedId}
                onRemove={removeMark}
                exportContext={() => ({
                  modelId: s.modelId!,
                  modelName: info.card?.name ?? info.name,
                  task: s.task!,
                  settings: explanation?.settings ?? s.settings,
                  reference: { description: reference?.description ?? 'none', size: explanation?.referenceSize ?? reference?.size ?? null },
                  backend: explanation?.backend ?? s.backend,
                  edits: revisions.map((r) => r.label),
                  createdAt: new Date().toISOString(),
                })}
              />
              {/* the panels under the timeline follow another patient's click in an idle frame of their own */}
              <Later id={patient.id}>
                {feedback && (
                  <FeedbackPanel
                    store={feedback}
                    patient={patient}
                    explanation={explanation}
                    pinnedId={pinnedId}
                    context={{
                      modelId: s.modelId!,
                      modelName: info.card?.name ?? info.name,
                      reference: { description: describeFilter(explanation?.settings.reference ?? refFilter), size: explanation?.referenceSize ?? reference?.size ?? null },
                      edits: revisions.map((r) => r.label),
                      risk: rows?.find((r) => r.task === s.task)?.probability ?? null,
                    }}
                  />
                )}
                <WhatIfPanel
                  patient={patient}
                  revisions={revisions}
                  original={original}
                  current={rows}
                  pinnedId={pinnedId}
                  busy={false}
                  onRemoveEvent={onShown((v: number, e: number) => void s.removeEvent(v, e))}
                  onRemoveVisit={onShown((v: number) => void s.removeVisit(v))}
                  onAddEvent={onShown((d: string, e: ClinicalEvent) => void s.addEvent(d, e))}
                  onUndo={onShown(() => void s.undo())}
                  onReset={onShown(() => void s.resetEdits())}
                />
                <ComparePanel patient={patient} explanations={compared} busy={jobRunning} disabled={!s.task} onCompare={onShown(() => void s.compareMethods())} />
                <ReferenceCompare
                  patient={patient}
                  task={s.task}
                  filterA={refFilter}
                  explanationA={explanationWithReference(s, refFilter)}
                  explanationOf={(f) => explanationWithReference(s, f)}
                  statsOf={(f) => (s.modelId ? s.referenceStats[referenceKey(s.modelId, f)] : undefined)}
                  busy={jobRunning}
                  onStats={loadStats}
                  onExplain={onShown((f: ReferenceFilter) => void s.explainWithReference(refFilter).then(() => s.explainWithReference(f)))}
                />
                <SideBySide
                  patient={patient}
                  task={s.task}
                  primary={{ id: s.modelId!, label: modelLabel(s, s.modelId!), explanation }}
                  second={s.secondModelId ? { id: s.secondModelId, label: modelLabel(s, s.secondModelId), explanation: secondExplanation(s) } : null}
                  candidates={s.models.filter((m) => m.id !== s.modelId)}
                  labelOf={labelOf}
                  busy={jobRunning}
                  width={900}
                  onSelectSecond={(id) => void s.selectSecondModel(id)}
                  onExplainBoth={onShown(() => void s.explain().then(() => s.explainSecond()))}
                />
              </Later>
            </>
          )}
          <CohortPanel
            state={s.cohortState}
            tasks={cohortTasks}
            task={s.task}
            // the open patient is marked on a finished run's map only; before that, opening another
            // patient leaves the panel (its form) alone
            selectedId={s.cohortState?.status === 'done' ? s.patientId : null}
            onRun={s.runCohort}
            onCancel={s.cancelCohort}
            onOpen={s.selectPatient}
            attributions={s.cohortAttributions}
            referenceFilter={s.settings.reference}
            onAttribute={s.runCohortAttribution}
            onCancelAttribution={s.cancelCohortAttribution}
          />
          <div id="import">
            <ImportPanel status={s.importStatus} onImport={s.importData} onCancel={s.cancelImport} />
          </div>
          <ModelsPanel models={s.models} labelOf={labelOf} canKeep={canKeep} {...modelActions} />
          {info ? (
            <ModelCard info={info} />
          ) : (
            <section className="card" aria-label="Model card">
              <p className="muted">{s.phase === 'error' ? 'No model is loaded.' : 'Loading the model…'}</p>
            </section>
          )}
        </main>
      </div>
    </div>
  );
}

function mapValues(byPatient: Record<string, Record<string, number>> | undefined, task: string): Record<string, number> | null {
  if (!byPatient) return null;
  const out: Record<string, number> = {};
  for (const [id, risks] of Object.entries(byPatient)) if (risks[task] !== undefined) out[id] = risks[task];
  return out;
}
