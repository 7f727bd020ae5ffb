import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../redis/keys.js';
import type { Reservation, StockChange } from '../commerce/Reservation.js';
import type { RoomBroadcaster } from '../commerce/RoomBroadcaster.js';
import type { PurchaseTicker } from '../commerce/PurchaseTicker.js';
import type { PaymentMethods } from '../commerce/PaymentMethods.js';
import type { PaymentProvider } from './PaymentProvider.js';
import type { OrderNotifier, OrderUpdate } from './OrderNotifier.js';
import { QUEUES, type SettleJob, type SettlementQueue } from './SettlementQueue.js';
import { InstalmentPlan } from '../commerce/InstalmentPlan.js';
import { PaidOrderWriter } from './PaidOrderWriter.js';
import { MicroBatcher } from '../commerce/MicroBatcher.js';
import { stockUpdate } from '../commerce/StockUpdate.js';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { SettlementError, SettlementErrorCode } from './errors.js';

const log = logger('SettlementWorker');

export interface SettlementWorkerOptions {
  /**
   * Jobs in flight (default 256). A job mostly waits (payment provider, Redis, batched SQL), so
   * orders/s ≈ concurrency / job latency: 1,000 orders/s with a 200 ms provider needs 200 in flight.
   */
  concurrency: number;
  /** Return window after which affiliate commission is credited (default 14 days). */
  returnWindowMs: number;
  /** BullMQ lock duration / stalled check: how fast a crashed worker's job is picked up again. */
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export type SettlementWorkerEvents = {
  orderpaid: [SettleJob];
  orderfailed: [SettleJob, string];
  close: [];
};

export type SettleOutcome = 'paid' | 'declined' | 'expired';

/**
 * Settles orders: commits the hold, captures payment (idempotency key = order id), writes
 * order, lines, payment, instalments and commission in one PostgreSQL transaction (unique
 * order id), turns the hold into a sale and announces it to the room. Transient provider
 * failures are retried with backoff; a decline releases the hold and tells the buyer.
 */
export class SettlementWorker extends EnhancedEventEmitter<SettlementWorkerEvents> {
  readonly #worker: Worker<SettleJob, SettleOutcome>;
  readonly #db: Database;
  readonly #reservation: Reservation;
  readonly #provider: PaymentProvider;
  readonly #broadcaster: RoomBroadcaster;
  readonly #ticker: PurchaseTicker;
  readonly #queue: SettlementQueue;
  readonly #methods: PaymentMethods;
  readonly #notifier: OrderNotifier | null;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #options: SettlementWorkerOptions;
  readonly #dealCache = new Map<string, { creatorId: string; commissionBps: number | null; total: number }>();
  readonly #writer: PaidOrderWriter;
  /** Status of orders already recorded, looked up in batches (one query for the jobs of one tick). */
  readonly #recorded: MicroBatcher<string, string | null>;
  #closing: Promise<void> | null = null;

  private constructor(params: SettlementWorkerParams, options: SettlementWorkerOptions) {
    super();
    this.#db = params.db;
    this.#reservation = params.reservation;
    this.#provider = params.provider;
    this.#broadcaster = params.broadcaster;
    this.#ticker = params.ticker;
    this.#queue = params.queue;
    this.#methods = params.methods;
    this.#notifier = params.notifier ?? null;
    this.#redis = params.redis;
    this.#keys = params.keys;
    this.#options = options;
    this.#writer = new PaidOrderWriter(params.db);
    this.#recorded = new MicroBatcher(async (ids) => {
      const { rows } = await params.db.query<{ id: string; status: string }>('SELECT id, status FROM orders WHERE id = ANY($1::text[])', [ids]);
      const status = new Map(rows.map((r) => [r.id, r.status]));
      return ids.map((id) => status.get(id) ?? null);
    }, { maxBatch: 200, maxInFlight: 2 });
    this.#worker = new Worker<SettleJob, SettleOutcome>(QUEUES.settle, (job) => this.#settle(job), {
      connection: params.connection,
      prefix: params.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 5,
      autorun: false,
    });
    this.#worker.on('error', (err) => log.warn({ err }, 'worker error'));
    this.#worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) log.error({ err, orderId: job.id }, 'settlement job moved to the failed set');
    });
  }

  /** Starts consuming the settlement queue. */
  static async create(params: SettlementWorkerParams, options: Partial<SettlementWorkerOptions> = {}): Promise<SettlementWorker> {
    const w = new SettlementWorker(params, {
      concurrency: 256, returnWindowMs: 14 * 86_400_000, lockDurationMs: 30_000, stalledIntervalMs: 30_000, ...options,
    });
    void w.#worker.run().catch((err) => log.error({ err }, 'worker stopped'));
    await w.#worker.waitUntilReady();
    return w;
  }

  async #settle(job: Job<SettleJob>): Promise<SettleOutcome> {
    const d = job.data;
    // A re-run (crash, stalled lock) finishes what an earlier run recorded, without paying again.
    const status = await this.#recorded.submit(d.orderId);
    if (status) {
      if (status === 'declined' || status === 'expired') return status as SettleOutcome;
      await this.#afterPaid(d);
      return 'paid';
    }
    const commit = await this.#reservation.commit(d.dealId, d.orderId);
    if (commit.code === 'UNKNOWN') throw new UnrecoverableError(`${SettlementErrorCode.HoldLost}: no hold for order ${d.orderId}`);
    if (commit.code === 'EXPIRED' || commit.code === 'RELEASED') {
      if (commit.code === 'EXPIRED') await this.#showStock(d, commit);
      await this.#recordUnpaid(d, 'expired');
      await this.#tell(d, { status: 'expired', code: 'HOLD_EXPIRED', message: 'the hold lapsed before payment' });
      this.safeEmit('orderfailed', d, 'HOLD_EXPIRED');
      return 'expired';
    }
    let capture;
    try {
      capture = await this.#provider.capture({
        idempotencyKey: d.orderId, amount: d.totalAmount, currency: d.currency, method: d.method.type,
        token: d.method.token, instalments: d.instalments, buyerId: d.buyerId,
      });
    } catch (error) {
      if (error instanceof SettlementError && !error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    }
    if (capture.status === 'declined') {
      const r = await this.#reservation.release(d.dealId, d.orderId, 'HP');
      if (r.released) await this.#showStock(d, r);
      await this.#recordUnpaid(d, 'declined');
      await this.#tell(d, { status: 'declined', code: SettlementErrorCode.PaymentDeclined, message: capture.reason });
      this.safeEmit('orderfailed', d, SettlementErrorCode.PaymentDeclined);
      return 'declined';
    }
    const deal = await this.#deal(d.dealId);
    const now = Date.now();
    const creditAfter = now + this.#options.returnWindowMs;
    const written = await this.#writer.write({
      job: d, provider: this.#provider.name, providerRef: capture.reference, creatorId: deal.creatorId, dealBps: deal.commissionBps,
      creditAfter, now,
      instalments: d.method.type === 'bnpl' && d.instalments ? InstalmentPlan.split(d.totalAmount, d.currency, d.instalments, now) : [],
    });
    if (written.commission > 0) await this.#queue.scheduleCommissionCredit(d.orderId, creditAfter - Date.now());
    await this.#afterPaid(d);
    return 'paid';
  }

  async #afterPaid(d: SettleJob): Promise<void> {
    const sold = await this.#reservation.sell(d.dealId, d.orderId, d.totalAmount);
    if (sold.code === 'OK') {
      const [, hidden] = await Promise.all([
        this.#redis.sadd(this.#keys.room(d.roomId, 'buyers'), d.buyerId),
        this.#methods.hiddenInTicker(d.buyerId),
      ]);
      this.#ticker.add(d.roomId, { productId: d.productId, name: d.buyerName, region: d.buyerRegion, quantity: d.quantity, hidden });
      await this.#tell(d, { status: 'paid' });
      this.safeEmit('orderpaid', d);
    } else if (sold.code === 'DUP') {
      await this.#redis.sadd(this.#keys.room(d.roomId, 'buyers'), d.buyerId);
    } else if (sold.code === 'RELEASED' || sold.code === 'UNKNOWN') {
      // Paid but the hold is gone: the order stands (nothing a buyer paid for is lost); ops reconcile stock.
      log.error({ orderId: d.orderId, dealId: d.dealId, code: sold.code }, 'paid order without a live hold');
    }
  }

  async #recordUnpaid(d: SettleJob, status: 'declined' | 'expired'): Promise<void> {
    await this.#db.query(
      `INSERT INTO orders (id, deal_id, room_id, buyer_id, shop_id, idempotency_key, status, total_amount, currency, payment_method)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING`,
      [d.orderId, d.dealId, d.roomId, d.buyerId, d.shopId, d.idempotencyKey, status, d.totalAmount, d.currency, d.method.type]);
  }

  /** `stock`: the release script's answer (available and version of the same run). */
  async #showStock(d: SettleJob, stock: StockChange): Promise<void> {
    const deal = await this.#deal(d.dealId);
    this.#broadcaster.publishInventory(d.roomId, stockUpdate({ productId: d.productId, dealId: d.dealId, total: deal.total }, stock));
  }

  async #tell(d: SettleJob, u: Omit<OrderUpdate, 'orderId' | 'dealId' | 'roomId'>): Promise<void> {
    if (!this.#notifier) return;
    try {
      await this.#notifier.notify(d.buyerId, { orderId: d.orderId, dealId: d.dealId, roomId: d.roomId, ...u });
    } catch (err) {
      log.warn({ err, orderId: d.orderId }, 'buyer notification failed');
    }
  }

  async #deal(dealId: string): Promise<{ creatorId: string; commissionBps: number | null; total: number }> {
    const hit = this.#dealCache.get(dealId);
    if (hit) return hit;
    const { rows } = await this.#db.query<{ creator_id: string; commission_bps: number | null; total_stock: number }>(
      'SELECT creator_id, commission_bps, total_stock FROM deals WHERE id = $1', [dealId]);
    if (!rows[0]) throw new UnrecoverableError(`deal ${dealId} not found`);
    const v = { creatorId: rows[0].creator_id, commissionBps: rows[0].commission_bps, total: rows[0].total_stock };
    if (this.#dealCache.size > 10_000) this.#dealCache.clear();
    this.#dealCache.set(dealId, v);
    return v;
  }

  /** Finishes in-flight jobs and stops. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const [name, step] of [['worker', () => this.#worker.close()], ['writer', () => this.#writer.close()], ['lookups', () => this.#recorded.close()]] as const) {
        try {
          await step();
        } catch (err) {
          log.warn({ err, step: name }, 'close step failed');
        }
      }
      this.#dealCache.clear();
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}

export interface SettlementWorkerParams {
  connection: ConnectionOptions;
  prefix: string;
  db: Database;
  reservation: Reservation;
  provider: PaymentProvider;
  broadcaster: RoomBroadcaster;
  ticker: PurchaseTicker;
  queue: SettlementQueue;
  methods: PaymentMethods;
  notifier?: OrderNotifier | null;
  redis: Redis | Cluster;
  keys: RedisKeys;
}
