import type { Redis, Cluster } from 'ioredis';
import type { RedisKeys } from '../../common/keys.js';

/**
 * Whether payments can be taken, shared by every process through one Redis key: settlement
 * workers mark payments unavailable while their provider breaker is open (the key expires with
 * the breaker's cooldown), and checkout refuses taps up front meanwhile, so no stock is held
 * for a payment that cannot happen. Checkout's reads are cached briefly (one GET per node per
 * `cacheMs`, not one per tap).
 */
export class PaymentAvailability {
  readonly #redis: Redis | Cluster;
  readonly #key: string;
  readonly #cacheMs: number;
  #cached = { until: 0, retryAfterAt: 0 };
  #reading: Promise<void> | null = null;

  constructor(redis: Redis | Cluster, keys: RedisKeys, cacheMs = 250) {
    this.#redis = redis;
    this.#key = keys.global('payments:unavailable');
    this.#cacheMs = cacheMs;
  }

  /** Payments are unavailable for `ms` (a breaker opened). */
  async markUnavailable(ms: number): Promise<void> {
    await this.#redis.set(this.#key, '1', 'PX', Math.max(1, Math.ceil(ms)));
  }

  /** Payments work again (a breaker closed). */
  async markAvailable(): Promise<void> {
    await this.#redis.del(this.#key);
  }

  /**
   * 0 when payments can be taken, else the ms until a retry makes sense. Synchronous while the
   * cached answer is fresh (the tap path awaits nothing then).
   */
  retryAfterMs(): number | Promise<number> {
    const now = Date.now();
    if (now < this.#cached.until) return Math.max(0, this.#cached.retryAfterAt - now);
    this.#reading ??= (async () => {
      const ttl = await this.#redis.pttl(this.#key);
      this.#cached = { until: Date.now() + this.#cacheMs, retryAfterAt: ttl > 0 ? Date.now() + ttl : 0 };
    })().finally(() => (this.#reading = null));
    return this.#reading.then(() => Math.max(0, this.#cached.retryAfterAt - Date.now()));
  }
}
