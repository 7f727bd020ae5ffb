import { describe, expect, it } from 'vitest';
import { CommerceErrorCode } from '../../protocol/codes.js';
import { MAX_MINOR_UNITS } from './Currency.js';
import { ShippingQuote, type ShippingTable } from './ShippingQuote.js';

/**
 * One shop table per currency exponent, the same shape in each: a home-country rate with a
 * free-above threshold, a foreign rate without one, a zero rate, and a default (`*`) rate with
 * its own threshold. Amounts are minor units: ¥800, $15.00, KD 4.500.
 */
const CASES = [
  { currency: 'JPY', home: 'JP', foreign: 'ID', freeCountry: 'KR', homeRate: 500, homeFree: 5_000, foreignRate: 1_500, anyRate: 800, anyFree: 30_000 },
  { currency: 'USD', home: 'US', foreign: 'GB', freeCountry: 'CA', homeRate: 499, homeFree: 5_000, foreignRate: 2_500, anyRate: 1_500, anyFree: 20_000 },
  { currency: 'KWD', home: 'KW', foreign: 'SA', freeCountry: 'BH', homeRate: 1_250, homeFree: 20_000, foreignRate: 6_750, anyRate: 4_500, anyFree: 100_000 },
] as const;

describe.each(CASES)('ShippingQuote in $currency', (c) => {
  const table: ShippingTable = {
    currency: c.currency,
    rates: [
      { region: c.home, amount: c.homeRate, freeAbove: c.homeFree },
      { region: c.foreign, amount: c.foreignRate, freeAbove: null },
      { region: c.freeCountry, amount: 0, freeAbove: null },
      { region: '*', amount: c.anyRate, freeAbove: c.anyFree },
    ],
  };
  const items = (amount: number) => ({ amount, currency: c.currency });

  it("the destination's own rate wins over `*`; the total is items + shipping", () => {
    expect(ShippingQuote.compute(table, c.home, items(1_000))).toEqual({
      code: '', amount: c.homeRate, currency: c.currency, region: c.home, free: false, total: 1_000 + c.homeRate,
    });
    expect(ShippingQuote.compute(table, c.foreign, items(1_000))).toMatchObject({ amount: c.foreignRate, region: c.foreign, total: 1_000 + c.foreignRate });
  });

  it('a country without a rate of its own takes `*`', () => {
    expect(ShippingQuote.compute(table, 'FR', items(1_000))).toMatchObject({ code: '', amount: c.anyRate, region: '*', free: false, total: 1_000 + c.anyRate });
  });

  it('free from the threshold on: one minor unit under pays, at and above it is free', () => {
    expect(ShippingQuote.compute(table, c.home, items(c.homeFree - 1))).toMatchObject({ amount: c.homeRate, free: false, total: c.homeFree - 1 + c.homeRate });
    expect(ShippingQuote.compute(table, c.home, items(c.homeFree))).toMatchObject({ amount: 0, free: true, total: c.homeFree });
    expect(ShippingQuote.compute(table, c.home, items(c.homeFree + 1))).toMatchObject({ amount: 0, free: true, total: c.homeFree + 1 });
    // `*`'s threshold is its own.
    expect(ShippingQuote.compute(table, 'FR', items(c.anyFree - 1))).toMatchObject({ amount: c.anyRate, free: false });
    expect(ShippingQuote.compute(table, 'FR', items(c.anyFree))).toMatchObject({ amount: 0, free: true, region: '*' });
  });

  it("a country's rate without a threshold never turns free, even above `*`'s threshold", () => {
    expect(ShippingQuote.compute(table, c.foreign, items(c.anyFree * 10))).toMatchObject({ amount: c.foreignRate, free: false, region: c.foreign });
  });

  it('a zero rate ships for nothing without being "free above"; a zero threshold makes everything free', () => {
    expect(ShippingQuote.compute(table, c.freeCountry, items(1))).toMatchObject({ amount: 0, free: false, total: 1 });
    const alwaysFree: ShippingTable = { currency: c.currency, rates: [{ region: '*', amount: c.anyRate, freeAbove: 0 }] };
    expect(ShippingQuote.compute(alwaysFree, c.home, items(0))).toMatchObject({ amount: 0, free: true, total: 0 });
  });

  it('without a `*` rate, a country without its own rate cannot be shipped to', () => {
    const homeOnly: ShippingTable = { currency: c.currency, rates: [{ region: c.home, amount: c.homeRate, freeAbove: null }] };
    expect(ShippingQuote.compute(homeOnly, 'FR', items(1_000))).toEqual({ code: CommerceErrorCode.ShippingUnavailable });
    expect(ShippingQuote.compute(homeOnly, c.home, items(1_000))).toMatchObject({ code: '', amount: c.homeRate });
    expect(ShippingQuote.ships(homeOnly)).toBe(true);
    const none: ShippingTable = { currency: c.currency, rates: [] };
    expect(ShippingQuote.ships(none)).toBe(false);
    expect(ShippingQuote.compute(none, c.home, items(1_000))).toEqual({ code: CommerceErrorCode.ShippingUnavailable });
  });

  it('refuses a total beyond a safe integer, items in another currency, a malformed country', () => {
    expect(() => ShippingQuote.compute(table, c.foreign, items(MAX_MINOR_UNITS))).toThrowError(expect.objectContaining({ code: CommerceErrorCode.InvalidAmount }));
    // Above the home threshold nothing is added, so the largest items total still fits.
    expect(ShippingQuote.compute(table, c.home, items(MAX_MINOR_UNITS))).toMatchObject({ amount: 0, free: true, total: MAX_MINOR_UNITS });
    expect(ShippingQuote.compute(table, c.foreign, items(MAX_MINOR_UNITS - c.foreignRate))).toMatchObject({ total: MAX_MINOR_UNITS });
    expect(() => ShippingQuote.compute(table, c.home, { amount: 1_000, currency: c.currency === 'USD' ? 'EUR' : 'USD' })).toThrow(TypeError);
    for (const country of ['jp', 'JPN', '', '*']) expect(() => ShippingQuote.compute(table, country, items(1))).toThrow(TypeError);
    expect(() => ShippingQuote.compute(table, c.home, items(-1))).toThrowError(expect.objectContaining({ code: CommerceErrorCode.InvalidAmount }));
    expect(() => ShippingQuote.compute(table, c.home, items(1.5))).toThrowError(expect.objectContaining({ code: CommerceErrorCode.InvalidAmount }));
  });
});

describe('ShippingQuote overflow below the free threshold', () => {
  it('items + shipping one past a safe integer is refused', () => {
    const table: ShippingTable = { currency: 'USD', rates: [{ region: '*', amount: 2, freeAbove: null }] };
    expect(ShippingQuote.compute(table, 'US', { amount: MAX_MINOR_UNITS - 2, currency: 'USD' })).toMatchObject({ total: MAX_MINOR_UNITS });
    expect(() => ShippingQuote.compute(table, 'US', { amount: MAX_MINOR_UNITS - 1, currency: 'USD' })).toThrowError(expect.objectContaining({ code: CommerceErrorCode.InvalidAmount }));
  });
});
