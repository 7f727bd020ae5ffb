import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { RedisClient } from '../../common/RedisConnections.js';
import { REDIS_URL, deleteKeys, testRedis } from '../helpers/env.js';
import { PgDatabase } from '../../server/db/PgDatabase.js';
import { Migrator } from '../../server/db/Migrator.js';
import { RedisKeys } from '../../common/keys.js';

export { REDIS_URL };
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A unique Redis prefix and keys for one test, and a cleanup that deletes them. */
export function uniqueKeys(): { prefix: string; keys: RedisKeys } {
  const prefix = `t:${randomUUID().slice(0, 8)}`;
  return { prefix, keys: new RedisKeys(prefix) };
}

/** A command connection to the tests' Redis (one server or the cluster), auto-pipelined, never giving up. */
export function newRedis(url = REDIS_URL): RedisClient {
  return testRedis(url);
}

export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  await deleteKeys(redis, prefix);
}

/** A fresh, migrated PostgreSQL schema; `drop` removes it. */
export async function newSchemaDb(max = 10): Promise<{ db: PgDatabase; schema: string; drop: () => Promise<void> }> {
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const db = await PgDatabase.create({ connectionString: PG_URL, schema, max });
  await new Migrator(db).migrate();
  return {
    db,
    schema,
    drop: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor timed out');
    await sleep(stepMs);
  }
}

import type { RoomBroadcaster } from '../../server/commerce/RoomBroadcaster.js';
import type { flashcast } from '../../protocol/index.js';

/**
 * Records what commerce broadcasts, and forwards it to `next` when given (a real RoomPublisher
 * in the tests that check what the room ends up showing).
 */
export class RecordingBroadcaster implements RoomBroadcaster {
  readonly events: { roomId: string; event: flashcast.IRoomEvent }[] = [];
  readonly inventory: { roomId: string; update: flashcast.IInventoryUpdate }[] = [];
  readonly #next: RoomBroadcaster | null;
  #offset = 0;
  constructor(next: RoomBroadcaster | null = null) {
    this.#next = next;
  }
  async publish(roomId: string, event: flashcast.IRoomEvent): Promise<number> {
    this.events.push({ roomId, event });
    return this.#next ? this.#next.publish(roomId, event) : ++this.#offset;
  }
  publishInventory(roomId: string, update: flashcast.IInventoryUpdate): void {
    this.inventory.push({ roomId, update });
    this.#next?.publishInventory(roomId, update);
  }
}

export function principal(userId: string, over: Record<string, unknown> = {}) {
  return { userId, name: `${userId} Lastname`, role: 'viewer' as const, rooms: null, region: 'US', exp: 0, ...over } as import('../../common/auth/TokenService.js').Principal;
}
