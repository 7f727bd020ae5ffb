import { randomBytes } from 'node:crypto';
import { RedisConnections, type RedisClient } from '../../common/RedisConnections.js';

/**
 * Redis every test talks to: a real server, or a real Redis Cluster when TEST_REDIS_URL is a
 * redis+cluster:// URL (`npm run test:cluster` sets it from scripts/redis-cluster.sh).
 */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when the tests run against a Redis Cluster. */
export const ON_CLUSTER = RedisConnections.isCluster(REDIS_URL);

/** A command connection to the tests' Redis (one server or the cluster), for a test's own reads and writes. */
export function testRedis(url = REDIS_URL): RedisClient {
  const redis = RedisConnections.command(url, 'fc-test', { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // reconnects by itself (Redis restart and failover tests)
  return redis;
}

/** Deletes every key under a prefix on every master (SCAN is per node; keys of many slots go one by one). */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  await RedisConnections.waitReady(redis);
  for (const node of RedisConnections.masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      await Promise.all(keys.map((key) => node.unlink(key)));
    } while (cursor !== '0');
  }
}
export const JWT_SECRET = 'test-secret-0123456789abcdef';

/** A key prefix of its own for each test, so tests share one Redis safely. */
export function uniquePrefix(name = 't'): string {
  return `${name}${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under a prefix (cleanup after a test). */
export async function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = RedisConnections.command(url, 'fc-test-cleanup', { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Polls until `check` returns a truthy value or the time runs out. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
