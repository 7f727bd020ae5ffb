import type { Queryable } from '../db/Database.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { Currency } from './Currency.js';
import { CommerceErrorCode, CommerceNotFoundError } from './errors.js';

/** One return-shipping rate of a shop, in minor units of the shop currency. */
export interface ReturnShippingRate {
  shopId: string;
  /** ISO 3166-1 alpha-2 destination, or `*` for the shop's default. */
  region: string;
  amount: number;
  currency: string;
}

/** The region key of a shop's default rate. */
export const DEFAULT_REGION = '*';

const REGION_RE = /^[A-Z]{2}$/;

/**
 * The shops' return-shipping rate table (`return_shipping_rates`): what a shop reimburses
 * for a return to a region, or by default. Only the server reads it when deciding a refund;
 * the buyer never sends an amount. The RefundPolicy caps whatever is set here.
 */
export class ReturnShippingRates {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** Sets the shop's rate for `region` (`*`: its default). The amount is in the shop currency. */
  async set(shopId: string, region: string, amount: number): Promise<ReturnShippingRate> {
    ReturnShippingRates.#assertRegion(region);
    Currency.assertAmount(amount);
    const { rows } = await this.#db.query<{ currency: string }>('SELECT currency FROM shops WHERE id = $1', [shopId]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ShopNotFound, 'shop');
    const currency = Currency.assert(rows[0].currency);
    await this.#db.query(
      `INSERT INTO return_shipping_rates (shop_id, region, amount, currency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (shop_id, region) DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency, updated_at = now()`,
      [shopId, region, amount, currency]);
    return { shopId, region, amount, currency };
  }

  /**
   * The rate that applies to a return from `region`: the region's own, else the shop's
   * default, else null. `region` null (unknown) gets the default. `q`: run inside a transaction.
   */
  async get(shopId: string, region: string | null, q: Queryable = this.#db): Promise<ReturnShippingRate | null> {
    const exact = region !== null && REGION_RE.test(region) ? region : DEFAULT_REGION;
    const { rows } = await q.query<{ region: string; amount: number; currency: string }>(
      `SELECT region, amount, currency FROM return_shipping_rates
       WHERE shop_id = $1 AND region IN ($2, '*') ORDER BY (region = '*') LIMIT 1`, [shopId, exact]);
    const r = rows[0];
    return r ? { shopId, region: r.region, amount: Number(r.amount), currency: r.currency } : null;
  }

  /** Every rate of the shop, the default first. */
  async list(shopId: string): Promise<ReturnShippingRate[]> {
    const { rows } = await this.#db.query<{ region: string; amount: number; currency: string }>(
      `SELECT region, amount, currency FROM return_shipping_rates WHERE shop_id = $1 ORDER BY (region <> '*'), region`, [shopId]);
    return rows.map((r) => ({ shopId, region: r.region, amount: Number(r.amount), currency: r.currency }));
  }

  static #assertRegion(region: unknown): asserts region is string {
    if (typeof region !== 'string' || (region !== DEFAULT_REGION && !REGION_RE.test(region))) {
      throw new InvalidArgumentError('region must be an ISO 3166-1 alpha-2 code or "*"');
    }
  }
}
