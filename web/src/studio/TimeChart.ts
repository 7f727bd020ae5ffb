/**
 * `<fc-time-chart>`: a small time-series chart as inline SVG (no chart library): one line per
 * series over the time it has (at least `minSpan`, at most the last `span` ms), each scaled
 * to its own maximum, with the latest value in the legend.
 */
import { LitElement, css, html, svg } from 'lit';

/** One line: `[time ms, value]` points in time order. */
export interface ChartSeries {
  label: string;
  color: string;
  points: readonly (readonly [number, number])[];
  /** How the legend shows a value. */
  format?: (value: number) => string;
  /** SVG stroke-dasharray, to tell apart lines that overlap. */
  dash?: string;
}

const W = 300;
const H = 80;
const PAD = 3;

/**
 * The SVG `points` of a polyline: times in [t0, t1] across the width, values in [0, max] up
 * the height (max 0: a flat line at the bottom). Points before t0 are dropped, except the
 * last of them, which starts the line at the left edge.
 */
export function linePoints(points: readonly (readonly [number, number])[], t0: number, t1: number, width = W, height = H, pad = PAD): string {
  const start = Math.max(0, points.findIndex(([t]) => t >= t0) - 1);
  const visible = points.findIndex(([t]) => t >= t0) === -1 ? points.slice(-1) : points.slice(start);
  const max = Math.max(0, ...visible.map(([, v]) => v));
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => pad + ((Math.min(t1, Math.max(t0, t)) - t0) / span) * (width - 2 * pad);
  const y = (v: number) => height - pad - (max > 0 ? (v / max) * (height - 2 * pad) : 0);
  const round = (n: number) => Math.round(n * 10) / 10;
  return visible.map(([t, v]) => `${round(x(t))},${round(y(v))}`).join(' ');
}

export class TimeChart extends LitElement {
  static override properties = {
    series: { attribute: false },
    span: { type: Number },
    minSpan: { type: Number, attribute: 'min-span' },
    now: { type: Number },
  };
  declare series: ChartSeries[];
  /** The longest window shown, in ms: older points scroll out. */
  declare span: number;
  /** The shortest window: a young series fills the chart from this much. */
  declare minSpan: number;
  /** The right edge (ms); default: the newest point. */
  declare now: number;

  static override styles = css`
    :host {
      display: block;
    }
    svg {
      width: 100%;
      height: 5.5rem;
      display: block;
      background: #141414;
      border-radius: 8px;
    }
    .legend {
      display: flex;
      flex-wrap: wrap;
      gap: 0.3rem 1rem;
      font-size: 0.8rem;
      color: #9aa0a6;
      margin-top: 0.3rem;
    }
    .dot {
      display: inline-block;
      width: 0.6rem;
      height: 0.6rem;
      border-radius: 50%;
      margin-right: 0.3rem;
    }
  `;

  constructor() {
    super();
    this.series = [];
    this.span = 10 * 60_000;
    this.minSpan = 30_000;
    this.now = 0;
  }

  override render() {
    const t1 = this.now || Math.max(0, ...this.series.flatMap((s) => s.points.slice(-1).map(([t]) => t)));
    const first = Math.min(t1, ...this.series.flatMap((s) => s.points.slice(0, 1).map(([t]) => t)));
    const t0 = t1 - Math.min(this.span, Math.max(this.minSpan, t1 - first));
    return html`<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label=${this.series.map((s) => s.label).join(', ')}>
        ${[0.25, 0.5, 0.75].map((f) => svg`<line x1="0" x2=${W} y1=${H * f} y2=${H * f} stroke="#262626" stroke-width="1" vector-effect="non-scaling-stroke"></line>`)}
        ${this.series.map((s) => svg`<polyline fill="none" stroke=${s.color} stroke-width="2" stroke-dasharray=${s.dash ?? 'none'} vector-effect="non-scaling-stroke" stroke-linejoin="round" points=${linePoints(s.points, t0, t1)} data-series=${s.label}></polyline>`)}
      </svg>
      <div class="legend">${this.series.map((s) => {
        const last = s.points.at(-1)?.[1] ?? 0;
        return html`<span><span class="dot" style="background:${s.color}"></span>${s.label}: ${s.format ? s.format(last) : last}</span>`;
      })}</div>`;
  }
}

if (!customElements.get('fc-time-chart')) customElements.define('fc-time-chart', TimeChart);
