import { describe, expect, it } from 'vitest';
import { Currency } from './Currency.js';
import { FxTable } from './FxTable.js';
import { InstalmentPlan } from './InstalmentPlan.js';
import { RefundPolicy } from './RefundPolicy.js';

const fx = new FxTable([
  { base: 'USD', quote: 'JPY', rate: '151.37', asOf: 1_700_000_000_000 },
  { base: 'USD', quote: 'KWD', rate: '0.3075', asOf: 1_700_000_000_000 },
  { base: 'EUR', quote: 'USD', rate: '1.0850', asOf: 1_700_000_000_000 },
]);

describe('Currency', () => {
  it('knows exponents and rejects malformed codes', () => {
    expect(Currency.exponent('JPY')).toBe(0);
    expect(Currency.exponent('USD')).toBe(2);
    expect(Currency.exponent('KWD')).toBe(3);
    for (const bad of ['usd', 'US', 'XXX', '', 12, null, 'USDD']) expect(() => Currency.assert(bad)).toThrow(/unknown currency/);
    expect(() => Currency.assertAmount(-1)).toThrow();
    expect(() => Currency.assertAmount(1.5)).toThrow();
    expect(() => Currency.multiply(Number.MAX_SAFE_INTEGER, 2)).toThrow();
    expect(Currency.format(123456, 'KWD')).toBe('123.456 KWD');
    expect(Currency.format(5, 'USD')).toBe('0.05 USD');
    expect(Currency.applyBasisPoints(999, 1000)).toBe(100); // 99.9 rounds half up
  });
});

describe('FxTable', () => {
  it('converts with each currency exponent, rounding half up, and reports the rate timestamp', () => {
    expect(fx.convert(1999, 'USD', 'JPY')).toEqual({ amount: 3026, currency: 'JPY', rate: '151.37', asOf: 1_700_000_000_000 }); // 3025.886
    expect(fx.convert(1000, 'USD', 'KWD').amount).toBe(3075); // 10 USD = 3.075 KWD
    expect(fx.convert(3026, 'JPY', 'USD').amount).toBe(1999); // inverse
    expect(fx.convert(10000, 'EUR', 'JPY').amount).toBe(16424); // crossed via USD: 100*1.085*151.37 = 16423.645
    expect(fx.convert(500, 'USD', 'USD').amount).toBe(500);
    expect(() => fx.convert(1, 'USD', 'BRL')).toThrow(/no FX rate/);
    expect(() => fx.convert(1, 'USD', 'ABC')).toThrow(/unknown currency/);
    expect(() => new FxTable([{ base: 'USD', quote: 'JPY', rate: '-1', asOf: 1 }])).toThrow();
    expect(() => new FxTable([{ base: 'USD', quote: 'JPY', rate: '0', asOf: 1 }])).toThrow();
  });
});

describe('InstalmentPlan', () => {
  it('splits into 3 or 6 instalments summing exactly to the total', () => {
    for (const total of [0, 1, 2, 100, 1001, 99_999, 123_456_789]) {
      for (const n of [3, 6]) {
        const plan = InstalmentPlan.split(total, 'USD', n, 0);
        expect(plan).toHaveLength(n);
        expect(plan.reduce((s, i) => s + i.amount, 0)).toBe(total);
        expect(Math.max(...plan.map((i) => i.amount)) - Math.min(...plan.map((i) => i.amount))).toBeLessThanOrEqual(1);
      }
    }
    expect(InstalmentPlan.split(1000, 'JPY', 3, 0).map((i) => i.amount)).toEqual([334, 333, 333]);
    expect(() => InstalmentPlan.split(1000, 'USD', 4, 0)).toThrow();
  });
});

describe('RefundPolicy', () => {
  const policy = new RefundPolicy(fx);
  it('refunds items under $20 (or equivalent) without a return', () => {
    expect(policy.decide({ itemAmount: 1999, currency: 'USD', reason: 'quality', returnShipping: 800 }))
      .toMatchObject({ returnRequired: false, total: 1999, rule: 'low_value_keep' });
    // $20 = 3027 JPY; 3000 JPY is under it
    expect(policy.decide({ itemAmount: 3000, currency: 'JPY', reason: 'unwanted', returnShipping: 0 }).returnRequired).toBe(false);
    expect(policy.decide({ itemAmount: 3100, currency: 'JPY', reason: 'unwanted', returnShipping: 0 }).returnRequired).toBe(true);
  });
  it('reimburses return shipping in full for fit/unwanted, up to $10 for quality/logistics', () => {
    expect(policy.decide({ itemAmount: 5000, currency: 'USD', reason: 'doesnt_fit', returnShipping: 1500 }))
      .toMatchObject({ returnRequired: true, itemRefund: 5000, shippingReimbursed: 1500, total: 6500 });
    expect(policy.decide({ itemAmount: 5000, currency: 'USD', reason: 'logistics', returnShipping: 1500 }))
      .toMatchObject({ shippingReimbursed: 1000, total: 6000, rule: 'quality_capped_shipping' });
    expect(policy.decide({ itemAmount: 50_000, currency: 'KWD', reason: 'quality', returnShipping: 9_000 }).shippingReimbursed).toBe(3075);
  });
});
