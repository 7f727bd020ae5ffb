import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import { PAYMENT_METHOD_TYPES, type PaymentMethodType } from './PaymentProvider.js';
import { MicroBatcher } from '../../common/MicroBatcher.js';

/** The mirror's value for "no method saved". */
const NONE = '-';

const encode = (m: SavedPaymentMethod) => `${m.type}|${m.token}`;

function decode(v: string | null): SavedPaymentMethod | null | undefined {
  if (v === null) return undefined;
  if (v === NONE) return null;
  const i = v.indexOf('|');
  return { type: v.slice(0, i) as PaymentMethodType, token: v.slice(i + 1) };
}

/** A buyer's saved payment method (a provider token, never card data). */
export interface SavedPaymentMethod {
  type: PaymentMethodType;
  token: string;
}

/**
 * Saved payment methods and buyer preferences. PostgreSQL is the record; Redis keeps a mirror
 * of every buyer's saved method (or "none"), written with the method and never expiring, so a
 * tap looks it up in Redis alone before reserving (`peek`): a first tap is as fast as a
 * returning buyer's. A buyer the mirror does not know (never looked up, or Redis lost it) is
 * looked up in PostgreSQL after the hold (`get`), which rebuilds the entry.
 */
export class PaymentMethods {
  readonly #db: Database;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  /**
   * Lookups in PostgreSQL, group-committed: the winners of a flash sale who are not in the
   * mirror (first-time buyers) arrive together, and share a few statements instead of queueing
   * for the pool one by one.
   */
  readonly #lookups: MicroBatcher<string, SavedPaymentMethod | null>;

  constructor(db: Database, redis: Redis | Cluster, keys: RedisKeys) {
    this.#db = db;
    this.#redis = redis;
    this.#keys = keys;
    this.#lookups = new MicroBatcher(async (userIds) => {
      const { rows } = await this.#db.query<{ user_id: string; method: PaymentMethodType; token: string }>(
        'SELECT user_id, method, token FROM payment_methods WHERE user_id = ANY($1::text[])', [userIds]);
      const found = new Map(rows.map((r) => [r.user_id, { type: r.method, token: r.token }]));
      return userIds.map((id) => found.get(id) ?? null);
    }, { maxBatch: 200, maxInFlight: 2 });
  }

  /** Saves (replaces) the buyer's method. */
  async save(userId: string, method: SavedPaymentMethod): Promise<void> {
    if (!PAYMENT_METHOD_TYPES.includes(method.type)) throw new TypeError('unknown payment method type');
    await this.#db.query(
      `INSERT INTO payment_methods (user_id, method, token) VALUES ($1,$2,$3)
       ON CONFLICT (user_id) DO UPDATE SET method = EXCLUDED.method, token = EXCLUDED.token, created_at = now()`,
      [userId, method.type, method.token],
    );
    await this.#redis.set(this.#key(userId), encode(method));
  }

  /** Removes the buyer's method. */
  async remove(userId: string): Promise<void> {
    await this.#db.query('DELETE FROM payment_methods WHERE user_id = $1', [userId]);
    await this.#redis.set(this.#key(userId), NONE);
  }

  /**
   * The buyer's saved method as the Redis mirror knows it, without touching PostgreSQL: the
   * method, null (none saved), or undefined (the mirror has no entry: ask `get` after the hold).
   */
  async peek(userId: string): Promise<SavedPaymentMethod | null | undefined> {
    return decode(await this.#redis.get(this.#key(userId)));
  }

  /** The buyer's saved method, or null: the mirror, else PostgreSQL (the mirror's entry is rebuilt). */
  async get(userId: string): Promise<SavedPaymentMethod | null> {
    const key = this.#key(userId);
    const mirrored = decode(await this.#redis.get(key));
    if (mirrored !== undefined) return mirrored;
    const found = await this.#lookups.submit(userId);
    // NX: a save or removal that wrote the mirror meanwhile is newer than what was read here.
    await this.#redis.set(key, found ? encode(found) : NONE, 'NX');
    return found;
  }

  #key(userId: string): string {
    return this.#keys.global(`pm:${userId}`);
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
