// Clinician feedback: mark the whole explanation, the pinned event or a visit as clinically
// plausible, implausible or unsure, with a note; list, export and import the feedback; and see
// where clinicians disagree with the model most. Feedback stays in the page unless the user asks to
// keep it in this browser; files are made and read in the page, nothing is uploaded.
import { useId, useState, useSyncExternalStore } from 'react';
import { describeCode } from '../data/codes';
import type { Patient } from '../data/schema';
import {
  disagreementSummary,
  FEEDBACK_VERDICTS,
  feedbackInput,
  feedbackTargetFor,
  type FeedbackContext,
  type FeedbackSource,
  type FeedbackTarget,
  type FeedbackVerdict,
  type TargetChoice,
} from '../feedback/feedback';
import type { FeedbackStore } from '../feedback/store';
import type { Explanation } from '../state/store';
import { download } from './export';
import { formatAttribution } from './timeline/model';

/** What the page knows besides the explanation; the feedback's model, task, method, seed and
 *  reference filter are taken from the explanation itself. */
export interface FeedbackPanelContext extends FeedbackSource {
  /** the selected model: the list shows this patient's feedback on it */
  modelId: string;
}

export interface FeedbackPanelProps {
  store: FeedbackStore;
  /** the patient as shown (the current what-if revision) */
  patient: Patient;
  explanation: Explanation | null;
  /** the pinned timeline event, `${visit}:${event}`, if any */
  pinnedId: string | null;
  context: FeedbackPanelContext;
}

export const VERDICT_LABEL: Record<FeedbackVerdict, string> = { plausible: 'Clinically plausible', implausible: 'Clinically implausible', unsure: 'Unsure' };

interface TargetOption {
  value: string;
  label: string;
  /** what the option stands for; null for "a visit", whose number comes from its own field (`visitChoice`) */
  choice: TargetChoice | null;
}

/** The targets on offer: the whole explanation, the pinned event (when one is pinned), a visit.
 *  A visit is one option with a number field, not an option per visit: a long patient has hundreds
 *  of visits, and a `<select>` of hundreds of options cost the page a style recalc and a layout of
 *  every option (its width is the widest label) each time another patient was opened
 *  (BENCHMARKS.md, 2026-12-06, fourth session). */
export function targetOptions(patient: Patient, pinnedId: string | null): TargetOption[] {
  const options: TargetOption[] = [{ value: 'explanation', label: 'The whole explanation', choice: { kind: 'explanation' } }];
  const [v, e] = pinnedId ? pinnedId.split(':').map(Number) : [NaN, NaN];
  const ev = patient.visits[v]?.events[e];
  if (ev) {
    const label = `Pinned event: ${ev.code} — ${describeCode(ev.modality, ev.code) ?? ev.modality} (${patient.visits[v].date})`;
    options.push({ value: `event:${v}:${e}`, label, choice: { kind: 'event', visit: v, event: e } });
  }
  const n = patient.visits.length;
  if (n > 0) options.push({ value: 'visit', label: n === 1 ? 'The visit' : `A visit (1 to ${n})`, choice: null });
  return options;
}

/** The visit a typed visit number (1-based, as shown) stands for, or why it stands for none. */
export function visitChoice(patient: Patient, typed: string): { choice: TargetChoice; error: null } | { choice: null; error: string } {
  const n = patient.visits.length;
  const number = Number(typed);
  if (typed.trim() === '' || !Number.isInteger(number) || number < 1 || number > n) return { choice: null, error: `The visit number must be a whole number from 1 to ${n}.` };
  return { choice: { kind: 'visit', visit: number - 1 }, error: null };
}

export function targetLabel(t: FeedbackTarget): string {
  if (t.kind === 'explanation') return 'The whole explanation';
  if (t.kind === 'visit') return `Visit ${t.visit + 1}${t.date ? ` (${t.date})` : ''}`;
  return `${t.modality} ${t.code}${t.description ? ` — ${t.description}` : ''}${t.date ? ` (${t.date})` : ''}`;
}

function attributionText(c: Pick<FeedbackContext, 'attribution' | 'attributionRank' | 'eventCount'>): string {
  if (c.attribution === null) return 'no attribution (not read by the model)';
  return `attribution ${formatAttribution(c.attribution)}${c.attributionRank !== null ? `, rank ${c.attributionRank} of ${c.eventCount} events` : ''}`;
}

const eventsText = (n: number) => `${n} event${n === 1 ? '' : 's'}`;

const fileDate = () => new Date().toISOString().slice(0, 10);

export function FeedbackPanel({ store, patient, explanation, pinnedId, context }: FeedbackPanelProps) {
  // not zustand's useStore: its server snapshot is the initial state, and a static render (the
  // unit tests) must show the feedback given so far
  const s = useSyncExternalStore(store.subscribe, store.getState, store.getState);
  const base = useId();
  const options = targetOptions(patient, pinnedId);
  const fallback = options.find((o) => o.choice?.kind === 'event')?.value ?? 'explanation';
  // a choice belongs to one patient and pin: a new pin makes the pinned event the default again
  const scope = `${patient.id}|${pinnedId}`;
  const [picked, setPicked] = useState<{ value: string; scope: string } | null>(null);
  const selected = options.find((o) => picked?.scope === scope && o.value === picked.value) ?? options.find((o) => o.value === fallback)!;
  // the visit number as typed (1-based); it starts at the pinned event's visit, or the first
  const pinnedVisit = selected.value === 'visit' && pinnedId ? Number(pinnedId.split(':')[0]) : NaN;
  const [typedVisit, setTypedVisit] = useState<{ text: string; scope: string } | null>(null);
  const visitText = typedVisit?.scope === scope ? typedVisit.text : String(Number.isInteger(pinnedVisit) && patient.visits[pinnedVisit] ? pinnedVisit + 1 : 1);
  const visit = selected.value === 'visit' ? visitChoice(patient, visitText) : null;
  const choice = visit ? visit.choice : selected.choice;
  const visitIndex = choice?.kind === 'visit' ? choice.visit : null;
  const [verdict, setVerdict] = useState<FeedbackVerdict | null>(null);
  const [note, setNote] = useState('');
  const [status, setStatus] = useState<string | null>(null);

  const result = explanation?.result && explanation.patientId === patient.id && explanation.modelId === context.modelId ? explanation.result : null;
  const preview = result && choice ? feedbackTargetFor(patient, result, choice) : null;
  const mine = s.entries.filter((e) => e.context.patientId === patient.id && e.context.modelId === context.modelId);
  const ofModel = s.entries.filter((e) => e.context.modelId === context.modelId);
  const summary = disagreementSummary(ofModel);

  const add = async () => {
    if (!explanation || !result || !verdict || !choice) return;
    const entry = await s.add(feedbackInput({ verdict, note, choice, patient, explanation: { ...explanation, result }, source: context }));
    if (!entry) return;
    setVerdict(null);
    setNote('');
    setStatus(`Added: ${VERDICT_LABEL[entry.verdict]} on ${targetLabel(entry.target)}.`);
  };

  const importFile = async (file: File) => {
    let text: string;
    try {
      text = await file.text();
    } catch (e) {
      // e.g. the file was moved or deleted after it was picked
      store.setState({ error: `Feedback not imported: ${file.name} could not be read (${e instanceof Error ? e.message : String(e)}); nothing was changed.` });
      setStatus(null);
      return;
    }
    const counts = await s.importText(text, file.name);
    setStatus(counts ? `Imported ${counts.added} entr${counts.added === 1 ? 'y' : 'ies'} from ${file.name}${counts.duplicates ? ` (${counts.duplicates} already here)` : ''}.` : null);
  };

  return (
    <section className="card feedback-panel" aria-label="Clinician feedback" data-testid="feedback-panel">
      <h2>Clinician feedback</h2>
      <p className="muted small">Is what the model weighs clinically plausible? Your verdicts help model developers see where the model and clinicians disagree.</p>
      <form
        className="feedback-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <label>
          About
          <select data-testid="feedback-target" value={selected.value} onChange={(e) => setPicked({ value: e.target.value, scope })}>
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        {selected.value === 'visit' && patient.visits.length > 1 && (
          <label>
            Visit number
            <input
              type="number"
              inputMode="numeric"
              min={1}
              max={patient.visits.length}
              step={1}
              data-testid="feedback-visit"
              value={visitText}
              aria-invalid={visit?.error ? true : undefined}
              aria-describedby={`${base}-visit`}
              onChange={(e) => setTypedVisit({ text: e.target.value, scope })}
            />
          </label>
        )}
        {selected.value === 'visit' && (
          <span id={`${base}-visit`} className="muted small" data-testid="feedback-visit-text">
            {visitIndex === null ? visit?.error : `Visit ${visitIndex + 1} of ${patient.visits.length}: ${patient.visits[visitIndex].date}, ${eventsText(patient.visits[visitIndex].events.length)}`}
          </span>
        )}
        <p className="muted small feedback-preview" data-testid="feedback-preview">
          {preview ? `The model now: ${attributionText(preview)}.` : !choice ? 'Choose a visit by its number.' : 'Explain the patient first: feedback is given on an explanation.'}
        </p>
        <fieldset className="feedback-verdicts">
          <legend>Verdict</legend>
          {FEEDBACK_VERDICTS.map((v) => (
            <label key={v}>
              <input type="radio" name={`${base}-verdict`} value={v} data-testid={`feedback-verdict-${v}`} checked={verdict === v} onChange={() => setVerdict(v)} />
              {VERDICT_LABEL[v]}
            </label>
          ))}
        </fieldset>
        <label className="feedback-note">
          Note (optional)
          <textarea data-testid="feedback-note" rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
        </label>
        <button type="submit" data-testid="feedback-add" disabled={!result || !verdict || !choice} aria-describedby={`${base}-add-hint`}>
          Add feedback
        </button>
        <span id={`${base}-add-hint`} className="muted small">
          {!result ? 'Needs an explanation of this patient.' : !choice ? 'Needs a visit number in range.' : !verdict ? 'Choose a verdict first.' : ''}
        </span>
      </form>

      <div className="feedback-persist">
        <label>
          <input
            type="checkbox"
            data-testid="feedback-persist"
            checked={s.persist}
            disabled={!s.canPersist}
            aria-describedby={`${base}-persist-hint`}
            onChange={(e) => void s.setPersist(e.target.checked)}
          />
          Keep feedback in this browser (IndexedDB)
        </label>
        <p id={`${base}-persist-hint`} className="muted small">
          {s.canPersist
            ? 'Unless this is on, nothing is stored: feedback stays in this page and is gone when it closes. Turning it off deletes the kept feedback without asking (what is on this page stays until it closes). Nothing is ever sent anywhere.'
            : 'This browser offers no IndexedDB: feedback stays in this page and is gone when it closes.'}
        </p>
      </div>

      <p className="small feedback-status" role="status" aria-live="polite" data-testid="feedback-status">
        {status}
      </p>
      {s.error && (
        <p role="alert" className="error-inline feedback-error" data-testid="feedback-error">
          {s.error}
        </p>
      )}

      <h3>Feedback on this patient and model ({mine.length})</h3>
      {mine.length === 0 ? (
        <p className="muted small">None yet.</p>
      ) : (
        <ul className="feedback-list" data-testid="feedback-list">
          {mine.map((e) => (
            <li key={e.id} data-testid="feedback-item" className={`feedback-item verdict-${e.verdict}`}>
              <strong>{VERDICT_LABEL[e.verdict]}</strong> — {targetLabel(e.target)}
              <span className="muted small">
                {' '}
                · {e.context.task}, {e.context.method}, {attributionText(e.context)}
                {e.context.edits.length ? `, after ${e.context.edits.length} what-if edit${e.context.edits.length === 1 ? '' : 's'}` : ''} · {e.createdAt.slice(0, 16).replace('T', ' ')}
              </span>
              {e.note && <q className="feedback-note-text">{e.note}</q>}
              <button type="button" className="small" aria-label={`Delete feedback on ${targetLabel(e.target)}`} onClick={() => (void s.remove(e.id), setStatus(`Deleted the feedback on ${targetLabel(e.target)}.`))}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}

      <div className="feedback-files" role="group" aria-label="Feedback files">
        <button
          type="button"
          data-testid="feedback-export"
          disabled={s.entries.length === 0}
          onClick={() => download(new Blob([s.exportText()], { type: 'application/json' }), `exbehrt-feedback-${fileDate()}.json`)}
        >
          Export feedback (JSON)
        </button>
        <label className="feedback-import">
          Import feedback…
          <input
            type="file"
            accept=".json,application/json"
            data-testid="feedback-import"
            onChange={(e) => {
              const file = e.target.files?.[0];
              // cleared, so that choosing the same file again imports it again
              e.target.value = '';
              if (file) void importFile(file);
            }}
          />
        </label>
        <button
          type="button"
          data-testid="feedback-clear"
          disabled={s.entries.length === 0}
          onClick={() => {
            if (confirm(`Delete all ${s.entries.length} feedback entries (every patient and model)${s.persist ? ', also from this browser' : ''}? Export them first to keep a copy.`)) void s.clearAll().then(() => setStatus('All feedback deleted.'));
          }}
        >
          Clear all feedback
        </button>
        <span className="muted small">Export and clear cover all {s.entries.length} entries, every patient and model.</span>
      </div>

      <h3>Where clinicians disagree with the model</h3>
      <div className="table-scroll" data-testid="feedback-summary">
        {summary.length === 0 ? (
          <p className="muted small">No feedback on {context.modelName} yet.</p>
        ) : (
          <table className="feedback-summary">
            <caption>
              Feedback on {context.modelName}, all patients. Disagreement = share of “implausible” verdicts × mean model weight (the target’s |attribution| relative
              to the patient’s most weighted event or visit: 1 is the model’s top item). Highest first.
            </caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">About</th>
                {FEEDBACK_VERDICTS.map((v) => (
                  <th scope="col" key={v}>
                    {VERDICT_LABEL[v]}
                  </th>
                ))}
                <th scope="col">Patients</th>
                <th scope="col">Mean model weight</th>
                <th scope="col">Disagreement</th>
              </tr>
            </thead>
            <tbody>
              {summary.map((r) => (
                <tr key={`${r.task}|${r.key}`}>
                  <td>{r.task}</td>
                  <th scope="row">
                    {r.key}
                    {r.description && <span className="muted small"> {r.description}</span>}
                  </th>
                  {FEEDBACK_VERDICTS.map((v) => (
                    <td className="num" key={v}>
                      {r.counts[v]}
                    </td>
                  ))}
                  <td className="num">{r.patients}</td>
                  <td className="num">{r.meanWeight === null ? 'n/a' : r.meanWeight.toFixed(2)}</td>
                  <td className="num">{r.score.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
