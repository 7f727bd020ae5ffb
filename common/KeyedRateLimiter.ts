/**
 * A token bucket per key (a client address, a user): `take(key)` admits a request or says how
 * long to wait. Memory is bounded: at `maxKeys` the least recently used key is forgotten (it
 * starts again with a full bucket, which only errs towards admitting).
 */
import { TokenBucket } from './TokenBucket.js';

export interface KeyedRateLimiterOptions {
  /** Tokens a second per key. */
  perSecond: number;
  /** Most tokens a key saves (its first burst). */
  burst: number;
  /** Keys remembered at most (default 10,000). */
  maxKeys?: number;
}

/** Per-key token buckets with a bounded key set. */
export class KeyedRateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  /** Insertion order is recency order: a key is moved to the end on every take. */
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: KeyedRateLimiterOptions) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) throw new TypeError('perSecond must be > 0 and burst >= 1');
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
    if (!Number.isInteger(this.#maxKeys) || this.#maxKeys < 1) throw new TypeError('maxKeys must be a positive integer');
  }

  /** Takes one token for `key`: 0 when admitted, else the milliseconds until one is available. */
  take(key: string, now = performance.now()): number {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
    } else {
      bucket = new TokenBucket(this.#perSecond, this.#burst, now);
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
    }
    this.#buckets.set(key, bucket);
    return bucket.take(1, now) ? 0 : Math.max(1, bucket.retryAfterMs(1, now));
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#buckets.size;
  }
}
