// The top contributing codes as an HTML table: the text equivalent of the timeline. Sortable by
// any column (header buttons, so mouse and keyboard alike); aria-sort tells which.
import { useState } from 'react';
import { formatAttribution, formatStderr, PART_LABEL, type TopCodeRow } from './model';
import './timeline.css';

export interface TopCodesTableProps {
  rows: TopCodeRow[];
  caption?: string;
}

type SortKey = 'rank' | 'modality' | 'code' | 'description' | 'total' | 'meanStderr' | 'count';

const COLUMNS: Array<{ key: SortKey; label: string; numeric: boolean }> = [
  { key: 'rank', label: 'Rank', numeric: true },
  { key: 'modality', label: 'Modality', numeric: false },
  { key: 'code', label: 'Code', numeric: false },
  { key: 'description', label: 'Description', numeric: false },
  { key: 'total', label: 'Contribution', numeric: true },
  // the s.e. of a code's sum is not derivable from per-event s.e.s (they share samples), so the
  // table shows what is known: the mean per-event s.e.
  { key: 'meanStderr', label: 'Mean s.e. per event', numeric: true },
  { key: 'count', label: 'Events', numeric: true },
];

function compare(a: TopCodeRow, b: TopCodeRow, key: SortKey): number {
  switch (key) {
    case 'rank':
      return a.rank - b.rank;
    case 'total':
      return a.total - b.total;
    case 'count':
      return a.count - b.count || a.rank - b.rank;
    case 'meanStderr':
      return (a.meanStderr ?? -1) - (b.meanStderr ?? -1) || a.rank - b.rank;
    case 'description':
      return (a.description ?? '').localeCompare(b.description ?? '') || a.rank - b.rank;
    default:
      return a[key].localeCompare(b[key]) || a.rank - b.rank;
  }
}

export function TopCodesTable({ rows, caption = 'Top contributing codes (by absolute contribution)' }: TopCodesTableProps) {
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'rank', dir: 1 });
  const sorted = [...rows].sort((a, b) => sort.dir * compare(a, b, sort.key));
  const onSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: key === 'total' || key === 'count' || key === 'meanStderr' ? -1 : 1 }));
  return (
    <div className="table-wrap">
      <table className="metrics top-codes" data-testid="top-codes">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} scope="col" aria-sort={sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined} className={c.numeric ? 'num' : undefined}>
                <button type="button" className="sort-button" onClick={() => onSort(c.key)}>
                  {c.label}
                  <span aria-hidden="true" className="sort-mark">
                    {sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                  </span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={COLUMNS.length} className="muted">
                No attribution yet.
              </td>
            </tr>
          ) : (
            sorted.map((r) => (
              <tr key={`${r.modality}:${r.code}`}>
                <td className="num">{r.rank}</td>
                <td>{PART_LABEL[r.modality] ?? r.modality}</td>
                <th scope="row" className="code">
                  {r.code}
                </th>
                <td>{r.description ?? <span className="muted">not in the code catalogue</span>}</td>
                <td className={`num ${r.total > 0 ? 'pos' : r.total < 0 ? 'neg' : ''}`}>
                  {formatAttribution(r.total)}
                </td>
                <td className="num">{r.meanStderr === null ? '–' : `± ${formatStderr(r.meanStderr)}`}</td>
                <td className="num">{r.count}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
