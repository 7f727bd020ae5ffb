import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { CommerceService } from '../../server/commerce/CommerceService.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';

let s: Stack | null = null;
const extra: CommerceService[] = [];
afterEach(async () => {
  for (const c of extra.splice(0)) await c.close();
  await s?.close();
  s = null;
});

const { CheckoutStatus } = flashcast;

describe('settle outbox (real Redis, PostgreSQL, BullMQ worker)', () => {
  it('a job left in the outbox by a gateway that died after answering is moved on start-up and by the periodic sweep', async () => {
    // The stack's own gateway never sweeps: only the gateways started below can rescue the jobs.
    s = await startStack({ outbox: { sweepIntervalMs: 0 } });
    const { product, deal } = await seedDeal(s, { dealStock: 10, limit: 1 });
    for (const b of ['b1', 'b2']) await s.commerce.methods.save(b, { type: 'card', token: 'tok_visa' });
    const connection = s.connection;
    const gateway = (outbox: { sweepIntervalMs: number; graceMs?: number }) =>
      CommerceService.create({ redis: s!.redis, connection, keys: s!.keys, db: s!.db, broadcaster: s!.broadcaster, bans: async () => false, runWorkers: false, outbox }).then((c) => {
        extra.push(c);
        return c;
      });
    const res = await Reservation.create(s.redis, s.keys);
    const paid = async (orderId: string) => (await s!.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [orderId])).rows.length === 1;

    // A gateway whose mover is gone (as if the process died right after the reserve script): it still answers.
    const crashed = await gateway({ sweepIntervalMs: 0 });
    await crashed.outbox.close();
    const tap = (b: string) => crashed.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k' });
    const first = await tap('b1');
    expect(first).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING });
    expect([...(await res.outbox(deal.id)).keys()]).toEqual([first.orderId]);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await paid(first.orderId!)).toBe(false); // nobody moved it

    // Another gateway starts: its start-up sweep moves it, the worker settles it, once.
    const survivor = await gateway({ sweepIntervalMs: 200, graceMs: 300 });
    await waitFor(() => paid(first.orderId!), 15_000, 100);
    await waitFor(async () => (await res.outbox(deal.id)).size === 0);

    // While it runs, a job left later is moved by its periodic sweep.
    const second = await tap('b2');
    expect(second.status).toBe(CheckoutStatus.CHECKOUT_SETTLING);
    await waitFor(() => paid(second.orderId!), 15_000, 100);
    expect((await res.outbox(deal.id)).size).toBe(0);
    expect(Number((await s.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM sandbox_payments WHERE kind = 'capture'")).rows[0].n)).toBe(2);
    expect((await s.db.query('SELECT 1 FROM orders')).rows).toHaveLength(2);
    void survivor;
  }, 60_000);

  it('a winner is answered before its job is in BullMQ; a first-time buyer still gets the next step and no job', async () => {
    s = await startStack({ settle: false, outbox: { sweepIntervalMs: 0 } });
    const { product, deal } = await seedDeal(s, { dealStock: 5, limit: 1 });
    await s.commerce.methods.save('saved', { type: 'card', token: 'tok_visa' });
    const buy = (b: string) => s!.commerce.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k' });
    const [a, b] = await Promise.all([buy('saved'), buy('fresh')]);
    expect(a.status).toBe(CheckoutStatus.CHECKOUT_SETTLING);
    expect(b.status).toBe(CheckoutStatus.CHECKOUT_RESERVED);
    expect(b.nextStep?.path).toBe(`/v1/deals/${deal.id}/orders/${b.orderId}/confirm`);
    await s.commerce.outbox.drain();
    const res = await Reservation.create(s.redis, s.keys);
    expect((await res.outbox(deal.id)).size).toBe(0);
    const queued = (await s.commerce.queue.settle.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).map((j) => j.data.orderId);
    expect(queued).toEqual([a.orderId]);
  });

  it('a tap that wins after this node saw the deal sold out records its job in a second step, and is settled', async () => {
    s = await startStack();
    const { product, deal } = await seedDeal(s, { dealStock: 1, limit: 1 });
    await s.commerce.methods.save('dec', { type: 'card', token: 'tok_decline' });
    await s.commerce.methods.save('late', { type: 'card', token: 'tok_visa' });
    const failed: string[] = [];
    s.settlement!.worker.on('orderfailed', (j) => failed.push(j.orderId));
    const buy = (b: string) => s!.commerce.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k' });
    const first = await buy('dec');
    expect(first).toMatchObject({ status: CheckoutStatus.CHECKOUT_SETTLING, available: 0 }); // this node now skips the lookup
    await waitFor(() => failed.includes(first.orderId!)); // declined: the unit is back
    const late = await buy('late');
    expect(late).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING });
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [late.orderId])).rows.length === 1);
    expect((await (await Reservation.create(s.redis, s.keys)).outbox(deal.id)).size).toBe(0);
  });
});
