import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Reservation, versionFloor, type DealInventory, type DealTruth, type StockLevel } from './Reservation.js';
import { deletePrefix, newRedis, sleep, uniqueKeys } from '../../test/commerce/helpers.js';

let redis: Redis;
let prefix: string;
let res: Reservation;

function deal(over: Partial<DealInventory> = {}): DealInventory {
  const now = Date.now();
  return {
    dealId: 'd1', roomId: 'r1', productId: 'p1', totalStock: 100, perBuyerLimit: 2,
    startsAt: now - 1000, endsAt: now + 60_000, allowedRegions: [], blockedRegions: [],
    priceAmount: 999, currency: 'USD', epoch: 'e1', ...over,
  };
}

const input = (userId: string, key: string, quantity = 1, over: Record<string, unknown> = {}) => ({
  dealId: 'd1', userId, idempotencyKey: key, quantity, region: 'US', orderId: `o-${userId}-${key}`, holdMs: 60_000, ...over,
});

beforeEach(async () => {
  redis = newRedis();
  const u = uniqueKeys();
  prefix = u.prefix;
  res = await Reservation.create(redis, u.keys);
});

afterEach(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('reserve-3.lua', () => {
  it('2,000 concurrent attempts for 100 units: exactly 100 sold, no buyer over the limit', async () => {
    await res.open(deal({ totalStock: 100, perBuyerLimit: 2 }));
    // 667 buyers, each tapping 3 times in a row with distinct keys (third tap must hit the limit).
    const attempts = Array.from({ length: 2000 }, (_, i) => input(`u${Math.floor(i / 3)}`, `k${i}`));
    const replies = await Promise.all(attempts.map((a) => res.reserve(a)));
    const ok = replies.filter((r) => r.code === 'OK');
    expect(ok.reduce((s, r) => s + r.quantity, 0)).toBe(100);
    expect(await res.available('d1')).toBe(0);
    const losers = replies.filter((r) => r.code !== 'OK');
    expect(losers.length).toBe(1900);
    expect(new Set(losers.map((r) => r.code))).toEqual(new Set(['SOLD_OUT', 'LIMIT_REACHED']));
    const per = await res.committedBy('d1');
    expect(Math.max(...Object.values(per))).toBeLessThanOrEqual(2);
    expect(Object.values(per).reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('a retried tap returns the same order and does not take more stock', async () => {
    await res.open(deal({ totalStock: 10 }));
    const a = await res.reserve(input('u1', 'tap-1', 2));
    const b = await res.reserve({ ...input('u1', 'tap-1', 2), orderId: 'other' });
    expect(a.code).toBe('OK');
    expect(b).toMatchObject({ code: 'DUP', orderId: a.orderId, at: a.at, state: 'H', quantity: 2 });
    expect(await res.available('d1')).toBe(8);
    const c = await res.reserve({ ...input('u1', 'tap-1', 1), orderId: 'x' });
    expect(c.code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('answers NOT_STARTED, ENDED, REGION_BLOCKED, LIMIT_REACHED, INSUFFICIENT_STOCK, NOT_FOUND', async () => {
    await res.open(deal({ startsAt: Date.now() + 60_000, endsAt: Date.now() + 120_000 }));
    expect((await res.reserve(input('u1', 'a'))).code).toBe('NOT_STARTED');
    await res.open(deal({ dealId: 'd1' }));
    await res.end('d1');
    expect((await res.reserve(input('u1', 'b'))).code).toBe('ENDED');
    await res.purge('d1');
    await res.open(deal({ allowedRegions: ['US', 'CA'], blockedRegions: [], totalStock: 3 }));
    expect((await res.reserve(input('u1', 'c', 1, { region: 'FR' }))).code).toBe('REGION_BLOCKED');
    expect((await res.reserve(input('u1', 'c2', 1, { region: null }))).code).toBe('REGION_BLOCKED');
    expect((await res.reserve(input('u1', 'd', 3))).code).toBe('LIMIT_REACHED');
    expect((await res.reserve(input('u1', 'e', 2))).code).toBe('OK');
    expect((await res.reserve(input('u2', 'f', 2))).code).toBe('INSUFFICIENT_STOCK');
    expect((await res.reserve(input('u2', 'g', 1))).code).toBe('OK');
    expect((await res.reserve(input('u3', 'h', 1))).code).toBe('SOLD_OUT');
    expect((await res.reserve({ ...input('u1', 'i'), dealId: 'nope' })).code).toBe('NOT_FOUND');
    await res.purge('d1');
    await res.open(deal({ blockedRegions: ['CN'] }));
    expect((await res.reserve(input('u1', 'j', 1, { region: 'CN' }))).code).toBe('REGION_BLOCKED');
    expect((await res.reserve(input('u1', 'k', 1, { region: 'US' }))).code).toBe('OK');
  });

  it('an expired hold restores stock exactly once, and frees the buyer limit', async () => {
    await res.open(deal({ totalStock: 5, perBuyerLimit: 2 }));
    const r = await res.reserve(input('u1', 'a', 2, { holdMs: 50 }));
    expect(r.code).toBe('OK');
    expect(await res.available('d1')).toBe(3);
    await sleep(80);
    const [x, y] = await Promise.all([res.expire('d1'), res.expire('d1')]);
    expect(x.units + y.units).toBe(2);
    expect([...x.orderIds, ...y.orderIds]).toEqual([r.orderId]);
    expect(await res.available('d1')).toBe(5);
    expect((await res.expire('d1')).units).toBe(0);
    expect((await res.release('d1', r.orderId, 'HP')).released).toBe(false);
    expect(await res.available('d1')).toBe(5);
    expect((await res.reserve(input('u1', 'b', 2))).code).toBe('OK');
    // the retried first tap still reports its released hold
    expect(await res.reserve(input('u1', 'a', 2))).toMatchObject({ code: 'DUP', state: 'R' });
  });

  it('commit stops expiry; a lapsed hold cannot be committed; sell counts once', async () => {
    await res.open(deal({ totalStock: 5 }));
    const a = await res.reserve(input('u1', 'a', 1, { holdMs: 40 }));
    const b = await res.reserve(input('u2', 'b', 2, { holdMs: 40 }));
    expect((await res.commit('d1', a.orderId)).code).toBe('OK');
    await sleep(60);
    expect((await res.commit('d1', b.orderId)).code).toBe('EXPIRED');
    expect((await res.expire('d1')).units).toBe(0);
    expect(await res.available('d1')).toBe(4);
    expect((await res.sell('d1', a.orderId, 999)).code).toBe('OK');
    expect((await res.sell('d1', a.orderId, 999)).code).toBe('DUP');
    expect(await res.stats('d1')).toEqual({ orders: 1, units: 1, gmv: 999, buyers: 1 });
    expect((await res.release('d1', a.orderId, 'HP')).released).toBe(false);
  });

  it('a failed payment (P) releases once and the buyer may buy again', async () => {
    await res.open(deal({ totalStock: 2, perBuyerLimit: 2 }));
    const a = await res.reserve(input('u1', 'a', 2));
    await res.commit('d1', a.orderId);
    const [x, y] = await Promise.all([res.release('d1', a.orderId, 'P'), res.release('d1', a.orderId, 'P')]);
    expect([x.released, y.released].filter(Boolean).length).toBe(1);
    expect(await res.available('d1')).toBe(2);
    expect((await res.reserve(input('u1', 'b', 2))).code).toBe('OK');
  });
});

describe('reserve-3.lua, taps batched per event-loop turn', () => {
  it('the same tap twice in one burst holds once and answers DUP with the same order', async () => {
    await res.open(deal({ totalStock: 5, perBuyerLimit: 2 }));
    const [a, b, c] = await Promise.all([
      res.reserve(input('u1', 'k', 1)),
      res.reserve({ ...input('u1', 'k', 1), orderId: 'other' }),
      res.reserve(input('u1', 'k2', 2)), // over the limit once the first tap holds 1
    ]);
    expect(a.code).toBe('OK');
    expect(b).toMatchObject({ code: 'DUP', orderId: a.orderId, state: 'H', quantity: 1, available: 4 });
    expect(c.code).toBe('LIMIT_REACHED');
    expect(await res.available('d1')).toBe(4);
    expect(await res.committedBy('d1')).toEqual({ u1: 1 });
  });

  it('taps on two deals in one burst each go to their own deal', async () => {
    await res.open(deal({ dealId: 'd1', totalStock: 1 }));
    await res.open(deal({ dealId: 'd2', totalStock: 1 }));
    const replies = await Promise.all([
      res.reserve(input('u1', 'a')), res.reserve({ ...input('u2', 'a'), dealId: 'd2' }),
      res.reserve(input('u3', 'a')), res.reserve({ ...input('u4', 'a'), dealId: 'd2' }),
    ]);
    expect(replies.map((r) => r.code)).toEqual(['OK', 'OK', 'SOLD_OUT', 'SOLD_OUT']);
    expect([await res.available('d1'), await res.available('d2')]).toEqual([0, 0]);
  });

  it('refuses fields that would break the record format', async () => {
    await res.open(deal());
    await expect(res.reserve(input('u|1', 'a'))).rejects.toThrow(TypeError);
    await expect(res.reserve(input('u1', 'a', 0))).rejects.toThrow(TypeError);
  });
});

describe('stock versions', () => {
  it('every change of stock has its own version, answered with the stock it produced', async () => {
    const opened = await res.open(deal({ totalStock: 30, perBuyerLimit: 1 }));
    expect(opened).toMatchObject({ available: 30 });
    expect(opened.version).toBeGreaterThanOrEqual(versionFloor() - 60_000_000);
    const seen: StockLevel[] = [];
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => res.reserve(input(`u${i}`, 'a', 1, { holdMs: i % 3 === 0 ? 30 : 60_000 }))));
    seen.push(...first);
    const held = first.filter((r) => r.code === 'OK');
    expect(held).toHaveLength(30);
    await sleep(60);
    // lapsed holds, failed payments and new taps, all at once
    const [expired, ...rest] = await Promise.all([
      res.expire('d1'),
      ...held.filter((_, i) => i % 3 === 1).map((r) => res.release('d1', r.orderId, 'HP')),
      ...held.filter((_, i) => i % 3 === 2).map((r) => res.commit('d1', r.orderId)),
      ...Array.from({ length: 20 }, (_, i) => res.reserve(input(`v${i}`, 'a'))),
    ]);
    seen.push(expired, ...(rest as StockLevel[]));
    type Reply = StockLevel & { code?: string; orderId?: string; released?: boolean };
    const changes = [...first, ...(rest as Reply[])].filter((r) => (r.orderId !== undefined && r.code === 'OK') || r.released);
    if (expired.units > 0) changes.push(expired);
    // a version belongs to exactly one stock level, and each change made its own version
    const byVersion = new Map<number, number>();
    for (const s of seen) {
      expect(byVersion.get(s.version) ?? s.available, `version ${s.version}`).toBe(s.available);
      byVersion.set(s.version, s.available);
    }
    expect(new Set(changes.map((c) => c.version)).size).toBe(changes.length);
    // the highest version answered is the stock now
    const now = await res.stock('d1');
    expect(Math.max(...seen.map((s) => s.version))).toBe(now.version);
    expect(byVersion.get(now.version)).toBe(now.available);
    expect(now.available).toBe(await res.available('d1'));
  });

  it('a phase change takes a new version without touching the stock; ending refuses later taps', async () => {
    const before = versionFloor();
    const opened = await res.open(deal({ totalStock: 5 }));
    const v = opened.version;
    expect(v).toBeGreaterThan(before); // versions start from the microsecond clock
    const a = await res.reserve(input('u1', 'a'));
    expect(a).toMatchObject({ code: 'OK', available: 4, version: v + 1 });
    expect(await res.phaseChange('d1')).toEqual({ available: 4, version: v + 2 });
    expect(await res.end('d1')).toEqual({ available: 4, version: v + 3 });
    expect((await res.reserve(input('u2', 'a'))).code).toBe('ENDED');
    const r = await res.release('d1', a.orderId, 'H');
    expect(r).toMatchObject({ released: true, available: 5, version: v + 4, endsAt: 0 });
    expect(await res.phaseChange('nope')).toEqual({ available: 0, version: 0 });
  });
});

describe('rebuild-5.lua (Redis state from PostgreSQL)', () => {
  const truth = (over: Partial<DealTruth> = {}): DealTruth => ({
    ...deal({ totalStock: 10, perBuyerLimit: 2 }), status: 'active', soldUnits: 0, orders: [],
    stats: { orders: 0, units: 0, gmv: 0, buyers: 0 }, epoch: 'e2', ...over,
  });

  it('after Redis lost everything: PostgreSQL orders come back with their keys, limits and stock', async () => {
    // pending (P) and paid (S) units count; a failed order keeps its key's answer; a PAYMENT_UNAVAILABLE one (F) may retry
    const r = await res.rebuild(truth({
      soldUnits: 3,
      orders: ['o-u1-a|S|u1|2|a', 'o-u2-a|P|u2|1|a', 'o-u3-a|R|u3|1|a', 'o-u4-a|F|u4|1|a'],
      stats: { orders: 1, units: 2, gmv: 1998, buyers: 1 },
    }));
    expect(r).toMatchObject({ available: 7, keptHolds: 0, droppedHolds: 0 });
    expect(r.version).toBeGreaterThanOrEqual(versionFloor() - 5_000_000);
    expect(await res.health('d1')).toEqual({ exists: true, available: 7, epoch: 'e2', status: 'active', total: 10 });
    expect(await res.reserve(input('u1', 'a', 2))).toMatchObject({ code: 'DUP', orderId: 'o-u1-a', state: 'S' });
    expect(await res.reserve(input('u2', 'a'))).toMatchObject({ code: 'DUP', orderId: 'o-u2-a', state: 'P' });
    expect(await res.reserve(input('u3', 'a'))).toMatchObject({ code: 'DUP', orderId: 'o-u3-a', state: 'R' });
    expect(await res.reserve(input('u4', 'a'))).toMatchObject({ code: 'OK', orderId: 'o-u4-a', available: 6 });
    expect((await res.reserve(input('u1', 'b'))).code).toBe('LIMIT_REACHED'); // u1 bought 2 of 2
    expect(await res.stats('d1')).toEqual({ orders: 1, units: 2, gmv: 1998, buyers: 1 });
    // the paid order turns into a sale exactly once, as before the loss
    expect((await res.sell('d1', 'o-u1-a', 1998)).code).toBe('DUP');
  });

  it('after a rollback: Redis-only live holds are kept while units remain; the rest are dropped; stock never above PostgreSQL', async () => {
    await res.open(deal({ totalStock: 10, perBuyerLimit: 5 }));
    const h1 = await res.reserve(input('h1', 'k', 2));
    const h2 = await res.reserve(input('h2', 'k', 3));
    expect([h1.code, h2.code]).toEqual(['OK', 'OK']);
    const before = await res.stock('d1');
    // PostgreSQL has 6 units sold that this Redis never saw: only 4 remain, h1 (2, expires first) fits, h2 (3) does not
    const r = await res.rebuild(truth({ totalStock: 10, perBuyerLimit: 5, soldUnits: 6, orders: ['o-x|S|x|6|k'] }));
    expect(r).toMatchObject({ available: 2, keptHolds: 1, droppedHolds: 1 });
    expect(r.version).toBeGreaterThan(before.version);
    expect(await res.order('d1', h1.orderId)).toMatchObject({ state: 'H', quantity: 2 });
    expect(await res.order('d1', h2.orderId)).toBeNull();
    expect(await res.committedBy('d1')).toEqual({ x: 6, h1: 2 });
  });

  it('a version written by a rebuild is exact (no digit lost to Lua numbers) and later changes follow it', async () => {
    const r = await res.rebuild(truth());
    const s = await res.stock('d1');
    expect(s.version).toBe(r.version);
    const a = await res.reserve(input('u1', 'a'));
    expect(a.version).toBe(r.version + 1);
  });

  it('release with forget: the buyer may hold again with the same key (payment never reached the provider)', async () => {
    await res.open(deal({ totalStock: 3 }));
    const a = await res.reserve(input('u1', 'k'));
    await res.commit('d1', a.orderId);
    const r = await res.release('d1', a.orderId, 'HP', true);
    expect(r).toMatchObject({ released: true, available: 3 });
    expect(await res.reserve(input('u1', 'k'))).toMatchObject({ code: 'OK', orderId: a.orderId, available: 2 });
    // without forget, the key answers the released order
    const b = await res.reserve(input('u2', 'k'));
    await res.release('d1', b.orderId, 'H');
    expect(await res.reserve(input('u2', 'k'))).toMatchObject({ code: 'DUP', state: 'R' });
  });
});

describe('adjust-1.lua (a listing\'s total stock)', () => {
  it('a flash deal takes only units nobody holds; a seller may lower the stock below the holds; a stale total is refused', async () => {
    await res.open(deal({ totalStock: 10, perBuyerLimit: 10 }));
    const held = await res.reserve(input('u1', 'a', 6));
    expect(held).toMatchObject({ code: 'OK', available: 4 });
    // 5 units for a deal: only 4 are free of holds
    expect(await res.adjust('d1', 10, 5, true)).toMatchObject({ code: 'SHORT', available: 4 });
    const took = await res.adjust('d1', 10, 6, true);
    expect(took).toMatchObject({ code: 'OK', available: 0 });
    expect(took.version).toBeGreaterThan(held.version);
    expect(await res.health('d1')).toMatchObject({ total: 6, available: 0 });
    // PostgreSQL's total is not Redis's: nothing is written
    expect(await res.adjust('d1', 10, 20, false)).toMatchObject({ code: 'STALE', available: 0 });
    // the seller says 2 left while 6 are held: the holds stand, stock goes negative, nothing more sells
    expect(await res.adjust('d1', 6, 2, false)).toMatchObject({ code: 'OK', available: -4 });
    expect((await res.reserve(input('u2', 'a'))).code).toBe('SOLD_OUT');
    // the hold lapses or fails: its units come back against the lower stock
    expect((await res.release('d1', held.orderId, 'H')).available).toBe(2);
    // units back from a closed deal
    expect(await res.adjust('d1', 2, 7, false)).toMatchObject({ code: 'OK', available: 7 });
    expect(await res.adjust('nope', 1, 2, false)).toMatchObject({ code: 'NOT_FOUND' });
  });
});
