import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';

let s: Stack;
afterEach(async () => {
  await s?.close();
});

const host = principal('host1', { role: 'host', rooms: ['room1'] });
const ops = principal('ops1', { role: 'ops' });
const { CheckoutStatus } = flashcast;

describe('checkout and settlement (real Redis, PostgreSQL, BullMQ worker)', () => {
  it('one tap with a saved method settles: order, line, payment in PostgreSQL; sale counted; room sees stock and purchase', async () => {
    s = await startStack();
    const { product, deal } = await seedDeal(s, { dealStock: 10 });
    await s.commerce.methods.save('alice', { type: 'card', token: 'tok_visa' });
    const buyer = principal('alice', { name: 'Alice Martin', region: 'US' });
    const r = await s.commerce.checkout.reserve(buyer, { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'tap-1' });
    expect(r).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING, quantity: 2, total: { amount: 3998, currency: 'USD' }, available: 8 });
    const again = await s.commerce.checkout.reserve(buyer, { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'tap-1' });
    expect(again.orderId).toBe(r.orderId);
    const order = await waitFor(async () => (await s.db.query<any>("SELECT * FROM orders WHERE id = $1 AND status = 'paid'", [r.orderId])).rows[0]);
    expect(order).toMatchObject({ buyer_id: 'alice', total_amount: 3998, currency: 'USD', deal_id: deal.id });
    expect((await s.db.query('SELECT * FROM order_lines WHERE order_id = $1', [r.orderId])).rows).toHaveLength(1);
    expect((await s.db.query('SELECT * FROM payments WHERE order_id = $1', [r.orderId])).rows).toHaveLength(1);
    await waitFor(async () => (await s.commerce.deals.get(deal.id)) && (await s.call('GET', `/v1/rooms/room1/dashboard`, host)).body.orders === 1);
    const dash = (await s.call('GET', '/v1/rooms/room1/dashboard', host)).body;
    expect(dash).toMatchObject({ orders: 1, units: 2, buyers: 1, viewers: 10, conversion: 0.1, gmv: [{ amount: 3998, currency: 'USD' }] });
    // A retried tap after settlement reports PAID with the same order.
    const late = await s.commerce.checkout.reserve(buyer, { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'tap-1' });
    expect(late).toMatchObject({ orderId: r.orderId, status: CheckoutStatus.CHECKOUT_PAID });
    await waitFor(() => s.broadcaster.events.some((e) => e.event.purchase));
    const purchase = s.broadcaster.events.find((e) => e.event.purchase)!.event.purchase!;
    expect(purchase).toMatchObject({ productId: product.id, buyerName: 'Alice', buyerRegion: 'US', quantity: 2, buyers: 1 });
    expect(s.broadcaster.inventory.at(-1)?.update).toMatchObject({ dealId: deal.id, available: 8, phase: flashcast.DealPhase.DEAL_LIVE });
    const scheduled = s.broadcaster.events.find((e) => e.event.inventory?.phase === flashcast.DealPhase.DEAL_SCHEDULED)!.event.inventory!;
    expect(scheduled).toMatchObject({ dealId: deal.id, available: 10 });
    // every stock update carries a version newer than the deal's opening
    expect(s.broadcaster.inventory.at(-1)!.update.version).toBeGreaterThan(Number(scheduled.version));
    // Only the host/ops see the dashboard.
    expect((await s.call('GET', '/v1/rooms/room1/dashboard', buyer)).status).toBe(403);
  });

  it('a first-time buyer gets the next step, confirms with pay-in-3, and the schedule sums to the total', async () => {
    s = await startStack();
    const { product, deal } = await seedDeal(s, { price: 1000 });
    const bob = principal('bob');
    const r = (await s.call('POST', '/v1/checkout', bob, { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k1', displayCurrency: 'JPY' }));
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('CHECKOUT_RESERVED');
    expect(r.body.nextStep).toMatchObject({ action: 'confirm_payment', method: 'POST', path: `/v1/deals/${deal.id}/orders/${r.body.orderId}/confirm` });
    expect(r.body.nextStep.methods).toEqual(['card', 'wallet', 'bnpl']);
    // A localisable code with parameters; the shopper text names no API path and no raw timestamp.
    expect(r.body.nextStep).toMatchObject({ code: 'CONFIRM_PAYMENT', orderId: r.body.orderId, dealId: deal.id, expiresAt: r.body.holdExpiresAt });
    expect(r.body.nextStep.message).not.toMatch(/\/v1\/|POST|\d{4}-\d{2}-\d{2}T/);
    expect(r.body.nextStep.instalmentOptions.map((o: any) => [o.count, o.instalments.reduce((t: number, i: any) => t + i.amount.amount, 0)])).toEqual([[3, 1000], [6, 1000]]);
    const c = await s.call('POST', r.body.nextStep.path, bob, { method: 'bnpl', token: 'tok_bnpl', instalments: 3, save: true });
    expect(c.body).toMatchObject({ status: 'CHECKOUT_SETTLING', orderId: r.body.orderId });
    // confirming as someone else does not reveal the order
    expect((await s.call('POST', r.body.nextStep.path, principal('mallory'), { method: 'card', token: 'tok_visa' })).body.error.code).toBe('ORDER_NOT_FOUND');
    await waitFor(async () => (await s.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [r.body.orderId])).rows.length === 1);
    const inst = (await s.db.query<{ amount: number }>('SELECT amount FROM instalments WHERE order_id = $1 ORDER BY seq', [r.body.orderId])).rows;
    expect(inst.map((i) => i.amount)).toEqual([334, 333, 333]);
    // saved: the next tap is one step
    const next = await s.commerce.checkout.reserve(bob, { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k2' });
    expect(next.status).toBe(CheckoutStatus.CHECKOUT_SETTLING);
    const got = await s.call('GET', `/v1/orders/${r.body.orderId}`, bob);
    expect(got.body.instalments).toHaveLength(3);
    expect((await s.call('GET', `/v1/orders/${r.body.orderId}`, principal('eve'))).status).toBe(403);
  });

  it('a declined payment releases the hold exactly once and the room sees the stock back', async () => {
    s = await startStack();
    const { product, deal } = await seedDeal(s, { dealStock: 1 });
    await s.commerce.methods.save('carol', { type: 'card', token: 'tok_decline' });
    const failed: string[] = [];
    s.settlement!.worker.on('orderfailed', (_j, code) => failed.push(code));
    const r = await s.commerce.checkout.reserve(principal('carol'), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'a' });
    expect(r.available).toBe(0);
    expect(s.broadcaster.events.some((e) => e.event.inventory?.phase === flashcast.DealPhase.DEAL_SOLD_OUT)).toBe(true);
    await waitFor(() => failed.length === 1);
    expect(failed).toEqual(['PAYMENT_DECLINED']);
    expect((await s.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory).toMatchObject({ available: 1, phase: 'DEAL_LIVE' });
    expect(s.broadcaster.inventory.at(-1)?.update).toMatchObject({ available: 1 });
    expect((await s.db.query<any>('SELECT status FROM orders WHERE id = $1', [r.orderId])).rows[0].status).toBe('declined');
    expect((await s.db.query('SELECT 1 FROM payments')).rows).toHaveLength(0);
    const retry = await s.commerce.checkout.reserve(principal('carol'), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'a' });
    expect(retry).toMatchObject({ orderId: r.orderId, code: 'HOLD_EXPIRED' });
  });

  it('an expired hold (short TTL) gives stock back once and the room sees it', async () => {
    s = await startStack({ holdMs: 200 });
    const { product, deal } = await seedDeal(s, { dealStock: 3 });
    const r = await s.commerce.checkout.reserve(principal('dan'), { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'x' });
    expect(r.status).toBe(CheckoutStatus.CHECKOUT_RESERVED);
    expect(r.available).toBe(1);
    await waitFor(() => s.broadcaster.inventory.some((i) => i.update.available === 3), 5_000);
    await new Promise((res) => setTimeout(res, 1_500)); // more sweeps: nothing more is released
    expect((await s.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory.available).toBe(3);
    const c = await s.call('POST', `/v1/deals/${deal.id}/orders/${r.orderId}/confirm`, principal('dan'), { method: 'card', token: 'tok_visa' });
    expect(c.body.error.code).toBe('HOLD_EXPIRED');
  });

  it('refuses bad input with stable codes, never crashing', async () => {
    s = await startStack({ settle: false });
    const { product, deal } = await seedDeal(s, { regions: ['US'] });
    const eve = principal('eve');
    const buy = (body: any, who = eve) => s.call('POST', '/v1/checkout', who, body);
    const base = { roomId: 'room1', productId: product.id, idempotencyKey: 'k' };
    for (const quantity of [-1, 0, 1.5, 101, 1e18, '2', null]) {
      const r = await buy({ ...base, quantity });
      expect(r.body.error.code, String(quantity)).toBe('INVALID_QUANTITY');
      expect(r.status).toBe(400);
    }
    expect((await buy({ ...base, quantity: 1, productId: 'nope' })).body.error.code).toBe('NOT_ON_SALE');
    expect((await buy({ ...base, quantity: 1, buyerId: 'alice' })).body.error.code).toBe('FORBIDDEN');
    expect((await buy({ ...base, quantity: 1 }, principal('fr', { region: 'FR' }))).body.error.code).toBe('REGION_BLOCKED');
    expect((await buy({ ...base, quantity: 1, displayCurrency: 'usd' })).body.error.code).toBe('INVALID_CURRENCY');
    expect((await buy({ ...base, quantity: 1, idempotencyKey: 'x'.repeat(10_000) })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await buy({ ...base, quantity: 1, extra: 'x'.repeat(100_000) })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await buy('not json')).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await s.call('POST', '/v1/checkout', null, { ...base, quantity: 1 })).status).toBe(401);
    expect((await s.commerce.checkout.reserve(eve, null as never)).code).toBe('INVALID_ARGUMENT');
    // deal not live yet
    const shop = await s.commerce.catalog.createShop({ ownerUserId: 'host1', name: 'S2', currency: 'USD', country: 'US' });
    const p2 = await s.commerce.catalog.createProduct(shop.id, { titles: { en: 'Hat' }, images: [], price: { amount: 500, currency: 'USD' }, stock: 10 });
    expect((await s.call('POST', '/v1/rooms/room1/showcase', host, { productId: p2.id })).status).toBe(204);
    const d = await s.call('POST', '/v1/rooms/room1/deals', host, { productId: p2.id, price: { amount: 400, currency: 'USD' }, totalStock: 5, perBuyerLimit: 1, countdownSeconds: 30, durationSeconds: 60 });
    expect(d.status).toBe(201);
    const ns = await buy({ roomId: 'room1', productId: p2.id, idempotencyKey: 'n', quantity: 1 });
    expect(ns.body.error.code).toBe('NOT_STARTED');
    expect(ns.body.error.details.retryAfterMs).toBeGreaterThan(20_000);
    // deal validation
    const bad = { productId: p2.id, price: { amount: 400, currency: 'USD' }, totalStock: 5, perBuyerLimit: 1, countdownSeconds: 30, durationSeconds: 60 };
    expect((await s.call('POST', '/v1/rooms/room1/deals', host, { ...bad, countdownSeconds: 5 })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await s.call('POST', '/v1/rooms/room1/deals', host, { ...bad, durationSeconds: 1300 })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await s.call('POST', '/v1/rooms/room1/deals', host, bad)).body.error.code).toBe('DEAL_CONFLICT');
    expect((await s.call('POST', '/v1/rooms/room1/deals', host, { ...bad, price: { amount: 1, currency: 'XYZ' } })).body.error.code).toBe('INVALID_CURRENCY');
    expect((await s.call('POST', '/v1/rooms/room1/deals', host, { ...bad, price: { amount: -5, currency: 'USD' } })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await s.call('POST', '/v1/rooms/other/deals', host, bad)).status).toBe(403);
    expect((await s.call('POST', '/v1/rooms/room1/deals', eve, bad)).status).toBe(403);
    // catalog validation
    expect((await s.call('POST', '/v1/shops', host, { name: 'X', currency: 'EURO', country: 'FR' })).body.error.code).toBe('INVALID_CURRENCY');
    expect((await s.call('POST', '/v1/shops', eve, { name: 'X', currency: 'EUR', country: 'FR' })).status).toBe(403);
    expect((await s.call('POST', `/v1/shops/${shop.id}/products`, host, { titles: { en: 'x' }, price: { amount: 1, currency: 'EUR' }, stock: 1 })).body.error.code).toBe('INVALID_CURRENCY');
    expect((await s.call('POST', `/v1/shops/${shop.id}/products`, host, { titles: { en: 'x' }, price: { amount: 1, currency: 'USD' }, stock: 1, images: ['javascript:alert(1)'] })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await s.call('POST', `/v1/shops/${shop.id}/products`, principal('other', { role: 'host', rooms: ['r'] }), { titles: { en: 'x' }, price: { amount: 1, currency: 'USD' }, stock: 1 })).status).toBe(403);
    expect((await s.call('GET', '/v1/products/unknown', eve)).body.error.code).toBe('PRODUCT_NOT_FOUND');
    expect((await s.call('PUT', '/v1/rooms/room1/showcase', host, { productIds: Array.from({ length: 101 }, (_, i) => `p${i}`) })).body.error.code).toBe('INVALID_ARGUMENT');
    expect((await s.call('POST', '/v1/rooms/room1/pin', host, { productId: 'ghost' })).body.error.code).toBe('PRODUCT_NOT_FOUND');
    expect((await s.call('POST', '/v1/rooms/room1/pin', host, { productId: product.id, dealId: 'd_fake' })).body.error.code).toBe('INVALID_ARGUMENT');
    const pin = await s.call('POST', '/v1/rooms/room1/pin', host, { productId: product.id });
    expect(pin.status).toBe(200);
    const pinned = s.broadcaster.events.find((e) => e.event.pin)!;
    expect(pinned.event.pin!.product).toMatchObject({ productId: product.id, title: 'Red scarf', dealId: deal.id, dealPrice: { amount: 1999, currency: 'USD' } });
    expect((await s.call('DELETE', `/v1/rooms/room1/pin/${product.id}`, host)).status).toBe(200);
    expect(s.broadcaster.events.at(-1)?.event.unpin).toMatchObject({ productId: product.id });
  });

  it('commission is credited after the return window, refunds follow the policy and claw it back', async () => {
    s = await startStack({ returnWindowMs: 300 });
    const { product } = await seedDeal(s, { price: 1500, commissionBps: 1000 });
    await s.commerce.methods.save('gus', { type: 'wallet', token: 'tok_wallet' });
    const gus = principal('gus');
    const credited: string[] = [];
    s.settlement!.ledger.on('credited', (id) => credited.push(id));
    const r = await s.commerce.checkout.reserve(gus, { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'c1' });
    await waitFor(() => credited.includes(r.orderId!));
    expect(await s.commerce.ledger.balance('host1')).toEqual([{ currency: 'USD', pending: 0, credited: 300 }]);
    // $30 order, unwanted: return required, refunded up to what was captured (test/commerce/refunds.test.ts has the rules)
    const refund = await s.call('POST', `/v1/orders/${r.orderId}/refunds`, gus, { reason: 'unwanted' });
    expect(refund.body).toMatchObject({ returnRequired: true, total: 3000, status: 'awaiting_return' });
    expect((await s.call('POST', `/v1/orders/${r.orderId}/refunds`, principal('eve'), { reason: 'unwanted' })).status).toBe(403);
    expect((await s.call('POST', `/v1/orders/${r.orderId}/returned`, ops)).status).toBe(204);
    await waitFor(async () => (await s.db.query<any>('SELECT status FROM orders WHERE id = $1', [r.orderId])).rows[0].status === 'refunded');
    expect(await s.commerce.ledger.balance('host1')).toEqual([{ currency: 'USD', pending: 0, credited: 0 }]);
    expect((await s.db.query<any>('SELECT status FROM commissions WHERE order_id = $1', [r.orderId])).rows[0].status).toBe('clawed_back');
    expect((await s.db.query("SELECT 1 FROM sandbox_payments WHERE kind = 'refund'")).rows).toHaveLength(1);
  });
});

describe('catalog text and ids at the edge (real PostgreSQL)', () => {
  it('sanitises names and titles (NUL, lone surrogates, bidi overrides) and never answers 500', async () => {
    s = await startStack({ settle: false });
    const seller = principal('seller9', { role: 'seller' });
    const shop = await s.call('POST', '/v1/shops', seller, { name: 'Bad\u0000 \u202Eshop\uD800', currency: 'USD', country: 'US' });
    expect(shop.status).toBe(201);
    expect(shop.body.name).toBe('Bad shop');
    expect((await s.commerce.catalog.getShop(shop.body.id)).name).toBe('Bad shop');
    const empty = await s.call('POST', '/v1/shops', seller, { name: '\u0000\uDFFF\u2066', currency: 'USD', country: 'US' });
    expect([empty.status, empty.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    const product = await s.call('POST', `/v1/shops/${shop.body.id}/products`, seller, {
      titles: { en: 'Scarf\u0000', fr: '\uD83D\u00E9charpe\u0301' }, price: { amount: 100, currency: 'USD' }, stock: 1, minPrice: 50,
    });
    expect(product.status).toBe(201);
    expect((await s.commerce.catalog.getProduct(product.body.id)).titles).toEqual({ en: 'Scarf', fr: 'écharpe\u0301'.normalize('NFC') });
    const nulImage = await s.call('POST', `/v1/shops/${shop.body.id}/products`, seller, {
      titles: { en: 'x' }, images: ['https://img.example/a\u0000.jpg'], price: { amount: 100, currency: 'USD' }, stock: 1,
    });
    expect([nulImage.status, nulImage.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    const patch = await s.call('PATCH', `/v1/products/${product.body.id}`, seller, { titles: { en: '\u202DNew\u202C title' }, minPrice: null });
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ titles: { en: 'New title' }, minPrice: null });
    const token = await s.call('PUT', '/v1/me/payment-method', seller, { type: 'card', token: 'tok\u0000visa' });
    expect([token.status, token.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    for (const bad of ['%00', '%ZZ', 'x'.repeat(65), '']) {
      const r = await s.call('GET', `/v1/products/${bad}`, null);
      expect([r.status, r.body.error.code], bad).toEqual([400, 'INVALID_ARGUMENT']);
    }
    // another seller cannot touch this shop's product, price or floor
    const other = principal('seller8', { role: 'seller' });
    expect((await s.call('PATCH', `/v1/products/${product.body.id}`, other, { minPrice: 0 })).status).toBe(403);
    expect((await s.call('PUT', `/v1/products/${product.body.id}/stock`, other, { stock: 0 })).status).toBe(403);
  });
});
