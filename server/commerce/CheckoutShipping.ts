import type { flashcast } from '../../protocol/index.js';
import type { Address } from '../../protocol/shipping.js';
import type { AddressBook, AddressLookup } from './AddressBook.js';
import type { ShippingRates } from './ShippingRates.js';
import { CommerceErrorCode } from './errors.js';
import { ShippingQuote, type ShippingTable } from './ShippingQuote.js';
import { logger } from '../../common/logger.js';

const log = logger('CheckoutShipping');

/**
 * What shipping makes of a tap:
 * - `none`: the shop does not ship (no rate): no address, nothing added;
 * - `ready`: ships to `address`, `amount` added (`total` = items + shipping);
 * - `address_required`: the shop ships, the buyer has no address yet: units may be held, the
 *   order is paid only once an address is added (confirm);
 * - `unknown`: Redis has no copy of the buyer's address book: decided after the hold;
 * - `refused`: not to that destination (REGION_BLOCKED, SHIPPING_UNAVAILABLE, ADDRESS_NOT_FOUND).
 */
export type ShippingPlan =
  | { kind: 'none' }
  | { kind: 'ready'; address: Address; amount: number; total: number; region: string }
  | { kind: 'address_required' }
  | { kind: 'unknown' }
  | { kind: 'refused'; code: string; message: string };

/** What shipping needs of the thing sold: the shop, the currency, and the deal's region rules. */
export interface SaleTerms {
  shopId: string;
  price: { currency: string };
  /** Empty: every country allowed. */
  allowedRegions: readonly string[];
  /** Countries never sold into (cross-border bans). */
  blockedRegions: readonly string[];
}

/** What a settle job carries about shipping (null: the shop does not ship). */
export interface ShippingCharge {
  amount: number;
  address: Address;
}

/**
 * Whether a country is closed to a sale: outside a non-empty allowed list, or in the blocked
 * list. The same rule `reserve-4.lua` applies to the buyer's region, applied to the destination.
 */
export function destinationBlocked(terms: Pick<SaleTerms, 'allowedRegions' | 'blockedRegions'>, country: string): boolean {
  return (terms.allowedRegions.length > 0 && !terms.allowedRegions.includes(country)) || terms.blockedRegions.includes(country);
}

/**
 * The shipping step of checkout: which address a tap ships to, whether the sale's region rules
 * let it go there, and what it costs (ShippingQuote over the shop's rates). `beforeHold` reads
 * Redis only (the buyer's cached address book, the shop's rates), so the tap's way to its hold
 * never waits for PostgreSQL; when Redis has no copy of the book, `afterHold` decides once the
 * units are held.
 */
export class CheckoutShipping {
  readonly #addresses: AddressBook;
  readonly #rates: ShippingRates;

  constructor(addresses: AddressBook, rates: ShippingRates) {
    this.#addresses = addresses;
    this.#rates = rates;
  }

  /** The plan before the hold: Redis and this node's memory only (never `unknown` for a shop that does not ship). */
  async beforeHold(userId: string, terms: SaleTerms, items: number, addressId?: string): Promise<ShippingPlan> {
    const table = await this.#rates.table(terms.shopId);
    if (!ShippingQuote.ships(table)) return { kind: 'none' };
    return CheckoutShipping.plan(table, await this.#addresses.cached(userId, addressId), terms, items);
  }

  /** The plan from PostgreSQL's address book (after the hold, or at confirm); never `unknown`. */
  async afterHold(userId: string, terms: SaleTerms, items: number, addressId?: string): Promise<ShippingPlan> {
    const table = await this.#rates.table(terms.shopId);
    if (!ShippingQuote.ships(table)) return { kind: 'none' };
    return CheckoutShipping.plan(table, await this.#addresses.lookup(userId, addressId), terms, items);
  }

  /** The decision, pure: the shop's table, what is known of the destination, the sale's rules. */
  static plan(table: ShippingTable, lookup: AddressLookup, terms: SaleTerms, items: number): ShippingPlan {
    if (!ShippingQuote.ships(table)) return { kind: 'none' };
    if (lookup.state === 'unknown') return { kind: 'unknown' };
    if (lookup.state === 'none') return { kind: 'address_required' };
    if (lookup.state === 'not_found') return { kind: 'refused', code: CommerceErrorCode.AddressNotFound, message: 'no such address in your address book' };
    const { country } = lookup.address;
    if (destinationBlocked(terms, country)) return { kind: 'refused', code: CommerceErrorCode.RegionBlocked, message: 'not available for delivery to this country' };
    if (table.currency !== terms.price.currency) {
      log.warn({ shopId: terms.shopId, rates: table.currency, price: terms.price.currency }, 'shipping rates and price in different currencies');
      return { kind: 'refused', code: CommerceErrorCode.ShippingUnavailable, message: 'the shop does not ship to this country' };
    }
    const quote = ShippingQuote.compute(table, country, { amount: items, currency: terms.price.currency });
    if (quote.code !== '') return { kind: 'refused', code: quote.code, message: 'the shop does not ship to this country' };
    return { kind: 'ready', address: lookup.address, amount: quote.amount, total: quote.total, region: quote.region };
  }

  /** Whether an order under this plan can be paid now (its settle job can be made). */
  static payable(plan: ShippingPlan): plan is { kind: 'none' } | Extract<ShippingPlan, { kind: 'ready' }> {
    return plan.kind === 'none' || plan.kind === 'ready';
  }

  /** The amount to charge (items + shipping) under a payable plan. */
  static total(plan: ShippingPlan, items: number): number {
    return plan.kind === 'ready' ? plan.total : items;
  }

  /** What the settle job carries (null: nothing ships). */
  static charge(plan: ShippingPlan): ShippingCharge | null {
    return plan.kind === 'ready' ? { amount: plan.amount, address: plan.address } : null;
  }

  /** The BuyResult's shipping fields: items, shipping, destination, total, and ADDRESS_REQUIRED when it applies. */
  static fields(plan: ShippingPlan, items: number, currency: string): flashcast.IBuyResult {
    const out: flashcast.IBuyResult = { itemsTotal: { amount: items, currency } };
    if (plan.kind === 'none') out.shipping = { amount: 0, currency };
    if (plan.kind === 'ready') {
      out.shipping = { amount: plan.amount, currency };
      out.total = { amount: plan.total, currency };
      out.addressId = plan.address.id;
      out.shipToCountry = plan.address.country;
    }
    if (plan.kind === 'address_required') out.shippingCode = CommerceErrorCode.AddressRequired;
    return out;
  }
}
