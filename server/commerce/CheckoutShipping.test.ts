import { describe, expect, it } from 'vitest';
import { CommerceErrorCode } from '../../protocol/codes.js';
import type { Address } from '../../protocol/shipping.js';
import type { AddressLookup } from './AddressBook.js';
import { CheckoutShipping, destinationBlocked, type SaleTerms } from './CheckoutShipping.js';
import type { ShippingTable } from './ShippingQuote.js';

const address = (country: string): Address => ({
  id: `a_${country}`, name: 'Ana', phone: '+6281234567890', line1: 'Street 1', line2: null, district: null, city: 'City', state: 'State',
  postalCode: null, country,
});
const found = (country: string): AddressLookup => ({ state: 'found', address: address(country) });
const table: ShippingTable = { currency: 'USD', rates: [{ region: 'US', amount: 500, freeAbove: 5_000 }, { region: 'ID', amount: 1_500, freeAbove: null }] };
const open: SaleTerms = { shopId: 's1', price: { currency: 'USD' }, allowedRegions: [], blockedRegions: [] };
const plan = (lookup: AddressLookup, terms: SaleTerms = open, items = 2_000, rates: ShippingTable = table) => CheckoutShipping.plan(rates, lookup, terms, items);

describe('destinationBlocked', () => {
  it('applies the sale region rules to the destination: outside a non-empty allowed list, or blocked', () => {
    expect(destinationBlocked({ allowedRegions: [], blockedRegions: [] }, 'VN')).toBe(false);
    expect(destinationBlocked({ allowedRegions: [], blockedRegions: ['VN'] }, 'VN')).toBe(true);
    expect(destinationBlocked({ allowedRegions: ['ID', 'MY'], blockedRegions: [] }, 'MY')).toBe(false);
    expect(destinationBlocked({ allowedRegions: ['ID', 'MY'], blockedRegions: [] }, 'TH')).toBe(true);
    expect(destinationBlocked({ allowedRegions: ['ID'], blockedRegions: ['ID'] }, 'ID')).toBe(true);
  });
});

describe('CheckoutShipping.plan', () => {
  it('a shop without rates does not ship: nothing is asked of the buyer, whatever is known', () => {
    const none: ShippingTable = { currency: 'USD', rates: [] };
    for (const lookup of [found('US'), { state: 'unknown' }, { state: 'none' }, { state: 'not_found' }] as AddressLookup[]) {
      expect(plan(lookup, open, 2_000, none)).toEqual({ kind: 'none' });
    }
  });

  it('what is known of the buyer decides: unknown waits for the hold, none needs an address, not_found is refused', () => {
    expect(plan({ state: 'unknown' })).toEqual({ kind: 'unknown' });
    expect(plan({ state: 'none' })).toEqual({ kind: 'address_required' });
    expect(plan({ state: 'not_found' })).toMatchObject({ kind: 'refused', code: CommerceErrorCode.AddressNotFound });
  });

  it('ships to a destination with a rate, items + shipping, free above the threshold', () => {
    expect(plan(found('ID'))).toEqual({ kind: 'ready', address: address('ID'), amount: 1_500, total: 3_500, region: 'ID' });
    expect(plan(found('US'), open, 4_999)).toMatchObject({ kind: 'ready', amount: 500, total: 5_499 });
    expect(plan(found('US'), open, 5_000)).toMatchObject({ kind: 'ready', amount: 0, total: 5_000 });
  });

  it('refuses a destination the sale rules close (REGION_BLOCKED) before asking the rates', () => {
    expect(plan(found('ID'), { ...open, blockedRegions: ['ID'] })).toMatchObject({ kind: 'refused', code: CommerceErrorCode.RegionBlocked });
    expect(plan(found('ID'), { ...open, allowedRegions: ['US'] })).toMatchObject({ kind: 'refused', code: CommerceErrorCode.RegionBlocked });
    // Blocked wins even where the shop has no rate.
    expect(plan(found('FR'), { ...open, blockedRegions: ['FR'] })).toMatchObject({ kind: 'refused', code: CommerceErrorCode.RegionBlocked });
  });

  it('refuses a destination the shop has no rate for, or rates in another currency than the price (SHIPPING_UNAVAILABLE)', () => {
    expect(plan(found('FR'))).toMatchObject({ kind: 'refused', code: CommerceErrorCode.ShippingUnavailable });
    expect(plan(found('US'), { ...open, price: { currency: 'EUR' } })).toMatchObject({ kind: 'refused', code: CommerceErrorCode.ShippingUnavailable });
  });
});

describe('CheckoutShipping answers', () => {
  it('the BuyResult shows items, shipping, destination and total; ADDRESS_REQUIRED as a code, not text', () => {
    const ready = plan(found('ID'));
    expect(CheckoutShipping.fields(ready, 2_000, 'USD')).toEqual({
      itemsTotal: { amount: 2_000, currency: 'USD' }, shipping: { amount: 1_500, currency: 'USD' }, total: { amount: 3_500, currency: 'USD' },
      addressId: 'a_ID', shipToCountry: 'ID',
    });
    expect(CheckoutShipping.fields({ kind: 'none' }, 2_000, 'USD')).toEqual({ itemsTotal: { amount: 2_000, currency: 'USD' }, shipping: { amount: 0, currency: 'USD' } });
    expect(CheckoutShipping.fields({ kind: 'address_required' }, 2_000, 'USD')).toEqual({
      itemsTotal: { amount: 2_000, currency: 'USD' }, shippingCode: CommerceErrorCode.AddressRequired,
    });
  });

  it('only a plan that knows where to ship (or that nothing ships) can be paid; the job carries the charge', () => {
    const ready = plan(found('ID'));
    expect([ready, { kind: 'none' }, { kind: 'address_required' }, { kind: 'unknown' }].map((p) => CheckoutShipping.payable(p as never))).toEqual([true, true, false, false]);
    expect(CheckoutShipping.total(ready, 2_000)).toBe(3_500);
    expect(CheckoutShipping.total({ kind: 'none' }, 2_000)).toBe(2_000);
    expect(CheckoutShipping.charge(ready)).toEqual({ amount: 1_500, address: address('ID') });
    expect(CheckoutShipping.charge({ kind: 'none' })).toBeNull();
  });
});
