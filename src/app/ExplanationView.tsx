// The explanation of one patient: the attribution timeline, its summaries and the export bar.
// (The timeline chart slots in here.)
import type { Patient } from '../data/schema';
import type { Explanation } from '../state/store';
import type { ExportContext } from './export';
import { ExportBar } from './ExportBar';

export interface ExplanationViewProps {
  patient: Patient;
  explanation: Explanation | null;
  pinnedId: string | null;
  onPin: (id: string | null) => void;
  exportContext: () => ExportContext;
}

export function ExplanationView({ patient, explanation, exportContext }: ExplanationViewProps) {
  const r = explanation?.result ?? null;
  return (
    <section className="card" aria-label="Attribution timeline" data-testid="timeline-card">
      {r && <ExportBar patient={patient} result={r} context={exportContext} chart={() => document.querySelector<SVGSVGElement>('[data-testid=timeline] svg')} />}
    </section>
  );
}
