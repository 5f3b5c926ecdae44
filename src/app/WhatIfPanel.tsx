// What-if: remove an event or a whole visit, or add an event, then see the risk change (the model
// re-predicts, and re-explains when an explanation was shown). Every edit can be undone.
import { useId, useMemo, useState } from 'react';
import { CODE_CATALOGUE, describeCode } from '../data/codes';
import { MODALITIES, type ClinicalEvent, type Modality, type Patient } from '../data/schema';
import type { PredictionRow } from '../state/engine-client';
import type { Revision } from '../state/store';
import { formatProbability } from './format';

export interface WhatIfPanelProps {
  patient: Patient;
  revisions: Revision[];
  original: PredictionRow[] | null;
  current: PredictionRow[] | null;
  /** the pinned timeline event, `${visit}:${event}`, if any */
  pinnedId: string | null;
  busy: boolean;
  onRemoveEvent: (visit: number, event: number) => void;
  onRemoveVisit: (visit: number) => void;
  onAddEvent: (date: string, event: ClinicalEvent) => void;
  onUndo: () => void;
  onReset: () => void;
}

export function WhatIfPanel(p: WhatIfPanelProps) {
  const base = useId();
  const [visitIdx, eventIdx] = p.pinnedId ? p.pinnedId.split(':').map(Number) : [NaN, NaN];
  const visit = Number.isInteger(visitIdx) ? p.patient.visits[visitIdx] : undefined;
  const ev = visit && eventIdx >= 0 ? visit.events[eventIdx] : undefined;
  const lastDate = p.patient.visits.at(-1)?.date ?? new Date().toISOString().slice(0, 10);
  const [date, setDate] = useState(lastDate);
  const [modality, setModality] = useState<Modality>('diagnosis');
  const codes = useMemo(() => CODE_CATALOGUE.filter((c) => c.modality === modality), [modality]);
  const [code, setCode] = useState('');
  const [value, setValue] = useState('');
  const chosen = codes.find((c) => c.code === code) ?? codes[0];
  const needsValue = modality === 'lab' || modality === 'vital';
  const byTask = new Map((p.original ?? []).map((r) => [r.task, r.probability]));
  return (
    <section className="card whatif-panel" aria-labelledby={`${base}-h`} data-testid="whatif-panel">
      <h2 id={`${base}-h`}>What if…</h2>
      <div className="whatif-actions">
        {visit ? (
          <p>
            Selected: {ev ? `${ev.modality} ${ev.code} (${describeCode(ev.modality, ev.code) ?? 'no description'})` : 'a visit'} on {visit.date}.{' '}
            {ev && (
              <button type="button" data-testid="remove-event" disabled={p.busy} onClick={() => p.onRemoveEvent(visitIdx, eventIdx)}>
                Remove this event
              </button>
            )}{' '}
            <button type="button" data-testid="remove-visit" disabled={p.busy} onClick={() => p.onRemoveVisit(visitIdx)}>
              Remove the whole visit ({visit.events.length} events)
            </button>
          </p>
        ) : (
          <p className="muted small">Select an event in the timeline (click, or Enter on a focused event) to remove it or its visit.</p>
        )}
      </div>
      <form
        className="whatif-add"
        onSubmit={(e) => {
          e.preventDefault();
          if (!chosen) return;
          const v = Number(value);
          const event: ClinicalEvent = needsValue && value.trim() !== '' && Number.isFinite(v) ? { modality, code: chosen.code, value: v, unit: chosen.unit } : { modality, code: chosen.code };
          p.onAddEvent(date, event);
        }}
      >
        <fieldset>
          <legend>Add an event</legend>
          <label>
            Date
            <input type="date" data-testid="add-date" value={date} min={p.patient.birthDate} onChange={(e) => setDate(e.target.value)} required />
          </label>
          <label>
            Kind
            <select data-testid="add-modality" value={modality} onChange={(e) => (setModality(e.target.value as Modality), setCode(''))}>
              {MODALITIES.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label>
            Code
            <select data-testid="add-code" value={chosen?.code ?? ''} onChange={(e) => setCode(e.target.value)}>
              {codes.map((c) => (
                <option key={c.code} value={c.code}>
                  {c.code} — {c.description}
                </option>
              ))}
            </select>
          </label>
          {needsValue && (
            <label>
              Value{chosen?.unit ? ` (${chosen.unit})` : ''}
              <input type="number" step="any" data-testid="add-value" value={value} onChange={(e) => setValue(e.target.value)} required />
            </label>
          )}
          <button type="submit" data-testid="add-event" disabled={p.busy || !chosen}>
            Add
          </button>
        </fieldset>
      </form>
      {p.revisions.length > 0 && (
        <>
          <h3>Edits</h3>
          <ol data-testid="edit-log">
            {p.revisions.map((r) => (
              <li key={r.rev}>{r.label}</li>
            ))}
          </ol>
          <table className="risk-change" data-testid="risk-change">
            <caption className="visually-hidden">Risk before and after the edits</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">As recorded</th>
                <th scope="col">After the edits</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {(p.current ?? []).map((r) => {
                const before = byTask.get(r.task);
                const d = before === undefined || before === null || r.probability === null ? null : r.probability - before;
                return (
                  <tr key={r.task}>
                    <th scope="row">{r.task}</th>
                    <td>{before === undefined ? '…' : before === null ? 'no risk (outside the population)' : formatProbability(before)}</td>
                    <td title={r.outside}>{r.probability === null ? 'no risk (outside the population)' : formatProbability(r.probability)}</td>
                    <td data-testid={`risk-change-${r.task}`} className={d === null ? '' : d > 0 ? 'up' : d < 0 ? 'down' : ''}>
                      {d === null ? '' : `${d >= 0 ? '+' : '−'}${formatProbability(Math.abs(d))}`}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p>
            <button type="button" data-testid="undo" disabled={p.busy} onClick={p.onUndo}>
              Undo the last edit
            </button>{' '}
            <button type="button" data-testid="reset-edits" disabled={p.busy} onClick={p.onReset}>
              Back to the recorded patient
            </button>
          </p>
        </>
      )}
    </section>
  );
}
