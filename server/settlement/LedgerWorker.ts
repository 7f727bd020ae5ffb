import { Worker, type ConnectionOptions } from 'bullmq';
import type { Database } from '../db/Database.js';
import type { PaymentProvider } from './PaymentProvider.js';
import { QUEUES, type CommissionJob, type RefundJob } from './SettlementQueue.js';
import { CommissionLedger } from '../commerce/CommissionLedger.js';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';

const log = logger('LedgerWorker');

export type LedgerWorkerEvents = { credited: [orderId: string]; refunded: [orderId: string]; close: [] };

/**
 * Consumes the commission queue (delayed credits after the return window) and the refund
 * queue (provider refund with key `refund:<orderId>`, then order, refund and commission
 * clawback in one transaction).
 */
export class LedgerWorker extends EnhancedEventEmitter<LedgerWorkerEvents> {
  readonly #commission: Worker<CommissionJob>;
  readonly #refund: Worker<RefundJob>;
  readonly #db: Database;
  readonly #ledger: CommissionLedger;
  readonly #provider: PaymentProvider;
  #closing: Promise<void> | null = null;

  private constructor(connection: ConnectionOptions, prefix: string, db: Database, provider: PaymentProvider) {
    super();
    this.#db = db;
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

  /** Starts both workers. */
  static async create(connection: ConnectionOptions, prefix: string, db: Database, provider: PaymentProvider): Promise<LedgerWorker> {
    const w = new LedgerWorker(connection, prefix, db, provider);
    for (const worker of [w.#commission, w.#refund]) {
      void worker.run().catch((err) => log.error({ err }, 'worker stopped'));
      await worker.waitUntilReady();
    }
    return w;
  }

  async #processRefund(orderId: string): Promise<string> {
    const { rows } = await this.#db.query<{ status: string; total: number; currency: string; provider_ref: string }>(
      `SELECT r.status, r.total, r.currency, p.provider_ref FROM refunds r JOIN payments p ON p.order_id = r.order_id WHERE r.order_id = $1`, [orderId]);
    const r = rows[0];
    if (!r) throw new Error(`no refund for ${orderId}`);
    if (r.status === 'refunded') return 'refunded';
    if (r.status !== 'accepted') return r.status;
    const result = await this.#provider.refund({ idempotencyKey: `refund:${orderId}`, captureReference: r.provider_ref, amount: Number(r.total), currency: r.currency });
    if (result.status !== 'refunded') throw new Error(`refund rejected: ${result.reason}`);
    await this.#db.transaction(async (tx) => {
      await tx.query("UPDATE refunds SET status = 'refunded', provider_ref = $2 WHERE order_id = $1 AND status = 'accepted'", [orderId, result.reference]);
      await tx.query("UPDATE orders SET status = 'refunded' WHERE id = $1 AND status = 'paid'", [orderId]);
      await CommissionLedger.clawBack(tx, orderId);
    });
    this.safeEmit('refunded', orderId);
    return 'refunded';
  }

  /** Stops both workers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const w of [this.#commission, this.#refund]) {
        try {
          await w.close();
        } catch (err) {
          log.warn({ err }, 'worker close failed');
        }
      }
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
