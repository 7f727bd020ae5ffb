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
});
