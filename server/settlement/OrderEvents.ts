import { OrderStore, type OrderView } from '../commerce/OrderStore.js';
import type { SettleJob } from '../commerce/SettlementQueue.js';
import type { Queryable } from '../db/Database.js';
import type { WebhookOrder } from '../webhooks/WebhookEvent.js';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.js';
import { logger } from '../../common/logger.js';

const log = logger('OrderEvents');

/**
 * The order events of merchant webhooks (order.created, order.paid, order.failed,
 * order.refunded), recorded in the webhook outbox by the workers that change orders, right
 * after each change. Built from what the job already knows (no read on the money path); each
 * event is recorded once however often its job runs. Never throws.
 */
export class OrderEvents {
  readonly #outbox: WebhookOutbox;
  readonly #db: Queryable;

  constructor(outbox: WebhookOutbox, db: Queryable) {
    this.#outbox = outbox;
    this.#db = db;
  }

  /** The order claimed its units (`pending`): once per settle job (a retried order is a new job). */
  async created(job: SettleJob): Promise<void> {
    await this.#outbox.record({ shopId: job.shopId, type: 'order.created', key: `${job.orderId}.${job.attempt}`, data: { order: OrderEvents.fromJob(job, 'pending', null) } });
  }

  /** The order is paid: once per order. */
  async paid(job: SettleJob): Promise<void> {
    await this.#outbox.record({ shopId: job.shopId, type: 'order.paid', key: job.orderId, data: { order: OrderEvents.fromJob(job, 'paid', null) } });
  }

  /** The order failed (declined, expired, failed with `code`): once per settle job. */
  async failed(job: SettleJob, status: string, code: string): Promise<void> {
    await this.#outbox.record({ shopId: job.shopId, type: 'order.failed', key: `${job.orderId}.${job.attempt}`, data: { order: OrderEvents.fromJob(job, status, code) } });
  }

  /** The order was refunded (`amount` in the order's currency): once per order. */
  async refunded(orderId: string, refund: { amount: number; currency: string }): Promise<void> {
    let view: OrderView | null;
    try {
      view = await OrderStore.view(this.#db, orderId);
    } catch (err) {
      log.error({ err, orderId }, 'order.refunded not recorded: the order could not be read');
      return;
    }
    if (!view) return;
    await this.#outbox.record({ shopId: view.shop_id, type: 'order.refunded', key: orderId, data: { order: OrderEvents.fromView(view), refund } });
  }

  /** The order as webhooks carry it, from its settle job. */
  static fromJob(job: SettleJob, status: string, failCode: string | null): WebhookOrder {
    return {
      id: job.orderId, shop_id: job.shopId, room_id: job.roomId, deal_id: job.dealId || null, buyer_id: job.buyerId,
      idempotency_key: job.idempotencyKey, status, fail_code: failCode, total_amount: job.totalAmount, currency: job.currency,
      payment_method: job.method.type, instalment_count: job.instalments ?? null,
      lines: [{ product_id: job.productId, quantity: job.quantity, unit_amount: job.unitAmount, currency: job.currency }],
    };
  }

  /** The order as webhooks carry it, from its API view. */
  static fromView(v: OrderView): WebhookOrder {
    return {
      id: v.id, shop_id: v.shop_id, room_id: v.room_id, deal_id: v.deal_id || null, buyer_id: v.buyer_id, idempotency_key: v.idempotency_key,
      status: v.status, fail_code: v.fail_code, total_amount: v.total_amount, currency: v.currency, payment_method: v.payment_method,
      instalment_count: v.instalment_count,
      lines: v.lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity, unit_amount: l.unit_amount, currency: l.currency })),
    };
  }
}
