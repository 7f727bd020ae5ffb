import { describe, expect, it } from 'vitest';
import { convertMinor, fxLookup } from './fx.js';

const rates = fxLookup([
  { base: 'USD', quote: 'IDR', rate: '16250.5', asOf: 1_700_000_000_000 },
  { base: 'USD', quote: 'JPY', rate: '151.37', asOf: 1_700_000_000_500 },
  { base: 'EUR', quote: 'USD', rate: '1.085', asOf: 1_700_000_000_000 },
]);

describe('convertMinor (the rule the server and the pages share)', () => {
  it('converts direct, inverse and USD-crossed quotes, half up, to the target exponent', () => {
    expect(convertMinor(rates, 1999, 'USD', 'IDR')).toEqual({ amount: 32_484_750, currency: 'IDR', rate: '16250.5', asOf: 1_700_000_000_000 }); // 324847.495 IDR: exactly half a sen, rounded up
    expect(convertMinor(rates, 3026, 'JPY', 'USD')?.amount).toBe(1999);
    expect(convertMinor(rates, 10000, 'EUR', 'JPY')).toMatchObject({ amount: 16424, rate: '1.085*151.37', asOf: 1_700_000_000_000 });
    expect(convertMinor(rates, 7, 'USD', 'USD')).toEqual({ amount: 7, currency: 'USD', rate: '1', asOf: 0 });
  });

  it('answers null when no quote links the pair', () => {
    expect(convertMinor(rates, 100, 'USD', 'THB')).toBeNull();
  });
});
