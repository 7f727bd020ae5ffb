import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { FxTable } from '../../server/commerce/FxTable.js';
import { FlashcastError } from '../../common/errors.js';
import { startStack, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';

let s: Stack;
afterEach(async () => {
  await s?.close();
});

const ops = principal('ops1', { role: 'ops' });

/**
 * One shop per currency (0, 2 and 3 decimals). `price` is about $25; `keep` the $20 no-return
 * threshold, `cap` the $15 return-shipping cap, both through the rates below.
 */
const SHOPS = [
  { currency: 'JPY', country: 'JP', price: 3_800, keep: 3_027 },
  { currency: 'USD', country: 'US', price: 2_500, keep: 2_000 },
  { currency: 'KWD', country: 'KW', price: 7_700, keep: 6_150 },
] as const;
type ShopSpec = (typeof SHOPS)[number];

async function setRates(stack: Stack): Promise<void> {
  await FxTable.save(stack.db, [
    { base: 'USD', quote: 'JPY', rate: '151.37', asOf: Date.now() },
    { base: 'USD', quote: 'KWD', rate: '0.3075', asOf: Date.now() },
  ]);
  await stack.commerce.reloadFx();
}

/** A shop in `spec.currency`, a product and a live deal in its own room. */
async function seedShop(stack: Stack, spec: ShopSpec, price: number = spec.price) {
  const shop = await stack.commerce.catalog.createShop({ ownerUserId: `seller-${spec.currency}`, name: `Shop ${spec.currency}`, currency: spec.currency, country: spec.country });
  const product = await stack.commerce.catalog.createProduct(shop.id, {
    titles: { en: 'Scarf' }, images: [], price: { amount: price, currency: spec.currency }, stock: 100,
  });
  const roomId = `room-${spec.currency}-${price}`;
  await stack.commerce.catalog.addToShowcase(roomId, product.id);
  const deal = await stack.commerce.deals.create(roomId, `seller-${spec.currency}`, {
    productId: product.id, price: { amount: price, currency: spec.currency }, totalStock: 50, perBuyerLimit: 5, countdownSeconds: 0, durationSeconds: 600,
  });
  return { shop, product, deal, roomId };
}

/** A paid card order of one unit; resolves to its id and what was captured. */
async function paidOrder(stack: Stack, seeded: Awaited<ReturnType<typeof seedShop>>, buyer: string) {
  await stack.commerce.methods.save(buyer, { type: 'card', token: 'tok_visa' });
  const r = await stack.commerce.checkout.reserve(principal(buyer), { roomId: seeded.roomId, productId: seeded.product.id, quantity: 1, idempotencyKey: `k-${buyer}` });
  expect(r.status).toBe(flashcast.CheckoutStatus.CHECKOUT_SETTLING);
  const orderId = r.orderId!;
  const pay = await waitFor(async () => (await stack.db.query<{ amount: number; currency: string; provider_ref: string }>(
    "SELECT p.amount, p.currency, p.provider_ref FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.order_id = $1 AND o.status = 'paid'", [orderId])).rows[0]);
  return { orderId, captured: Number(pay.amount), currency: pay.currency, captureRef: pay.provider_ref };
}

const refundRow = async (stack: Stack, orderId: string) =>
  (await stack.db.query<{ status: string; total: number; item_refund: number; shipping_reimbursed: number; failure_reason: string | null }>(
    'SELECT status, total, item_refund, shipping_reimbursed, failure_reason FROM refunds WHERE order_id = $1', [orderId])).rows[0];

/** What the provider refunded for the capture (the sandbox's own ledger). */
const providerRefunded = async (stack: Stack, captureRef: string) =>
  Number((await stack.db.query<{ sum: number }>(
    "SELECT COALESCE(SUM(amount), 0)::int8 AS sum FROM sandbox_payments WHERE kind = 'refund' AND capture_ref = $1", [captureRef])).rows[0].sum);

/** Refund → (ops marks the return received) → refunded by the worker. */
async function refundAndWait(stack: Stack, orderId: string, buyer: string, reason = 'unwanted') {
  const r = await stack.call('POST', `/v1/orders/${orderId}/refunds`, principal(buyer), { reason });
  expect(r.status).toBe(201);
  if (r.body.status === 'awaiting_return') expect((await stack.call('POST', `/v1/orders/${orderId}/returned`, ops)).status).toBe(204);
  await waitFor(async () => (await refundRow(stack, orderId))?.status === 'refunded');
  return r.body;
}

describe('refunds are computed and capped by the server (real PostgreSQL, Redis, BullMQ)', () => {
  it('the $25 attack: a buyer-set return shipping is refused, and a huge shop rate still refunds no more than was captured', async () => {
    s = await startStack();
    await setRates(s);
    for (const spec of SHOPS) {
      const seeded = await seedShop(s, spec);
      const buyer = `mallory-${spec.currency}`;
      const order = await paidOrder(s, seeded, buyer);
      expect(order).toMatchObject({ captured: spec.price, currency: spec.currency });
      const attack = await s.call('POST', `/v1/orders/${order.orderId}/refunds`, principal(buyer),
        { reason: 'unwanted', returnShipping: { amount: 5_000_000, currency: spec.currency } });
      expect(attack.status).toBe(400);
      expect(attack.body.error.code).toBe('INVALID_ARGUMENT');
      expect(await refundRow(s, order.orderId)).toBeUndefined();
      // The seller's table says 5,000,000: the policy cap and the capture cap still hold.
      await s.commerce.shippingRates.set(seeded.shop.id, '*', 5_000_000);
      const body = await refundAndWait(s, order.orderId, buyer);
      expect(body).toMatchObject({ itemRefund: spec.price, shippingReimbursed: 0, total: spec.price, currency: spec.currency, capped: true });
      expect(await providerRefunded(s, order.captureRef)).toBe(order.captured);
    }
  });

  it('a refund never exceeds captured − refunded: a second request, a second provider refund, a refund over the capture', async () => {
    s = await startStack();
    await setRates(s);
    for (const spec of SHOPS) {
      const seeded = await seedShop(s, spec);
      const buyer = `gus-${spec.currency}`;
      const order = await paidOrder(s, seeded, buyer);
      // The sandbox, like a PSP, refuses more than the capture...
      const over = await s.provider.refund({ idempotencyKey: `probe:${order.orderId}`, captureReference: order.captureRef, amount: order.captured + 1, currency: spec.currency });
      expect(over).toEqual({ status: 'rejected', reason: 'exceeds_capture' });
      const first = await refundAndWait(s, order.orderId, buyer);
      expect(first.total).toBe(order.captured);
      // ...asking again answers the first decision and moves no more money...
      const again = await s.call('POST', `/v1/orders/${order.orderId}/refunds`, principal(buyer), { reason: 'quality' });
      expect(again.body).toEqual({ ...first, status: 'refunded' });
      // ...and after a full refund, even 1 minor unit more is refused.
      const more = await s.provider.refund({ idempotencyKey: `more:${order.orderId}`, captureReference: order.captureRef, amount: 1, currency: spec.currency });
      expect(more).toEqual({ status: 'rejected', reason: 'exceeds_capture' });
      expect(await providerRefunded(s, order.captureRef)).toBe(order.captured);
      // Ops asking again get the same decision too.
      expect((await s.call('POST', `/v1/orders/${order.orderId}/refunds`, ops, { reason: 'unwanted' })).body.total).toBe(order.captured);
    }
  });

  it('the sandbox adds partial refunds of one capture up to the captured amount, and replays a key', async () => {
    s = await startStack();
    await setRates(s);
    for (const spec of SHOPS) {
      const order = await paidOrder(s, await seedShop(s, spec), `ivy-${spec.currency}`);
      const refund = (key: string, amount: number) =>
        s.provider.refund({ idempotencyKey: `${key}:${order.orderId}`, captureReference: order.captureRef, amount, currency: spec.currency });
      const a = await refund('a', order.captured - 100);
      expect(a.status).toBe('refunded');
      expect(await refund('b', 101)).toEqual({ status: 'rejected', reason: 'exceeds_capture' });
      expect(await refund('a', order.captured - 100)).toEqual(a); // the same key answers the same
      expect((await refund('b', 100)).status).toBe('refunded');
      expect(await refund('c', 1)).toEqual({ status: 'rejected', reason: 'exceeds_capture' });
      expect(await providerRefunded(s, order.captureRef)).toBe(order.captured);
    }
  });

  it('the refund worker checks the cap again before calling the provider', async () => {
    s = await startStack();
    await setRates(s);
    const rejected: [string, string][] = [];
    s.settlement!.ledger.on('rejected', (orderId, reason) => rejected.push([orderId, reason]));
    for (const spec of SHOPS) {
      const seeded = await seedShop(s, spec);
      const buyer = `hal-${spec.currency}`;
      const order = await paidOrder(s, seeded, buyer);
      const decision = await s.call('POST', `/v1/orders/${order.orderId}/refunds`, principal(buyer), { reason: 'doesnt_fit' });
      expect(decision.body).toMatchObject({ status: 'awaiting_return', total: order.captured });
      // A row changed behind the policy's back (a bug, a bad migration, a hand edit) cannot pay out more.
      await s.db.query('UPDATE refunds SET item_refund = $2, total = $2 WHERE order_id = $1', [order.orderId, order.captured + 1]);
      // The provider is down: only a check made before calling it can settle this job.
      s.provider.configure({ outage: true });
      expect((await s.call('POST', `/v1/orders/${order.orderId}/returned`, ops)).status).toBe(204);
      await waitFor(() => rejected.some(([id]) => id === order.orderId));
      s.provider.configure({ outage: false });
      expect(rejected.find(([id]) => id === order.orderId)![1]).toBe('exceeds_refundable');
      expect(await refundRow(s, order.orderId)).toMatchObject({ status: 'rejected', failure_reason: 'exceeds_refundable' });
      expect(await providerRefunded(s, order.captureRef)).toBe(0);
      expect((await s.db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.orderId])).rows[0].status).toBe('paid');
    }
  });

  it('nothing captured, nothing to refund: a free order answers NOTHING_TO_REFUND', async () => {
    s = await startStack();
    await setRates(s);
    for (const spec of SHOPS) {
      const buyer = `zed-${spec.currency}`;
      const order = await paidOrder(s, await seedShop(s, spec, 0), buyer);
      expect(order.captured).toBe(0);
      const r = await s.call('POST', `/v1/orders/${order.orderId}/refunds`, principal(buyer), { reason: 'quality' });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('NOTHING_TO_REFUND');
      expect(await refundRow(s, order.orderId)).toBeUndefined();
    }
  });

  it('return shipping comes from the shop rate table: the buyer region, else the shop default', async () => {
    s = await startStack();
    await setRates(s);
    const rates = s.commerce.shippingRates;
    for (const spec of SHOPS) {
      const seeded = await seedShop(s, spec);
      // Owner-set rates: amounts in the shop currency, validated.
      expect(await rates.set(seeded.shop.id, '*', 900)).toEqual({ shopId: seeded.shop.id, region: '*', amount: 900, currency: spec.currency });
      await rates.set(seeded.shop.id, 'FR', 0);
      for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
        await expect(rates.set(seeded.shop.id, 'FR', bad)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
      }
      for (const bad of ['fr', 'FRA', '', '**']) await expect(rates.set(seeded.shop.id, bad, 1)).rejects.toBeInstanceOf(FlashcastError);
      await expect(rates.set('no-such-shop', '*', 1)).rejects.toMatchObject({ code: 'SHOP_NOT_FOUND' });
      expect((await rates.get(seeded.shop.id, 'FR'))?.amount).toBe(0);
      expect((await rates.get(seeded.shop.id, 'DE'))?.region).toBe('*');
      expect((await rates.get(seeded.shop.id, null))?.amount).toBe(900);
      expect(await rates.list(seeded.shop.id)).toHaveLength(2);
      // The decision reads the table: a buyer in FR (rate 0) wants no shipping, so nothing is capped;
      // an unknown region gets the default rate, which the capture leaves no room for.
      const fr = await paidOrder(s, seeded, `fr-${spec.currency}`);
      await s.db.query("UPDATE orders SET buyer_region = 'FR' WHERE id = $1", [fr.orderId]);
      expect((await s.call('POST', `/v1/orders/${fr.orderId}/refunds`, principal(`fr-${spec.currency}`), { reason: 'unwanted' })).body)
        .toMatchObject({ itemRefund: spec.price, shippingReimbursed: 0, total: spec.price, capped: false });
      const anywhere = await paidOrder(s, seeded, `any-${spec.currency}`);
      expect((await s.call('POST', `/v1/orders/${anywhere.orderId}/refunds`, principal(`any-${spec.currency}`), { reason: 'unwanted' })).body)
        .toMatchObject({ itemRefund: spec.price, shippingReimbursed: 0, total: spec.price, capped: true });
    }
  });

  it('a fully refunded pay-in-6 order cancels all its instalments', async () => {
    s = await startStack();
    await setRates(s);
    for (const spec of SHOPS) {
      const seeded = await seedShop(s, spec);
      const buyer = `bnpl-${spec.currency}`;
      const r = await s.call('POST', '/v1/checkout', principal(buyer), { roomId: seeded.roomId, productId: seeded.product.id, quantity: 1, idempotencyKey: 'k' });
      const c = await s.call('POST', r.body.nextStep.path, principal(buyer), { method: 'bnpl', token: 'tok_bnpl', instalments: 6 });
      expect(c.body.status).toBe('CHECKOUT_SETTLING');
      const orderId = r.body.orderId as string;
      await waitFor(async () => (await s.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [orderId])).rows.length === 1);
      const before = (await s.db.query<{ amount: number; status: string }>('SELECT amount, status FROM instalments WHERE order_id = $1 ORDER BY seq', [orderId])).rows;
      expect(before).toHaveLength(6);
      expect(before.reduce((t, i) => t + Number(i.amount), 0)).toBe(spec.price);
      expect(before.every((i) => i.status === 'scheduled')).toBe(true);
      const body = await refundAndWait(s, orderId, buyer, 'quality');
      expect(body.total).toBe(spec.price);
      const after = (await s.db.query<{ amount: number; status: string }>('SELECT amount, status FROM instalments WHERE order_id = $1 ORDER BY seq', [orderId])).rows;
      expect(after.map((i) => [Number(i.amount), i.status])).toEqual(Array.from({ length: 6 }, () => [0, 'cancelled']));
      expect((await s.call('GET', `/v1/orders/${orderId}`, principal(buyer))).body.status).toBe('refunded');
    }
  });

  it('instalments already paid stay paid; the refund cancels the rest, from the last', async () => {
    s = await startStack();
    await setRates(s);
    for (const spec of SHOPS) {
      const seeded = await seedShop(s, spec);
      const buyer = `paid2-${spec.currency}`;
      const r = await s.call('POST', '/v1/checkout', principal(buyer), { roomId: seeded.roomId, productId: seeded.product.id, quantity: 1, idempotencyKey: 'k' });
      await s.call('POST', r.body.nextStep.path, principal(buyer), { method: 'bnpl', token: 'tok_bnpl', instalments: 6 });
      const orderId = r.body.orderId as string;
      await waitFor(async () => (await s.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [orderId])).rows.length === 1);
      // The buyer has paid the first two instalments.
      await s.db.query("UPDATE instalments SET status = 'paid' WHERE order_id = $1 AND seq <= 2", [orderId]);
      const before = (await s.db.query<{ amount: number }>('SELECT amount FROM instalments WHERE order_id = $1 ORDER BY seq', [orderId])).rows.map((i) => Number(i.amount));
      await refundAndWait(s, orderId, buyer);
      const after = (await s.db.query<{ amount: number; status: string }>('SELECT amount, status FROM instalments WHERE order_id = $1 ORDER BY seq', [orderId])).rows;
      expect(after.map((i) => [Number(i.amount), i.status])).toEqual([
        [before[0], 'paid'], [before[1], 'paid'], [0, 'cancelled'], [0, 'cancelled'], [0, 'cancelled'], [0, 'cancelled'],
      ]);
    }
  });
});
