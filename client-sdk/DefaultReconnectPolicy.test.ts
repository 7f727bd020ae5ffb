import { describe, expect, it } from 'vitest';
import { DefaultReconnectPolicy } from './DefaultReconnectPolicy.js';

describe('DefaultReconnectPolicy', () => {
  it('draws full-jitter delays under base * 2^retry, capped at max, for ever by default', () => {
    const top = new DefaultReconnectPolicy({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    const delays = [0, 1, 2, 3, 4, 50].map((retryCount) => top.nextRetryDelay({ retryCount, elapsedMs: 0 }));
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new DefaultReconnectPolicy({ random: () => 0 });
    expect(bottom.nextRetryDelay({ retryCount: 7, elapsedMs: 3_600_000 })).toBe(0);
  });

  it('stops (null) once maxRetries retries were made', () => {
    const policy = new DefaultReconnectPolicy({ maxRetries: 2, random: () => 0.5 });
    expect([0, 1, 2, 3].map((retryCount) => policy.nextRetryDelay({ retryCount, elapsedMs: 0, closeCode: 4000 }))).toEqual([150, 300, null, null]);
  });
});
