/** Reservation with a deal split over 3 buckets (take-3, give-3 and the buckets' paths of the other scripts), on a real Redis. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Reservation, type DealInventory, type DealTruth, type ReserveInput } from './Reservation.js';
import { DealBuckets } from './DealBuckets.js';
import { OrderIds } from './OrderIds.js';
import { RedisScript } from '../../common/RedisScript.js';
import { assetPath } from '../../common/paths.js';
import type { RedisKeys } from '../../common/keys.js';
import { deletePrefix, newRedis, sleep, uniqueKeys } from '../../test/commerce/helpers.js';

const N = 3;
let redis: Redis;
let prefix: string;
let keys: RedisKeys;
let res: Reservation;

function deal(over: Partial<DealInventory> = {}): DealInventory {
  const now = Date.now();
  return {
    dealId: 'd1', roomId: 'r1', productId: 'p1', totalStock: 300, perBuyerLimit: 2, startsAt: now - 1000, endsAt: now + 60_000,
    allowedRegions: [], blockedRegions: [], priceAmount: 999, currency: 'USD', epoch: 'e1', buckets: N, ...over,
  };
}

const tap = (userId: string, key: string, quantity = 1, over: Partial<ReserveInput> = {}): ReserveInput => ({
  dealId: 'd1', userId, idempotencyKey: key, quantity, region: 'US', orderId: OrderIds.forPurchase('d1', userId, key, N), holdMs: 60_000,
  buckets: N, ...over,
});

/** `count` buyer ids whose home is bucket `home`. */
function buyersOf(home: number, count: number, tag: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (DealBuckets.home(`${tag}${i}`, N) === home) out.push(`${tag}${i}`);
  return out;
}

const bucketKey = (b: number, suffix: string) => keys.tagged(DealBuckets.tags('d1', N)[b], suffix);
const stockOf = async (b: number) => Number(await redis.hget(bucketKey(b, 'deal'), 'stock'));
const stocks = () => Promise.all([0, 1, 2].map(stockOf));
const loansOf = async (b: number) => redis.hlen(bucketKey(b, 'loans'));
/** Orders (in every home) whose units are a loan, by lending bucket. */
async function loanPointers(): Promise<string[]> {
  const out: string[] = [];
  for (let b = 0; b < N; b++) {
    for (const [f, v] of Object.entries(await redis.hgetall(bucketKey(b, 'orders')))) if (f.startsWith('~')) out.push(v.split(':')[0]);
  }
  return out;
}
const take = RedisScript.fromFile('take-3.lua', assetPath(import.meta.url, './scripts'));
/** A loan made and never recorded at home (a gateway that died between the two steps). */
const orphanLoan = (b: number, orderId: string, holdMs = 60_000) =>
  take.run(redis, [bucketKey(b, 'deal'), bucketKey(b, 'loans'), bucketKey(b, 'lapse')], [`${orderId}|1|${holdMs}`]);

beforeEach(async () => {
  redis = newRedis();
  const u = uniqueKeys();
  prefix = u.prefix;
  keys = u.keys;
  res = await Reservation.create(redis, keys, { loanGraceMs: 0 });
});

afterEach(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('a deal split over 3 buckets', () => {
  it('opens with its stock shared out over 3 slots', async () => {
    const opened = await res.open(deal({ totalStock: 10 }));
    expect(opened.available).toBe(10);
    expect(await stocks()).toEqual([4, 3, 3]);
    expect(new Set(DealBuckets.tags('d1', N)).size).toBe(3);
    expect(await res.stock('d1')).toEqual(opened);
  });

  it('another node taking its home\'s last unit answers the deal\'s stock, not its home\'s', async () => {
    await res.open(deal({ totalStock: 9 }));
    const other = await Reservation.create(redis, keys); // a second gateway: it has seen no bucket yet
    const buyers = buyersOf(0, 3, 'n');
    const last = (await Promise.all(buyers.map((u) => other.reserve(tap(u, 'k'))))).at(-1)!;
    expect(await stockOf(0)).toBe(0);
    expect(last).toMatchObject({ code: 'OK', available: 6 });
    expect(last.version).toBe((await res.stock('d1')).version);
  });

  it('1,600 concurrent taps of 400 buyers with one home: all 300 units sold, none oversold, limits held, retries idempotent across buckets', async () => {
    await res.open(deal({ totalStock: 300, perBuyerLimit: 2 }));
    // Every buyer's home is bucket 0: its 100 units go first, the other 200 are lent by buckets 1 and 2.
    const buyers = buyersOf(0, 400, 'u');
    const taps = buyers.flatMap((u) => [tap(u, 'k0'), tap(u, 'k1'), tap(u, 'k2'), tap(u, 'k0')]);
    const replies = await Promise.all(taps.map((t) => res.reserve(t)));
    const won = replies.filter((r) => r.code === 'OK');
    expect(won.length).toBe(300);
    expect(new Set(won.map((r) => r.orderId)).size).toBe(300);
    expect(new Set(replies.map((r) => r.code))).toEqual(new Set(['OK', 'DUP', 'LIMIT_REACHED', 'SOLD_OUT']));
    expect(await stocks()).toEqual([0, 0, 0]);
    expect(await res.available('d1')).toBe(0);
    const per = await res.committedBy('d1');
    expect(Math.max(...Object.values(per))).toBeLessThanOrEqual(2);
    expect(Object.values(per).reduce((a, b) => a + b, 0)).toBe(300);
    // 200 holds are loans, 100 from each other bucket, each recorded once.
    const pointers = await loanPointers();
    expect(pointers.length).toBe(200);
    expect(pointers.filter((j) => j === '1').length).toBe(100);
    expect([await loansOf(0), await loansOf(1), await loansOf(2)]).toEqual([0, 100, 100]);
    // Every winner retries with the same key: the same order, nothing more taken from any bucket.
    const again = await Promise.all(won.map((r) => {
      const t = taps.find((x) => x.orderId === r.orderId)!;
      return res.reserve(t);
    }));
    expect(again.every((r, i) => r.code === 'DUP' && r.orderId === won[i].orderId && r.state === 'H')).toBe(true);
    expect(await stocks()).toEqual([0, 0, 0]);
    expect([await loansOf(1), await loansOf(2)]).toEqual([100, 100]);
  });

  it('a buyer tapping twice at once while home is empty borrows once: the limit is claimed at home first', async () => {
    await res.open(deal({ totalStock: 3, perBuyerLimit: 1 }));
    const [a, b] = buyersOf(1, 2, 'x');
    expect((await res.reserve(tap(b, 'b1'))).code).toBe('OK'); // home 1 is now empty
    const [r1, r2] = await Promise.all([res.reserve(tap(a, 'a1')), res.reserve(tap(a, 'a2'))]);
    expect([r1.code, r2.code].sort()).toEqual(['LIMIT_REACHED', 'OK']);
    expect(await res.available('d1')).toBe(1);
    expect((await stocks()).reduce((x, y) => x + y, 0)).toBe(1);
    expect((await res.committedBy('d1'))[a]).toBe(1);
    expect((await loansOf(0)) + (await loansOf(2))).toBe(1);
    expect((await loanPointers()).length).toBe(1);
  });

  it('a loan the home refuses (the deal ended between lending and recording) goes back exactly, and the claim with it', async () => {
    await res.open(deal({ totalStock: 3, perBuyerLimit: 1 }));
    const [a, b] = buyersOf(2, 2, 'e');
    expect((await res.reserve(tap(b, 'b1'))).code).toBe('OK'); // home 2 is now empty
    // Right after the loan is made, the deal ends (the host, or its end job), before the home records the hold.
    const takeSha = RedisScript.fromFile('take-3.lua', assetPath(import.meta.url, './scripts')).sha;
    const evalsha = redis.evalsha.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    let ended = false;
    (redis as any).evalsha = async (...args: unknown[]) => {
      const reply = await evalsha(...args);
      if (args[0] === takeSha && !ended) {
        ended = true;
        await res.end('d1');
      }
      return reply;
    };
    try {
      expect((await res.reserve(tap(a, 'a1'))).code).toBe('ENDED');
    } finally {
      (redis as any).evalsha = evalsha;
    }
    expect(ended).toBe(true);
    expect(await stocks()).toEqual([1, 1, 0]); // the loan is back where it came from
    expect([await loansOf(0), await loansOf(1)]).toEqual([0, 0]);
    expect(await loanPointers()).toEqual([]);
    expect((await res.committedBy('d1'))[a]).toBeUndefined(); // the claim on A's limit is gone
    expect(await res.order('d1', tap(a, 'a1').orderId)).toBeNull();
  });

  it('a retry after a gateway died between lending and recording takes the same loan, not a second one', async () => {
    await res.open(deal({ totalStock: 3, perBuyerLimit: 1 }));
    const [a, b] = buyersOf(0, 2, 'y');
    const [c] = buyersOf(2, 1, 'z');
    expect((await res.reserve(tap(b, 'b1'))).code).toBe('OK'); // home 0 empty
    expect((await res.reserve(tap(c, 'c1'))).code).toBe('OK'); // bucket 2 empty (and seen so)
    await orphanLoan(1, tap(a, 'a1').orderId); // bucket 1's last unit, lent to A's order, never recorded
    expect(await stocks()).toEqual([0, 0, 0]);
    const r = await res.reserve(tap(a, 'a1'));
    expect(r).toMatchObject({ code: 'OK', state: 'H', available: 0 });
    expect(await loanPointers()).toEqual(['1']);
    expect(await loansOf(1)).toBe(1);
    expect((await res.reserve(tap(a, 'a1'))).code).toBe('DUP');
    // The same key with another quantity is a conflict, whatever bucket lent the units.
    expect((await res.reserve(tap(a, 'a1', 2))).code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('a loan nobody recorded is given back after it lapses; a lapsed loan-backed hold gives its units to the lender', async () => {
    await res.open(deal({ totalStock: 3, perBuyerLimit: 1 }));
    await orphanLoan(2, 'o_orphan.0', 1);
    expect(await stockOf(2)).toBe(0);
    await sleep(20);
    const swept = await res.expire('d1');
    expect(swept.units).toBe(1);
    expect(await stockOf(2)).toBe(1);
    expect(await loansOf(2)).toBe(0);

    const [b] = buyersOf(0, 1, 'v');
    const [a] = buyersOf(0, 1, 'w');
    expect((await res.reserve(tap(b, 'b1'))).code).toBe('OK'); // home 0 empty
    const held = await res.reserve(tap(a, 'a1', 1, { holdMs: 30 }));
    expect(held.code).toBe('OK');
    const lender = Number((await loanPointers())[0]);
    expect(await stockOf(lender)).toBe(0);
    await sleep(60);
    const r = await res.expire('d1');
    expect(r.orderIds).toContain(held.orderId);
    expect(await stockOf(lender)).toBe(1);
    expect(await stockOf(0)).toBe(0);
    expect((await res.committedBy('d1'))[a]).toBeUndefined();
    expect(await res.available('d1')).toBe(r.available);
  });

  it('release gives a loan back to its lender; a sale settles it', async () => {
    await res.open(deal({ totalStock: 3, perBuyerLimit: 1 }));
    const [b, a, d] = buyersOf(2, 3, 'q');
    expect((await res.reserve(tap(b, 'b1'))).code).toBe('OK'); // home 2 empty
    const held = await res.reserve(tap(a, 'a1'));
    const lender = Number((await loanPointers())[0]);
    const released = await res.release('d1', held.orderId, 'H');
    expect(released).toMatchObject({ released: true, quantity: 1, available: 2 });
    expect(await stockOf(lender)).toBe(1);
    expect(await stockOf(2)).toBe(0);
    expect(await loansOf(lender)).toBe(0);
    expect((await res.release('d1', held.orderId, 'H')).released).toBe(false); // exactly once

    const sold = await res.reserve(tap(d, 'd1'));
    expect(sold.code).toBe('OK');
    expect((await res.commit('d1', sold.orderId)).code).toBe('OK');
    expect(await res.sell('d1', sold.orderId, 999)).toEqual({ code: 'OK', quantity: 1 });
    expect((await loansOf(0)) + (await loansOf(1))).toBe(0); // consumed: the units stay sold
    expect(await res.available('d1')).toBe(1);
    expect(await res.stats('d1')).toMatchObject({ orders: 1, units: 1, buyers: 1 });
    expect((await res.order('d1', sold.orderId))?.state).toBe('S');
  });

  it('rebuild shares the units PostgreSQL has free over the buckets, keeps live holds, drops loans', async () => {
    await res.open(deal({ totalStock: 90, perBuyerLimit: 2 }));
    // Holds only Redis knows (not yet claimed): 6 buyers of home 0, 3 of them on loans.
    const early = buyersOf(0, 36, 'h');
    for (const u of early.slice(0, 30)) await res.reserve(tap(u, 'x')); // home 0's 30 units
    // PostgreSQL: those 30 were claimed and paid; Redis then lost... nothing yet: 6 more holds, on loans.
    const paid = early.slice(0, 30).map((u) => `${tap(u, 'x').orderId}|S|${u}|1|x`);
    for (const u of early.slice(30)) expect((await res.reserve(tap(u, 'x'))).code).toBe('OK');
    expect((await loanPointers()).length).toBe(6);
    const t: DealTruth = {
      ...deal({ totalStock: 90, perBuyerLimit: 2, epoch: 'e2' }), status: 'active', soldUnits: 30, orders: paid,
      stats: { orders: 30, units: 30, gmv: 30 * 999, buyers: 30 },
      bucketStats: [{ orders: 30, units: 30, gmv: 30 * 999, buyers: 30 }, { orders: 0, units: 0, gmv: 0, buyers: 0 }, { orders: 0, units: 0, gmv: 0, buyers: 0 }],
    };
    const r = await res.rebuild(t);
    expect(r).toMatchObject({ available: 54, keptHolds: 6, droppedHolds: 0 });
    expect(await stocks()).toEqual([24, 18, 18].map((s, b) => s - (b === 0 ? 6 : 0)));
    expect((await loanPointers()).length).toBe(0);
    expect([await loansOf(1), await loansOf(2)]).toEqual([0, 0]);
    expect(await res.health('d1')).toMatchObject({ exists: true, epoch: 'e2', available: 54, total: 90, status: 'active' });
    expect(await res.stats('d1')).toMatchObject({ orders: 30, units: 30 });
    // Buyers keep their limit and their orders' idempotency; the kept holds are still theirs.
    expect((await res.reserve(tap(early[0], 'x'))).code).toBe('DUP');
    expect((await res.committedBy('d1'))[early[31]]).toBe(1);
    // A kept hold released now gives its unit to its home (the loan is gone with the old state).
    expect((await res.release('d1', tap(early[31], 'x').orderId, 'H')).available).toBe(55);
    expect(await stockOf(0)).toBe(19);
  });

  it('a bucket a rebuild fenced and left so counts as missing', async () => {
    await res.open(deal({ totalStock: 9 }));
    expect((await res.health('d1')).exists).toBe(true);
    const phase = RedisScript.fromFile('phase-1.lua', assetPath(import.meta.url, './scripts'));
    await phase.run(redis, [bucketKey(1, 'deal')], ['fenced']);
    expect((await res.health('d1')).exists).toBe(false);
    const [u] = buyersOf(1, 1, 'f');
    expect((await res.reserve(tap(u, 'k'))).code).toBe('NOT_FOUND');
  });
});
