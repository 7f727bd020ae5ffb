import { OrderStore } from './OrderStore.js';
import type { Database, Queryable } from '../db/Database.js';
import type { SettlementQueue } from './SettlementQueue.js';
import type { RefundDecision, RefundPolicy, RefundReason } from './RefundPolicy.js';
import { ReturnShippingRates } from './ReturnShippingRates.js';
import { CommerceErrorCode, CommerceNotFoundError, StateError } from './errors.js';

/** A refund as stored: the decision and where it stands (awaiting_return, accepted, refunded, rejected). */
export type StoredRefund = RefundDecision & { status: string };

/** Refund statuses that take money off the payment (promised or paid). */
export const REFUND_COUNTED_STATUSES = ['accepted', 'awaiting_return', 'refunded'] as const;
const COUNTED_SQL = REFUND_COUNTED_STATUSES.map((st) => `'${st}'`).join(', ');

/**
 * Returns and refunds of paid orders through the RefundPolicy. A refund is decided once
 * per order, from amounts the server reads (the order, the captured payment, earlier
 * refunds, the shop's return-shipping rate), never from the request. The payment is
 * refunded by the refund worker (now, or once the return arrives when one is required),
 * and the affiliate commission is cancelled or clawed back.
 */
export class RefundService {
  readonly #db: Database;
  readonly #policy: RefundPolicy;
  readonly #queue: SettlementQueue;
  readonly #rates: ReturnShippingRates;

  constructor(db: Database, policy: RefundPolicy, queue: SettlementQueue, rates: ReturnShippingRates = new ReturnShippingRates(db)) {
    this.#db = db;
    this.#policy = policy;
    this.#queue = queue;
    this.#rates = rates;
  }

  /**
   * The buyer (or ops, `requesterId` null) asks for a refund. Idempotent: a second request
   * returns the first decision. Decided in one transaction with the order row locked, and
   * capped at captured − already refunded (StateError NOTHING_TO_REFUND when nothing is left).
   */
  async request(orderId: string, requesterId: string | null, reason: RefundReason): Promise<StoredRefund> {
    const stored = await this.#db.transaction(async (tx) => {
      const order = await OrderStore.lock(tx, orderId);
      if (!order || (requesterId !== null && order.buyerId !== requesterId)) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'order');
      const existing = await RefundService.#get(tx, orderId);
      if (existing) return existing;
      if (order.status !== 'paid') throw new StateError(CommerceErrorCode.OrderState, `order is ${order.status}`);
      const pay = await tx.query<{ amount: number; currency: string }>(
        "SELECT amount, currency FROM payments WHERE order_id = $1 AND status = 'captured'", [orderId]);
      if (!pay.rows[0]) throw new StateError(CommerceErrorCode.NothingToRefund, 'no captured payment');
      if (pay.rows[0].currency !== order.currency) throw new StateError(CommerceErrorCode.OrderState, 'payment and order currencies differ');
      const earlier = await tx.query<{ sum: number }>(
        `SELECT COALESCE(SUM(total), 0)::int8 AS sum FROM refunds WHERE order_id = $1 AND status IN (${COUNTED_SQL})`, [orderId]);
      const rate = await this.#rates.get(order.shopId, order.buyerRegion, tx);
      const decision = this.#policy.decide({
        itemAmount: order.totalAmount, currency: order.currency, reason,
        shippingRate: rate && { amount: rate.amount, currency: rate.currency },
        captured: Number(pay.rows[0].amount), alreadyRefunded: Number(earlier.rows[0].sum),
      });
      const status = decision.returnRequired ? 'awaiting_return' : 'accepted';
      await tx.query(
        `INSERT INTO refunds (order_id, reason, rule, return_required, item_refund, shipping_reimbursed, total, currency, status, capped)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
        [orderId, reason, decision.rule, decision.returnRequired, decision.itemRefund, decision.shippingReimbursed, decision.total,
          decision.currency, status, decision.capped]);
      return { ...decision, status };
    });
    // Also on a repeated request: a crash between the commit and this enqueue is repaired by asking again.
    if (stored.status === 'accepted') await this.#queue.enqueueRefund(orderId);
    return stored;
  }

  /** The seller received the return: the refund is paid out. */
  async markReturned(orderId: string): Promise<void> {
    const r = await this.#db.query("UPDATE refunds SET status = 'accepted' WHERE order_id = $1 AND status = 'awaiting_return'", [orderId]);
    if (r.rowCount === 0) {
      const existing = await RefundService.#get(this.#db, orderId);
      if (!existing) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'refund');
      if (existing.status !== 'accepted') return;
    }
    await this.#queue.enqueueRefund(orderId);
  }

  static async #get(q: Queryable, orderId: string): Promise<StoredRefund | null> {
    const { rows } = await q.query<Record<string, any>>(
      `SELECT return_required, item_refund, shipping_reimbursed, total, currency, rule, status, capped
       FROM refunds WHERE order_id = $1`, [orderId]);
    const r = rows[0];
    if (!r) return null;
    return {
      returnRequired: r.return_required, itemRefund: Number(r.item_refund), shippingReimbursed: Number(r.shipping_reimbursed),
      total: Number(r.total), currency: r.currency, rule: r.rule, capped: r.capped, status: r.status,
    };
  }
}
