import { describe, expect, it } from 'vitest';
import { fromMinorUnits, toMinorUnits } from './moneyInput.js';

describe('toMinorUnits', () => {
  it('uses the currency exponent: 2, 0 and 3 decimals', () => {
    expect(toMinorUnits('12.5', 'USD')).toEqual({ amount: 1250 });
    expect(toMinorUnits('12,50', 'EUR')).toEqual({ amount: 1250 });
    expect(toMinorUnits('19.99', 'USD')).toEqual({ amount: 1999 });
    expect(toMinorUnits('0.07', 'USD')).toEqual({ amount: 7 });
    expect(toMinorUnits('150000', 'IDR')).toEqual({ amount: 15_000_000 });
    expect(toMinorUnits('1500', 'JPY')).toEqual({ amount: 1500 });
    expect(toMinorUnits('1500.', 'JPY')).toEqual({ amount: 1500 });
    expect(toMinorUnits('1500.00', 'JPY')).toEqual({ amount: 1500 });
    expect(toMinorUnits('1.234', 'KWD')).toEqual({ amount: 1234 });
    expect(toMinorUnits(' 7 ', 'USD')).toEqual({ amount: 700 });
    expect(toMinorUnits('0', 'USD')).toEqual({ amount: 0 });
  });

  it('refuses what it cannot read exactly', () => {
    expect(toMinorUnits('12.345', 'USD')).toEqual({ error: 'decimals' });
    expect(toMinorUnits('10.5', 'JPY')).toEqual({ error: 'decimals' });
    expect(toMinorUnits('1,500.00', 'USD')).toEqual({ error: 'format' });
    expect(toMinorUnits('1,500', 'USD')).toEqual({ error: 'format' });
    expect(toMinorUnits('-3', 'USD')).toEqual({ error: 'format' });
    expect(toMinorUnits('', 'USD')).toEqual({ error: 'format' });
    expect(toMinorUnits('1e3', 'USD')).toEqual({ error: 'format' });
    expect(toMinorUnits('12', 'XXX')).toEqual({ error: 'currency' });
    expect(toMinorUnits('99999999999999999', 'USD')).toEqual({ error: 'range' });
  });

  it('round-trips with fromMinorUnits', () => {
    for (const [amount, currency] of [[1250, 'USD'], [7, 'USD'], [1500, 'JPY'], [1234, 'KWD'], [15_000_000, 'IDR']] as const) {
      expect(toMinorUnits(fromMinorUnits(amount, currency), currency)).toEqual({ amount });
    }
    expect(fromMinorUnits(7, 'USD')).toBe('0.07');
    expect(fromMinorUnits(1500, 'JPY')).toBe('1500');
  });
});
