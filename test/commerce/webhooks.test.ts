import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { WebhookErrorCode } from '../../protocol/codes.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';
import { WebhookReceiver, type ReceivedHook } from '../helpers/WebhookReceiver.js';

let s: Stack | null = null;
let receiver: WebhookReceiver | null = null;
afterEach(async () => {
  await s?.close();
  await receiver?.close();
  s = null;
  receiver = null;
});

const owner = principal('host1', { role: 'host', rooms: ['room1'] });
const ops = principal('ops1', { role: 'ops' });

/** Signature verification exactly as docs/webhooks.md shows merchants (node:crypto only). */
function verifyLikeTheDocs(secret: string, header: string, rawBody: string, toleranceS = 300): boolean {
  const parts = header.split(',').map((p) => p.split('=', 2));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceS) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return parts.some(([k, v]) => {
    if (k !== 'v1') return false;
    const got = Buffer.from(v ?? '', 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

/** Every request verifies with `secret`, and its event id header is the body's id. */
function expectSigned(hooks: ReceivedHook[], secret: string): void {
  expect(hooks.length).toBeGreaterThan(0);
  for (const h of hooks) {
    expect(verifyLikeTheDocs(secret, String(h.headers['flashcast-signature']), h.body), h.body).toBe(true);
    expect(verifyLikeTheDocs('whsec_someone_else', String(h.headers['flashcast-signature']), h.body)).toBe(false);
    expect(h.headers['flashcast-event-id']).toBe(h.json.id);
    expect(h.headers['flashcast-event-type']).toBe(h.json.type);
    expect(h.headers['content-type']).toBe('application/json');
    expect(Object.keys(h.json).sort()).toEqual(['created', 'data', 'id', 'type']);
  }
}

async function endpoint(shopId: string, url: string, events: string[], who = owner): Promise<{ id: string; secret: string }> {
  const r = await s!.call('POST', `/v1/shops/${shopId}/webhooks`, who, { url, events });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

/** A paid one-tap order of two units by a buyer with a saved card. */
async function buy(stack: Stack, productId: string, buyer: string, token = 'tok_visa') {
  await stack.commerce.methods.save(buyer, { type: 'card', token });
  const r = await stack.commerce.checkout.reserve(principal(buyer), { roomId: 'room1', productId, quantity: 2, idempotencyKey: `k-${buyer}` });
  expect(r.status).toBe(flashcast.CheckoutStatus.CHECKOUT_SETTLING);
  return r.orderId!;
}

const deliveries = async (query: string) => {
  const r = await s!.call('GET', `/v1/ops/webhooks/deliveries?${query}`, ops);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.deliveries as any[];
};

describe('merchant webhooks (real HTTP receiver, Redis, PostgreSQL, BullMQ)', () => {
  it("a shop's endpoints: the secret is shown once, the owner lists and deletes them, bad input is refused", async () => {
    s = await startStack({ settle: false });
    const { shop } = await seedDeal(s);
    const created = await s.call('POST', `/v1/shops/${shop.id}/webhooks`, owner, { url: 'https://erp.example.com/hooks', events: ['order.paid', 'order.paid', 'deal.ended'], description: 'ERP' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ shopId: shop.id, url: 'https://erp.example.com/hooks', events: ['order.paid', 'deal.ended'], enabled: true, description: 'ERP' });
    expect(created.body.secret).toMatch(/^whsec_/);
    const list = await s.call('GET', `/v1/shops/${shop.id}/webhooks`, owner);
    const { secret: _secret, ...shown } = created.body;
    expect(list.body.webhooks).toEqual([shown]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    // Only the shop's seller (or ops): another seller sees nothing.
    expect((await s.call('GET', `/v1/shops/${shop.id}/webhooks`, principal('seller9', { role: 'seller' }))).status).toBe(403);
    expect((await s.call('POST', `/v1/shops/${shop.id}/webhooks`, principal('viewer9'), { url: 'https://x.example/', events: ['order.paid'] })).status).toBe(403);
    for (const body of [
      { url: 'ftp://erp.example.com/', events: ['order.paid'] },
      { url: 'https://erp.example.com/', events: [] },
      { url: 'https://erp.example.com/', events: ['order.shipped'] },
      { url: 'https://erp.example.com/', events: ['order.paid'], secret: 'mine' },
    ]) expect((await s.call('POST', `/v1/shops/${shop.id}/webhooks`, owner, body)).body.error.code, JSON.stringify(body)).toBe('INVALID_ARGUMENT');
    const creds = await s.call('POST', `/v1/shops/${shop.id}/webhooks`, owner, { url: 'https://u:p@erp.example.com/', events: ['order.paid'] });
    expect([creds.status, creds.body.error.code]).toEqual([400, WebhookErrorCode.UrlRefused]);
    expect((await s.call('DELETE', `/v1/shops/${shop.id}/webhooks/${created.body.id}`, owner)).status).toBe(204);
    expect((await s.call('DELETE', `/v1/shops/${shop.id}/webhooks/${created.body.id}`, owner)).status).toBe(204);
    expect((await s.call('GET', `/v1/shops/${shop.id}/webhooks`, owner)).body.webhooks).toEqual([]);
    const other = await s.call('DELETE', `/v1/shops/${shop.id}/webhooks/we_nope`, owner);
    expect([other.status, other.body.error.code]).toEqual([404, WebhookErrorCode.EndpointNotFound]);
  });

  it("a paid order: order.created and order.paid arrive signed; another shop's endpoint never gets them; a refund sends order.refunded", async () => {
    s = await startStack();
    receiver = await WebhookReceiver.create();
    const { shop, product, deal } = await seedDeal(s, { dealStock: 10 });
    const a = await endpoint(shop.id, receiver.url('/a'), ['order.created', 'order.paid', 'order.refunded']);
    // Shop B (another seller) listens to everything.
    const sellerB = principal('seller2', { role: 'seller' });
    const shopB = await s.commerce.catalog.createShop({ ownerUserId: 'seller2', name: 'Shop B', currency: 'USD', country: 'US' });
    const b = await endpoint(shopB.id, receiver.url('/b'), ['order.created', 'order.paid', 'order.failed', 'order.refunded', 'deal.started', 'deal.ended'], sellerB);

    const orderId = await buy(s, product.id, 'alice');
    const paid = await receiver.next((h) => h.path === '/a' && h.json.type === 'order.paid');
    const createdHook = await receiver.next((h) => h.path === '/a' && h.json.type === 'order.created');
    expectSigned(receiver.at('/a'), a.secret);
    expect(paid.json.data.order).toMatchObject({
      id: orderId, shop_id: shop.id, deal_id: deal.id, room_id: 'room1', buyer_id: 'alice', status: 'paid', fail_code: null,
      total_amount: 3998, currency: 'USD', payment_method: 'card', lines: [{ product_id: product.id, quantity: 2, unit_amount: 1999, currency: 'USD' }],
    });
    expect(createdHook.json.data.order).toMatchObject({ id: orderId, status: 'pending' });
    expect(createdHook.json.id).not.toBe(paid.json.id);
    expect(Date.parse(paid.json.created)).toBeGreaterThan(0);
    // The same order as the API answers it.
    const view = (await s.call('GET', `/v1/orders/${orderId}`, owner)).body;
    for (const k of ['id', 'shop_id', 'deal_id', 'buyer_id', 'total_amount', 'currency', 'status']) expect(paid.json.data.order[k], k).toEqual(view[k]);

    // A refund: order.refunded, with what was refunded.
    const asked = await s.call('POST', `/v1/orders/${orderId}/refunds`, ops, { reason: 'unwanted' });
    expect(asked.status).toBe(201);
    if (asked.body.status === 'awaiting_return') expect((await s.call('POST', `/v1/orders/${orderId}/returned`, ops)).status).toBe(204);
    const refunded = await receiver.next((h) => h.path === '/a' && h.json.type === 'order.refunded');
    const refund = (await s.db.query<{ total: number }>("SELECT total FROM refunds WHERE order_id = $1 AND status = 'refunded'", [orderId])).rows[0];
    expect(refunded.json.data).toMatchObject({ order: { id: orderId, status: 'refunded' }, refund: { amount: Number(refund.total), currency: 'USD' } });
    expectSigned([refunded], a.secret);

    // Shop B's own event reaches B; none of shop A's ever did, nor was one meant for it.
    const pB = await s.commerce.catalog.createProduct(shopB.id, { titles: { en: 'Hat' }, images: [], price: { amount: 999, currency: 'USD' }, stock: 10 });
    await s.commerce.catalog.addToShowcase('roomB', pB.id);
    const dealB = await s.commerce.deals.create('roomB', 'seller2', { productId: pB.id, price: { amount: 999, currency: 'USD' }, totalStock: 5, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 600 });
    const startedB = await receiver.next((h) => h.path === '/b' && h.json.type === 'deal.started');
    expect(startedB.json.data.deal).toMatchObject({ id: dealB.id, shopId: shopB.id, status: 'active' });
    expectSigned(receiver.at('/b'), b.secret);
    expect(receiver.at('/b').every((h) => (h.json.data.order?.shop_id ?? h.json.data.deal?.shopId) === shopB.id)).toBe(true);
    expect(receiver.at('/b').some((h) => h.body.includes(orderId))).toBe(false);
    const forA = await deliveries(`shopId=${shop.id}`);
    expect(forA.map((d) => d.endpointId)).toEqual(forA.map(() => a.id));
    expect(forA.map((d) => d.eventType).sort()).toEqual(['order.created', 'order.paid', 'order.refunded']);
    // Each event once: a re-run of a job records nothing new.
    expect(receiver.at('/a').map((h) => h.json.id)).toHaveLength(new Set(receiver.at('/a').map((h) => h.json.id)).size);
  });

  it('a declined payment: order.created then order.failed with its code', async () => {
    s = await startStack();
    receiver = await WebhookReceiver.create();
    const { shop, product } = await seedDeal(s);
    const a = await endpoint(shop.id, receiver.url('/f'), ['order.created', 'order.failed']);
    const orderId = await buy(s, product.id, 'carol', 'tok_decline');
    const failed = await receiver.next((h) => h.json.type === 'order.failed');
    expect(failed.json.data.order).toMatchObject({ id: orderId, status: 'declined', fail_code: 'PAYMENT_DECLINED' });
    await receiver.next((h) => h.json.type === 'order.created' && h.json.data.order.id === orderId);
    expectSigned(receiver.received, a.secret);
  });

  it('a receiver answering 500 gets retries with backoff, then success, with the same event id; ops see every attempt', async () => {
    s = await startStack({ webhooks: { backoffMs: 100, attempts: 5 } });
    receiver = await WebhookReceiver.create();
    let calls = 0;
    receiver.answer = () => (++calls <= 2 ? 500 : 200);
    const { shop, product } = await seedDeal(s);
    const a = await endpoint(shop.id, receiver.url('/r'), ['order.paid']);
    const orderId = await buy(s, product.id, 'dave');
    await receiver.next((h) => h.answered === 200);
    const hooks = receiver.at('/r');
    expect(hooks.map((h) => h.answered)).toEqual([500, 500, 200]);
    expect(new Set(hooks.map((h) => h.json.id)).size).toBe(1);
    expect(new Set(hooks.map((h) => h.body)).size).toBe(1);
    expect(hooks.map((h) => h.headers['flashcast-attempt'])).toEqual(['1', '2', '3']);
    expectSigned(hooks, a.secret);
    expect(hooks[0].json.data.order.id).toBe(orderId);
    const [d] = await waitFor(async () => {
      const list = await deliveries('status=succeeded');
      return list.length === 1 ? list : null;
    });
    expect(d).toMatchObject({ eventId: hooks[0].json.id, eventType: 'order.paid', shopId: shop.id, endpointId: a.id, status: 'succeeded', attempts: 3, lastStatusCode: 200, lastError: null });
    expect(d.history.map((x: any) => [x.attempt, x.statusCode, x.error])).toEqual([[3, 200, null], [2, 500, 'http_500'], [1, 500, 'http_500']]);
    expect(d.history[2].response).toBe('receiver says no');
    // Exponential backoff: the waits are at least 80% (jitter) of 100 ms, then of 200 ms.
    const at = d.history.map((x: any) => Date.parse(x.at)).reverse();
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(80);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(160);
  });

  it('out of attempts: the delivery is failed for ops; a replay delivers the same event id again', async () => {
    s = await startStack({ webhooks: { backoffMs: 20, attempts: 3 } });
    receiver = await WebhookReceiver.create();
    let up = false;
    receiver.answer = () => (up ? 200 : 503);
    const { shop, product } = await seedDeal(s);
    const a = await endpoint(shop.id, receiver.url('/d'), ['order.paid']);
    await buy(s, product.id, 'erin');
    const [failed] = await waitFor(async () => {
      const list = await deliveries('status=failed');
      return list.length === 1 ? list : null;
    });
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, replays: 0, lastStatusCode: 503, lastError: 'http_503', deliveredAt: null });
    expect(receiver.at('/d').map((h) => h.answered)).toEqual([503, 503, 503]);
    expect(await deliveries('status=succeeded')).toEqual([]);

    up = true;
    const replay = await s.call('POST', `/v1/ops/webhooks/deliveries/${failed.id}/replay`, ops);
    expect([replay.status, replay.body]).toEqual([202, { id: failed.id, status: 'pending', replays: 1 }]);
    const ok = await receiver.next((h) => h.answered === 200);
    expect(ok.json.id).toBe(failed.eventId);
    expect(ok.body).toBe(receiver.at('/d')[0].body);
    expectSigned(receiver.at('/d'), a.secret);
    const [done] = await waitFor(async () => {
      const list = await deliveries('status=succeeded');
      return list.length === 1 ? list : null;
    });
    expect(done).toMatchObject({ id: failed.id, attempts: 4, replays: 1, lastStatusCode: 200 });
    // A succeeded delivery may be replayed too (the receiver lost it): same event again.
    expect((await s.call('POST', `/v1/ops/webhooks/deliveries/${failed.id}/replay`, ops)).status).toBe(202);
    await waitFor(() => receiver!.at('/d').filter((h) => h.answered === 200).length === 2);
    expect(new Set(receiver.at('/d').map((h) => h.json.id))).toEqual(new Set([failed.eventId]));
    const missing = await s.call('POST', '/v1/ops/webhooks/deliveries/wd_nope/replay', ops);
    expect([missing.status, missing.body.error.code]).toEqual([404, WebhookErrorCode.DeliveryNotFound]);
    expect((await s.call('GET', '/v1/ops/webhooks/deliveries?status=lost', ops)).status).toBe(400);
    expect((await s.call('GET', '/v1/ops/webhooks/deliveries', owner)).status).toBe(403);
  });

  it('a short deal: deal.started when it goes live, deal.ended when its time is up', async () => {
    s = await startStack({ settle: true });
    receiver = await WebhookReceiver.create();
    const shop = await s.commerce.catalog.createShop({ ownerUserId: 'host1', name: 'Shop', currency: 'USD', country: 'US' });
    const product = await s.commerce.catalog.createProduct(shop.id, { titles: { en: 'Scarf' }, images: [], price: { amount: 2999, currency: 'USD' }, stock: 10 });
    await s.commerce.catalog.addToShowcase('room1', product.id);
    const a = await endpoint(shop.id, receiver.url('/deal'), ['deal.started', 'deal.ended']);
    const deal = await s.commerce.deals.create('room1', 'host1', {
      productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 3, perBuyerLimit: 1, countdownSeconds: 1, durationSeconds: 1,
    });
    const ended = await receiver.next((h) => h.json.type === 'deal.ended');
    const started = await receiver.next((h) => h.json.type === 'deal.started');
    expectSigned(receiver.received, a.secret);
    expect(started.json.data.deal).toMatchObject({
      id: deal.id, shopId: shop.id, roomId: 'room1', productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 3, status: 'active',
      startsAt: new Date(deal.startsAt).toISOString(), endsAt: new Date(deal.endsAt).toISOString(),
    });
    expect(ended.json.data).toMatchObject({ deal: { id: deal.id, status: 'ended' }, soldUnits: 0 });
    expect(Date.parse(started.json.created)).toBeLessThanOrEqual(Date.parse(ended.json.created));
    expect(receiver.received).toHaveLength(2);
  });
});
