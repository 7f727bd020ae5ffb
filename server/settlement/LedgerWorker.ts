import { OrderStore } from '../commerce/OrderStore.js';
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Database, Queryable } from '../db/Database.js';
import type { PaymentProvider } from '../commerce/PaymentProvider.js';
import { QUEUES, type CommissionJob, type RefundJob } from '../commerce/SettlementQueue.js';
import { CommissionLedger } from '../commerce/CommissionLedger.js';
import { InstalmentPlan } from '../commerce/InstalmentPlan.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';
import type { OrderEvents } from './OrderEvents.js';

const log = logger('LedgerWorker');

/** What the check before the provider call found. */
type RefundCheck =
  | { status: 'accepted'; total: number; currency: string; providerRef: string }
  | { status: 'rejected'; failure: string }
  | { status: 'skip'; current: string };

export type LedgerWorkerEvents = {
  credited: [orderId: string];
  /** A refund that would exceed what is left on the payment, or that the provider refused: no money moved. */
  rejected: [orderId: string, reason: string];
  close: [];
};

/**
 * Consumes the commission queue (delayed credits after the return window) and the refund
 * queue: the refund is checked again against captured − already refunded, the provider
 * refunds with key `refund:<orderId>`, then the refund, the order, the commission clawback
 * and the BNPL instalments are updated in one transaction.
 */
export class LedgerWorker extends EnhancedEventEmitter<LedgerWorkerEvents> {
  readonly #commission: Worker<CommissionJob>;
  readonly #refund: Worker<RefundJob>;
  readonly #db: Database;
  readonly #ledger: CommissionLedger;
  readonly #provider: PaymentProvider;
  readonly #events: OrderEvents | null;
  #closing: Promise<void> | null = null;

  private constructor(connection: ConnectionOptions, prefix: string, db: Database, provider: PaymentProvider, events: OrderEvents | null) {
    super();
    this.#db = db;
    this.#events = events;
    this.#ledger = new CommissionLedger(db);
    this.#provider = provider;
    this.#commission = new Worker<CommissionJob>(QUEUES.commission, async (job) => {
      const status = await this.#ledger.credit(job.data.orderId);
      if (status === 'pending') throw new Error('return window not over yet');
      if (status === 'credited') this.safeEmit('credited', job.data.orderId);
      return status;
    }, { connection, prefix, concurrency: 16, autorun: false });
    this.#refund = new Worker<RefundJob>(QUEUES.refund, async (job) => this.#processRefund(job.data.orderId),
      { connection, prefix, concurrency: 16, autorun: false });
    for (const w of [this.#commission, this.#refund]) w.on('error', (err) => log.warn({ err }, 'worker error'));
  }

  /** Starts both workers; `events` records order.refunded for merchant webhooks. */
  static async create(connection: ConnectionOptions, prefix: string, db: Database, provider: PaymentProvider, events: OrderEvents | null = null): Promise<LedgerWorker> {
    const w = new LedgerWorker(connection, prefix, db, provider, events);
    for (const worker of [w.#commission, w.#refund]) {
      void worker.run().catch((err) => log.error({ err }, 'worker stopped'));
      await worker.waitUntilReady();
    }
    return w;
  }

  async #processRefund(orderId: string): Promise<string> {
    const checked = await this.#db.transaction(async (tx): Promise<RefundCheck> => {
      // Same lock order as RefundService: the order row first.
      await OrderStore.lock(tx, orderId);
      const { rows } = await tx.query<{
        status: string; total: number; currency: string; provider_ref: string | null; captured: number | null; captured_currency: string | null; refunded: number;
      }>(
        `SELECT r.status, r.total, r.currency, p.provider_ref, p.amount AS captured, p.currency AS captured_currency,
           (SELECT COALESCE(SUM(x.total), 0)::int8 FROM refunds x WHERE x.order_id = r.order_id AND x.status = 'refunded') AS refunded
         FROM refunds r LEFT JOIN payments p ON p.order_id = r.order_id AND p.status = 'captured' WHERE r.order_id = $1`, [orderId]);
      const r = rows[0];
      if (!r) throw new Error(`no refund for ${orderId}`);
      if (r.status !== 'accepted') return { status: 'skip', current: r.status };
      const total = Number(r.total);
      let failure: string | null = null;
      if (r.provider_ref === null || r.captured === null) failure = 'no_capture';
      else if (r.captured_currency !== r.currency) failure = 'currency_mismatch';
      else if (!Number.isSafeInteger(total) || total <= 0 || total > Number(r.captured) - Number(r.refunded)) failure = 'exceeds_refundable';
      if (failure) {
        await LedgerWorker.#reject(tx, orderId, failure);
        return { status: 'rejected', failure };
      }
      return { status: 'accepted', total, currency: r.currency, providerRef: r.provider_ref! };
    });
    if (checked.status === 'rejected') {
      log.error({ orderId, reason: checked.failure }, 'refund refused before calling the provider');
      this.safeEmit('rejected', orderId, checked.failure);
      return 'rejected';
    }
    if (checked.status === 'skip') return checked.current;
    const result = await this.#provider.refund({ idempotencyKey: `refund:${orderId}`, captureReference: checked.providerRef, amount: checked.total, currency: checked.currency });
    if (result.status !== 'refunded') {
      // A PSP refusal is final (retrying the same refund gets the same answer): ops see it on the refund row.
      await this.#db.transaction((tx) => LedgerWorker.#reject(tx, orderId, result.reason));
      log.error({ orderId, reason: result.reason }, 'provider rejected the refund');
      this.safeEmit('rejected', orderId, result.reason);
      return 'rejected';
    }
    const refundedNow = await this.#db.transaction(async (tx) => {
      const done = await tx.query("UPDATE refunds SET status = 'refunded', provider_ref = $2 WHERE order_id = $1 AND status = 'accepted'", [orderId, result.reference]);
      if (done.rowCount === 0) return false; // a re-run: everything below was done by the first
      await OrderStore.markRefunded(tx, orderId);
      await CommissionLedger.clawBack(tx, orderId);
      await LedgerWorker.#refundInstalments(tx, orderId, checked.total);
      return true;
    });
    if (refundedNow) await this.#events?.refunded(orderId, { amount: checked.total, currency: checked.currency });
    return 'refunded';
  }

  /** BNPL: the refund lowers the outstanding instalments, the last first; a full refund cancels them all. */
  static async #refundInstalments(tx: Queryable, orderId: string, amount: number): Promise<void> {
    const { rows } = await tx.query<{ seq: number; amount: number; status: string }>(
      'SELECT seq, amount, status FROM instalments WHERE order_id = $1 ORDER BY seq FOR UPDATE', [orderId]);
    if (rows.length === 0) return;
    const sums = await tx.query<{ captured: number; refunded: number }>(
      `SELECT p.amount AS captured, (SELECT COALESCE(SUM(total), 0)::int8 FROM refunds WHERE order_id = $1 AND status = 'refunded') AS refunded
       FROM payments p WHERE p.order_id = $1`, [orderId]);
    const full = sums.rows[0] !== undefined && Number(sums.rows[0].refunded) >= Number(sums.rows[0].captured);
    const before = rows.map((r) => ({ seq: r.seq, amount: Number(r.amount), status: r.status }));
    const after = InstalmentPlan.applyRefund(before, amount, full);
    for (let i = 0; i < before.length; i++) {
      const a = after.instalments[i];
      if (a.amount === before[i].amount && a.status === before[i].status) continue;
      await tx.query('UPDATE instalments SET amount = $3, status = $4 WHERE order_id = $1 AND seq = $2', [orderId, a.seq, a.amount, a.status]);
    }
    log.info({ orderId, reduced: after.reduced, excess: after.excess, full }, 'instalments follow the refund');
  }

  static async #reject(tx: Queryable, orderId: string, reason: string): Promise<void> {
    await tx.query("UPDATE refunds SET status = 'rejected', failure_reason = $2 WHERE order_id = $1 AND status = 'accepted'", [orderId, reason]);
  }

  /** Stops both workers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await runCloseSteps(log, [
        ['commission worker', () => this.#commission.close()],
        ['refund worker', () => this.#refund.close()],
      ]);
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
