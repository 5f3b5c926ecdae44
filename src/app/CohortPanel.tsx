// The cohort view (the ExBEHRT paper's third claim): the model's patient representations projected
// with UMAP and clustered; each cluster's size, outcome rate, mean predicted risk, Kaplan-Meier
// curve and most distinguishing codes. Click a point to open that patient.
import { scaleLinear, schemeTableau10 } from 'd3';
import { useId, useState, memo } from 'react';
import type { ClusterSummary } from '../cohort/summary';
import type { CohortState } from '../state/store';
import { attributionColour } from './timeline/model';

export interface CohortPanelProps {
  state: CohortState | null;
  tasks: string[];
  task: string | null;
  selectedId: string | null;
  onRun: (job: CohortState['job']) => void;
  onCancel: () => void;
  onOpen: (patientId: string) => void;
}

const W = 460;
const H = 340;
const PAD = 12;
const clusterColour = (c: number) => (c < 0 ? '#8c959f' : schemeTableau10[c % 10]);
const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export const CohortPanel = memo(function CohortPanel({ state, tasks, task, selectedId, onRun, onCancel, onOpen }: CohortPanelProps) {
  const base = useId();
  const [diagnosis, setDiagnosis] = useState('');
  const [method, setMethod] = useState<'kmeans' | 'dbscan'>('kmeans');
  const [k, setK] = useState(4);
  const [colourBy, setColourBy] = useState<'cluster' | 'risk' | 'outcome'>('cluster');
  const t = task ?? tasks[0];
  const o = state?.status === 'done' ? state.outcome : undefined;
  const running = state?.status === 'running';
  let points: Array<{ id: string; x: number; y: number; fill: string; label: number }> = [];
  if (o) {
    const xs = o.xy.filter((_, i) => i % 2 === 0);
    const ys = o.xy.filter((_, i) => i % 2 === 1);
    const sx = scaleLinear().domain([Math.min(...xs), Math.max(...xs)]).range([PAD, W - PAD]);
    const sy = scaleLinear().domain([Math.min(...ys), Math.max(...ys)]).range([H - PAD, PAD]);
    const risk = o.risks[t] ?? [];
    const riskColour = attributionColour(1);
    points = o.ids.map((id, i) => ({
      id,
      x: sx(xs[i]),
      y: sy(ys[i]),
      label: o.labels[i],
      fill:
        colourBy === 'cluster'
          ? clusterColour(o.labels[i])
          : colourBy === 'risk'
            ? riskColour(2 * (risk[i] ?? 0) - 1)
            : o.outcomes[t]?.[i] === 1
              ? '#b2182b'
              : o.outcomes[t]?.[i] === 0
                ? '#92c5de'
                : '#d0d7de',
    }));
  }
  const test = o && t ? o.summary.rateTest[t] : undefined;
  return (
    <section className="card cohort-panel" aria-labelledby={`${base}-h`} data-testid="cohort-panel">
      <h2 id={`${base}-h`}>Cohort: representations, clusters, risk groups</h2>
      <p className="muted small">
        The model's pooled [CLS] representation of every loaded patient, projected to 2-D with UMAP (seeded) and clustered. Restrict to one disease
        (e.g. C: any cancer) to see whether the clusters separate risk groups, as the ExBEHRT paper reports.
      </p>
      <form
        className="explain-form"
        onSubmit={(e) => {
          e.preventDefault();
          onRun({ diagnosis: diagnosis.trim() || undefined, method, k, seed: 0 });
        }}
      >
        <label>
          Diagnosis prefix
          <input type="text" value={diagnosis} onChange={(e) => setDiagnosis(e.target.value)} placeholder="all patients" data-testid="cohort-diagnosis" />
        </label>
        <label>
          Clustering
          <select value={method} onChange={(e) => setMethod(e.target.value as 'kmeans' | 'dbscan')} data-testid="cohort-method">
            <option value="kmeans">k-means</option>
            <option value="dbscan">DBSCAN (density)</option>
          </select>
        </label>
        {method === 'kmeans' && (
          <label>
            k
            <input type="number" min={2} max={10} value={k} onChange={(e) => setK(Math.max(2, Math.min(10, Number(e.target.value) || 2)))} data-testid="cohort-k" />
          </label>
        )}
        <label>
          Colour by
          <select value={colourBy} onChange={(e) => setColourBy(e.target.value as typeof colourBy)}>
            <option value="cluster">cluster</option>
            <option value="risk">predicted risk ({t})</option>
            <option value="outcome">recorded outcome ({t})</option>
          </select>
        </label>
        <button type="submit" disabled={running} data-testid="cohort-run">
          Cluster
        </button>
        <button type="button" disabled={!running} onClick={onCancel}>
          Cancel
        </button>
      </form>
      {state && (
        <div data-testid="cohort-status" data-status={state.status}>
          {running && (
            <div className="progress">
              <progress max={state.total || 1} value={state.done} aria-label={`Cohort: ${state.stage}`} />
              <span className="small">
                {state.stage} {state.done}/{state.total}
              </span>
            </div>
          )}
          {state.status === 'cancelled' && <p className="small">Cancelled.</p>}
          {state.status === 'error' && <p className="small">Failed: {state.error}</p>}
        </div>
      )}
      {o && (
        <div className="cohort-body">
          <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`UMAP of ${o.ids.length} patients in ${o.summary.clusters.length} clusters`} data-testid="cohort-scatter" className="cohort-scatter">
            <rect width={W} height={H} fill="#ffffff" stroke="#d0d7de" />
            {points.map((p, i) => {
              return (
                <circle
                  key={p.id}
                  cx={p.x}
                  cy={p.y}
                  r={p.id === selectedId ? 6 : 3.5}
                  fill={p.fill}
                  stroke={p.id === selectedId ? '#1b1f24' : 'none'}
                  strokeWidth={2}
                  data-patient-id={p.id}
                  data-cluster={p.label}
                  style={{ cursor: 'pointer' }}
                  onClick={() => onOpen(p.id)}
                >
                  <title>
                    {p.id}, cluster {p.label < 0 ? 'noise' : p.label}, risk {(o.risks[t]?.[i] ?? 0).toFixed(3)}
                  </title>
                </circle>
              );
            })}
          </svg>
          <div className="table-scroll">
            <table className="compare-table" data-testid="cohort-clusters">
              <caption>
                Clusters ({o.params.method}
                {o.params.k ? `, k=${o.params.k}` : ''}); {t} outcome rate{test && Number.isFinite(test.pValue) ? `: chi-square ${test.statistic.toFixed(1)} on ${test.df} df, p = ${test.pValue.toExponential(1)}` : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Cluster</th>
                  <th scope="col">Patients</th>
                  <th scope="col">{t} rate</th>
                  <th scope="col">Mean predicted</th>
                  <th scope="col">Most distinguishing codes</th>
                </tr>
              </thead>
              <tbody>
                {o.summary.clusters.map((c) => {
                  const ts = c.tasks[t];
                  return (
                    <tr key={c.cluster} data-cluster={c.cluster} data-rate={ts?.rate ?? ''}>
                      <th scope="row">
                        <span className="swatch" style={{ background: clusterColour(c.cluster) }} aria-hidden="true" /> {c.cluster < 0 ? 'noise' : c.cluster}
                      </th>
                      <td>{c.size}</td>
                      <td>
                        {pct(ts?.rate ?? null)} {ts ? <span className="muted small">({ts.positives}/{ts.known})</span> : null}
                      </td>
                      <td>{ts ? ts.meanRisk.toFixed(3) : ''}</td>
                      <td className="small">
                        {c.distinguishing
                          .slice(0, 3)
                          .map((d) => `${d.code}${d.description ? ` (${d.description.slice(0, 40)})` : ''}`)
                          .join('; ')}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <KaplanMeierPlot clusters={o.summary.clusters} task={t} />
          <p className="muted small">
            Representations {(o.timings.representMs / 1000).toFixed(1)} s, UMAP {(o.timings.umapMs / 1000).toFixed(1)} s, clustering{' '}
            {o.timings.clusterMs.toFixed(0)} ms.
          </p>
        </div>
      )}
    </section>
  );
});

/** Time to outcome per cluster (Kaplan-Meier step curves), from the patients' recorded outcome times. */
function KaplanMeierPlot({ clusters, task }: { clusters: ClusterSummary[]; task: string }) {
  const curves = clusters.map((c) => ({ c: c.cluster, km: c.tasks[task]?.km ?? null })).filter((x) => x.km && x.km.points.length > 1);
  if (!curves.length) return <p className="muted small">No outcome times for {task}: no Kaplan-Meier curves.</p>;
  const maxT = Math.max(...curves.flatMap((x) => x.km!.points.map((p) => p.time)));
  const w = 460;
  const h = 220;
  const sx = scaleLinear().domain([0, maxT || 1]).range([40, w - 10]);
  const sy = scaleLinear().domain([0, 1]).range([h - 30, 10]);
  const path = (pts: { time: number; survival: number }[]) => {
    let d = `M${sx(0)},${sy(1)}`;
    let s = 1;
    for (const p of pts) {
      d += `H${sx(p.time)}V${sy(p.survival)}`;
      s = p.survival;
    }
    return d + `H${sx(maxT)}V${sy(s)}`;
  };
  return (
    <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`Kaplan-Meier curves of time to ${task} per cluster`} data-testid="cohort-km">
      <rect width={w} height={h} fill="#ffffff" />
      <line x1={40} x2={w - 10} y1={h - 30} y2={h - 30} stroke="#57606a" />
      <line x1={40} x2={40} y1={10} y2={h - 30} stroke="#57606a" />
      {[0, 0.5, 1].map((v) => (
        <text key={v} x={34} y={sy(v) + 4} textAnchor="end" fontSize={11} fill="#57606a">
          {v}
        </text>
      ))}
      <text x={(w + 40) / 2} y={h - 8} textAnchor="middle" fontSize={11} fill="#57606a">
        days after the last visit (free of {task})
      </text>
      {curves.map((x) => (
        <path key={x.c} d={path(x.km!.points)} fill="none" stroke={clusterColour(x.c)} strokeWidth={2} />
      ))}
    </svg>
  );
}
