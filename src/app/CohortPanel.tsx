// The cohort view (the ExBEHRT paper's third claim): the model's patient representations projected
// with UMAP and clustered; each cluster's size, outcome rate, mean predicted risk, Kaplan-Meier
// curve and most distinguishing codes, and on request its mean attribution per code. Click a point
// to open that patient; drag a lasso around points to select them.
import { scaleLinear } from 'd3';
import { useCallback, useId, useMemo, useState, memo } from 'react';
import type { ReferenceFilter } from '../attribution/reference';
import { selectionStats } from '../cohort/lasso';
import type { ClusterSummary } from '../cohort/summary';
import type { CohortAttributionSettings, CohortAttributionState, CohortState } from '../state/store';
import { ClusterAttribution } from './cohort/ClusterAttribution';
import { clusterColour, scatterLayout, scatterLegend, type ColourBy } from './cohort/scatter-model';
import { ScatterPlot } from './cohort/ScatterPlot';
import { SelectionPanel } from './cohort/SelectionPanel';
import { describeFilter } from './ReferencePicker';

export interface CohortPanelProps {
  state: CohortState | null;
  tasks: string[];
  task: string | null;
  selectedId: string | null;
  onRun: (job: CohortState['job']) => void;
  onCancel: () => void;
  onOpen: (patientId: string) => void;
  /** per cluster: its mean attribution per code (absent: the buttons are not shown) */
  attributions?: Record<number, CohortAttributionState>;
  /** the workbench's reference filter (the default reference population for the attribution) */
  referenceFilter?: ReferenceFilter;
  onAttribute?: (cluster: number, settings: CohortAttributionSettings) => void;
  onCancelAttribution?: () => void;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const NO_SELECTION: number[] = [];

export const CohortPanel = memo(function CohortPanel({
  state,
  tasks,
  task,
  selectedId,
  onRun,
  onCancel,
  onOpen,
  attributions,
  referenceFilter = {},
  onAttribute,
  onCancelAttribution,
}: CohortPanelProps) {
  const base = useId();
  const [diagnosis, setDiagnosis] = useState('');
  const [method, setMethod] = useState<'kmeans' | 'dbscan'>('kmeans');
  const [k, setK] = useState(4);
  const [colourBy, setColourBy] = useState<ColourBy>('cluster');
  const [attrSamples, setAttrSamples] = useState(32);
  const [attrReference, setAttrReference] = useState<'current' | 'all'>('current');
  const t = task ?? tasks[0];
  const o = state?.status === 'done' ? state.outcome : undefined;
  const running = state?.status === 'running';
  // the lasso selection belongs to one cohort run: a new run starts with none. A lasso around no
  // point still shows its (empty) result, so the user sees that it missed.
  const [lasso, setLasso] = useState<{ of: typeof o; indices: number[] } | null>(null);
  const lassoed = !!o && lasso?.of === o;
  const selected = lassoed ? lasso!.indices : NO_SELECTION;
  const selectedSet = useMemo(() => new Set(selected), [selected]);
  const layout = useMemo(() => (o ? scatterLayout(o, t, colourBy) : null), [o, t, colourBy]);
  const legend = useMemo(() => (o ? scatterLegend(colourBy, o.labels, t) : []), [o, colourBy, t]);
  const stats = useMemo(() => (o ? selectionStats(selected, o.risks[t], o.outcomes[t]) : null), [o, selected, t]);
  const describePoint = useCallback(
    (i: number) => (o ? `${o.ids[i]}, cluster ${o.labels[i] < 0 ? 'noise' : o.labels[i]}, risk ${(o.risks[t]?.[i] ?? 0).toFixed(3)}` : ''),
    [o, t],
  );
  const onLasso = useCallback((indices: number[]) => setLasso({ of: o, indices }), [o]);
  const clear = useCallback(() => setLasso(null), []);
  const attributionRunning = Object.values(attributions ?? {}).some((a) => a.status === 'running');
  const attributionReference = attrReference === 'current' ? referenceFilter : {};
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
          <select value={colourBy} onChange={(e) => setColourBy(e.target.value as ColourBy)} data-testid="cohort-colour-by">
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
      {o && layout && stats && (
        <div
          className="cohort-body"
          onKeyDown={(e) => {
            if (e.key === 'Escape' && lassoed) clear();
          }}
        >
          <div className="cohort-scatter-column">
            <ScatterPlot
              layout={layout}
              selectedId={selectedId}
              selection={selectedSet}
              ariaLabel={`UMAP of ${o.ids.length} patients in ${o.summary.clusters.length} clusters, coloured by ${colourBy === 'cluster' ? 'cluster' : colourBy === 'risk' ? `predicted ${t} risk` : `recorded ${t}`}; the cluster table describes them`}
              describePoint={describePoint}
              onOpen={onOpen}
              onLasso={onLasso}
            />
            <ul className="cohort-legend small" aria-label="Colour legend" data-testid="cohort-legend">
              {legend.map((e) => (
                <li key={e.label}>
                  <span className="swatch" style={{ background: e.colour }} aria-hidden="true" /> {e.label}
                </li>
              ))}
            </ul>
            <p className="muted small">Drag around points to select them (Escape clears); click a point to open the patient.</p>
            {lassoed && <SelectionPanel ids={selected.map((i) => o.ids[i])} stats={stats} task={t} onOpen={onOpen} onClear={clear} />}
          </div>
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
                  {onAttribute && <th scope="col">Attribution</th>}
                </tr>
              </thead>
              <tbody>
                {o.summary.clusters.map((c) => {
                  const ts = c.tasks[t];
                  const a = attributions?.[c.cluster];
                  return (
                    <tr key={c.cluster} data-cluster={c.cluster} data-rate={ts?.rate ?? ''}>
                      <th scope="row">
                        <span className="swatch" style={{ background: clusterColour(c.cluster) }} aria-hidden="true" /> {c.cluster < 0 ? 'noise' : c.cluster}
                      </th>
                      <td>{c.size}</td>
                      <td>
                        {pct(ts?.rate ?? null)} {ts ? <span className="muted small">({ts.positives}/{ts.known})</span> : null}
                      </td>
                      <td>{ts && Number.isFinite(ts.meanRisk) ? ts.meanRisk.toFixed(3) : ts ? 'n/a' : ''}</td>
                      <td className="small">
                        {c.distinguishing
                          .slice(0, 3)
                          .map((d) => `${d.code}${d.description ? ` (${d.description.slice(0, 40)})` : ''}`)
                          .join('; ')}
                      </td>
                      {onAttribute && (
                        <td>
                          <button
                            type="button"
                            disabled={a?.status === 'running'}
                            onClick={() => onAttribute(c.cluster, { task: t, samples: attrSamples, seed: 0, reference: attributionReference })}
                            data-testid={`cohort-attr-run-${c.cluster}`}
                            aria-label={`Mean attribution per code over the ${c.size} patients of ${c.cluster < 0 ? 'the noise' : `cluster ${c.cluster}`}`}
                          >
                            Mean attribution per code
                          </button>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {onAttribute && (
              <div className="explain-form cohort-attr-settings">
                <label>
                  EG samples per patient
                  <input
                    type="number"
                    min={1}
                    max={1024}
                    value={attrSamples}
                    onChange={(e) => setAttrSamples(Math.max(1, Math.min(1024, Math.round(Number(e.target.value)) || 1)))}
                    data-testid="cohort-attr-samples"
                  />
                </label>
                <label>
                  Reference population
                  <select value={attrReference} onChange={(e) => setAttrReference(e.target.value as 'current' | 'all')} data-testid="cohort-attr-reference">
                    <option value="current">as the workbench: {describeFilter(referenceFilter)}</option>
                    <option value="all">the whole reference population</option>
                  </select>
                </label>
                <span className="muted small">
                  Expected gradients (seed 0) for every patient of the cluster in turn{attributionRunning ? '; one runs at a time' : ''}.
                </span>
              </div>
            )}
            {o.summary.clusters
              .filter((c) => attributions?.[c.cluster])
              .map((c) => (
                <ClusterAttribution key={c.cluster} state={attributions![c.cluster]} onCancel={() => onCancelAttribution?.()} />
              ))}
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
