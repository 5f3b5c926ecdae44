// Bring your own data: drop files or a folder (FHIR R4 bundles or bulk NDJSON, Synthea CSV, OMOP CDM
// CSV, MEDS parquet, or the workbench's own JSON/JSONL), watch the progress, and read the coverage
// report: how much of each patient the model actually sees, which codes it cannot read, and what
// identifying fields were dropped on the way in. Files are read in a worker in this page only.
import { useId, useRef, useState, type DragEvent, memo } from 'react';
import type { ImportFormat } from '../data/import';
import { filesOfDrop } from './drop';
import type { CoverageReport } from '../data/import/pipeline';
import { MODALITIES } from '../data/schema';
import type { ImportStatus } from '../state/store';

export interface ImportPanelProps {
  status: ImportStatus | null;
  onImport: (files: Array<{ file: File; path: string }>, opts: { format?: ImportFormat; shiftDates: boolean }) => void;
  onCancel: () => void;
}

const FORMATS: Array<[ImportFormat | '', string]> = [
  ['', 'Detect from the files'],
  ['fhir', 'FHIR R4 (bundles or bulk NDJSON)'],
  ['synthea-csv', 'Synthea CSV'],
  ['omop', 'OMOP CDM v5.4 CSV'],
  ['meds', 'MEDS parquet'],
  ['timeline', 'Workbench timelines (JSON/JSONL)'],
];

const pct = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export const ImportPanel = memo(function ImportPanel({ status, onImport, onCancel }: ImportPanelProps) {
  const base = useId();
  const [format, setFormat] = useState<ImportFormat | ''>('');
  const [shiftDates, setShiftDates] = useState(false);
  const [over, setOver] = useState(false);
  const filesRef = useRef<HTMLInputElement>(null);
  const folderRef = useRef<HTMLInputElement>(null);
  const running = status?.status === 'running';
  const start = (files: Array<{ file: File; path: string }>) => {
    if (files.length) onImport(files, { format: format || undefined, shiftDates });
  };
  const fromInput = (input: HTMLInputElement | null) => {
    const files = Array.from(input?.files ?? []).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    if (input) input.value = '';
    start(files);
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    start(await filesOfDrop(e.dataTransfer.items));
  };
  return (
    <section className="card import-panel" aria-labelledby={`${base}-h`} data-testid="import-panel">
      <h2 id={`${base}-h`}>Import patients</h2>
      <div
        className={`drop-zone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => void onDrop(e)}
        data-testid="drop-zone"
      >
        <p>
          Drop files or a folder here, or{' '}
          <button type="button" onClick={() => filesRef.current?.click()}>
            choose files
          </button>{' '}
          <button type="button" onClick={() => folderRef.current?.click()}>
            choose a folder
          </button>
        </p>
        <p className="muted small">
          FHIR R4, Synthea CSV, OMOP CDM, MEDS or workbench timelines. Files are read in this page only; names, addresses, identifiers and
          free text are dropped on the way in.
        </p>
        <input ref={filesRef} type="file" multiple hidden onChange={(e) => fromInput(e.currentTarget)} data-testid="import-files" aria-label="Files to import" />
        <input
          ref={folderRef}
          type="file"
          multiple
          hidden
          onChange={(e) => fromInput(e.currentTarget)}
          aria-label="Folder to import"
          {...({ webkitdirectory: '' } as Record<string, string>)}
        />
      </div>
      <div className="import-options">
        <label>
          Format{' '}
          <select value={format} onChange={(e) => setFormat(e.target.value as ImportFormat | '')} data-testid="import-format">
            {FORMATS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={shiftDates} onChange={(e) => setShiftDates(e.target.checked)} data-testid="import-shift-dates" /> Shift each
          patient's dates by a random offset (ages and intervals kept)
        </label>
      </div>
      {status && (
        <div className="import-status" data-testid="import-status" data-status={status.status}>
          {running && (
            <div className="progress">
              <progress max={status.total || 1} value={status.done} aria-label={`Import: ${status.phase}`} />
              <span className="small">
                {status.phase} {pct(status.total ? status.done / status.total : 0)}
              </span>
              <button type="button" onClick={onCancel} data-testid="import-cancel">
                Cancel
              </button>
            </div>
          )}
          <p role="status" aria-live="polite" className="small">
            {status.status === 'running' && `Importing ${status.fileNames.length} file${status.fileNames.length === 1 ? '' : 's'}…`}
            {status.status === 'cancelled' && 'Import cancelled; nothing was added.'}
            {status.status === 'error' && `Import failed; nothing was added. ${status.error}`}
            {status.status === 'done' && `Imported ${status.patientIds?.length ?? 0} patients (${status.format}). They are at the top of the patient list.`}
          </p>
          {status.coverage && <CoverageView c={status.coverage} />}
        </div>
      )}
    </section>
  );
});

export function CoverageView({ c }: { c: CoverageReport }) {
  return (
    <div className="coverage" data-testid="coverage">
      <h3>Coverage: how much the model sees</h3>
      <p>
        <strong data-testid="coverage-patients">{c.patients}</strong> patients of {c.personsRead} read ({c.personsWithoutEvents} without coded
        events, {c.droppedPatients.length} dropped), {c.visits} visits, {c.deaths} deceased. {c.eventsRead} events read, {c.eventsInTimelines} in
        timelines; <strong data-testid="coverage-mapped">{pct(c.mappedFraction)}</strong> mapped to the model's code systems
        {c.inVocabFraction !== null && (
          <>
            , <strong data-testid="coverage-invocab">{pct(c.inVocabFraction)}</strong> in its vocabulary (the rest reach it as unknown, UNK)
          </>
        )}
        .
      </p>
      <div className="table-scroll">
        <table className="compare-table">
          <caption>Events per kind</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Mapped</th>
              {c.inVocab && <th scope="col">In the model's vocabulary</th>}
            </tr>
          </thead>
          <tbody>
            {MODALITIES.map((m) => (
              <tr key={m}>
                <th scope="row">{m}</th>
                <td>{c.mapped[m]}</td>
                {c.inVocab && <td>{c.inVocab[m]}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {c.unmapped.length > 0 && (
        <details>
          <summary>
            {c.unmappedEvents} unmapped events, {c.unmapped.length} codes (the model reads them as UNK)
          </summary>
          <ul className="code-list" data-testid="coverage-unmapped">
            {c.unmapped.slice(0, 50).map((u) => (
              <li key={`${u.system}|${u.code}|${u.kind}`}>
                {u.kind} {u.system} {u.code}
                {u.display ? ` (${u.display})` : ''}: {u.count}
              </li>
            ))}
          </ul>
        </details>
      )}
      {c.notInVocab && c.notInVocab.length > 0 && (
        <details>
          <summary>{c.notInVocab.length} mapped codes that the model's vocabulary lacks</summary>
          <ul className="code-list">
            {c.notInVocab.slice(0, 50).map((u) => (
              <li key={`${u.modality}:${u.code}`}>
                {u.modality} {u.code}: {u.count}
              </li>
            ))}
          </ul>
        </details>
      )}
      <p className="small">
        Removed on the way in:{' '}
        {Object.keys(c.removed).length
          ? Object.entries(c.removed)
              .map(([k, n]) => `${k} (${n})`)
              .join(', ')
          : 'nothing identifying was found'}
        . Dates {c.dateShift.applied ? 'shifted by one random offset per patient' : 'not shifted'}
        {c.dateShift.movedBackFromFuture ? `; ${c.dateShift.movedBackFromFuture} patients lay in the future and were moved back whole` : ''}.
      </p>
    </div>
  );
}
