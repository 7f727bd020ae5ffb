import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import { PAYMENT_METHOD_TYPES, type PaymentMethodType } from './PaymentProvider.js';

/** A buyer's saved payment method (a provider token, never card data). */
export interface SavedPaymentMethod {
  type: PaymentMethodType;
  token: string;
}

/**
 * Saved payment methods and buyer preferences. PostgreSQL is the record; Redis caches
 * the lookup done on every tap (including "has none", for 10 minutes).
 */
export class PaymentMethods {
  readonly #db: Database;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;

  constructor(db: Database, redis: Redis | Cluster, keys: RedisKeys) {
    this.#db = db;
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Saves (replaces) the buyer's method. */
  async save(userId: string, method: SavedPaymentMethod): Promise<void> {
    if (!PAYMENT_METHOD_TYPES.includes(method.type)) throw new TypeError('unknown payment method type');
    await this.#db.query(
      `INSERT INTO payment_methods (user_id, method, token) VALUES ($1,$2,$3)
       ON CONFLICT (user_id) DO UPDATE SET method = EXCLUDED.method, token = EXCLUDED.token, created_at = now()`,
      [userId, method.type, method.token],
    );
    await this.#redis.set(this.#keys.global(`pm:${userId}`), `${method.type}|${method.token}`, 'EX', 3600);
  }

  /** Removes the buyer's method. */
  async remove(userId: string): Promise<void> {
    await this.#db.query('DELETE FROM payment_methods WHERE user_id = $1', [userId]);
    await this.#redis.set(this.#keys.global(`pm:${userId}`), '-', 'EX', 600);
  }

  /** The buyer's saved method, or null. */
  async get(userId: string): Promise<SavedPaymentMethod | null> {
    const key = this.#keys.global(`pm:${userId}`);
    const cached = await this.#redis.get(key);
    if (cached === '-') return null;
    if (cached) {
      const i = cached.indexOf('|');
      return { type: cached.slice(0, i) as PaymentMethodType, token: cached.slice(i + 1) };
    }
    const { rows } = await this.#db.query<{ method: PaymentMethodType; token: string }>(
      'SELECT method, token FROM payment_methods WHERE user_id = $1', [userId]);
    const found = rows[0] ? { type: rows[0].method, token: rows[0].token } : null;
    await this.#redis.set(key, found ? `${found.type}|${found.token}` : '-', 'EX', found ? 3600 : 600);
    return found;
  }

  /** Whether the buyer opted out of the "just bought" ticker. */
  async setHiddenInTicker(userId: string, hidden: boolean): Promise<void> {
    await this.#db.query(
      `INSERT INTO buyer_prefs (user_id, hide_in_ticker) VALUES ($1,$2)
       ON CONFLICT (user_id) DO UPDATE SET hide_in_ticker = EXCLUDED.hide_in_ticker`, [userId, hidden]);
    const key = this.#keys.global('ticker:optout');
    if (hidden) await this.#redis.sadd(key, userId);
    else await this.#redis.srem(key, userId);
  }

  async hiddenInTicker(userId: string): Promise<boolean> {
    return (await this.#redis.sismember(this.#keys.global('ticker:optout'), userId)) === 1;
  }
}
