import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgDatabase } from '../db/PgDatabase.js';
import { PaidOrderWriter, type PaidOrder } from './PaidOrderWriter.js';
import { SandboxPaymentProvider } from './SandboxPaymentProvider.js';
import { InstalmentPlan } from '../commerce/InstalmentPlan.js';
import { Currency } from '../commerce/Currency.js';
import { CommissionLedger } from '../commerce/CommissionLedger.js';
import type { SettleJob } from './SettlementQueue.js';
import { newSchemaDb } from '../../test/commerce/helpers.js';

let db: PgDatabase;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await newSchemaDb(4));
}, 60_000);
afterAll(async () => drop());

function order(id: string, over: Partial<SettleJob> = {}, paid: Partial<PaidOrder> = {}): PaidOrder {
  const job: SettleJob = {
    orderId: id, dealId: 'd1', roomId: 'r1', productId: 'p1', shopId: 's1', buyerId: `b-${id}`, buyerName: 'B', buyerRegion: 'US',
    idempotencyKey: 'tap', quantity: 1, unitAmount: 1999, totalAmount: 1999, currency: 'USD', display: null,
    method: { type: 'card', token: 'tok_visa' }, instalments: null, enqueuedAt: 0, ...over,
  };
  return { job, provider: 'sandbox', providerRef: `ref-${id}`, creatorId: 'host1', dealBps: null, creditAfter: Date.now(), instalments: [], now: Date.now(), ...paid };
}

const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: number }>(sql, params)).rows[0].n);

describe('PaidOrderWriter (real PostgreSQL)', () => {
  it('writes a burst in one batch; a bad order fails alone; a re-run writes nothing twice', async () => {
    const w = new PaidOrderWriter(db);
    const bnpl = order('o3', { method: { type: 'bnpl', token: 't' }, instalments: 3, totalAmount: 1000 },
      { instalments: InstalmentPlan.split(1000, 'USD', 3, Date.now()) });
    const results = await Promise.allSettled([
      w.write(order('o1')), w.write(order('o2', { quantity: 0 })), w.write(bnpl), w.write(order('o4', {}, { dealBps: 1000 })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[3] as PromiseFulfilledResult<{ commission: number }>).value).toEqual({ inserted: true, commission: 200 });
    expect(await count('SELECT count(*)::int8 AS n FROM orders')).toBe(3);
    expect(await count('SELECT count(*)::int8 AS n FROM order_lines')).toBe(3);
    expect(await count('SELECT count(*)::int8 AS n FROM payments')).toBe(3);
    expect((await db.query<{ amount: number }>("SELECT amount FROM instalments WHERE order_id = 'o3' ORDER BY seq")).rows.map((r) => r.amount)).toEqual([334, 333, 333]);
    // the same jobs again (crash after commit): nothing new, no commission scheduled twice
    const again = await Promise.all([w.write(order('o1')), w.write(bnpl), w.write(order('o4', {}, { dealBps: 1000 }))]);
    expect(again).toEqual([{ inserted: false, commission: 0 }, { inserted: false, commission: 0 }, { inserted: false, commission: 0 }]);
    expect(await count('SELECT count(*)::int8 AS n FROM payments')).toBe(3);
    expect(await count('SELECT count(*)::int8 AS n FROM instalments')).toBe(3);
    expect(await count('SELECT count(*)::int8 AS n FROM commissions')).toBe(1);
    await w.close();
  });

  it("commission amounts match CommissionLedger exactly (the deal's own rate only, half-up)", async () => {
    const w = new PaidOrderWriter(db);
    const cases = [
      { id: 'c-a', productId: 'p1', total: 1, dealBps: null },
      { id: 'c-b', productId: 'p9', total: 9_007_199_254_740_991, dealBps: null },
      { id: 'c-c', productId: 'p9', total: 4, dealBps: 0 },
      { id: 'c-d', productId: 'p1', total: 15, dealBps: 3333 },
      { id: 'c-e', productId: 'p1', total: 1501, dealBps: null },
      { id: 'c-f', productId: 'p9', total: 9_007_199_254_740_991, dealBps: 1250 },
      { id: 'c-g', productId: 'p1', total: 1501, dealBps: 333 },
    ];
    const got = await Promise.all(cases.map((c) => w.write(order(c.id, { productId: c.productId, totalAmount: c.total }, { creatorId: 'c1', dealBps: c.dealBps }))));
    for (const [i, c] of cases.entries()) {
      const bps = CommissionLedger.rateFor(c.dealBps);
      expect(got[i].commission, c.id).toBe(bps > 0 ? Currency.applyBasisPoints(c.total, bps) : 0);
    }
    await w.close();
  });
});

describe('SandboxPaymentProvider (batched ledger)', () => {
  it('concurrent captures with one key capture once and answer alike; another amount under the key is refused', async () => {
    const p = new SandboxPaymentProvider(db);
    const req = { idempotencyKey: 'ord-1', amount: 500, currency: 'USD', method: 'card' as const, token: 'tok_visa', buyerId: 'b' };
    const [a, b] = await Promise.all([p.capture(req), p.capture(req)]);
    expect(a.status).toBe('captured');
    expect(b).toEqual(a);
    expect(await p.capture(req)).toEqual(a);
    await expect(p.capture({ ...req, amount: 501 })).rejects.toThrow();
    expect(await count("SELECT count(*)::int8 AS n FROM sandbox_payments WHERE idempotency_key = 'ord-1'")).toBe(1);
    await p.close();
  });
});
