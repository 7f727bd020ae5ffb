/** The saturation run's decisions: which rates it offers, when a step fails. */
import { describe, expect, it } from 'vitest';
import { saturationRates, stepFailures, type ScenarioResult } from './ScenarioRunner.js';

const passing = (): ScenarioResult =>
  ({ error: null, lost: 0, duplicates: 0, sent: 100, acked: 100, publishErrors: {}, closeCodes: {}, p99Ms: 40 }) as unknown as ScenarioResult;

describe('saturation runs', () => {
  it('offer the same geometric rates to every server, ending at the maximum', () => {
    expect(saturationRates({ startRate: 100, maxRate: 300, stepSeconds: 4, p99LimitMs: 100, stepFactor: 1.25 })).toEqual([100, 125, 156.3, 195.3, 244.1, 300]);
    expect(saturationRates({ startRate: 50, maxRate: 50, stepSeconds: 4, p99LimitMs: 100, stepFactor: 2 })).toEqual([50]);
  });

  it('fail a step on loss, duplicates, refused publications, closed viewers or a p99 over the limit', () => {
    expect(stepFailures(passing(), 100)).toEqual([]);
    expect(stepFailures({ ...passing(), lost: 3 }, 100)).toEqual(['3 lost']);
    expect(stepFailures({ ...passing(), duplicates: 1 }, 100)).toEqual(['1 duplicates']);
    expect(stepFailures({ ...passing(), acked: 90, publishErrors: { RATE_LIMITED: 10 } }, 100)).toEqual(['10 not published (10x RATE_LIMITED)']);
    expect(stepFailures({ ...passing(), closeCodes: { 4001: 2 } }, 100)).toEqual(['viewers closed (2x 4001)']);
    expect(stepFailures({ ...passing(), p99Ms: 100.5 }, 100)).toEqual(['probe p99 100.5 ms > 100 ms']);
    // No latency sample at all (nothing arrived) is a failure, not a pass.
    expect(stepFailures({ ...passing(), p99Ms: NaN }, 100)).toEqual(['probe p99 - ms > 100 ms']);
  });
});
