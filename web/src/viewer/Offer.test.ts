import { describe, expect, it } from 'vitest';
import { flashcast } from '../../../protocol/gen/flashcast.js';
import { currentOffer, type DealInfo } from './Offer.js';

const { DEAL_SCHEDULED, DEAL_LIVE, DEAL_SOLD_OUT, DEAL_ENDED } = flashcast.DealPhase;
const card: flashcast.IProductCard = { productId: 'p1', title: 'Scarf', imageUrl: '', price: { amount: 2999, currency: 'USD' } };
const inv = (o: flashcast.IInventoryUpdate) => [o.dealId!, { productId: 'p1', ...o }] as const;
const offer = (entries: (readonly [string, flashcast.IInventoryUpdate])[], pinned = card, deals = new Map<string, DealInfo>()) =>
  currentOffer(pinned, new Map(entries), deals, 1000)!;

describe('the pinned product offer', () => {
  it('buys the live flash deal at its price, with its stock and end', () => {
    const o = offer([inv({ dealId: 'd1', available: 7, total: 20, phase: DEAL_LIVE, phaseEndsAt: 5000 })], { ...card, dealId: 'd1', dealPrice: { amount: 1999, currency: 'USD' } });
    expect(o.deal).toEqual({ id: 'd1', price: { amount: 1999, currency: 'USD' }, phase: DEAL_LIVE, available: 7, total: 20, endsAt: 5000 });
    expect(o.buy).toEqual({ dealId: 'd1', price: { amount: 1999, currency: 'USD' } });
    expect(o.blocked).toBeNull();
  });

  it('takes a deal created after the pin from the stock stream, its price from the deal lookup', () => {
    const deals = new Map<string, DealInfo>([['d2', { price: { amount: 1500, currency: 'USD' }, kind: 'flash', endsAt: 99_000 }], ['l1', { price: { amount: 2999, currency: 'USD' }, kind: 'regular', endsAt: 0 }]]);
    const o = offer([inv({ dealId: 'l1', available: 50, total: 50, phase: DEAL_LIVE }), inv({ dealId: 'd2', available: 5, total: 5, phase: DEAL_SCHEDULED, phaseEndsAt: 9000 })], card, deals);
    expect(o.deal?.id).toBe('d2');
    expect(o.deal?.price).toEqual({ amount: 1500, currency: 'USD' });
    expect(o.listing).toEqual({ id: 'l1', available: 50, total: 50 });
    // During the countdown nothing is bought (the deal wins the tap), not even at the regular price.
    expect(o.buy).toBeNull();
    expect(o.blocked).toBe('starts');
  });

  it('falls back to the listing when the deal sold out or ended, and says sold out when nothing is left', () => {
    const soldOut = inv({ dealId: 'd1', available: 0, total: 20, phase: DEAL_SOLD_OUT, phaseEndsAt: 5000 });
    expect(offer([soldOut, inv({ dealId: 'l1', available: 3, total: 9, phase: DEAL_LIVE })]).buy).toEqual({ dealId: 'l1', price: card.price });
    expect(offer([soldOut]).blocked).toBe('soldOut');
    expect(offer([inv({ dealId: 'd1', available: 0, total: 20, phase: DEAL_LIVE, phaseEndsAt: 5000 })]).blocked).toBe('soldOut');
    const ended = inv({ dealId: 'd1', available: 4, total: 20, phase: DEAL_ENDED, phaseEndsAt: 0 });
    expect(offer([ended])).toMatchObject({ deal: null, buy: null, blocked: 'ended' });
    expect(offer([ended, inv({ dealId: 'l1', available: 0, total: 9, phase: DEAL_SOLD_OUT })]).blocked).toBe('soldOut');
  });

  it('takes a scheduled deal whose start passed (on the server clock) as live until its end', () => {
    const deals = new Map<string, DealInfo>([['d2', { price: { amount: 1500, currency: 'USD' }, kind: 'flash', endsAt: 99_000 }]]);
    const o = offer([inv({ dealId: 'd2', available: 5, total: 5, phase: DEAL_SCHEDULED, phaseEndsAt: 900 })], card, deals);
    expect(o.deal).toMatchObject({ phase: DEAL_LIVE, endsAt: 99_000 });
    expect(o.buy?.dealId).toBe('d2');
    const later = offer([inv({ dealId: 'd2', available: 5, total: 5, phase: DEAL_SCHEDULED, phaseEndsAt: 1500 })], card, deals);
    expect(later.blocked).toBe('starts');
  });

  it('lets the server decide when no stock is known, ignores other products, and is null without a pin', () => {
    expect(offer([['x', { productId: 'p2', dealId: 'x', available: 1, phase: DEAL_LIVE, phaseEndsAt: 1 }]]).buy).toEqual({ dealId: '', price: card.price });
    expect(currentOffer(null, new Map(), new Map(), 0)).toBeNull();
  });
});
