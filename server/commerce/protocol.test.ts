import { describe, expect, it } from 'vitest';
import { flashcast, encodeClientFrame, decodeClientFrame, encodeServerFrame, decodeServerFrame } from '../../protocol/index.js';

describe('checkout wire messages', () => {
  it('Buy, BuyResult and DashboardStats round-trip through their frames', () => {
    const buy = { room: 'room1', productId: 'p1', quantity: 2, idempotencyKey: 'k1', dealId: 'd1', displayCurrency: 'JPY' };
    expect(decodeClientFrame(encodeClientFrame({ rid: 7, buy })).buy).toMatchObject(buy);
    const buyResult = {
      code: '', status: flashcast.CheckoutStatus.CHECKOUT_RESERVED, orderId: 'o1', holdExpiresAt: 1_800_000_000_000,
      total: { amount: 3998, currency: 'USD' }, displayTotal: { amount: 6052, currency: 'JPY' }, fxAsOf: 1_700_000_000_000,
      nextStep: { action: 'confirm_payment', method: 'POST', path: '/v1/deals/d1/orders/o1/confirm', methods: ['card', 'bnpl'], instalments: [3, 6], expiresAt: 1 },
    };
    expect(decodeServerFrame(encodeServerFrame({ rid: 7, buyResult })).buyResult).toMatchObject(buyResult);
    const dashboard = { room: 'room1', gmv: [{ amount: 123, currency: 'USD' }], orders: 1, units: 2, buyers: 1, viewers: 10, conversion: 0.1,
      products: [{ productId: 'p1', dealId: 'd1', gmv: { amount: 123, currency: 'USD' }, orders: 1, units: 2, buyers: 1, available: 8 }] };
    const ev = flashcast.RoomEvent.decode(flashcast.RoomEvent.encode({ room: 'room1', dashboard }).finish());
    expect(ev.dashboard).toMatchObject(dashboard);
    expect(ev.kind).toBe('dashboard');
  });

  it("shipping's fields round-trip, and a peer without them still reads the rest", () => {
    const buy = { room: 'room1', productId: 'p1', quantity: 1, idempotencyKey: 'k1', addressId: 'a_1' };
    expect(decodeClientFrame(encodeClientFrame({ rid: 8, buy })).buy).toMatchObject(buy);
    const buyResult = {
      code: '', status: flashcast.CheckoutStatus.CHECKOUT_SETTLING, orderId: 'o1', itemsTotal: { amount: 1999, currency: 'USD' },
      shipping: { amount: 1500, currency: 'USD' }, total: { amount: 3499, currency: 'USD' }, addressId: 'a_1', shipToCountry: 'ID', shippingCode: '',
    };
    const bytes = encodeServerFrame({ rid: 8, buyResult });
    expect(decodeServerFrame(bytes).buyResult).toMatchObject(buyResult);
    const held = { code: '', status: flashcast.CheckoutStatus.CHECKOUT_RESERVED, orderId: 'o2', shippingCode: 'ADDRESS_REQUIRED' };
    expect(decodeServerFrame(encodeServerFrame({ rid: 9, buyResult: held })).buyResult).toMatchObject(held);
    // A BuyResult encoded without shipping (an older server) decodes with the fields at their zero values.
    const old = decodeServerFrame(encodeServerFrame({ rid: 10, buyResult: { code: '', orderId: 'o3', total: { amount: 1, currency: 'USD' } } })).buyResult!;
    expect([old.shipping, old.itemsTotal, old.addressId, old.shippingCode]).toEqual([null, null, '', '']);
  });
});
