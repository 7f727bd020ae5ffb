import type { SaturationResult, ScenarioResult } from './ScenarioRunner.js';

interface Column {
  title: string;
  value: (r: ScenarioResult) => string;
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

const COLUMNS: Column[] = [
  { title: 'server', value: (r) => r.label },
  { title: 'joined', value: (r) => `${r.joined}/${r.viewers}` },
  { title: 'msg/s', value: (r) => `${fmt(r.rate, r.rate < 100 ? 1 : 0)}${r.attempt > 0 ? ` (again)` : ''}` },
  { title: 'sent/acked', value: (r) => `${r.sent}/${r.acked}` },
  { title: 'deliveries/s', value: (r) => fmt(r.deliveriesPerS) },
  { title: 'median 1s', value: (r) => fmt(r.medianSecondDeliveries) },
  { title: 'probe p50', value: (r) => fmt(r.p50Ms, 1) },
  { title: 'probe p99', value: (r) => fmt(r.p99Ms, 1) },
  { title: 'bulk p50', value: (r) => fmt(r.bulkP50Ms, 1) },
  { title: 'bulk p99', value: (r) => fmt(r.bulkP99Ms, 1) },
  { title: 'lost', value: (r) => fmt(r.lost) },
  { title: 'dup', value: (r) => fmt(r.duplicates) },
  { title: 'frame B', value: (r) => fmt(r.frameBytes) },
  { title: 'frames/msg', value: (r) => fmt(r.framesPerMessage, 2) },
  { title: 'srv CPU%', value: (r) => fmt(r.serverCpuPct) },
  { title: 'redis CPU%', value: (r) => fmt(r.redisCpuPct) },
  { title: 'client CPU%', value: (r) => fmt(r.clientCpuPct) },
  { title: 'gen ELU% bulk/probe', value: (r) => `${fmt(r.bulkEluPct)}/${fmt(r.probeEluPct)}` },
  { title: 'pub lag/burst', value: (r) => `${fmt(r.pubLagMaxMs, 1)}/${r.pubMaxBurst}` },
  { title: 'CPU µs/deliv', value: (r) => fmt(r.cpuUsPerDelivery, 2) },
  { title: 'load 1m', value: (r) => fmt(r.loadAvg1m, 1) },
];

/** Printed under the table: what the columns mean. */
const LEGEND = [
  'probe p50/p99: publish-to-receive ms seen by the probe viewers (own, nearly idle worker thread): the latency figures.',
  'bulk p50/p99: the same seen by the bulk viewers, whose worker threads queue behind their own load.',
  'gen ELU%: event-loop utilisation of the busiest bulk worker / the probe worker (100 = the generator is saturated).',
  'frames/msg: announcements per WebSocket message received (Flashcast batches; a Socket.IO binary event takes two messages).',
  'pub lag/burst: most ms the publisher sent a message late, most messages it then sent back to back.',
  'CPU µs/deliv: server CPU per delivery = server CPU-seconds per million deliveries. load 1m: the machine\'s load average after the run.',
].join('\n');

/** Formats scenario results as a fixed-width text table. */
export class ResultTable {
  readonly #rows: ScenarioResult[] = [];

  /** Adds one row. */
  add(result: ScenarioResult): void {
    this.#rows.push(result);
  }

  /** The table, header first; failed scenarios show their error under the table. */
  render(): string {
    const cells = [COLUMNS.map((c) => c.title), ...this.#rows.map((r) => COLUMNS.map((c) => (r.error ? (c.title === 'server' ? r.label : '-') : c.value(r))))];
    const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
    const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
    const out = [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line), LEGEND];
    for (const r of this.#rows) {
      if (r.error) out.push(`! ${r.label}: ${r.error}`);
      const failures = Object.entries(r.joinFailures);
      if (failures.length > 0) out.push(`! ${r.label}: join failures: ${failures.map(([k, n]) => `${n}x ${k}`).join('; ')}`);
      const errors = Object.entries(r.publishErrors);
      if (errors.length > 0) out.push(`! ${r.label}: publish errors: ${errors.map(([k, n]) => `${n}x ${k}`).join('; ')}`);
      const closes = Object.entries(r.closeCodes);
      if (closes.length > 0) out.push(`! ${r.label}: viewers closed during the run: ${closes.map(([k, n]) => `${n}x code ${k}`).join('; ')}`);
      if (r.gapped > 0) out.push(`! ${r.label}: ${r.gapped} offsets skipped (${r.viewersWithLoss} viewers with loss)`);
    }
    return out.join('\n');
  }
}

/**
 * The summary of saturation runs: per server, the highest rate it held (deliveries/s, CPU per
 * delivery, latency there), its CPU per delivery and latency at `commonRate` (a rate every server
 * delivered without loss), and what stopped it.
 */
export function saturationSummary(runs: SaturationResult[], commonRate: number | null): string {
  const at = (run: SaturationResult, rate: number | null): ScenarioResult | undefined => [...run.steps].reverse().find((s) => s.rate === rate);
  const rows = [
    ['server', 'held deliveries/s', 'at msg/s', 'probe p99', 'CPU s/M deliv', 'frames/msg', `CPU s/M @${commonRate ?? '-'} msg/s`, `p99 @${commonRate ?? '-'}`, 'stopped by'],
    ...runs.map((run) => {
      const held = run.held;
      const common = at(run, commonRate);
      return [
        run.label,
        held ? fmt(held.deliveriesPerS) : '-',
        held ? fmt(held.rate, 1) : '-',
        held ? fmt(held.p99Ms, 1) : '-',
        held ? fmt(held.cpuUsPerDelivery, 2) : '-',
        held ? fmt(held.framesPerMessage, 2) : '-',
        common ? fmt(common.cpuUsPerDelivery, 2) : '-',
        common ? fmt(common.p99Ms, 1) : '-',
        run.error ?? run.stoppedBy,
      ];
    }),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.slice(0, rows.length).map((row) => (i === rows[0].length - 1 ? 0 : row[i].length))));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : i === row.length - 1 ? cell : cell.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(Math.max(w, 3))).join('  '), ...rows.slice(1).map(line)].join('\n');
}
