import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import { PaymentMethods } from './PaymentMethods.js';
import { deletePrefix, newRedis, newSchemaDb, uniqueKeys } from '../../test/commerce/helpers.js';

let redis: Redis;
let prefix: string;
let keys: RedisKeys;
let db: Database;
let drop: () => Promise<void>;
/** Statements sent to PostgreSQL through the counting wrapper. */
let statements: string[];
let methods: PaymentMethods;
/** When set, a lookup's answer from PostgreSQL is held back until it resolves (`lookedUp` is called first). */
let holdLookup: Promise<void> | null;
let lookedUp: () => void;

beforeEach(async () => {
  redis = newRedis();
  ({ prefix, keys } = uniqueKeys());
  const d = await newSchemaDb(2);
  drop = d.drop;
  db = d.db;
  statements = [];
  holdLookup = null;
  const counting: Database = Object.create(db);
  counting.query = (async (sql: string, params?: unknown[]) => {
    statements.push(sql);
    const result = await db.query(sql, params);
    if (holdLookup && sql.startsWith('SELECT user_id, method')) {
      lookedUp();
      await holdLookup;
    }
    return result;
  }) as Database['query'];
  methods = new PaymentMethods(counting, redis, keys);
});

afterEach(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  await drop();
});

describe('PaymentMethods: a Redis mirror of saved methods, so a tap reads no PostgreSQL before its hold', () => {
  it('peek reads Redis only; get rebuilds a missing entry from PostgreSQL; save and remove write the mirror, which never expires', async () => {
    // Unknown to the mirror: peek says so without asking PostgreSQL.
    expect(await methods.peek('ann')).toBeUndefined();
    expect(statements).toHaveLength(0);
    // After the hold, get asks PostgreSQL once and remembers "none".
    expect(await methods.get('ann')).toBeNull();
    expect(statements).toHaveLength(1);
    expect(await methods.peek('ann')).toBeNull();
    expect(await methods.get('ann')).toBeNull();
    expect(statements).toHaveLength(1);

    await methods.save('ann', { type: 'card', token: 'tok_visa' });
    statements.length = 0;
    expect(await methods.peek('ann')).toEqual({ type: 'card', token: 'tok_visa' });
    expect(statements).toHaveLength(0);
    expect(await redis.pttl(keys.global('pm:ann'))).toBe(-1);

    // Redis lost the entry: PostgreSQL still has the method, and get puts it back.
    await redis.del(keys.global('pm:ann'));
    expect(await methods.peek('ann')).toBeUndefined();
    expect(await methods.get('ann')).toEqual({ type: 'card', token: 'tok_visa' });
    expect(await methods.peek('ann')).toEqual({ type: 'card', token: 'tok_visa' });

    await methods.remove('ann');
    expect(await methods.peek('ann')).toBeNull();
    expect(await redis.pttl(keys.global('pm:ann'))).toBe(-1);
  });

  it('a save made while get reads PostgreSQL is not overwritten by what get read', async () => {
    expect(await methods.peek('bo')).toBeUndefined();
    // get reads "none" from PostgreSQL, then the buyer saves a card before get writes the mirror.
    let saved!: () => void;
    holdLookup = new Promise((resolve) => (saved = resolve));
    const read = new Promise<void>((resolve) => (lookedUp = resolve));
    const reading = methods.get('bo');
    await read;
    await methods.save('bo', { type: 'wallet', token: 'tok_wallet' });
    saved();
    expect(await reading).toBeNull();
    expect(await methods.peek('bo')).toEqual({ type: 'wallet', token: 'tok_wallet' });
  });
});
