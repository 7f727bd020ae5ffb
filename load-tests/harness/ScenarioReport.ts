import { LatencyHistogram } from '../bench/LatencyHistogram.js';

/** One named check of a harness scenario. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The outcome of one harness scenario: counters, latency, and the correctness checks
 * that decide the exit code. Latency is printed, never asserted (a timed assertion
 * on a shared CI machine is a flaky test).
 */
export class ScenarioReport {
  readonly name: string;
  readonly counters: Record<string, number> = {};
  readonly latency = new Map<string, LatencyHistogram>();
  readonly checks: Check[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Adds to a counter. */
  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Records a latency sample (ms) under a name. */
  time(name: string, ms: number): void {
    let histogram = this.latency.get(name);
    if (!histogram) this.latency.set(name, (histogram = new LatencyHistogram()));
    histogram.recordMs(ms);
  }

  /** Adds a check. */
  check(name: string, ok: boolean, detail: string): void {
    this.checks.push({ name, ok, detail });
  }

  /** True if every check passed. */
  get ok(): boolean {
    return this.checks.every((c) => c.ok);
  }

  /** Human-readable lines. */
  render(): string {
    const lines = [`scenario ${this.name}: ${this.ok ? 'PASS' : 'FAIL'}`];
    lines.push(`  counters: ${Object.entries(this.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const [name, h] of this.latency) {
      lines.push(`  ${name}: n=${h.count} p50=${h.quantileMs(0.5).toFixed(1)} ms p99=${h.quantileMs(0.99).toFixed(1)} ms max=${(h.max / 1000).toFixed(1)} ms`);
    }
    for (const c of this.checks) lines.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`);
    return lines.join('\n');
  }

  /** Machine-readable summary. */
  toJSON(): Record<string, unknown> {
    const latency: Record<string, unknown> = {};
    for (const [name, h] of this.latency) {
      latency[name] = { n: h.count, p50_ms: round(h.quantileMs(0.5)), p99_ms: round(h.quantileMs(0.99)), max_ms: round(h.max / 1000) };
    }
    return {
      scenario: this.name,
      ok: this.ok,
      counters: this.counters,
      latency,
      checks: this.checks.map(({ name, ok }) => ({ name, ok })),
      failed: this.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
    };
  }
}

function round(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : null;
}
