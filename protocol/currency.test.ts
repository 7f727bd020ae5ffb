import { describe, expect, it } from 'vitest';
import { CURRENCY_EXPONENTS, formatMoney, isKnownCurrency } from './currency.js';

describe('currency', () => {
  it('knows the exponents of 0-, 2- and 3-decimal currencies', () => {
    expect(CURRENCY_EXPONENTS.JPY).toBe(0);
    expect(CURRENCY_EXPONENTS.USD).toBe(2);
    expect(CURRENCY_EXPONENTS.KWD).toBe(3);
    expect(isKnownCurrency('IDR')).toBe(true);
    expect(isKnownCurrency('XXX')).toBe(false);
    expect(isKnownCurrency('toString')).toBe(false);
  });

  it('formats minor units through Intl in the given locale', () => {
    expect(formatMoney(1999, 'USD', 'en-US')).toBe('$19.99');
    expect(formatMoney(1500, 'JPY', 'ja-JP')).toBe('￥1,500');
    // Indonesian shows rupiah without decimals; the amount is still in sen on the wire.
    expect(formatMoney(15_000_000, 'IDR', 'id-ID').replace(/\s/g, ' ')).toBe('Rp 150.000');
    expect(formatMoney(1234, 'KWD', 'en')).toContain('1.234');
  });
});
