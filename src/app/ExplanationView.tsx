// The explanation of one patient: the attribution timeline (refining live while samples arrive),
// the per-part bars, the top-codes table (the chart's text equivalent) and the export bar. Before
// an explanation exists the timeline still shows the patient's events, in grey.
import { useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import type { Patient } from '../data/schema';
import type { Explanation } from '../state/store';
import type { ExportContext } from './export';
import { ExportBar } from './ExportBar';
import { TIMELINE_AFTER_FRAMES, useLaterValue } from './Later';
import { buildTimeline, modalityTotals, topCodes } from './timeline/model';
import { ModalityBars } from './timeline/ModalityBars';
import { svgWidthFor, Timeline } from './timeline/Timeline';
import { TopCodesTable } from './timeline/TopCodesTable';

export interface ExplanationViewProps {
  patient: Patient;
  explanation: Explanation | null;
  pinnedId: string | null;
  onPin: (id: string | null) => void;
  /** what-if: remove an event (`${visit}:${event}`) from the patient */
  onRemove?: (id: string) => void;
  exportContext: () => ExportContext;
}

/** The chart width that fills an element, following resizes (the chart draws in pixels). */
function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(([e]) => setWidth(Math.max(480, svgWidthFor(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return { ref, width };
}

export function ExplanationView({ patient, explanation, pinnedId, onPin, onRemove, exportContext }: ExplanationViewProps) {
  // progressive results arrive several times a second: the chart, bars and table re-render in a
  // deferred (interruptible) render, so no progress update becomes a long task on the main thread
  // A newly opened patient follows the click two frames later, in a transition (Later.tsx: the
  // click's own render and its layout come first, each in a frame of its own)
  const shown = useLaterValue(patient, TIMELINE_AFTER_FRAMES);
  const latest = useDeferredValue(explanation?.result ?? null);
  const r = latest && latest.patientId === shown.id ? latest : null;
  const model = useMemo(() => buildTimeline(shown, r), [shown, r]);
  const parts = useMemo(() => (r ? modalityTotals(r) : []), [r]);
  const codes = useMemo(() => (r ? topCodes(r, shown, 15) : []), [r, shown]);
  const pinned = shown === patient ? pinnedId : null;
  const { ref, width } = useWidth(960);
  return (
    <section className="card explanation-view" aria-labelledby="timeline-heading" data-testid="timeline-card">
      <div className="card-head">
        <h2 id="timeline-heading">Attribution timeline</h2>
        {r && <ExportBar patient={shown} result={r} context={exportContext} chart={() => document.querySelector<SVGSVGElement>('[data-testid=timeline-svg]')} />}
      </div>
      <p className="muted small">
        {r
          ? `Each mark is an event, coloured by how much it raises (red) or lowers (blue) the ${r.task} logit relative to the reference population. Bars above the axis sum each visit. Hover for details, click or press Enter to pin; wheel, drag or the arrow keys zoom and pan; brush the strip below to focus a period.`
          : 'Run an explanation to colour the events by their contribution. Until then the timeline shows the events only.'}
      </p>
      <div ref={ref} className="timeline-host">
        <Timeline model={model} width={width} pinnedId={pinned} onPin={onPin} onMarkContextAction={onRemove} />
      </div>
      {r && (
        <div className="summaries">
          <div>
            <h3>Contribution per part</h3>
            <ModalityBars rows={parts} width={Math.min(460, width)} />
          </div>
          <div className="summaries-codes">
            <TopCodesTable rows={codes} />
          </div>
        </div>
      )}
    </section>
  );
}
