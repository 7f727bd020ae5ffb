/** The saturation run's decisions: which rates it offers, when a step fails. */
import { describe, expect, it } from 'vitest';
import { nextRate, stepFailures, stepSeconds, type ScenarioResult } from './ScenarioRunner.js';

const passing = (): ScenarioResult =>
  ({ error: null, lost: 0, duplicates: 0, sent: 100, acked: 100, publishErrors: {}, closeCodes: {}, p99Ms: 40, joined: 1000, rate: 100, deliveriesPerS: 99_000 }) as unknown as ScenarioResult;

describe('saturation runs', () => {
  const plan = { startRate: 10, maxRate: 1000, stepSeconds: 4, minMessages: 300, p99LimitMs: 100, coarseFactor: 2, fineFactor: 1.19, retries: 1 };
  const run = (passUpTo: number): number[] => {
    const tried: { rate: number; ok: boolean }[] = [];
    for (let rate = nextRate(plan, tried); rate !== null; rate = nextRate(plan, tried)) tried.push({ rate, ok: rate <= passUpTo });
    return tried.map((t) => t.rate);
  };

  it('double the rate while every step passes (the same rates for every server), then close in below the failure', () => {
    expect(run(100)).toEqual([10, 20, 40, 80, 160, 95.2, 113.3]);
    expect(run(1000)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000]);
    expect(run(5)).toEqual([10]); // the first step failed: nothing held
    expect(run(30)).toEqual([10, 20, 40, 23.8, 28.3, 33.7]);
  });

  it('make a step long enough for its p99 to rest on enough messages', () => {
    expect(stepSeconds(plan, 1000)).toBe(4);
    expect(stepSeconds(plan, 50)).toBe(6);
    expect(stepSeconds(plan, 1)).toBe(30);
  });

  it('fail a step on loss, duplicates, refused publications, closed viewers, falling behind or a p99 over the limit', () => {
    expect(stepFailures(passing(), 100)).toEqual([]);
    expect(stepFailures({ ...passing(), lost: 3 }, 100)).toEqual(['3 lost']);
    expect(stepFailures({ ...passing(), duplicates: 1 }, 100)).toEqual(['1 duplicates']);
    expect(stepFailures({ ...passing(), acked: 90, publishErrors: { RATE_LIMITED: 10 } }, 100)).toEqual(['10 not published (10x RATE_LIMITED)']);
    expect(stepFailures({ ...passing(), closeCodes: { 4001: 2 } }, 100)).toEqual(['viewers closed (2x 4001)']);
    expect(stepFailures({ ...passing(), p99Ms: 100.5 }, 100)).toEqual(['probe p99 100.5 ms > 100 ms']);
    expect(stepFailures({ ...passing(), deliveriesPerS: 85_000 }, 100)).toEqual(['fell behind (85,000 of 100,000 deliveries/s)']);
    // No latency sample at all (nothing arrived) is a failure, not a pass.
    expect(stepFailures({ ...passing(), p99Ms: NaN }, 100)).toEqual(['probe p99 - ms > 100 ms']);
  });
});
