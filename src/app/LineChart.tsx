// A small line chart (d3 scales, SVG): a few series of (x, y) points, optional horizontal rules,
// labelled axes. Used by the teaching walk; the numbers it draws are also given as text beside it.
import { line, scaleLinear } from 'd3';

export interface LineSeries {
  label: string;
  colour: string;
  points: Array<[number, number]>;
  /** draw dots as well (few points) */
  dots?: boolean;
}

export interface LineChartProps {
  series: LineSeries[];
  /** horizontal reference lines, e.g. f(x') and f(x) */
  rules?: Array<{ y: number; label: string; colour: string }>;
  xLabel: string;
  yLabel: string;
  /** x domain; default: the data's extent */
  xDomain?: [number, number];
  width?: number;
  height?: number;
  label: string;
  testId?: string;
}

const M = { left: 52, right: 12, top: 10, bottom: 34 };

export function LineChart({ series, rules = [], xLabel, yLabel, xDomain, width = 460, height = 200, label, testId }: LineChartProps) {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...rules.map((r) => r.y)].filter(Number.isFinite);
  const sx = scaleLinear()
    .domain(xDomain ?? [Math.min(...xs, 0), Math.max(...xs, 1)])
    .range([M.left, width - M.right]);
  const lo = ys.length ? Math.min(...ys) : 0;
  const hi = ys.length ? Math.max(...ys) : 1;
  const pad = (hi - lo) * 0.08 || 0.5;
  const sy = scaleLinear()
    .domain([lo - pad, hi + pad])
    .range([height - M.bottom, M.top])
    .nice();
  const draw = line<[number, number]>()
    .defined((p) => Number.isFinite(p[1]))
    .x((p) => sx(p[0]))
    .y((p) => sy(p[1]));
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} data-testid={testId} className="line-chart">
      <rect width={width} height={height} fill="#ffffff" />
      {sy.ticks(4).map((t) => (
        <g key={t}>
          <line x1={M.left} x2={width - M.right} y1={sy(t)} y2={sy(t)} stroke="#eaeef2" />
          <text x={M.left - 6} y={sy(t) + 4} textAnchor="end" fontSize={11} fill="#57606a">
            {t}
          </text>
        </g>
      ))}
      {sx.ticks(5).map((t) => (
        <text key={t} x={sx(t)} y={height - M.bottom + 14} textAnchor="middle" fontSize={11} fill="#57606a">
          {t}
        </text>
      ))}
      <line x1={M.left} x2={width - M.right} y1={height - M.bottom} y2={height - M.bottom} stroke="#57606a" />
      <line x1={M.left} x2={M.left} y1={M.top} y2={height - M.bottom} stroke="#57606a" />
      <text x={(width + M.left) / 2} y={height - 4} textAnchor="middle" fontSize={11} fill="#57606a">
        {xLabel}
      </text>
      <text transform={`translate(12 ${(height - M.bottom + M.top) / 2}) rotate(-90)`} textAnchor="middle" fontSize={11} fill="#57606a">
        {yLabel}
      </text>
      {rules.map((r) => (
        <g key={r.label}>
          <line x1={M.left} x2={width - M.right} y1={sy(r.y)} y2={sy(r.y)} stroke={r.colour} strokeDasharray="4 3" />
          <text x={width - M.right - 2} y={sy(r.y) - 3} textAnchor="end" fontSize={11} fill={r.colour}>
            {r.label}
          </text>
        </g>
      ))}
      {series.map((s) => (
        <g key={s.label}>
          <path d={draw(s.points) ?? ''} fill="none" stroke={s.colour} strokeWidth={2} />
          {s.dots && s.points.map((p, i) => <circle key={i} cx={sx(p[0])} cy={sy(p[1])} r={2.5} fill={s.colour} />)}
        </g>
      ))}
      {series.length > 1 &&
        series.map((s, i) => (
          <text key={s.label} x={M.left + 8} y={M.top + 12 + i * 14} fontSize={11} fill={s.colour}>
            — {s.label}
          </text>
        ))}
    </svg>
  );
}
