/** Breaker states: `closed` calls go through; `open` calls fail fast; `half-open` calls go through, and the first failure opens it again. */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the breaker (default 5). */
  failureThreshold: number;
  /** Window over which failures are counted (default 10 s). */
  windowMs: number;
  /** How long the breaker stays open before a trial call (default 5 s). */
  cooldownMs: number;
}

/**
 * A circuit breaker for a dependency that fails as a whole (a payment provider outage).
 * Pure state machine over an explicit clock, so every transition is unit-tested:
 * closed --(threshold failures in the window)--> open --(cooldown)--> half-open
 * --(success)--> closed, --(failure)--> open again. Half-open lets calls through rather than
 * one trial: the calls waiting are buyers' payments, and one failure is enough to open it again.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #now: () => number;
  #failures: number[] = [];
  #openedAt = 0;
  #state: BreakerState = 'closed';

  constructor(options: Partial<CircuitBreakerOptions> = {}, now: () => number = Date.now) {
    this.#options = { failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000, ...options };
    if (!Number.isInteger(this.#options.failureThreshold) || this.#options.failureThreshold < 1) throw new TypeError('failureThreshold must be a positive integer');
    this.#now = now;
  }

  /** The state now (an open breaker past its cooldown reads half-open). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#options.cooldownMs) this.#state = 'half-open';
    return this.#state;
  }

  /** Whether a call may go through now (not while open). */
  allow(): boolean {
    return this.state !== 'open';
  }

  /** Milliseconds until a call may be tried again (0 when closed or half-open). */
  retryAfterMs(): number {
    return this.state === 'open' ? Math.max(0, this.#options.cooldownMs - (this.#now() - this.#openedAt)) : 0;
  }

  /** The dependency answered. */
  success(): void {
    this.#failures = [];
    this.#state = 'closed';
  }

  /** The dependency failed as a whole (not a business answer such as a decline). */
  failure(): void {
    const now = this.#now();
    if (this.state === 'half-open') {
      this.#open(now);
      return;
    }
    this.#failures.push(now);
    while (this.#failures.length > 0 && now - this.#failures[0] > this.#options.windowMs) this.#failures.shift();
    if (this.#failures.length >= this.#options.failureThreshold) this.#open(now);
  }

  #open(now: number): void {
    this.#state = 'open';
    this.#openedAt = now;
    this.#failures = [];
  }
}
