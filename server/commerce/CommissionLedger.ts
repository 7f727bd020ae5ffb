import type { Database, Queryable } from '../db/Database.js';
import { Currency } from './Currency.js';

export type CommissionScope = 'creator' | 'product' | 'deal';

/**
 * The affiliate commission ledger. Rates are set per creator, per creator and product, or
 * per deal (most specific wins; a rate on the deal itself wins over all). A paid order
 * accrues a pending commission; a delayed job credits it after the return window; a refund
 * cancels it (still pending) or claws it back (already credited).
 */
export class CommissionLedger {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Sets a rate (basis points, 0-10000). */
  async setRate(creatorId: string, scope: CommissionScope, scopeId: string, rateBps: number): Promise<void> {
    if (!Number.isInteger(rateBps) || rateBps < 0 || rateBps > 10_000) throw new TypeError('rate must be 0-10000 basis points');
    await this.#db.query(
      `INSERT INTO affiliate_rates (creator_id, scope, scope_id, rate_bps) VALUES ($1,$2,$3,$4)
       ON CONFLICT (creator_id, scope, scope_id) DO UPDATE SET rate_bps = EXCLUDED.rate_bps`,
      [creatorId, scope, scopeId, rateBps],
    );
  }

  /**
   * SQL for the rate that applies to a row `o` with columns creator_id, product_id, deal_id and
   * deal_bps (the deal's own rate or NULL): the same rule as `rateFor`, for set-based writes.
   */
  static rateSql(o: string): string {
    return `COALESCE(${o}.deal_bps, (SELECT r.rate_bps FROM affiliate_rates r WHERE r.creator_id = ${o}.creator_id AND (
      (r.scope = 'deal' AND r.scope_id = ${o}.deal_id) OR (r.scope = 'product' AND r.scope_id = ${o}.product_id)
      OR (r.scope = 'creator' AND r.scope_id = ${o}.creator_id))
      ORDER BY CASE r.scope WHEN 'deal' THEN 0 WHEN 'product' THEN 1 ELSE 2 END LIMIT 1), 0)`;
  }

  /** SQL for `Currency.applyBasisPoints(total, bps)` (half-up), exact in numeric for any int8 total. */
  static amountSql(total: string, bps: string): string {
    return `div(${total}::numeric * ${bps} * 2 + 10000, 20000)::int8`;
  }

  /** The rate that applies to an order of `productId` in `dealId` credited to `creatorId`. */
  static async rateFor(tx: Queryable, creatorId: string, productId: string, dealId: string, dealBps: number | null): Promise<number> {
    if (dealBps !== null && dealBps !== undefined) return dealBps;
    const { rows } = await tx.query<{ rate_bps: number }>(
      `SELECT rate_bps FROM affiliate_rates WHERE creator_id = $1 AND (
         (scope = 'deal' AND scope_id = $3) OR (scope = 'product' AND scope_id = $2) OR (scope = 'creator' AND scope_id = $1))
       ORDER BY CASE scope WHEN 'deal' THEN 0 WHEN 'product' THEN 1 ELSE 2 END LIMIT 1`,
      [creatorId, productId, dealId],
    );
    return rows[0]?.rate_bps ?? 0;
  }

  /** Accrues a pending commission for a paid order, inside the settlement transaction. Resolves to the amount (0: none). */
  static async accrue(tx: Queryable, order: { orderId: string; creatorId: string; productId: string; dealId: string; dealBps: number | null; total: number; currency: string; creditAfter: number }): Promise<number> {
    const bps = await CommissionLedger.rateFor(tx, order.creatorId, order.productId, order.dealId, order.dealBps);
    if (bps <= 0) return 0;
    const amount = Currency.applyBasisPoints(order.total, bps);
    await tx.query(
      `INSERT INTO commissions (order_id, creator_id, rate_bps, amount, currency, status, credit_after)
       VALUES ($1,$2,$3,$4,$5,'pending',$6) ON CONFLICT (order_id) DO NOTHING`,
      [order.orderId, order.creatorId, bps, amount, order.currency, new Date(order.creditAfter)],
    );
    return amount;
  }

  /** Credits a pending commission whose return window has passed. Resolves to the resulting status. */
  async credit(orderId: string): Promise<string | null> {
    const r = await this.#db.query<{ status: string }>(
      `UPDATE commissions SET status = 'credited', credited_at = now()
       WHERE order_id = $1 AND status = 'pending' AND credit_after <= now() RETURNING status`, [orderId]);
    if (r.rows[0]) return r.rows[0].status;
    const { rows } = await this.#db.query<{ status: string }>('SELECT status FROM commissions WHERE order_id = $1', [orderId]);
    return rows[0]?.status ?? null;
  }

  /** On refund: pending -> cancelled, credited -> clawed_back. */
  static async clawBack(tx: Queryable, orderId: string): Promise<void> {
    await tx.query(
      `UPDATE commissions SET status = CASE status WHEN 'pending' THEN 'cancelled' ELSE 'clawed_back' END,
         clawed_back_at = now() WHERE order_id = $1 AND status IN ('pending', 'credited')`, [orderId]);
  }

  /** A creator's balances per currency: pending and credited (clawed back / cancelled excluded). */
  async balance(creatorId: string): Promise<{ currency: string; pending: number; credited: number }[]> {
    const { rows } = await this.#db.query<{ currency: string; pending: number; credited: number }>(
      `SELECT currency,
         COALESCE(SUM(amount) FILTER (WHERE status = 'pending'), 0)::int8 AS pending,
         COALESCE(SUM(amount) FILTER (WHERE status = 'credited'), 0)::int8 AS credited
       FROM commissions WHERE creator_id = $1 GROUP BY currency ORDER BY currency`, [creatorId]);
    return rows;
  }
}
