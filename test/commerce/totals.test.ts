import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { MAX_MINOR_UNITS } from '../../server/commerce/Currency.js';
import { startStack, type Stack } from './stack.js';
import { principal, waitFor } from './helpers.js';

let s: Stack | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const { CheckoutStatus } = flashcast;

/** A shop in `currency` with a live deal at `price` minor units, limit 5 per buyer. */
async function dealIn(stack: Stack, currency: string, country: string, price: number) {
  const shop = await stack.commerce.catalog.createShop({ ownerUserId: 'seller', name: `Shop ${currency}`, currency, country });
  const product = await stack.commerce.catalog.createProduct(shop.id, { titles: { en: 'Item' }, images: [], price: { amount: price, currency }, stock: 100 });
  await stack.commerce.catalog.addToShowcase('room1', product.id);
  const deal = await stack.commerce.deals.create('room1', 'seller', {
    productId: product.id, price: { amount: price, currency }, totalStock: 10, perBuyerLimit: 5, countdownSeconds: 0, durationSeconds: 600,
  });
  return { product, deal };
}

// Money rule: a purchase's total is computed on the server, in integer minor units of the deal's
// currency, and a total that overflows is refused before any stock is held.
describe.each([
  { currency: 'JPY', country: 'JP', price: 1_980 },     // 0 decimals: ¥1,980
  { currency: 'USD', country: 'US', price: 1_999 },     // 2 decimals: $19.99
  { currency: 'KWD', country: 'KW', price: 12_345 },    // 3 decimals: KD 12.345
])('totals in $currency (real Redis, PostgreSQL)', ({ currency, country, price }) => {
  it('the total is price × quantity in minor units, computed by the server and paid exactly', async () => {
    s = await startStack();
    const { product } = await dealIn(s, currency, country, price);
    await s.commerce.methods.save('ana', { type: 'card', token: 'tok_visa' });
    const r = await s.commerce.checkout.reserve(principal('ana'), { roomId: 'room1', productId: product.id, quantity: 3, idempotencyKey: 'k' });
    expect(r).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_SETTLING, unitPrice: { amount: price, currency }, total: { amount: price * 3, currency } });
    const paid = await waitFor(async () => (await s!.db.query<{ total_amount: string; currency: string }>(
      "SELECT total_amount, currency FROM orders WHERE id = $1 AND status = 'paid'", [r.orderId])).rows[0]);
    expect({ amount: Number(paid.total_amount), currency: paid.currency }).toEqual({ amount: price * 3, currency });
    const captured = (await s.db.query<{ amount: string }>('SELECT amount FROM payments WHERE order_id = $1', [r.orderId])).rows[0];
    expect(Number(captured.amount)).toBe(price * 3);
  });

  it('a total that overflows is refused before any stock is held', async () => {
    s = await startStack({ settle: false });
    const huge = Math.floor(MAX_MINOR_UNITS / 2); // × 2 fits, × 3 does not
    const { product, deal } = await dealIn(s, currency, country, huge);
    const res = await Reservation.create(s.redis, s.keys);
    const before = await res.stock(deal.id);
    const r = await s.commerce.checkout.reserve(principal('bo'), { roomId: 'room1', productId: product.id, quantity: 3, idempotencyKey: 'k' });
    expect(r).toMatchObject({ code: 'INVALID_AMOUNT', status: CheckoutStatus.CHECKOUT_FAILED });
    expect(await res.stock(deal.id)).toEqual(before); // nothing held, no version taken
    expect(await res.committedBy(deal.id)).toEqual({});
    // the largest total that fits is accepted
    const ok = await s.commerce.checkout.reserve(principal('bo'), { roomId: 'room1', productId: product.id, quantity: 2, idempotencyKey: 'k2' });
    expect(ok).toMatchObject({ code: '', total: { amount: huge * 2, currency } });
  });
});
