import type { ScenarioResult } from './ScenarioRunner.js';

interface Column {
  title: string;
  value: (r: ScenarioResult) => string;
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

const COLUMNS: Column[] = [
  { title: 'server', value: (r) => r.label },
  { title: 'joined', value: (r) => `${r.joined}/${r.viewers}` },
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
  { title: 'srv CPU%', value: (r) => fmt(r.serverCpuPct) },
  { title: 'redis CPU%', value: (r) => fmt(r.redisCpuPct) },
  { title: 'client CPU%', value: (r) => fmt(r.clientCpuPct) },
  { title: 'gen ELU% bulk/probe', value: (r) => `${fmt(r.bulkEluPct)}/${fmt(r.probeEluPct)}` },
  { title: 'pub lag/burst', value: (r) => `${fmt(r.pubLagMaxMs, 1)}/${r.pubMaxBurst}` },
  { title: 'CPU µs/deliv', value: (r) => fmt(r.cpuUsPerDelivery, 2) },
];

/** Printed under the table: what the columns mean. */
const LEGEND = [
  'probe p50/p99: publish-to-receive ms seen by the probe viewers (own, nearly idle worker thread): the latency figures.',
  'bulk p50/p99: the same seen by the bulk viewers, whose worker threads queue behind their own load.',
  'gen ELU%: event-loop utilisation of the busiest bulk worker / the probe worker (100 = the generator is saturated).',
  'pub lag/burst: most ms the publisher sent a message late, most messages it then sent back to back. CPU µs/deliv: server CPU per delivery.',
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
