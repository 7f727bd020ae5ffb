import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './LatencyHistogram.js';

describe('LatencyHistogram', () => {
  it('gives quantiles within its 1/32 precision', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.recordMs(i / 10); // 0.1 .. 1000 ms
    for (const [q, exact] of [[0.5, 500], [0.99, 990], [0.999, 999]] as const) {
      expect(Math.abs(h.quantileMs(q) - exact) / exact).toBeLessThan(1 / 32);
    }
    expect(h.max).toBe(1_000_000);
    expect(h.meanMs()).toBeCloseTo(500.05, 1);
  });

  it('merges counts from another thread', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.recordMs(1);
    for (let i = 0; i < 100; i++) b.recordMs(100);
    a.add(b.counts, b.max, b.sumUs);
    expect(a.count).toBe(200);
    expect(a.quantileMs(0.25)).toBeCloseTo(1, 1);
    expect(a.quantileMs(0.75)).toBeGreaterThan(96);
    expect(a.quantileMs(1)).toBe(100);
  });

  it('is NaN when empty and clamps extremes', () => {
    const h = new LatencyHistogram();
    expect(h.quantileMs(0.5)).toBeNaN();
    h.recordMs(-5);
    h.recordMs(1e12);
    expect(h.quantileMs(0)).toBe(0);
    expect(h.quantileMs(1)).toBeCloseTo(2_147_483.647, 3);
  });
});
