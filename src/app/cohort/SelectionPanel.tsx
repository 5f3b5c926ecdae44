// The lasso selection in words: how many patients, their recorded outcome rate and mean predicted
// risk for the task, and every selected patient as a button that opens it in the timeline view.
import { memo } from 'react';
import type { SelectionStats } from '../../cohort/lasso';

export interface SelectionPanelProps {
  ids: string[];
  stats: SelectionStats;
  task: string;
  onOpen: (patientId: string) => void;
  onClear: () => void;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export const SelectionPanel = memo(function SelectionPanel({ ids, stats, task, onOpen, onClear }: SelectionPanelProps) {
  return (
    <section className="cohort-selection" aria-label="Lasso selection" data-testid="cohort-selection" data-count={stats.count}>
      <p className="small" aria-live="polite">
        <strong data-testid="cohort-selection-count">{stats.count}</strong> selected; {task} recorded in{' '}
        <span data-testid="cohort-selection-rate">{pct(stats.outcomeRate)}</span> ({stats.positives}/{stats.known} with a known outcome), mean predicted risk{' '}
        <span data-testid="cohort-selection-risk">{stats.meanRisk === null ? 'n/a' : stats.meanRisk.toFixed(3)}</span>.{' '}
        <button type="button" onClick={onClear} data-testid="cohort-selection-clear">
          Clear selection
        </button>
      </p>
      {ids.length > 0 && (
        <ul className="cohort-selection-list" aria-label={`${ids.length} selected patients: open one in the timeline view`}>
          {ids.map((id) => (
            <li key={id}>
              <button type="button" onClick={() => onOpen(id)} data-patient-id={id}>
                {id}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
});
