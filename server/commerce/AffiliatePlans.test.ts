import { describe, expect, it } from 'vitest';
import { AffiliatePlans, type AffiliatePlan } from './AffiliatePlans.js';

const plan = (over: Partial<AffiliatePlan> = {}): AffiliatePlan => ({
  id: 'ap1', shopId: 's1', productId: 'p1', creatorId: 'x', commissionBps: 1500,
  minDealPrice: { amount: 1000, currency: 'USD' }, status: 'open', createdAt: 0, ...over,
});
const terms = (o: { creatorId?: string; owner?: string; floor?: number | null; plan?: AffiliatePlan | null; price: number }) =>
  AffiliatePlans.dealTerms({ creatorId: o.creatorId ?? 'x', shopOwnerId: o.owner ?? 'seller', floor: o.floor ?? null, plan: o.plan ?? null, price: o.price, currency: 'USD' });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('AffiliatePlans.dealTerms (the one place that decides a deal commission)', () => {
  it("the creator's own product: commission 0, no plan, price at or above the floor", () => {
    expect(terms({ owner: 'x', price: 0 })).toEqual({ commissionBps: 0, planId: null });
    expect(terms({ owner: 'x', floor: 500, price: 500 })).toEqual({ commissionBps: 0, planId: null });
    expect(codeOf(() => terms({ owner: 'x', floor: 500, price: 499 }))).toBe('PRICE_BELOW_FLOOR');
    // an own product ignores any plan (no commission to oneself)
    expect(terms({ owner: 'x', plan: plan(), price: 1 })).toEqual({ commissionBps: 0, planId: null });
  });

  it("another shop's product: only under an open plan for this creator, at the plan's commission", () => {
    expect(codeOf(() => terms({ price: 5000 }))).toBe('AFFILIATE_PLAN_REQUIRED');
    expect(codeOf(() => terms({ plan: plan({ status: 'closed' }), price: 5000 }))).toBe('AFFILIATE_PLAN_REQUIRED');
    expect(codeOf(() => terms({ plan: plan({ creatorId: 'y' }), price: 5000 }))).toBe('AFFILIATE_PLAN_REQUIRED');
    expect(terms({ plan: plan(), price: 5000 })).toEqual({ commissionBps: 1500, planId: 'ap1' });
    expect(terms({ plan: plan({ creatorId: null }), price: 5000 })).toEqual({ commissionBps: 1500, planId: 'ap1' });
  });

  it('the lowest price is max(plan minimum, product floor)', () => {
    expect(codeOf(() => terms({ plan: plan(), price: 999 }))).toBe('PRICE_BELOW_FLOOR');
    expect(terms({ plan: plan(), price: 1000 }).commissionBps).toBe(1500);
    expect(codeOf(() => terms({ plan: plan(), floor: 2000, price: 1999 }))).toBe('PRICE_BELOW_FLOOR');
    expect(terms({ plan: plan(), floor: 2000, price: 2000 }).planId).toBe('ap1');
    // the reported finding: price 0 and a 100% commission on another shop's product
    expect(codeOf(() => terms({ plan: plan({ commissionBps: 10_000, minDealPrice: { amount: 1, currency: 'USD' } }), price: 0 }))).toBe('PRICE_BELOW_FLOOR');
    expect(codeOf(() => terms({ price: 0 }))).toBe('AFFILIATE_PLAN_REQUIRED');
  });
});
