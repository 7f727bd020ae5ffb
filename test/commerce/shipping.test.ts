import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { CommerceErrorCode } from '../../protocol/codes.js';
import type { Queryable } from '../../server/db/Database.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import type { Principal } from '../../common/auth/TokenService.js';
import type { HttpMethod } from '../../common/http/HttpRouter.js';
import { FlashcastClient, FlashcastRequestError, type FetchLike } from '../../client-sdk/index.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';

let s: Stack | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const { CheckoutStatus } = flashcast;
const host = principal('host1', { role: 'host', rooms: ['room1'] });

/** Addresses as a buyer sends them, one per country the tests ship to. */
const ADDRESS = {
  ID: { name: 'Siti Rahma', phone: '+62 812-3456-7890', line1: 'Jl. Merdeka 10', city: 'Jakarta', state: 'DKI Jakarta', postalCode: '10110', country: 'ID' },
  US: { name: 'Ana Lopez', phone: '+1 415 555 0100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
  VN: { name: 'Nguyen Van A', phone: '+84 912 345 678', line1: '1 Trang Tien', city: 'Hà Nội', state: 'Hà Nội', postalCode: '10000', country: 'VN' },
  FR: { name: 'Jean Dupont', phone: '+33 6 12 34 56 78', line1: '1 rue de Rivoli', city: 'Paris', postalCode: '75001', country: 'FR' },
  JP_BAD: { name: 'Sato', phone: '+81 3 1234 5678', line1: '1-1 Chiyoda', city: 'Chiyoda-ku', state: 'Tokyo', postalCode: '100-00', country: 'JP' },
};

/** The shop's rates: US $4.99 (free from $50), Indonesia $15, Vietnam $9, nowhere else. */
const RATES = { rates: [{ region: 'US', amount: 499, freeAbove: 5_000 }, { region: 'ID', amount: 1_500 }, { region: 'VN', amount: 900 }] };

async function addAddress(stack: Stack, userId: string, body: object): Promise<string> {
  const r = await stack.call('POST', '/v1/me/addresses', principal(userId), body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

async function setRates(stack: Stack, shopId: string, body: object = RATES) {
  const r = await stack.call('PUT', `/v1/shops/${shopId}/shipping-rates`, host, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** The SDK's `fetch`, answered by the stack's router (as the gateway would, for `who`). */
function viaRouter(stack: Stack, who: Principal): FetchLike {
  return async (url, init) => {
    const u = new URL(url);
    const r = await stack.router.dispatch({
      method: init.method as HttpMethod, path: u.pathname, query: u.searchParams, headers: init.headers, text: init.body ?? '', principal: who,
    });
    return { status: r.status, headers: { get: (name: string) => r.headers?.[name] ?? null }, text: async () => (r.body === undefined ? '' : JSON.stringify(r.body)) };
  };
}

/** Units held or bought per buyer in the deal's Redis state (empty: no hold was ever made). */
async function holders(stack: Stack, dealId: string): Promise<Record<string, number>> {
  return (await Reservation.create(stack.redis, stack.keys)).committedBy(dealId);
}

/** What a tap might read of a buyer or of shipping: address books, shipping rates, saved payment methods. */
const BUYER_TABLES = /\b(addresses|address_books|shipping_rates|shipping_rate_versions|payment_methods)\b/;

/**
 * Records the statements on a buyer's or shipping's tables the stack's database runs from now
 * on (the deal workers' own statements run meanwhile and are not the tap's).
 */
function recordSql(db: Queryable): string[] {
  const seen: string[] = [];
  const query = db.query.bind(db);
  db.query = ((sql: string, params?: unknown[]) => {
    if (BUYER_TABLES.test(sql)) seen.push(sql);
    return query(sql, params);
  }) as Queryable['query'];
  return seen;
}

describe('address book (real PostgreSQL and Redis, through the router)', () => {
  it('validates per country with stable codes, keeps one default, and is each buyer\'s own', async () => {
    s = await startStack({ settle: false });
    const bad = await s.call('POST', '/v1/me/addresses', principal('ana'), { ...ADDRESS.ID, postalCode: '1011' });
    expect([bad.status, bad.body.error.code, bad.body.error.details.field, bad.body.error.details.reason]).toEqual([400, 'ADDRESS_INVALID', 'postalCode', 'format']);
    const noPhone = await s.call('POST', '/v1/me/addresses', principal('ana'), { ...ADDRESS.US, phone: '415 555 0100' });
    expect(noPhone.body.error.details).toMatchObject({ field: 'phone', reason: 'format' });
    const extra = await s.call('POST', '/v1/me/addresses', principal('ana'), { ...ADDRESS.US, isAdmin: true });
    expect(extra.body.error).toMatchObject({ code: 'ADDRESS_INVALID', details: { field: 'isAdmin', reason: 'invalid' } });
    expect((await s.call('GET', '/v1/me/addresses', principal('ana'))).body).toEqual({ addresses: [], defaultAddressId: null });

    const id1 = await addAddress(s, 'ana', { ...ADDRESS.ID, name: 'Siti\u202E Rahma' });
    const first = (await s.call('GET', '/v1/me/addresses', principal('ana'))).body;
    expect(first.defaultAddressId).toBe(id1);
    expect(first.addresses[0]).toMatchObject({ id: id1, name: 'Siti Rahma', phone: '+6281234567890', isDefault: true, country: 'ID' });
    const id2 = await addAddress(s, 'ana', ADDRESS.US);
    expect((await s.call('GET', '/v1/me/addresses', principal('ana'))).body.defaultAddressId).toBe(id1);
    const id3 = await addAddress(s, 'ana', { ...ADDRESS.FR, default: true });
    expect((await s.call('GET', '/v1/me/addresses', principal('ana'))).body.defaultAddressId).toBe(id3);

    // Another buyer sees none of them and cannot remove them.
    expect((await s.call('GET', '/v1/me/addresses', principal('eve'))).body.addresses).toEqual([]);
    const steal = await s.call('DELETE', `/v1/me/addresses/${id1}`, principal('eve'));
    expect([steal.status, steal.body.error.code]).toEqual([404, 'ADDRESS_NOT_FOUND']);
    expect((await s.call('GET', '/v1/me/addresses', null)).status).toBe(401);

    // Removing the default makes the newest left the default; removing the last leaves none.
    expect((await s.call('DELETE', `/v1/me/addresses/${id3}`, principal('ana'))).status).toBe(204);
    expect((await s.call('GET', '/v1/me/addresses', principal('ana'))).body.defaultAddressId).toBe(id2);
    expect((await s.call('DELETE', `/v1/me/addresses/${id3}`, principal('ana'))).body.error.code).toBe('ADDRESS_NOT_FOUND');
    await s.call('DELETE', `/v1/me/addresses/${id2}`, principal('ana'));
    await s.call('DELETE', `/v1/me/addresses/${id1}`, principal('ana'));
    expect((await s.call('GET', '/v1/me/addresses', principal('ana'))).body).toEqual({ addresses: [], defaultAddressId: null });

    // At most 20.
    for (let i = 0; i < 20; i++) await addAddress(s, 'bo', { ...ADDRESS.US, line1: `${i} Market St` });
    expect((await s.call('POST', '/v1/me/addresses', principal('bo'), ADDRESS.US)).body.error.code).toBe('ADDRESS_BOOK_FULL');
  });

  it('the SDK\'s client.addresses() speaks these routes', async () => {
    s = await startStack({ settle: false });
    const client = new FlashcastClient({ url: 'wss://live.example.com/ws', token: 'unused', fetch: viaRouter(s, principal('sdk')) });
    const book = client.addresses();
    const refused = await book.add({ ...ADDRESS.JP_BAD }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FlashcastRequestError);
    expect(refused).toMatchObject({ code: 'ADDRESS_INVALID', details: { field: 'postalCode', reason: 'format' } });
    const home = await book.add(ADDRESS.ID);
    expect(home).toMatchObject({ country: 'ID', postalCode: '10110', isDefault: true });
    const away = await book.add({ ...ADDRESS.US, default: true });
    expect(await book.list()).toMatchObject({ defaultAddressId: away.id, addresses: [{ id: home.id, isDefault: false }, { id: away.id, isDefault: true }] });
    await book.remove(away.id);
    await expect(book.remove(away.id)).rejects.toMatchObject({ code: 'ADDRESS_NOT_FOUND' });
    expect((await book.list()).defaultAddressId).toBe(home.id);
    client.close();
  });

  it('shipping rates are the shop\'s, replaced whole, validated', async () => {
    s = await startStack({ settle: false });
    const { shop } = await seedDeal(s);
    expect((await s.call('GET', `/v1/shops/${shop.id}/shipping-rates`, host)).body).toEqual({ shopId: shop.id, currency: 'USD', rates: [] });
    const set = await setRates(s, shop.id, { rates: [...RATES.rates, { region: '*', amount: 2_500, freeAbove: null }] });
    expect(set.rates).toEqual([
      { region: '*', amount: 2_500, freeAbove: null }, { region: 'ID', amount: 1_500, freeAbove: null },
      { region: 'US', amount: 499, freeAbove: 5_000 }, { region: 'VN', amount: 900, freeAbove: null },
    ]);
    for (const body of [{ rates: [{ region: 'US', amount: 1 }, { region: 'US', amount: 2 }] }, { rates: [{ region: 'XX', amount: 1 }] },
      { rates: [{ region: 'US', amount: -1 }] }, { rates: [{ region: 'us', amount: 1 }] }, { rates: [{ region: 'US', amount: 1.5 }] }]) {
      expect((await s.call('PUT', `/v1/shops/${shop.id}/shipping-rates`, host, body)).body.error.code, JSON.stringify(body)).toBe('INVALID_ARGUMENT');
    }
    expect((await s.call('PUT', `/v1/shops/${shop.id}/shipping-rates`, principal('eve'), RATES)).status).toBe(403);
    expect((await s.call('PUT', '/v1/shops/s_nope/shipping-rates', host, RATES)).body.error.code).toBe('SHOP_NOT_FOUND');
    await setRates(s, shop.id, { rates: [] });
    expect((await s.call('GET', `/v1/shops/${shop.id}/shipping-rates`, host)).body.rates).toEqual([]);
  });
});

describe('checkout with shipping (real Redis, PostgreSQL, BullMQ worker)', () => {
  it("an order's total includes the destination's shipping, and the order carries the address", async () => {
    s = await startStack();
    const { shop, product, deal } = await seedDeal(s, { dealStock: 20, limit: 5 });
    await setRates(s, shop.id);
    await s.commerce.methods.save('siti', { type: 'card', token: 'tok_visa' });
    const home = await addAddress(s, 'siti', ADDRESS.ID);
    const tap = { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'ship-1' };
    const r = await s.commerce.checkout.reserve(principal('siti'), tap);
    expect(r).toMatchObject({
      code: '', status: CheckoutStatus.CHECKOUT_SETTLING, itemsTotal: { amount: 1_999, currency: 'USD' }, shipping: { amount: 1_500, currency: 'USD' },
      total: { amount: 3_499, currency: 'USD' }, addressId: home, shipToCountry: 'ID',
    });
    // A retried tap answers the same.
    expect(await s.commerce.checkout.reserve(principal('siti'), tap)).toMatchObject({ orderId: r.orderId, total: { amount: 3_499 }, shipping: { amount: 1_500 } });
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [r.orderId])).rows.length === 1);
    const order = (await s.call('GET', `/v1/orders/${r.orderId}`, principal('siti'))).body;
    expect(order).toMatchObject({
      total_amount: 3_499, shipping_amount: 1_500, currency: 'USD',
      shipping_address: { id: home, name: 'Siti Rahma', phone: '+6281234567890', line1: 'Jl. Merdeka 10', city: 'Jakarta', postalCode: '10110', country: 'ID' },
    });
    expect(Number((await s.db.query<{ amount: string }>('SELECT amount FROM payments WHERE order_id = $1', [r.orderId])).rows[0].amount)).toBe(3_499);
    // The shop sees where to ship it.
    expect((await s.call('GET', `/v1/orders/${r.orderId}`, host)).body.shipping_address.country).toBe('ID');

    // Another address by id; free shipping once the items reach the US threshold ($50).
    const us = await addAddress(s, 'siti', ADDRESS.US);
    const small = await s.commerce.checkout.reserve(principal('siti'), { ...tap, idempotencyKey: 'ship-2', addressId: us });
    expect(small).toMatchObject({ shipping: { amount: 499 }, total: { amount: 1_999 + 499 }, shipToCountry: 'US', addressId: us });
    const big = await s.commerce.checkout.reserve(principal('siti'), { ...tap, quantity: 3, idempotencyKey: 'ship-3', addressId: us });
    expect(big).toMatchObject({ itemsTotal: { amount: 5_997 }, shipping: { amount: 0 }, total: { amount: 5_997 }, shipToCountry: 'US' });
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE id = ANY($1) AND status = 'paid'", [[small.orderId, big.orderId]])).rows.length === 2);
    const rows = (await s.db.query<{ id: string; total_amount: string; shipping_amount: string; country: string }>(
      "SELECT id, total_amount, shipping_amount, shipping_address->>'country' AS country FROM orders WHERE id = ANY($1)", [[small.orderId, big.orderId]])).rows;
    expect(Object.fromEntries(rows.map((o) => [o.id, [Number(o.total_amount), Number(o.shipping_amount), o.country]]))).toEqual({
      [small.orderId!]: [2_498, 499, 'US'], [big.orderId!]: [5_997, 0, 'US'],
    });
    // An address id that is not the buyer's is refused before any hold.
    const other = await addAddress(s, 'eve', ADDRESS.US);
    const available = async () => (await s!.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory.available;
    expect(await available()).toBe(15);
    const stolen = await s.commerce.checkout.reserve(principal('siti'), { ...tap, idempotencyKey: 'ship-4', addressId: other });
    expect(stolen).toMatchObject({ code: 'ADDRESS_NOT_FOUND', status: CheckoutStatus.CHECKOUT_FAILED });
    expect(stolen.orderId ?? '').toBe('');
    expect(await available()).toBe(15);
  });

  it('a blocked destination is refused before any hold, whatever the buyer\'s own region', async () => {
    s = await startStack({ deals: { crossBorderBans: ['VN'] } });
    const { shop, product, deal } = await seedDeal(s, { dealStock: 5 });
    await setRates(s, shop.id);
    await s.commerce.methods.save('van', { type: 'card', token: 'tok_visa' });
    await addAddress(s, 'van', ADDRESS.VN);
    const tap = { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'vn-1' };
    const seenInventory = s.broadcaster.inventory.length;
    const before = recordSql(s.db);
    // The buyer's token says US: the destination decides.
    const r = await s.commerce.checkout.reserve(principal('van', { region: 'US' }), tap);
    expect(r).toMatchObject({ code: 'REGION_BLOCKED', status: CheckoutStatus.CHECKOUT_FAILED });
    expect(before).toEqual([]); // decided from Redis
    expect(s.broadcaster.inventory.length).toBe(seenInventory); // no stock moved
    expect((await s.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory.available).toBe(5);
    expect(await holders(s, deal.id)).toEqual({});
    // Over HTTP: 403 with the same code.
    const http = await s.call('POST', '/v1/checkout', principal('van'), { ...tap, idempotencyKey: 'vn-2' });
    expect([http.status, http.body.error.code]).toEqual([403, 'REGION_BLOCKED']);
    // A country the shop has no rate for: SHIPPING_UNAVAILABLE, nothing held either.
    const fr = await addAddress(s, 'van', ADDRESS.FR);
    const nowhere = await s.call('POST', '/v1/checkout', principal('van'), { ...tap, idempotencyKey: 'fr-1', addressId: fr });
    expect([nowhere.status, nowhere.body.error.code]).toEqual([422, 'SHIPPING_UNAVAILABLE']);
    expect((await s.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory.available).toBe(5);
    expect(await holders(s, deal.id)).toEqual({});
  });

  it('when Redis lost the address book, the tap holds first, reads PostgreSQL, and gives a blocked hold back at once', async () => {
    s = await startStack({ deals: { crossBorderBans: ['VN'] } });
    const { shop, product, deal } = await seedDeal(s, { dealStock: 5 });
    await setRates(s, shop.id);
    await s.commerce.methods.save('van', { type: 'card', token: 'tok_visa' });
    await addAddress(s, 'van', ADDRESS.VN);
    await s.redis.del(s.keys.global('addr:van')); // Redis lost it
    const tap = { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'lost-1' };
    const r = await s.commerce.checkout.reserve(principal('van'), tap);
    expect(r).toMatchObject({ code: 'REGION_BLOCKED', available: 5 });
    expect(s.broadcaster.inventory.at(-1)?.update).toMatchObject({ dealId: deal.id, available: 5 });
    expect((await s.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory.available).toBe(5);
    // The book is in Redis again; with a deliverable address the same key holds again, and settles.
    const id = await addAddress(s, 'van', ADDRESS.ID);
    const again = await s.commerce.checkout.reserve(principal('van'), { ...tap, addressId: id });
    expect(again).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING, shipping: { amount: 1_500 }, total: { amount: 3_499 }, available: 4 });
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [again.orderId])).rows.length === 1);
  });

  it('a buyer with no address gets the units held and ADDRESS_REQUIRED; confirm waits for an address, then ships there', async () => {
    s = await startStack();
    const { shop, product, deal } = await seedDeal(s, { dealStock: 5, price: 1_000 });
    await setRates(s, shop.id);
    const tap = { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'new-1' };
    const r = (await s.call('POST', '/v1/checkout', principal('newbie'), tap)).body;
    expect(r).toMatchObject({ status: 'CHECKOUT_RESERVED', shippingCode: 'ADDRESS_REQUIRED', itemsTotal: { amount: 1_000 }, total: { amount: 1_000 }, available: 4 });
    expect(r.shipping).toBeUndefined();
    const confirmPath = `/v1/deals/${deal.id}/orders/${r.orderId}/confirm`;
    const early = await s.call('POST', confirmPath, principal('newbie'), { method: 'card', token: 'tok_visa' });
    expect([early.status, early.body.error.code]).toEqual([409, CommerceErrorCode.AddressRequired]);
    expect((await s.call('GET', `/v1/deals/${deal.id}`, null)).body.inventory.available).toBe(4); // still held
    await addAddress(s, 'newbie', ADDRESS.US);
    const c = await s.call('POST', confirmPath, principal('newbie'), { method: 'card', token: 'tok_visa' });
    expect(c.body).toMatchObject({ status: 'CHECKOUT_SETTLING', shipping: { amount: 499 }, total: { amount: 1_499 }, shipToCountry: 'US' });
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [r.orderId])).rows.length === 1);
    expect((await s.call('GET', `/v1/orders/${r.orderId}`, principal('newbie'))).body).toMatchObject({
      total_amount: 1_499, shipping_amount: 499, shipping_address: { country: 'US', postalCode: '94105', state: 'CA' },
    });

    // A buyer with a saved method but no address is not charged: held, ADDRESS_REQUIRED, no order yet.
    await s.commerce.methods.save('saved', { type: 'card', token: 'tok_visa' });
    const held = await s.commerce.checkout.reserve(principal('saved'), { ...tap, idempotencyKey: 'saved-1' });
    expect(held).toMatchObject({ status: CheckoutStatus.CHECKOUT_RESERVED, shippingCode: 'ADDRESS_REQUIRED' });
    expect((await s.db.query('SELECT 1 FROM orders WHERE id = $1', [held.orderId])).rows).toHaveLength(0);
  });

  it("a returning buyer's tap reads none of the buyer's rows in PostgreSQL: address book, rates and method come from Redis", async () => {
    s = await startStack({ settle: false });
    const { shop, product } = await seedDeal(s, { dealStock: 10 });
    await setRates(s, shop.id);
    for (const buyer of ['warm', 'ret']) {
      await s.commerce.methods.save(buyer, { type: 'card', token: 'tok_visa' });
      await addAddress(s, buyer, ADDRESS.ID);
    }
    const tap = { roomId: 'room1', productId: product.id, quantity: 1 };
    expect((await s.commerce.checkout.reserve(principal('warm'), { ...tap, idempotencyKey: 'w' })).code).toBe('');
    const sql = recordSql(s.db);
    const r = await s.commerce.checkout.reserve(principal('ret'), { ...tap, idempotencyKey: 'r' });
    expect(r).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING, shipping: { amount: 1_500 }, shipToCountry: 'ID' });
    expect(sql).toEqual([]);
  });

  it('a shop without rates sells as before: no address asked, nothing added', async () => {
    s = await startStack();
    const { product } = await seedDeal(s, { dealStock: 5 });
    await s.commerce.methods.save('plain', { type: 'card', token: 'tok_visa' });
    const r = await s.commerce.checkout.reserve(principal('plain'), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'p' });
    expect(r).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING, shipping: { amount: 0 }, total: { amount: 1_999 } });
    expect([r.shippingCode ?? '', r.addressId ?? '']).toEqual(['', '']);
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [r.orderId])).rows.length === 1);
    expect((await s.call('GET', `/v1/orders/${r.orderId}`, principal('plain'))).body).toMatchObject({ total_amount: 1_999, shipping_amount: 0, shipping_address: null });
  });
});
