import type { Database, Queryable } from '../db/Database.js';
import { Currency } from './Currency.js';

/**
 * The affiliate commission ledger. A deal's commission is decided once, when the deal is made
 * (AffiliatePlans.dealTerms: the plan's rate for another shop's product, 0 for the creator's
 * own), and stored on the deal; nothing else sets a rate. A paid order accrues a pending
 * commission at that rate; a delayed job credits it after the return window; a refund cancels
 * it (still pending) or claws it back (already credited).
 */
export class CommissionLedger {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * SQL for the rate of a row `o` with a column deal_bps (the deal's own commission_bps):
   * that rate, or 0 when NULL. The same rule as `rateFor`, for set-based writes.
   */
  static rateSql(o: string): string {
    return `COALESCE(${o}.deal_bps, 0)`;
  }

  /** SQL for `Currency.applyBasisPoints(total, bps)` (half-up), exact in numeric for any int8 total. */
  static amountSql(total: string, bps: string): string {
    return `div(${total}::numeric * ${bps} * 2 + 10000, 20000)::int8`;
  }

  /** The rate of an order: the deal's own commission_bps, 0 when none. */
  static rateFor(dealBps: number | null | undefined): number {
    return dealBps ?? 0;
  }

  /** Accrues a pending commission for a paid order, inside the settlement transaction. Resolves to the amount (0: none). */
  static async accrue(tx: Queryable, order: { orderId: string; creatorId: string; productId: string; dealId: string; dealBps: number | null; total: number; currency: string; creditAfter: number }): Promise<number> {
    const bps = CommissionLedger.rateFor(order.dealBps);
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
