/**
 * Regular-price buying (issue #9, part 1): a product pinned or in a room's showcase is bought at
 * its catalog price in one tap, from its listing (a standing deal row of kind 'regular'), with
 * the guarantees of flash deals: PostgreSQL is the authority for its stock, Redis the fast path.
 * Real Redis, PostgreSQL and an in-process settlement worker (sandbox provider).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { startStack, type Stack } from './stack.js';
import { principal, sleep, waitFor } from './helpers.js';
import { SnapshotRedis } from './faults/SnapshotRedis.js';
import { dealOrders, moneyAudit, waitQuiet, type MoneyAudit } from './faults/audit.js';
import { buyers, saveCards, tally, tapUntilFinal, FINAL_CODES } from './faults/taps.js';

const { CheckoutStatus } = flashcast;
const host = principal('host1', { role: 'host', rooms: ['room1', 'room2'] });

let s: Stack | null = null;
let redis: SnapshotRedis | null = null;
afterEach(async () => {
  if (redis && !redis.running) await redis.start().catch(() => undefined);
  await s?.close();
  s = null;
  await redis?.close();
  redis = null;
});

/** A US shop of host1 and a product at $29.99 with `stock` units in the showcase of each of `rooms`. */
async function listed(stack: Stack, stock: number, rooms: string[] = ['room1']) {
  const shop = await stack.commerce.catalog.createShop({ ownerUserId: 'host1', name: 'Shop', currency: 'USD', country: 'US' });
  const product = await stack.commerce.catalog.createProduct(shop.id, {
    titles: { en: 'Red scarf' }, images: ['https://img.example/1.jpg'], price: { amount: 2999, currency: 'USD' }, stock,
  });
  for (const room of rooms) await stack.commerce.catalog.addToShowcase(room, product.id);
  return { shop, product };
}

/** The product's open listing in PostgreSQL. */
async function listingRow(stack: Stack, productId: string) {
  const { rows } = await stack.db.query<{ id: string; total_stock: number; sold_units: number }>(
    "SELECT id, total_stock, sold_units FROM deals WHERE product_id = $1 AND kind = 'regular' AND status <> 'closed'", [productId]);
  return rows[0];
}

/** One buyer taps "buy 1" (in `region`, default US; naming `dealId` if given). */
const tap = (stack: Stack, buyer: string, roomId: string, productId: string, key: string, o: { dealId?: string; region?: string } = {}) =>
  stack.commerce.checkout.reserve(principal(buyer, o.region ? { region: o.region } : {}), { roomId, productId, quantity: 1, idempotencyKey: key, dealId: o.dealId });

/** `{ code: count }` of answers ('' = bought). */
const codes = (answers: flashcast.IBuyResult[]) => {
  const t: Record<string, number> = {};
  for (const r of answers) t[r.code ?? ''] = (t[r.code ?? ''] ?? 0) + 1;
  return t;
};

function expectMoneyConsistent(m: MoneyAudit): void {
  expect.soft(m.captures - m.givenBack, 'captures net of voids = paid orders').toBe(m.paidOrders);
  expect.soft(m.capturedAmount - m.givenBackAmount, 'captured amount net of voids = paid amount').toBe(m.paidAmount);
  expect.soft(m.paidWithoutCapture, 'every paid order has its capture').toBe(0);
  expect.soft(m.sharedCaptures, 'no capture counted twice').toBe(0);
}

describe('regular-price buying from a listing (real Redis, PostgreSQL, BullMQ worker)', () => {
  it('a pinned product at its catalog price, one tap: a paid order at that price; a first-time buyer confirms; the seller sets the stock', async () => {
    s = await startStack();
    const { product } = await listed(s, 5);
    const pin = await s.call('POST', '/v1/rooms/room1/pin', host, { productId: product.id });
    expect(pin.status).toBe(200);
    await s.commerce.methods.save('alice', { type: 'card', token: 'tok_visa' });

    const r = await s.call('POST', '/v1/checkout', principal('alice'), { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'k1' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'CHECKOUT_SETTLING', quantity: 2, unitPrice: { amount: 2999, currency: 'USD' }, total: { amount: 5998, currency: 'USD' }, available: 3 });
    const listing = await listingRow(s, product.id);
    expect(r.body.dealId).toBe(listing.id);
    const order = await waitFor(async () => (await s!.db.query<any>("SELECT id, deal_id, room_id, buyer_id, total_amount, currency FROM orders WHERE id = $1 AND status = 'paid'", [r.body.orderId])).rows[0]);
    expect(order).toMatchObject({ deal_id: listing.id, room_id: 'room1', buyer_id: 'alice', total_amount: 5998, currency: 'USD' });
    expect((await s.db.query<any>('SELECT unit_amount, quantity FROM order_lines WHERE order_id = $1', [order.id])).rows).toEqual([{ unit_amount: 2999, quantity: 2 }]);
    expect(Number((await s.db.query<any>('SELECT amount FROM payments WHERE order_id = $1', [order.id])).rows[0].amount)).toBe(5998);
    // The room saw the listing's stock (no end to count down to), and "alice just bought".
    expect(s.broadcaster.inventory.find((i) => i.update.dealId === listing.id)).toMatchObject({ roomId: 'room1', update: { available: 3, phaseEndsAt: 0 } });
    await waitFor(() => s!.broadcaster.events.some((e) => e.event.purchase?.productId === product.id));

    // A first-time buyer: held, then confirmed through the next step; the order belongs to the room of the tap.
    const b = await s.call('POST', '/v1/checkout', principal('bob'), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k1' });
    expect(b.body).toMatchObject({ status: 'CHECKOUT_RESERVED', total: { amount: 2999 } });
    const c = await s.call('POST', b.body.nextStep.path, principal('bob'), { method: 'card', token: 'tok_visa' });
    expect(c.body).toMatchObject({ status: 'CHECKOUT_SETTLING', orderId: b.body.orderId });
    const bobs = await waitFor(async () => (await s!.db.query<any>("SELECT room_id, total_amount FROM orders WHERE id = $1 AND status = 'paid'", [b.body.orderId])).rows[0]);
    expect(bobs).toMatchObject({ room_id: 'room1', total_amount: 2999 });
    expect((await s.commerce.catalog.getProduct(product.id)).stock).toBe(2);

    // The seller says 4 are left: exactly 4 more sell.
    expect((await s.call('PUT', `/v1/products/${product.id}/stock`, host, { stock: 4 })).status).toBe(204);
    expect((await s.commerce.catalog.getProduct(product.id)).stock).toBe(4);
    const more = await Promise.all(buyers('m', 6).map((m) => tap(s!, m, 'room1', product.id, 'k')));
    expect(codes(more)).toEqual({ '': 4, SOLD_OUT: 2 });
    // A listing does not end.
    expect((await s.call('POST', `/v1/deals/${listing.id}/end`, principal('ops1', { role: 'ops' }))).body.error.code).toBe('DEAL_CONFLICT');
  });

  it('NOT_ON_SALE only for products neither on a deal nor in the room\'s showcase; region rules apply', async () => {
    s = await startStack({ settle: false, deals: { crossBorderBans: ['ID'] } });
    const { product } = await listed(s, 10, ['room2']);
    const listing = await listingRow(s, product.id);
    expect((await tap(s, 'ann', 'room1', product.id, 'a')).code).toBe('NOT_ON_SALE');
    // Naming the listing does not help in a room whose showcase does not hold the product.
    expect((await tap(s, 'ann', 'room1', product.id, 'b', { dealId: listing.id })).code).toBe('NOT_ON_SALE');
    expect(await tap(s, 'ann', 'room2', product.id, 'c', { dealId: listing.id })).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_RESERVED });
    expect(await tap(s, 'ann', 'room2', product.id, 'd')).toMatchObject({ code: '', dealId: listing.id });
    // Buyers in a country banning cross-border sales cannot buy from a shop abroad.
    expect((await tap(s, 'budi', 'room2', product.id, 'e', { region: 'ID' })).code).toBe('REGION_BLOCKED');
    // A product nobody showcases, and an unknown one.
    const other = await s.commerce.catalog.createProduct(product.shopId, { titles: { en: 'Hat' }, images: [], price: { amount: 500, currency: 'USD' }, stock: 3 });
    expect((await tap(s, 'ann', 'room2', other.id, 'f')).code).toBe('NOT_ON_SALE');
    expect((await tap(s, 'ann', 'room2', 'ghost', 'g')).code).toBe('NOT_ON_SALE');
    // Out of the showcase, out of sale.
    expect((await s.call('PUT', '/v1/rooms/room2/showcase', host, { productIds: [other.id] })).status).toBe(204);
    expect((await tap(s, 'ann', 'room2', product.id, 'h')).code).toBe('NOT_ON_SALE');
    expect((await tap(s, 'ann', 'room2', other.id, 'i')).code).toBe('');
  });

  it('a flash deal and the listing share the product\'s units: none sold twice, PostgreSQL never above the product\'s stock', async () => {
    s = await startStack({ deals: { closeAfterEndMs: 300 } });
    const STOCK = 30;
    const { product } = await listed(s, STOCK, ['room1', 'room2']);
    const regular = buyers('r', 20);
    const flash = buyers('f', 6);
    const late = [...buyers('x', 4), ...buyers('y', 4)];
    await saveCards(s, [...regular, ...flash, ...late]);

    // 20 regular-price taps in room2 while a 10-unit deal is created in room1: both fit, exactly.
    const [deal, ...first] = await Promise.all([
      s.commerce.deals.create('room1', 'host1', {
        productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 10, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 3,
      }),
      ...regular.map((b) => tap(s!, b, 'room2', product.id, 'k')),
    ]);
    expect(first.every((r) => r.code === '')).toBe(true);
    const listing = await listingRow(s, product.id);
    expect(first.every((r) => r.dealId === listing.id)).toBe(true);
    // Nothing left for the listing, nor for a deal: held and sold units are nobody else's.
    expect((await tap(s, 'z', 'room2', product.id, 'k')).code).toBe('SOLD_OUT');
    await expect(s.commerce.deals.create('room2', 'host1', {
      productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 1, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 60,
    })).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });

    // In room1 the deal wins; 6 of its 10 units sell.
    const f = await Promise.all(flash.map((b) => tap(s!, b, 'room1', product.id, 'k')));
    expect(f.map((r) => [r.code, r.dealId])).toEqual(flash.map(() => ['', deal.id]));
    await waitFor(async () => (await dealOrders(s!.db, deal.id)).paidOrders === 6 && (await dealOrders(s!.db, listing.id)).paidOrders === 20, 20_000);

    // The deal ends and closes: its 4 unsold units go back to the listing, which both rooms sell again.
    await waitFor(async () => (await listingRow(s!, product.id)).total_stock === 24, 20_000, 100);
    const l = await Promise.all(late.map((b, i) => tapUntilFinalIn(s!, b, i < 4 ? 'room1' : 'room2', product.id)));
    expect(l.filter((r) => r.code === '').length).toBe(4);
    expect(l.every((r) => r.code === '' ? r.dealId === listing.id : r.code === 'SOLD_OUT')).toBe(true);
    expect(await waitQuiet(s.db, { stableMs: 1_500 })).toBe(true);

    // PostgreSQL: every unit once, the listing's and the deal's sales within their stock, within the product's.
    const rows = (await s.db.query<{ id: string; kind: string; status: string; total_stock: number; sold_units: number }>(
      'SELECT id, kind, status, total_stock, sold_units FROM deals WHERE product_id = $1', [product.id])).rows;
    const d = rows.find((r) => r.id === deal.id)!;
    const ls = rows.find((r) => r.id === listing.id)!;
    expect(d).toMatchObject({ status: 'closed', total_stock: 10, sold_units: 6 });
    expect(ls).toMatchObject({ status: 'active', total_stock: 24, sold_units: 24 });
    const unallocated = Number((await s.db.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [product.id])).rows[0].stock);
    // The product's units: unallocated + the listing's + what each closed deal sold (+ an open deal's total).
    expect(unallocated + ls.total_stock + d.sold_units).toBe(STOCK);
    const paid = await s.db.query<{ n: number; units: number; keys: number }>(
      `SELECT count(*)::int AS n, sum(quantity)::int AS units, count(DISTINCT (deal_id, buyer_id, idempotency_key))::int AS keys
       FROM orders WHERE status = 'paid' AND deal_id = ANY($1::text[])`, [[deal.id, listing.id]]);
    expect(paid.rows[0]).toEqual({ n: 30, units: STOCK, keys: 30 });
    expectMoneyConsistent(await moneyAudit(s.db));
    expect((await s.commerce.catalog.getProduct(product.id)).stock).toBe(0);
    expect(await (await Reservation.create(s.redis, s.keys)).available(listing.id)).toBe(0);
  }, 60_000);

  it('a deal PostgreSQL refuses after its units were taken from the listing in Redis gives them back there', async () => {
    s = await startStack({ settle: false });
    const { product } = await listed(s, 10);
    const dealInput = { productId: product.id, price: { amount: 1999, currency: 'USD' }, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 60 };
    await s.commerce.deals.create('room1', 'host1', { ...dealInput, totalStock: 3 });
    const listing = await listingRow(s, product.id);
    const res = await Reservation.create(s.redis, s.keys);
    expect(await res.health(listing.id)).toMatchObject({ total: 7, available: 7 });
    // Redis forgot the room's deal mapping: only PostgreSQL's check refuses a second deal, after the take.
    await s.redis.del(s.keys.room('room1', `deal:${product.id}`));
    await expect(s.commerce.deals.create('room1', 'host1', { ...dealInput, totalStock: 2 })).rejects.toMatchObject({ code: 'DEAL_CONFLICT' });
    expect((await listingRow(s, product.id)).total_stock).toBe(7);
    expect(await res.health(listing.id)).toMatchObject({ total: 7, available: 7 });
    expect(await tap(s, 'ann', 'room2', product.id, 'k')).toMatchObject({ code: 'NOT_ON_SALE' });
  });

  it('Redis restarted empty: the listing and the showcase mirror recover from PostgreSQL, and sell exactly the rest', async () => {
    redis = await SnapshotRedis.create();
    s = await startStack({ redisUrl: redis.url });
    const { product } = await listed(s, 30);
    const early = buyers('a', 10);
    const newcomers = buyers('c', 40);
    await saveCards(s, [...early, ...newcomers]);
    const w1 = await Promise.all(early.map((b) => tapUntilFinal(s!, b, product.id, `tap-${b}`)));
    expect(tally(w1)).toEqual({ '': 10 });
    const listing = await listingRow(s, product.id);
    await waitFor(async () => (await dealOrders(s!.db, listing.id)).paidOrders === 10, 20_000, 100);
    await waitQuiet(s.db, { stableMs: 1_000, timeoutMs: 10_000 });

    await redis.kill();
    await redis.start({ empty: true });
    expect(await s.redis.get(`${s.prefix}:{r:room1}:showcase`), 'Redis came back empty').toBeNull();

    const w2 = await Promise.all(newcomers.map((b) => tapUntilFinal(s!, b, product.id, `tap-${b}`, { boundMs: 20_000, startDelayMs: Math.random() * 300 })));
    expect(await waitQuiet(s.db, { stableMs: 2_000 })).toBe(true);
    expect.soft(w2.filter((o) => FINAL_CODES.has(o.result.code ?? '')).length, 'every newcomer got a final answer').toBe(40);
    expect.soft(w2.filter((o) => o.result.code === '').length, 'exactly the 20 units left sold').toBe(20);
    const orders = await dealOrders(s.db, listing.id);
    expect.soft(orders.paidUnits).toBe(30);
    expect.soft(orders.duplicateKeys).toBe(0);
    expect.soft(orders.inFlight).toBe(0);
    expect.soft((await listingRow(s, product.id)).sold_units).toBe(30);
    expectMoneyConsistent(await moneyAudit(s.db));
    expect.soft(await (await Reservation.create(s.redis, s.keys)).available(listing.id)).toBe(0);
    expect.soft(await s.redis.hget(`${s.prefix}:{r:room1}:showcase`, product.id), 'the showcase mirror is back').toBe(listing.id);
  }, 90_000);
});

/** tapUntilFinal in any room (the helper taps in room1). */
async function tapUntilFinalIn(stack: Stack, buyer: string, roomId: string, productId: string): Promise<flashcast.IBuyResult> {
  for (let i = 0; ; i++) {
    const r = await stack.commerce.checkout.reserve(principal(buyer), { roomId, productId, quantity: 1, idempotencyKey: 'late' });
    if (FINAL_CODES.has(r.code ?? '') || i >= 40) return r;
    await sleep(250);
  }
}

describe('first-time buyers are as fast as returning buyers (real Redis, PostgreSQL)', () => {
  it('a flash sale of 100 units, 300 buyers tapping at once, half without a saved method: their share of units is their share of buyers (±15 points)', async () => {
    s = await startStack({ settle: false });
    const shop = await s.commerce.catalog.createShop({ ownerUserId: 'host1', name: 'Shop', currency: 'USD', country: 'US' });
    const product = await s.commerce.catalog.createProduct(shop.id, { titles: { en: 'Scarf' }, images: [], price: { amount: 2999, currency: 'USD' }, stock: 100 });
    await s.commerce.catalog.addToShowcase('room1', product.id);
    const deal = await s.commerce.deals.create('room1', 'host1', {
      productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 100, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 600,
    });
    const returning = buyers('ret', 150);
    const firstTime = buyers('new', 150);
    await saveCards(s, returning);
    // Everyone taps at once, in random order, through the HTTP route.
    // (Fisher–Yates: sorting with a random comparator is biased, and kept returning buyers ahead.)
    const all = [...returning, ...firstTime];
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    const answers = await Promise.all(all.map(async (b) => ({
      b, r: await s!.call('POST', '/v1/checkout', principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'tap' }),
    })));
    const won = answers.filter((a) => a.r.status === 200);
    expect(won).toHaveLength(100);
    expect(answers.filter((a) => a.r.status !== 200).every((a) => a.r.body.error.code === 'SOLD_OUT')).toBe(true);
    const firstWon = won.filter((a) => a.b.startsWith('new'));
    for (const a of firstWon) expect(a.r.body).toMatchObject({ status: 'CHECKOUT_RESERVED', dealId: deal.id });
    for (const a of won.filter((x) => x.b.startsWith('ret'))) expect(a.r.body).toMatchObject({ status: 'CHECKOUT_SETTLING' });
    const shareOfUnits = firstWon.length / won.length;
    const shareOfBuyers = firstTime.length / all.length;
    console.log('fairness:', JSON.stringify({ firstTimeWon: firstWon.length, returningWon: won.length - firstWon.length, shareOfUnits, shareOfBuyers }));
    // in whole percentage points (0.35 - 0.5 is 0.15000000000000002 in floating point)
    expect(Math.abs(Math.round(shareOfUnits * 100) - Math.round(shareOfBuyers * 100))).toBeLessThanOrEqual(15);
  }, 60_000);
});
