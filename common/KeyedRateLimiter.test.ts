import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter } from './KeyedRateLimiter.js';

describe('KeyedRateLimiter', () => {
  it('admits a burst per key, then says how long to wait; keys do not share buckets', () => {
    const limiter = new KeyedRateLimiter({ perSecond: 2, burst: 3 });
    const t = 1000;
    expect([limiter.take('a', t), limiter.take('a', t), limiter.take('a', t)]).toEqual([0, 0, 0]);
    expect(limiter.take('a', t)).toBe(500);
    expect(limiter.take('b', t)).toBe(0);
    // half a second later one token is back
    expect(limiter.take('a', t + 500)).toBe(0);
    expect(limiter.take('a', t + 500)).toBeGreaterThan(0);
  });

  it('remembers at most maxKeys, forgetting the least recently used', () => {
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 2 });
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('b', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBeGreaterThan(0); // a is now the most recent
    expect(limiter.take('c', 0)).toBe(0); // b forgotten
    expect(limiter.size).toBe(2);
    expect(limiter.take('a', 0)).toBeGreaterThan(0); // a kept its empty bucket
    expect(limiter.take('b', 0)).toBe(0); // b starts again
  });

  it('refuses nonsense settings', () => {
    expect(() => new KeyedRateLimiter({ perSecond: 0, burst: 1 })).toThrow(TypeError);
    expect(() => new KeyedRateLimiter({ perSecond: 1, burst: 0 })).toThrow(TypeError);
    expect(() => new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 0 })).toThrow(TypeError);
  });
});
