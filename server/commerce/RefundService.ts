import type { Database } from '../db/Database.js';
import type { SettlementQueue } from '../settlement/SettlementQueue.js';
import type { RefundDecision, RefundPolicy, RefundReason } from './RefundPolicy.js';
import { CommerceErrorCode, CommerceNotFoundError, StateError } from './errors.js';

/**
 * Returns and refunds of paid orders through the RefundPolicy. A refund is decided once
 * per order; the payment is refunded by the refund worker (now, or once the return arrives
 * when one is required), and the affiliate commission is cancelled or clawed back.
 */
export class RefundService {
  readonly #db: Database;
  readonly #policy: RefundPolicy;
  readonly #queue: SettlementQueue;

  constructor(db: Database, policy: RefundPolicy, queue: SettlementQueue) {
    this.#db = db;
    this.#policy = policy;
    this.#queue = queue;
  }

  /** The buyer (or ops) asks for a refund. Idempotent: a second request returns the first decision. */
  async request(orderId: string, requesterId: string | null, reason: RefundReason, returnShipping: number): Promise<RefundDecision & { status: string }> {
    const { rows } = await this.#db.query<{ buyer_id: string; status: string; total_amount: number; currency: string }>(
      'SELECT buyer_id, status, total_amount, currency FROM orders WHERE id = $1', [orderId]);
    const order = rows[0];
    if (!order || (requesterId !== null && order.buyer_id !== requesterId)) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'order');
    const existing = await this.#get(orderId);
    if (existing) return existing;
    if (order.status !== 'paid') throw new StateError(CommerceErrorCode.OrderState, `order is ${order.status}`);
    const decision = this.#policy.decide({ itemAmount: Number(order.total_amount), currency: order.currency, reason, returnShipping });
    const status = decision.returnRequired ? 'awaiting_return' : 'accepted';
    await this.#db.query(
      `INSERT INTO refunds (order_id, reason, rule, return_required, item_refund, shipping_reimbursed, total, currency, status)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (order_id) DO NOTHING`,
      [orderId, reason, decision.rule, decision.returnRequired, decision.itemRefund, decision.shippingReimbursed, decision.total, decision.currency, status]);
    const stored = (await this.#get(orderId))!;
    if (stored.status === 'accepted') await this.#queue.enqueueRefund(orderId);
    return stored;
  }

  /** The seller received the return: the refund is paid out. */
  async markReturned(orderId: string): Promise<void> {
    const r = await this.#db.query("UPDATE refunds SET status = 'accepted' WHERE order_id = $1 AND status = 'awaiting_return'", [orderId]);
    if (r.rowCount === 0) {
      const existing = await this.#get(orderId);
      if (!existing) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'refund');
      if (existing.status !== 'accepted') return;
    }
    await this.#queue.enqueueRefund(orderId);
  }

  async #get(orderId: string): Promise<(RefundDecision & { status: string }) | null> {
    const { rows } = await this.#db.query<Record<string, any>>('SELECT * FROM refunds WHERE order_id = $1', [orderId]);
    const r = rows[0];
    if (!r) return null;
    return {
      returnRequired: r.return_required, itemRefund: Number(r.item_refund), shippingReimbursed: Number(r.shipping_reimbursed),
      total: Number(r.total), currency: r.currency, rule: r.rule, status: r.status,
    };
  }
}
