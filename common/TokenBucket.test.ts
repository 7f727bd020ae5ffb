import { describe, expect, it } from 'vitest';
import { TokenBucket } from './TokenBucket.js';

describe('TokenBucket', () => {
  it('allows the burst, then the rate, and says when to retry', () => {
    const t0 = 1000; // an explicit clock: exact arithmetic, no timing
    const b = new TokenBucket(2, 4, t0);
    for (let i = 0; i < 4; i++) expect(b.take(1, t0)).toBe(true);
    expect(b.take(1, t0)).toBe(false);
    expect(b.retryAfterMs(1, t0)).toBe(500);
    expect(b.take(1, t0 + 500)).toBe(true);
    expect(b.take(1, t0 + 500)).toBe(false);
    // Saved tokens never exceed the burst.
    expect(b.take(5, t0 + 100_000)).toBe(false);
    expect(b.take(4, t0 + 100_000)).toBe(true);
  });

  it('rejects nonsense parameters', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(TypeError);
    expect(() => new TokenBucket(1, 0)).toThrow(TypeError);
  });

  it('changes its rate from now on, keeping saved tokens up to the new burst', () => {
    const t0 = 1000;
    const b = new TokenBucket(10, 20, t0);
    expect(b.take(15, t0)).toBe(true); // 5 left
    b.setRate(1, 2, t0 + 100); // 5 + 1 earned at the old rate, cut to the new burst
    expect([b.rate, b.burst]).toEqual([1, 2]);
    expect(b.take(2, t0 + 100)).toBe(true);
    expect(b.take(1, t0 + 100)).toBe(false);
    expect(b.retryAfterMs(1, t0 + 100)).toBe(1000);
    expect(() => b.setRate(0, 1)).toThrow(TypeError);
  });
});
