import { Backoff } from './Backoff.js';
import type { ReconnectContext, ReconnectPolicy } from './ReconnectPolicy.js';

/** Options of the default reconnect policy. */
export interface DefaultReconnectPolicyOptions {
  /** Ceiling of the first retry, ms (default 300). */
  baseMs?: number;
  /** Largest ceiling, ms (default 15 000). */
  maxMs?: number;
  /** Stop after this many retries in a row (default: never stop). */
  maxRetries?: number;
  /** Random source in [0, 1) (tests pin it). */
  random?: () => number;
}

/**
 * The client's default: retries for ever with full-jitter exponential backoff
 * (retry n waits a random time in [0, min(maxMs, baseMs * 2^n)], see Backoff),
 * so a crowd dropped together spreads its reconnects over the gateway URLs.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  readonly #backoff: Backoff;
  readonly #maxRetries: number;

  constructor(options: DefaultReconnectPolicyOptions = {}) {
    this.#backoff = new Backoff(options.baseMs ?? 300, options.maxMs ?? 15_000, options.random ?? Math.random);
    this.#maxRetries = options.maxRetries ?? Infinity;
  }

  /** A full-jitter delay for this retry, or null once `maxRetries` were made. */
  nextRetryDelay(context: ReconnectContext): number | null {
    if (context.retryCount >= this.#maxRetries) return null;
    return this.#backoff.delayAt(context.retryCount);
  }
}
