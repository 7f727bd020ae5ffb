/**
 * A hot deal split over 3 buckets, end to end: taps through checkout, settlement into PostgreSQL
 * (the authority: the claim), and a rebuild from PostgreSQL after Redis lost the deal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { DealBuckets } from '../../server/commerce/DealBuckets.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';

const { CheckoutStatus } = flashcast;
let s: Stack;
afterEach(async () => {
  await s?.close();
});

/** Every key of the deal's buckets, in every slot. */
async function dealKeys(st: Stack, dealId: string): Promise<string[]> {
  const out: string[] = [];
  for (const tag of DealBuckets.tags(dealId, 3)) out.push(...(await st.redis.keys(`${st.prefix}:{${tag}}:*`)));
  return out;
}

async function bucketStocks(st: Stack, dealId: string): Promise<number[]> {
  return Promise.all(DealBuckets.tags(dealId, 3).map(async (tag) => Number(await st.redis.hget(st.keys.tagged(tag, 'deal'), 'stock'))));
}

async function paidByBuyer(st: Stack, dealId: string): Promise<Map<string, number>> {
  const { rows } = await st.db.query<{ buyer_id: string; units: number }>(
    "SELECT buyer_id, sum(quantity)::int AS units FROM orders WHERE deal_id = $1 AND status IN ('pending', 'paid') GROUP BY buyer_id", [dealId]);
  return new Map(rows.map((r) => [r.buyer_id, r.units]));
}

describe('a deal split over 3 buckets (real Redis, PostgreSQL, BullMQ workers)', () => {
  it('150 buyers tapping at once for 60 units: all sold and paid once in PostgreSQL, none oversold, limits held, retries answer the same orders', async () => {
    s = await startStack();
    const { product, deal } = await seedDeal(s, { dealStock: 60, limit: 2, buckets: 3 });
    expect(deal.buckets).toBe(3);
    // Buyers whose home is bucket 0: its 20 units go first, the other 40 are lent by buckets 1 and 2.
    const buyers: string[] = [];
    for (let i = 0; buyers.length < 150; i++) if (DealBuckets.home(`hb${i}`, 3) === 0) buyers.push(`hb${i}`);
    for (const b of buyers) await s.commerce.methods.save(b, { type: 'card', token: 'tok_visa' });
    const tapOf = (b: string, key: string) => s.commerce.checkout.reserve(principal(b, { region: 'US' }), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: key });
    // Each buyer: three keys (the third must hit the limit once two won) and a retry of the first.
    const taps = buyers.flatMap((b) => [[b, 'k0'], [b, 'k1'], [b, 'k2'], [b, 'k0']] as const);
    const results = await Promise.all(taps.map(([b, k]) => tapOf(b, k)));
    const won = new Map<string, string>();
    results.forEach((r, i) => {
      if (r.code === '') won.set(r.orderId!, `${taps[i][0]}|${taps[i][1]}`);
    });
    expect(won.size).toBe(60);
    expect(new Set(results.map((r) => r.code))).toEqual(new Set(['', 'SOLD_OUT', 'LIMIT_REACHED']));
    expect(await bucketStocks(s, deal.id)).toEqual([0, 0, 0]);
    // Settled: PostgreSQL has exactly the 60 orders, paid, its count of sold units agrees, no buyer over 2.
    await waitFor(async () => (await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE deal_id = $1 AND status = 'paid'", [deal.id])).rows[0].n === 60, 30_000);
    const { rows } = await s.db.query<{ id: string }>('SELECT id FROM orders WHERE deal_id = $1', [deal.id]);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(won.keys()));
    expect((await s.db.query<{ sold_units: number }>('SELECT sold_units FROM deals WHERE id = $1', [deal.id])).rows[0].sold_units).toBe(60);
    expect(Math.max(...(await paidByBuyer(s, deal.id)).values())).toBeLessThanOrEqual(2);
    // Every order lives in its buyer's home bucket; loans were settled by the sales.
    for (const id of won.keys()) expect(DealBuckets.ofOrder(id)).toBe(DealBuckets.home(won.get(id)!.split('|')[0], 3));
    const res = await Reservation.create(s.redis, s.keys);
    await waitFor(async () => (await res.stats(deal.id)).orders === 60);
    let onLoans = 0;
    for (const tag of DealBuckets.tags(deal.id, 3)) {
      expect(await s.redis.hlen(s.keys.tagged(tag, 'loans'))).toBe(0);
      onLoans += Object.keys(await s.redis.hgetall(s.keys.tagged(tag, 'orders'))).filter((f) => f.startsWith('~')).length;
    }
    expect(onLoans).toBe(40); // sold on units the other buckets lent
    // Retries of the winning taps, whatever bucket lent their units: the same orders, paid.
    const again = await Promise.all([...won.values()].map((w) => tapOf(w.split('|')[0], w.split('|')[1])));
    expect(again.every((r) => r.status === CheckoutStatus.CHECKOUT_PAID && won.has(r.orderId!))).toBe(true);
    expect(await bucketStocks(s, deal.id)).toEqual([0, 0, 0]);
  }, 120_000); // 150 concurrent buyers, settlement and retries: minutes on a loaded 2-core machine, seconds on a quiet one

  it('Redis loses the deal mid-sale: rebuilt from PostgreSQL with the remaining units shared over the buckets; the rest sells, never more', async () => {
    s = await startStack();
    const { product, deal } = await seedDeal(s, { dealStock: 30, limit: 1, buckets: 3 });
    const tapOf = (b: string, key = 'k') => s.commerce.checkout.reserve(principal(b, { region: 'US' }), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: key });
    const first = Array.from({ length: 10 }, (_, i) => `ra${i}`);
    for (const b of [...first, ...Array.from({ length: 40 }, (_, i) => `rb${i}`)]) await s.commerce.methods.save(b, { type: 'card', token: 'tok_visa' });
    const r1 = await Promise.all(first.map((b) => tapOf(b)));
    expect(r1.every((r) => r.code === '')).toBe(true);
    await waitFor(async () => (await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE deal_id = $1 AND status = 'paid'", [deal.id])).rows[0].n === 10, 30_000);
    // Redis loses every key of the deal, in all three slots.
    await s.redis.del(...(await dealKeys(s, deal.id)));
    expect(await s.commerce.deals.recover(deal.id)).toBe(true);
    const stocks = await bucketStocks(s, deal.id);
    expect(stocks).toEqual(DealBuckets.split(20, 3));
    expect(await (await Reservation.create(s.redis, s.keys)).health(deal.id)).toMatchObject({ exists: true, available: 20, total: 30 });
    // The first buyers' orders came back in their home buckets: their retries answer PAID, a new key is over the limit.
    const back = await Promise.all(first.map((b) => tapOf(b)));
    expect(back.map((r) => r.status)).toEqual(first.map(() => CheckoutStatus.CHECKOUT_PAID));
    expect((await tapOf('ra0', 'another')).code).toBe('LIMIT_REACHED');
    // 40 more buyers race for the 20 left.
    const r2 = await Promise.all(Array.from({ length: 40 }, (_, i) => tapOf(`rb${i}`)));
    expect(r2.filter((r) => r.code === '').length).toBe(20);
    expect(await bucketStocks(s, deal.id)).toEqual([0, 0, 0]);
    await waitFor(async () => (await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE deal_id = $1 AND status = 'paid'", [deal.id])).rows[0].n === 30, 30_000);
    expect((await s.db.query<{ sold_units: number }>('SELECT sold_units FROM deals WHERE id = $1', [deal.id])).rows[0].sold_units).toBe(30);
    expect(Math.max(...(await paidByBuyer(s, deal.id)).values())).toBe(1);
  });
});
