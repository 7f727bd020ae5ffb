import { describe, expect, it } from 'vitest';
import { Backoff } from './Backoff.js';

describe('Backoff', () => {
  it('draws full-jitter delays under an exponential ceiling capped at max', () => {
    const top = new Backoff(100, 1000, () => 0.999999);
    expect([1, 2, 3, 4, 5].map(() => top.next())).toEqual([99, 199, 399, 799, 999]);
    const bottom = new Backoff(100, 1000, () => 0);
    expect(bottom.next()).toBe(0);
    top.reset();
    expect(top.attempt).toBe(0);
    expect(top.next()).toBe(99);
  });

  it('spreads a crowd of clients over the window', () => {
    const delays = Array.from({ length: 1000 }, () => {
      const b = new Backoff(1000, 1000);
      return b.next();
    });
    const early = delays.filter((d) => d < 500).length;
    expect(early).toBeGreaterThan(400);
    expect(early).toBeLessThan(600);
  });
});
