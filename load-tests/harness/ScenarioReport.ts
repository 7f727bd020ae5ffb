import { LatencyHistogram } from '../bench/LatencyHistogram.js';

/** One named check of a harness scenario. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The outcome of one SLO bound in a harness run. */
export interface SloResult {
  id: string;
  /** e.g. `fc_buy_ms p(99)<=500`, the k6 threshold. */
  threshold: string;
  value: number;
  ok: boolean;
  /** False for latency bounds unless enforced: CI does not gate on time. */
  enforced: boolean;
}

/**
 * The outcome of one harness scenario: counters, latency, the correctness checks and the
 * SLO bounds (load-tests/slos.json). Checks and enforced SLO bounds decide the exit code;
 * latency bounds are reported, and enforced only on request (a timed assertion on a shared
 * CI machine is a flaky test).
 */
export class ScenarioReport {
  readonly name: string;
  readonly counters: Record<string, number> = {};
  readonly latency = new Map<string, LatencyHistogram>();
  readonly checks: Check[] = [];
  readonly slos: SloResult[] = [];

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

  /** Adds an SLO bound's outcome. */
  slo(result: SloResult): void {
    this.slos.push(result);
  }

  /** True if every check and every enforced SLO bound passed. */
  get ok(): boolean {
    return this.checks.every((c) => c.ok) && this.slos.every((s) => s.ok || !s.enforced);
  }

  /** Human-readable lines. */
  render(): string {
    const lines = [`scenario ${this.name}: ${this.ok ? 'PASS' : 'FAIL'}`];
    lines.push(`  counters: ${Object.entries(this.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const [name, h] of this.latency) {
      lines.push(`  ${name}: n=${h.count} p50=${h.quantileMs(0.5).toFixed(1)} ms p99=${h.quantileMs(0.99).toFixed(1)} ms max=${(h.max / 1000).toFixed(1)} ms`);
    }
    for (const c of this.checks) lines.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`);
    for (const s of this.slos) {
      const verdict = s.ok ? 'ok' : s.enforced ? 'FAIL' : 'over (not enforced)';
      lines.push(`  [${verdict}] SLO ${s.id}: ${s.threshold} (${round(s.value)})`);
    }
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
      slos: this.slos.map((s) => ({ ...s, value: round(s.value) })),
      failed: [
        ...this.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
        ...this.slos.filter((s) => !s.ok && s.enforced).map((s) => `SLO ${s.id}: ${s.threshold} (${round(s.value)})`),
      ],
    };
  }
}

function round(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : null;
}
