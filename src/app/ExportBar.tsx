// Export buttons: attributions as CSV or JSON, the timeline as SVG or PNG. Files are made here and
// downloaded; nothing leaves the page otherwise.
import { useState } from 'react';
import type { AttributionResult } from '../attribution/types';
import type { Patient } from '../data/schema';
import { attributionsCsv, attributionsJson, download, exportName, svgDocument, svgToPng, type ExportContext } from './export';

export interface ExportBarProps {
  patient: Patient;
  result: AttributionResult;
  context: () => ExportContext;
  /** the chart to export as a picture */
  chart: () => SVGSVGElement | null;
}

export function ExportBar({ patient, result, context, chart }: ExportBarProps) {
  const [problem, setProblem] = useState<string | null>(null);
  const run = (what: string, f: () => Promise<void> | void) => async () => {
    setProblem(null);
    try {
      await f();
    } catch (e) {
      setProblem(`${what} failed: ${(e as Error).message}`);
    }
  };
  const svgOf = () => {
    const svg = chart();
    if (!svg) throw new Error('the timeline is not on screen');
    const { width, height } = svg.getBoundingClientRect();
    return { text: svgDocument(svg), width, height };
  };
  return (
    <div className="export-bar" role="group" aria-label="Export" data-testid="export-bar">
      <span className="muted small">Export:</span>
      <button
        type="button"
        data-testid="export-csv"
        onClick={run('CSV export', () => {
          const ctx = context();
          download(new Blob([attributionsCsv(patient, result, ctx)], { type: 'text/csv' }), exportName(patient.id, ctx, 'csv'));
        })}
      >
        CSV
      </button>
      <button
        type="button"
        data-testid="export-json"
        onClick={run('JSON export', () => {
          const ctx = context();
          download(new Blob([attributionsJson(patient, result, ctx)], { type: 'application/json' }), exportName(patient.id, ctx, 'json'));
        })}
      >
        JSON
      </button>
      <button
        type="button"
        data-testid="export-svg"
        onClick={run('SVG export', () => {
          const ctx = context();
          download(new Blob([svgOf().text], { type: 'image/svg+xml' }), exportName(patient.id, ctx, 'svg'));
        })}
      >
        SVG
      </button>
      <button
        type="button"
        data-testid="export-png"
        onClick={run('PNG export', async () => {
          const ctx = context();
          const s = svgOf();
          download(await svgToPng(s.text, s.width, s.height), exportName(patient.id, ctx, 'png'));
        })}
      >
        PNG
      </button>
      {problem && (
        <span role="alert" className="error-inline">
          {problem}
        </span>
      )}
    </div>
  );
}
