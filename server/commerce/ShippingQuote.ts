import { CommerceErrorCode } from '../../protocol/codes.js';
import { Currency } from './Currency.js';
import { InvalidAmountError } from './errors.js';

/** The region of a shop's rate for every country without a rate of its own. */
export const ANY_REGION = '*';

/** One rate of a shop: to a country (ISO 3166-1 alpha-2) or `*`, in minor units of the shop currency. */
export interface ShippingRate {
  region: string;
  amount: number;
  /** Shipping is free when the items total reaches this (null: never). */
  freeAbove: number | null;
}

/** A shop's shipping rates and their currency (the shop's). No rate: the shop does not ship. */
export interface ShippingTable {
  currency: string;
  rates: readonly ShippingRate[];
}

/** What shipping costs an order, or why it cannot ship there. */
export type Quote =
  | {
    code: '';
    /** Shipping charged (0 when free), minor units of `currency`. */
    amount: number;
    currency: string;
    /** The rate applied: the destination's own, or `*`. */
    region: string;
    /** The rate's free-above threshold was reached. */
    free: boolean;
    /** Items total + shipping. */
    total: number;
  }
  | { code: typeof CommerceErrorCode.ShippingUnavailable };

const COUNTRY = /^[A-Z]{2}$/;

/**
 * The shipping of one order, a pure decision: the destination country's own rate, else the
 * shop's `*` rate, else none (SHIPPING_UNAVAILABLE); nothing when the items total reaches the
 * rate's threshold. One charge per order, whatever the quantity. Integer minor units of the
 * shop currency throughout, so 0-, 2- and 3-decimal currencies are all exact.
 */
export class ShippingQuote {
  private constructor() {}

  /** Whether the shop ships at all (has at least one rate). */
  static ships(table: ShippingTable): boolean {
    return table.rates.length > 0;
  }

  /** The rate that applies to a destination country: its own, else `*`, else null. */
  static rateFor(table: ShippingTable, country: string): ShippingRate | null {
    let fallback: ShippingRate | null = null;
    for (const r of table.rates) {
      if (r.region === country) return r;
      if (r.region === ANY_REGION) fallback = r;
    }
    return fallback;
  }

  /**
   * Shipping to `country` for an order whose items total `items` (in the shop currency: a
   * mismatch is a TypeError). An items total plus shipping beyond a safe integer is refused
   * (InvalidAmountError).
   */
  static compute(table: ShippingTable, country: string, items: { amount: number; currency: string }): Quote {
    if (typeof country !== 'string' || !COUNTRY.test(country)) throw new TypeError('country must be an ISO 3166-1 alpha-2 code');
    if (items.currency !== table.currency) throw new TypeError(`items are in ${items.currency}, shipping rates in ${table.currency}`);
    Currency.assertAmount(items.amount);
    const rate = ShippingQuote.rateFor(table, country);
    if (!rate) return { code: CommerceErrorCode.ShippingUnavailable };
    const free = rate.freeAbove !== null && items.amount >= rate.freeAbove;
    const amount = free ? 0 : Currency.assertAmount(rate.amount);
    const total = items.amount + amount;
    if (!Number.isSafeInteger(total)) throw new InvalidAmountError('amount overflow');
    return { code: '', amount, currency: table.currency, region: rate.region, free, total };
  }
}
