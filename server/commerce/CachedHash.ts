import type { Redis, Cluster } from 'ioredis';
import { assetPath } from '../../common/paths.js';
import { RedisScript } from '../../common/RedisScript.js';

/**
 * A Redis hash that copies a small PostgreSQL table (a buyer's address book, a shop's shipping
 * rates) for the tap to read without PostgreSQL. Each copy carries the table's version, which
 * grows with every change under a row lock; `put` replaces a copy only with a newer one
 * (`versioned-put-1.lua`), so writers that read PostgreSQL at different times never leave an
 * older table in Redis.
 */
export class CachedHash {
  readonly #redis: Redis | Cluster;
  readonly #script: RedisScript;

  private constructor(redis: Redis | Cluster, script: RedisScript) {
    this.#redis = redis;
    this.#script = script;
  }

  /** Loads the script once. */
  static async create(redis: Redis | Cluster): Promise<CachedHash> {
    const script = RedisScript.fromFile('versioned-put-1.lua', assetPath(import.meta.url, './scripts'));
    await script.load(redis);
    return new CachedHash(redis, script);
  }

  /**
   * Replaces the copy at `key` with `entries` under `version` (field `v`), expiring after
   * `ttlMs` (0: never), unless Redis holds this version or a newer one. Resolves to whether it wrote.
   */
  async put(key: string, version: number, ttlMs: number, entries: readonly (readonly [string, string])[]): Promise<boolean> {
    if (!Number.isSafeInteger(version) || version < 0) throw new TypeError('version must be a non-negative integer');
    const args: string[] = [String(version), String(Math.max(0, Math.floor(ttlMs)))];
    for (const [field, value] of entries) {
      if (field === 'v') throw new TypeError('field "v" holds the version');
      args.push(field, value);
    }
    return (await this.#script.run<number>(this.#redis, [key], args)) === 1;
  }

  /** Drops the copy (the next reader fills it from PostgreSQL). */
  async drop(key: string): Promise<void> {
    await this.#redis.del(key);
  }
}
