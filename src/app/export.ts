// Exports of an explanation: attributions as CSV and JSON (with everything needed to reproduce them:
// model, task, method, samples, seed, reference, gap), the timeline as SVG and PNG. Everything is
// made in the page and handed to the user as a download (a blob: URL): nothing is uploaded.
// Only the pseudonymous patient id and coded events are written, never anything else about a person.
import type { AttributionResult } from '../attribution/types';
import { describeCode } from '../data/codes';
import type { Patient } from '../data/schema';
import type { ExplainSettings } from '../state/store';

export interface ExportContext {
  modelId: string;
  modelName: string;
  task: string;
  settings: ExplainSettings;
  /** the reference population in words and its size (EG) */
  reference: { description: string; size: number | null };
  backend: string | null;
  /** what-if edits applied to the patient, in order ('' when none) */
  edits: string[];
  /** app version and when the export was made */
  createdAt: string;
}

const CSV_COLUMNS = ['patient_id', 'visit', 'date', 'event', 'modality', 'code', 'description', 'value', 'unit', 'attribution', 'stderr'] as const;

/** RFC 4180 quoting; also neutralises spreadsheet formulas (a cell starting with = + - @). */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per event (placeholders of visits without diagnoses included, event = -1), sorted by
 *  date; a header comment block states model, task, method, samples, seed, reference and gap. */
export function attributionsCsv(patient: Patient, result: AttributionResult, ctx: ExportContext): string {
  const meta = [
    `# ExBEHRT Workbench attributions, exported ${ctx.createdAt}`,
    `# model ${ctx.modelName} (${ctx.modelId}); task ${ctx.task}; method ${result.method}; samples ${result.samplesDone}/${result.samplesTotal}; seed ${ctx.settings.seed}`,
    `# reference: ${ctx.reference.description}${ctx.reference.size !== null ? ` (${ctx.reference.size} patients)` : ''}; filter ${JSON.stringify(ctx.settings.reference)}`,
    `# logit ${result.logit}; reference logit ${result.referenceLogit}; completeness gap ${result.gap} (plain mean of the samples ${result.plainGap}); mean stderr ${result.stderr}; backend ${ctx.backend ?? 'unknown'}`,
    ...(ctx.edits.length ? [`# what-if edits: ${ctx.edits.join('; ')}`] : []),
  ];
  const rows = result.events
    .slice()
    .sort((a, b) => a.visit - b.visit || a.event - b.event)
    .map((e) => {
      const v = patient.visits[e.visit];
      const ev = e.event >= 0 ? v?.events[e.event] : undefined;
      return [
        patient.id,
        e.visit,
        v?.date ?? '',
        e.event,
        e.modality,
        e.code,
        ev ? describeCode(ev.modality, ev.code) : 'visit without a diagnosis',
        ev?.value ?? '',
        ev?.unit ?? '',
        e.value,
        e.stderr,
      ];
    });
  return [...meta, CSV_COLUMNS.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\r\n') + '\r\n';
}

/** The whole result with its context, as JSON (format `exbehrt-attribution` v1). */
export function attributionsJson(patient: Patient, result: AttributionResult, ctx: ExportContext): string {
  return JSON.stringify(
    {
      format: 'exbehrt-attribution',
      version: 1,
      created: ctx.createdAt,
      model: { id: ctx.modelId, name: ctx.modelName },
      task: ctx.task,
      method: result.method,
      samples: result.samplesDone,
      samples_requested: result.samplesTotal,
      seed: ctx.settings.seed,
      reference: { ...ctx.reference, filter: ctx.settings.reference },
      backend: ctx.backend,
      what_if_edits: ctx.edits,
      patient_id: patient.id,
      logit: result.logit,
      reference_logit: result.referenceLogit,
      gap: result.gap,
      plain_gap: result.plainGap,
      stderr: result.stderr,
      truncated_visits: result.truncatedVisits,
      modality: result.modality,
      visit: result.visit,
      code: result.code,
      events: result.events.map((e) => ({ ...e, date: patient.visits[e.visit]?.date })),
    },
    null,
    2,
  );
}

/** Layers of a chart that are painted elsewhere on screen (a canvas) and written into the export
 *  by a function: element (marked data-export-layer) -> SVG markup for its content. */
const exportLayers = new WeakMap<Element, () => string>();

/** Have svgDocument fill `el` (an element with a data-export-layer attribute) with `render()`'s
 *  SVG markup; returns the unregistration. */
export function registerExportLayer(el: Element, render: () => string): () => void {
  exportLayers.set(el, render);
  return () => {
    if (exportLayers.get(el) === render) exportLayers.delete(el);
  };
}

/** A self-contained SVG document of a rendered chart (the chart draws with inline attributes).
 *  Canvas-painted layers are written from their registered scene. */
export function svgDocument(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const layers = svg.querySelectorAll('[data-export-layer]');
  const cloneLayers = clone.querySelectorAll('[data-export-layer]');
  layers.forEach((el, i) => {
    const render = exportLayers.get(el);
    if (render && cloneLayers[i]) cloneLayers[i].innerHTML = render();
  });
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('xmlns:xlink', 'http://www.w3.org/1999/xlink');
  const { width, height } = svg.getBoundingClientRect();
  if (!clone.getAttribute('width')) clone.setAttribute('width', String(Math.round(width)));
  if (!clone.getAttribute('height')) clone.setAttribute('height', String(Math.round(height)));
  // a white background, so the PNG and standalone SVG read the same as on screen
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#ffffff');
  clone.insertBefore(bg, clone.firstChild);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
}

/** Rasterise an SVG document to PNG at `scale` (2: sharp on high-DPI screens and in print). */
export async function svgToPng(svgText: string, width: number, height: number, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const g = canvas.getContext('2d');
    if (!g) throw new Error('this browser cannot draw to a canvas');
    g.scale(scale, scale);
    g.drawImage(img, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Hand a blob to the user as a file download (no network involved). */
export function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name that says what the file is: patient, model, task, method, seed. */
export const exportName = (patientId: string, ctx: Pick<ExportContext, 'modelId' | 'task' | 'settings'>, ext: string) =>
  `exbehrt-${patientId}-${ctx.modelId}-${ctx.task}-${ctx.settings.method}-s${ctx.settings.seed}.${ext}`.replace(/[^A-Za-z0-9._-]+/g, '_');
