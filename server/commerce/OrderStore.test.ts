import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgDatabase } from '../db/PgDatabase.js';
import { OrderStore, RETRYABLE_FAIL_CODE } from './OrderStore.js';
import { InstalmentPlan } from './InstalmentPlan.js';
import { OrderIds } from './OrderIds.js';
import type { SettleJob } from './SettlementQueue.js';
import { newSchemaDb } from '../../test/commerce/helpers.js';

let db: PgDatabase;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await newSchemaDb(8));
  await db.query("INSERT INTO shops (id, owner_user_id, name, currency, country) VALUES ('s1', 'seller', 'Shop', 'USD', 'US')");
  await db.query(`INSERT INTO products (id, shop_id, titles, price_amount, currency, stock) VALUES ('p1', 's1', '{"en":"Scarf"}', 2999, 'USD', 0)`);
}, 60_000);
afterAll(async () => drop());

async function newDeal(id: string, totalStock: number): Promise<void> {
  await db.query(
    `INSERT INTO deals (id, room_id, product_id, shop_id, price_amount, currency, total_stock, per_buyer_limit, countdown_s, duration_s,
       starts_at, ends_at, creator_id) VALUES ($1, 'r1', 'p1', 's1', 1999, 'USD', $2, 5, 0, 600, now(), now() + interval '10 minutes', 'host')`,
    [id, totalStock]);
}

function job(dealId: string, buyer: string, key = 'tap', over: Partial<SettleJob> = {}): SettleJob {
  const orderId = OrderIds.forPurchase(dealId, buyer, key);
  return {
    orderId, paymentKey: OrderIds.paymentKey(orderId), attempt: 'a1', dealId, roomId: 'r1', productId: 'p1', shopId: 's1',
    buyerId: buyer, buyerName: 'B', buyerRegion: 'US', idempotencyKey: key, quantity: 1, unitAmount: 1999, totalAmount: 1999,
    currency: 'USD', display: null, method: { type: 'card', token: 'tok_visa' }, instalments: null, enqueuedAt: 0, ...over,
  };
}

const one = async <T>(sql: string, params: unknown[] = []) => (await db.query<Record<string, T>>(sql, params)).rows[0];
const soldUnits = async (dealId: string) => Number((await one<number>('SELECT sold_units FROM deals WHERE id = $1', [dealId])).sold_units);

describe('OrderStore (real PostgreSQL)', () => {
  it('300 concurrent claims on 200 units from two stores: exactly 200 units claimed, the rest sold out', async () => {
    await newDeal('race', 200);
    const a = new OrderStore(db);
    const b = new OrderStore(db);
    const jobs = Array.from({ length: 300 }, (_, i) => job('race', `u${i}`, 'k', { quantity: i % 3 === 0 ? 2 : 1 }));
    const outcomes = await Promise.all(jobs.map((j, i) => (i % 2 ? a : b).claim(j)));
    const claimed = jobs.filter((_, i) => outcomes[i] === 'claimed');
    expect(new Set(outcomes)).toEqual(new Set(['claimed', 'sold_out']));
    const units = claimed.reduce((s, j) => s + j.quantity, 0);
    expect(units).toBeLessThanOrEqual(200);
    expect(units).toBeGreaterThanOrEqual(199); // a 2-unit claim may not fit the last unit
    expect(await soldUnits('race')).toBe(units);
    expect(Number((await one<number>("SELECT count(*)::int AS n FROM orders WHERE deal_id = 'race' AND status = 'pending'")).n)).toBe(claimed.length);
    // the database itself refuses more than the stock, whatever the caller does
    await expect(db.query("UPDATE deals SET sold_units = total_stock + 1 WHERE id = 'race'")).rejects.toThrow(/deals_sold_within_stock/);
    await Promise.all([a.close(), b.close()]);
  });

  it('two jobs of one order claimed at once by two stores (a retried tap): one claims, the other finds it pending, never sold out', async () => {
    await newDeal('twice', 100);
    const a = new OrderStore(db);
    const b = new OrderStore(db);
    const jobs = Array.from({ length: 40 }, (_, i) => job('twice', `t${i}`));
    const outcomes = await Promise.all(jobs.flatMap((j) => [a.claim(j), b.claim({ ...j, attempt: 'a2' })]));
    const pairs = jobs.map((_, i) => [outcomes[2 * i], outcomes[2 * i + 1]].sort());
    expect(pairs).toEqual(jobs.map(() => ['claimed', 'pending']));
    expect(await soldUnits('twice')).toBe(40);
    await Promise.all([a.close(), b.close()]);
  });

  it('a claim, a capture recorded twice, a re-claim: one paid order, one payment, told once', async () => {
    await newDeal('pay', 10);
    const s = new OrderStore(db);
    const j = job('pay', 'ana', 'k', { method: { type: 'bnpl', token: 't' }, instalments: 3, totalAmount: 1000 });
    expect(await s.claim(j)).toBe('claimed');
    expect(await s.claim({ ...j, attempt: 'a2' })).toBe('pending'); // a second job of the same order
    const paid = { job: j, provider: 'sandbox', providerRef: 'ref-1', creatorId: 'host', dealBps: 1000, creditAfter: Date.now(),
      instalments: InstalmentPlan.split(1000, 'USD', 3, Date.now()) };
    const [first, second] = await Promise.all([s.markPaid(paid), s.markPaid(paid)]);
    expect([first.paidNow, second.paidNow].sort()).toEqual([false, true]);
    expect(first.status).toBe('paid');
    expect(second.status).toBe('paid');
    expect(await s.markPaid(paid)).toEqual({ status: 'paid', paidNow: false, commission: 0 });
    expect(await s.claim(j)).toBe('paid');
    expect(await s.status(j.orderId)).toBe('paid');
    expect(Number((await one<number>('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [j.orderId])).n)).toBe(1);
    expect((await db.query<{ amount: string }>('SELECT amount FROM instalments WHERE order_id = $1 ORDER BY seq', [j.orderId])).rows.map((r) => Number(r.amount))).toEqual([334, 333, 333]);
    expect(Number((await one<number>('SELECT amount FROM commissions WHERE order_id = $1', [j.orderId])).amount)).toBe(100);
    expect(await soldUnits('pay')).toBe(1);
    await s.close();
  });

  it('a claim carries the shipping and a copy of the address; commission counts the items, not the shipping', async () => {
    await newDeal('ship', 5);
    const s = new OrderStore(db);
    const address = { id: 'a_1', name: 'Siti', phone: '+6281234567890', line1: 'Jl. Merdeka 10', line2: null, district: null, city: 'Jakarta',
      state: 'DKI Jakarta', postalCode: '10110', country: 'ID' };
    const shipped = job('ship', 'si', 'k', { totalAmount: 1999 + 1500, shipping: { amount: 1500, address } });
    expect(await s.claim(shipped)).toBe('claimed');
    await s.markPaid({ job: shipped, provider: 'sandbox', providerRef: 'r-ship', creatorId: 'host', dealBps: 1000, creditAfter: Date.now(), instalments: [] });
    const v = await OrderStore.view(db, shipped.orderId);
    expect(v).toMatchObject({ status: 'paid', total_amount: 3499, shipping_amount: 1500, shipping_address: address });
    expect(Number((await one<number>('SELECT amount FROM payments WHERE order_id = $1', [shipped.orderId])).amount)).toBe(3499);
    expect(Number((await one<number>('SELECT amount FROM commissions WHERE order_id = $1', [shipped.orderId])).amount)).toBe(200); // 10% of 1999
    // An order of a shop that does not ship: no address, nothing charged for shipping.
    const plain = job('ship', 'pl');
    expect(await s.claim(plain)).toBe('claimed');
    expect(await OrderStore.view(db, plain.orderId)).toMatchObject({ total_amount: 1999, shipping_amount: 0, shipping_address: null });
    // A failed order is recorded with what it would have shipped.
    const lapsed = job('ship', 'la', 'k', { totalAmount: 2499, shipping: { amount: 500, address } });
    await s.recordFailed(lapsed, 'expired', 'HOLD_EXPIRED');
    expect(await OrderStore.view(db, lapsed.orderId)).toMatchObject({ status: 'expired', shipping_amount: 500, shipping_address: address });
    // Shipping is part of the total, never more than it.
    await expect(db.query('UPDATE orders SET shipping_amount = total_amount + 1 WHERE id = $1', [plain.orderId])).rejects.toThrow(/orders_shipping_within_total/);
    await s.close();
  });

  it('a failed order gives its units back once; a PAYMENT_UNAVAILABLE one may be claimed again with the same key', async () => {
    await newDeal('fail', 2);
    const s = new OrderStore(db);
    const declined = job('fail', 'bo');
    const unavailable = job('fail', 'cy');
    expect(await s.claim(declined)).toBe('claimed');
    expect(await s.claim(unavailable)).toBe('claimed');
    expect(await s.claim(job('fail', 'di'))).toBe('sold_out');
    expect(await Promise.all([s.release(declined.orderId, 'declined', 'PAYMENT_DECLINED'), s.release(declined.orderId, 'declined', 'PAYMENT_DECLINED')])).toEqual([true, false]);
    expect(await s.release(unavailable.orderId, 'failed', RETRYABLE_FAIL_CODE)).toBe(true);
    expect(await soldUnits('fail')).toBe(0);
    expect(await s.claim(declined)).toBe('declined'); // same key, same answer
    expect(await s.claim({ ...unavailable, attempt: 'retry' })).toBe('claimed'); // the buyer retries
    expect(await s.status(unavailable.orderId)).toBe('pending');
    expect(await soldUnits('fail')).toBe(1);
    await s.close();
  });

  it('after the deal closed: claims are refused, and units released later go back to the product', async () => {
    await newDeal('closing', 5);
    const s = new OrderStore(db);
    const late = job('closing', 'ed');
    expect(await s.claim(late)).toBe('claimed');
    const stockBefore = Number((await one<number>("SELECT stock FROM products WHERE id = 'p1'")).stock);
    await db.query("UPDATE deals SET status = 'closed', closed_at = now() WHERE id = 'closing'");
    expect(await s.claim(job('closing', 'fi'))).toBe('deal_closed');
    expect(await s.claim(job('nope', 'fi'))).toBe('no_deal');
    expect(await s.release(late.orderId, 'declined', 'PAYMENT_DECLINED')).toBe(true);
    expect(Number((await one<number>("SELECT stock FROM products WHERE id = 'p1'")).stock)).toBe(stockBefore + 1);
    await s.recordFailed(job('closing', 'fi'), 'failed', 'DEAL_ENDED');
    await s.recordFailed(job('closing', 'fi'), 'failed', 'DEAL_ENDED');
    expect(await s.status(job('closing', 'fi').orderId)).toBe('failed');
    await s.close();
  });

  it('reads an order in its declared API shape only (no internal columns), with lines and instalments', async () => {
    await newDeal('view', 5);
    const s = new OrderStore(db);
    const j = job('view', 'vi', 'k', { method: { type: 'bnpl', token: 't' }, instalments: 3, totalAmount: 1000, quantity: 1 });
    await s.claim(j);
    await s.markPaid({ job: j, provider: 'sandbox', providerRef: 'r', creatorId: 'host', dealBps: null, creditAfter: Date.now(),
      instalments: InstalmentPlan.split(1000, 'USD', 3, Date.now()) });
    const v = await OrderStore.view(db, j.orderId);
    expect(Object.keys(v!).sort()).toEqual(['buyer_id', 'created_at', 'currency', 'deal_id', 'display_amount', 'display_currency', 'fail_code',
      'fx_as_of', 'fx_rate', 'id', 'idempotency_key', 'instalment_count', 'instalments', 'lines', 'paid_at', 'payment_method', 'room_id',
      'shipping_address', 'shipping_amount', 'shop_id', 'status', 'total_amount'].sort());
    expect(v).toMatchObject({ id: j.orderId, status: 'paid', total_amount: 1000, currency: 'USD', fail_code: null, payment_method: 'bnpl' });
    expect(v!.lines).toEqual([{ line_no: 1, product_id: 'p1', quantity: 1, unit_amount: 1999, currency: 'USD' }]);
    expect(v!.instalments.map((i) => i.amount)).toEqual([334, 333, 333]);
    expect(await OrderStore.view(db, 'o_nope')).toBeNull();
    expect(await OrderStore.facts(db, j.orderId)).toEqual({ buyerId: 'vi', ownerUserId: 'seller' });
    await s.close();
  });

  it('claims and recorded captures of the same tick share one statement, each answered as if alone', async () => {
    await newDeal('mixed', 3);
    const s = new OrderStore(db);
    const first = job('mixed', 'm1');
    expect(await s.claim(first)).toBe('claimed');
    const paid = { job: first, provider: 'sandbox', providerRef: 'r-m1', creatorId: 'host', dealBps: 500, creditAfter: Date.now(), instalments: [] };
    // same tick: a capture of `first` and three new claims (one over the stock)
    const [p, a, b, c] = await Promise.all([s.markPaid(paid), s.claim(job('mixed', 'm2')), s.claim(job('mixed', 'm3')), s.claim(job('mixed', 'm4'))]);
    expect(p).toEqual({ status: 'paid', paidNow: true, commission: 100 });
    expect([a, b, c]).toEqual(['claimed', 'claimed', 'sold_out']);
    expect(await soldUnits('mixed')).toBe(3);
    expect(await s.status(first.orderId)).toBe('paid');
    await s.close();
  });
});
