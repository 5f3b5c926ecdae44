// Per-part contributions as horizontal bars diverging from zero: plain SVG rendered by React (a
// dozen rows, re-rendered per progressive result). Colours and fonts are attributes, so the SVG
// exports as it looks. The <title>/<desc> carry the values for assistive technology.
import { useId } from 'react';
import { attributionColour, formatAttribution, type ModalityTotalRow } from './model';
import './timeline.css';

export interface ModalityBarsProps {
  rows: ModalityTotalRow[];
  width?: number;
  /** heading text, also the SVG's accessible name */
  title?: string;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const ROW_H = 22;
const LABEL_W = 120;
const VALUE_W = 64;

export function ModalityBars({ rows, width = 420, title = 'Contribution per part' }: ModalityBarsProps) {
  const uid = useId().replace(/[^a-zA-Z0-9_-]/g, '');
  const max = rows.reduce((m, r) => Math.max(m, Math.abs(r.total)), 0);
  const colour = attributionColour(max);
  const left = LABEL_W;
  const right = width - VALUE_W;
  const zero = (left + right) / 2;
  const half = (right - left) / 2 - 2;
  const scale = max > 0 ? half / max : 0;
  const height = rows.length * ROW_H + 8;
  const total = rows.reduce((s, r) => s + r.total, 0);
  const desc = rows.length
    ? `${rows.map((r) => `${r.label} ${formatAttribution(r.total)}`).join('; ')}. Sum ${formatAttribution(total)}. Positive raises the predicted risk, negative lowers it.`
    : 'No attribution yet.';
  return (
    <svg
      className="modality-bars"
      data-testid="modality-bars"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      xmlns="http://www.w3.org/2000/svg"
      fontFamily={FONT}
      fontSize={12}
      role="img"
      aria-labelledby={`mb-title-${uid} mb-desc-${uid}`}
    >
      <title id={`mb-title-${uid}`}>{title}</title>
      <desc id={`mb-desc-${uid}`}>{desc}</desc>
      <rect x={0} y={0} width={width} height={height} fill="#ffffff" />
      <line x1={zero} x2={zero} y1={2} y2={height - 2} stroke="#57606a" strokeWidth={1} />
      {rows.map((r, i) => {
        const y = 4 + i * ROW_H;
        const w = Math.abs(r.total) * scale;
        return (
          <g key={r.part} data-part={r.part} data-value={r.total}>
            <text x={left - 8} y={y + ROW_H / 2 + 4} textAnchor="end" fill="#1b1f24">
              {r.label}
            </text>
            <rect x={r.total >= 0 ? zero : zero - w} y={y + 3} width={Math.max(w, 0.5)} height={ROW_H - 6} fill={colour(r.total)} stroke="rgba(27,31,36,0.35)" strokeWidth={0.5} />
            <text x={width - 4} y={y + ROW_H / 2 + 4} textAnchor="end" fill="#1b1f24" style={{ fontVariantNumeric: 'tabular-nums' }}>
              {formatAttribution(r.total)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
