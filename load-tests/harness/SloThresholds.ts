import { readFileSync } from 'node:fs';
import { assetPath } from '../../common/paths.js';
import type { ScenarioReport } from './ScenarioReport.js';

/** One metric bound of an SLO in a rehearsal (load-tests/slos.json `rehearsal`). */
export interface RehearsalBound {
  /** The k6 metric; the harness records it without the `fc_` prefix. */
  metric: string;
  stat: 'count' | 'p(99)';
  op: '<=' | '>=';
  /** The threshold is a share of this run figure (connections, taps). */
  per?: string;
  /** This run figure is added to the bound (stock). */
  plus?: string;
}

/** One service-level objective (docs/slos.md). */
export interface Objective {
  id: string;
  title: string;
  objective: string;
  threshold: number;
  unit: string;
  prometheus: { alert: string; expr: string; for: string } | null;
  rehearsal: RehearsalBound[];
}

/**
 * The SLOs of load-tests/slos.json as harness thresholds: the same bounds the k6 scripts
 * compute (flashcast.js `sloThresholds`), evaluated on a ScenarioReport. Count bounds decide
 * the run; latency bounds are reported and decide it only when enforced (`--enforce-latency`),
 * because a timed assertion on a shared CI machine is a flaky test.
 */
export class SloThresholds {
  static #objectives: Objective[] | null = null;

  /** Every objective, read once from load-tests/slos.json. */
  static objectives(): Objective[] {
    SloThresholds.#objectives ??= (JSON.parse(readFileSync(assetPath(import.meta.url, '../slos.json'), 'utf8')) as { objectives: Objective[] }).objectives;
    return SloThresholds.#objectives;
  }

  /** The bound of `r` in a run with figures `n`. */
  static bound(objective: Objective, r: RehearsalBound, n: Record<string, number>): number {
    const bound = objective.threshold * (r.per ? n[r.per] : 1) + (r.plus ? n[r.plus] : 0);
    return r.stat === 'count' ? Math.floor(bound) : bound;
  }

  /** Evaluates the SLOs `ids` on `report` (figures `n`) and adds the results to it. */
  static evaluate(report: ScenarioReport, n: Record<string, number>, ids: string[], enforceLatency: boolean): void {
    for (const objective of SloThresholds.objectives()) {
      if (!ids.includes(objective.id)) continue;
      for (const r of objective.rehearsal) {
        const bound = SloThresholds.bound(objective, r, n);
        if (!Number.isFinite(bound)) throw new TypeError(`SLO ${objective.id}: no figure for ${r.per ?? r.plus}`);
        const name = r.metric.replace(/^fc_/, '');
        const value = r.stat === 'count' ? (report.counters[name] ?? 0) : (report.latency.get(name)?.quantileMs(0.99) ?? 0);
        const ok = r.op === '<=' ? value <= bound : value >= bound;
        report.slo({ id: objective.id, threshold: `${r.metric} ${r.stat}${r.op}${bound}`, value, ok, enforced: r.stat === 'count' || enforceLatency });
      }
    }
  }
}
