import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './CircuitBreaker.js';

function clocked(options = {}) {
  let t = 1_000_000;
  const breaker = new CircuitBreaker({ failureThreshold: 3, windowMs: 1_000, cooldownMs: 500, ...options }, () => t);
  return { breaker, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and forgets failures outside the window', () => {
    const { breaker, advance } = clocked();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    advance(1_001);
    breaker.failure();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });

  it('opens at the threshold, fails fast with a retry time, then lets calls through half-open', () => {
    const { breaker, advance } = clocked();
    for (let i = 0; i < 3; i++) breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(500);
    advance(200);
    expect(breaker.retryAfterMs()).toBe(300);
    advance(300);
    expect(breaker.state).toBe('half-open');
    expect(breaker.retryAfterMs()).toBe(0);
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(true);
  });

  it('a failed trial opens it again for a full cooldown; a successful one closes it', () => {
    const { breaker, advance } = clocked();
    for (let i = 0; i < 3; i++) breaker.failure();
    advance(500);
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBe(500);
    advance(500);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed'); // the count started again
  });

  it('a success while closed resets the count', () => {
    const { breaker } = clocked();
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });

  it('refuses a nonsensical threshold', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(TypeError);
  });
});
