import { describe, expect, it } from 'vitest';
import { Currency } from './Currency.js';
import { FxTable } from './FxTable.js';

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
