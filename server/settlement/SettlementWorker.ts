import { runCloseSteps } from '../../common/closeSteps.js';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { Reservation, StockChange } from '../commerce/Reservation.js';
import type { RoomBroadcaster } from '../commerce/RoomBroadcaster.js';
import type { PurchaseTicker } from '../commerce/PurchaseTicker.js';
import type { PaymentMethods } from '../commerce/PaymentMethods.js';
import type { CancelResult, CaptureResult, PaymentProvider } from '../commerce/PaymentProvider.js';
import type { PaymentAttempts } from '../commerce/PaymentAttempts.js';
import type { OrderNotifier, OrderUpdate } from '../realtime/OrderNotifier.js';
import { QUEUES, type SettleJob, type SettlementQueue } from '../commerce/SettlementQueue.js';
import { InstalmentPlan } from '../commerce/InstalmentPlan.js';
import { OrderStore, RETRYABLE_FAIL_CODE, type FailedStatus } from '../commerce/OrderStore.js';
import { CircuitBreaker, type CircuitBreakerOptions, type BreakerState } from './CircuitBreaker.js';
import { stockUpdate } from '../commerce/StockUpdate.js';
import type { PaymentAvailability } from '../commerce/PaymentAvailability.js';
import type { OrderEvents } from './OrderEvents.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import { ProviderUnavailableError, SettlementError, SettlementErrorCode } from './errors.js';

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
  /**
   * Runs of a job that may meet an unavailable provider before its order fails with
   * PAYMENT_UNAVAILABLE, its hold is released and its buyer told (default 2). Nothing was
   * captured: the sandbox and real providers fail such calls before acting.
   */
  unavailableAttempts: number;
  /** The payment provider's circuit breaker. */
  breaker: Partial<CircuitBreakerOptions>;
}

export type SettlementWorkerEvents = {
  orderpaid: [SettleJob];
  orderfailed: [SettleJob, string];
  /** The provider breaker changed state (open: payments fail fast and holds are released). */
  breaker: [BreakerState];
  close: [];
};

/**
 * How a job ended: its order `paid`, `declined`, `expired`, `failed`, its capture `voided`; or,
 * for a payment step's deadline, `waiting` (the deadline moved: checked again then) or
 * `recorded` (the step had ended: its outcome is recorded by a `record` job).
 */
export type SettleOutcome = 'paid' | 'declined' | 'expired' | 'failed' | 'voided' | 'waiting' | 'recorded';

/**
 * Settles orders with PostgreSQL as the authority: commits the hold in Redis (it can no longer
 * lapse), claims the order's units in PostgreSQL (the order row exists, `pending`, before
 * anything is captured, and the database refuses more units than the deal has), captures the
 * payment under a key derived from (deal, buyer, idempotency key), records it (order, payment,
 * instalments, commission in one statement), turns the hold into a sale and announces it.
 * A decline, a sold-out claim or an unavailable provider releases the hold and tells the
 * buyer; a capture that cannot become an order is refunded at once. Every step is idempotent,
 * so a crashed or replayed job never charges twice.
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
  readonly #orders: OrderStore;
  readonly #breaker: CircuitBreaker;
  readonly #payments: PaymentAvailability | null;
  readonly #events: OrderEvents | null;
  readonly #attempts: PaymentAttempts | null;
  #breakerState: BreakerState = 'closed';
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
    this.#orders = new OrderStore(params.db);
    this.#breaker = new CircuitBreaker(options.breaker);
    this.#payments = params.payments ?? null;
    this.#events = params.events ?? null;
    this.#attempts = params.attempts ?? null;
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
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) log.error({ err, orderId: job.data.orderId, jobId: job.id }, 'settlement job moved to the failed set');
    });
  }

  /** Starts consuming the settlement queue. */
  static async create(params: SettlementWorkerParams, options: Partial<SettlementWorkerOptions> = {}): Promise<SettlementWorker> {
    const w = new SettlementWorker(params, {
      concurrency: 256, returnWindowMs: 14 * 86_400_000, lockDurationMs: 30_000, stalledIntervalMs: 30_000, unavailableAttempts: 2,
      ...options, breaker: { ...options.breaker },
    });
    void w.#worker.run().catch((err) => log.error({ err }, 'worker stopped'));
    await w.#worker.waitUntilReady();
    return w;
  }

  /** The payment provider's breaker state. */
  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  async #settle(job: Job<SettleJob>): Promise<SettleOutcome> {
    const d = job.data;
    if (d.phase === 'expire') return this.#expireStep(d);
    // `record`: the provider decided already (a notification, or an answer given at once); nothing is captured here.
    const recorded = d.phase === 'record' && d.result ? d.result : null;
    const captured = recorded?.status === 'captured' ? recorded.reference : null;
    // Redis first (H -> P: the hold can no longer lapse), then PostgreSQL decides: the claim inserts the
    // order or reports what it already is (a re-run after a crash, a retry after Redis forgot the hold),
    // so nothing is paid twice and the common path costs one statement.
    const commit = await this.#reservation.commit(d.dealId, d.orderId);
    if (commit.code === 'EXPIRED' || commit.code === 'RELEASED') {
      const status = await this.#orders.status(d.orderId);
      if (status === 'paid' || status === 'refunded') {
        await this.#afterPaid(d, false);
        return 'paid';
      }
      if (status === null) {
        if (commit.code === 'EXPIRED') await this.#showStock(d, commit);
        await this.#orders.recordFailed(d, 'expired', 'HOLD_EXPIRED');
        if (captured) await this.#void(d, captured, 'hold lapsed');
        return this.#failed(d, 'expired', 'HOLD_EXPIRED', 'the hold lapsed before payment');
      }
      if (status !== 'pending') return recorded ? this.#tooLate(d, captured, status) : this.#closed(d, status);
      // pending: claimed by an earlier run; PostgreSQL holds its units, so the payment goes on.
    }
    // OK, SOLD, or UNKNOWN (Redis lost the hold): PostgreSQL decides whether the order may have its units.
    if (!recorded && !this.#allowPayment()) return this.#unavailable(d);
    const claim = await this.#orders.claim(d);
    if (claim === 'paid' || claim === 'refunded') {
      await this.#afterPaid(d, false);
      return 'paid';
    }
    if (claim === 'sold_out' || claim === 'deal_closed' || claim === 'no_deal') {
      const code = claim === 'sold_out' ? SettlementErrorCode.SoldOut : SettlementErrorCode.DealEnded;
      await this.#orders.recordFailed(d, 'failed', code);
      const r = await this.#reservation.release(d.dealId, d.orderId, 'HP');
      if (r.released) await this.#showStock(d, r);
      log.warn({ orderId: d.orderId, dealId: d.dealId, claim }, 'PostgreSQL refused the units Redis held');
      if (captured) await this.#void(d, captured, claim);
      return this.#failed(d, 'failed', code, claim === 'sold_out' ? 'sold out' : 'the deal has ended');
    }
    if (claim !== 'claimed' && claim !== 'pending') return recorded ? this.#tooLate(d, captured, claim) : this.#closed(d, claim);
    // order.created, off the capture's path (a re-run of this job records it if a crash lost it).
    if (claim === 'claimed' || job.attemptsMade > 0) void this.#events?.created(d);

    let capture: CaptureResult;
    if (recorded) {
      capture = recorded;
    } else {
      try {
        capture = await this.#provider.capture({
          idempotencyKey: d.paymentKey, amount: d.totalAmount, currency: d.currency, method: d.method.type,
          token: d.method.token, instalments: d.instalments, buyerId: d.buyerId,
        });
        this.#breakerSaw(true);
      } catch (error) {
        if (error instanceof ProviderUnavailableError) {
          this.#breakerSaw(false);
          // Nothing was captured: after a bounded number of tries (or at once while the breaker is open)
          // the hold goes back and the buyer is told to retry, instead of waiting for ops.
          if (this.#breaker.state === 'open' || job.attemptsMade + 1 >= this.#options.unavailableAttempts) return this.#unavailable(d);
          throw error;
        }
        if (error instanceof SettlementError && !error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
        throw error; // a timeout may have captured: retry with the same key, never release
      }
    }
    if (capture.status === 'declined') {
      await this.#orders.release(d.orderId, 'declined', SettlementErrorCode.PaymentDeclined);
      const r = await this.#reservation.release(d.dealId, d.orderId, 'HP');
      if (r.released) await this.#showStock(d, r);
      return this.#failed(d, 'declined', SettlementErrorCode.PaymentDeclined, capture.reason);
    }
    const deal = await this.#deal(d.dealId);
    const now = Date.now();
    const creditAfter = now + this.#options.returnWindowMs;
    const written = await this.#orders.markPaid({
      job: d, provider: d.provider ?? this.#provider.name, providerRef: capture.reference, creatorId: deal.creatorId, dealBps: deal.commissionBps,
      creditAfter,
      instalments: d.method.type === 'bnpl' && d.instalments ? InstalmentPlan.split(d.totalAmount, d.currency, d.instalments, now) : [],
    });
    if (written.status !== 'paid') {
      // Captured, but the order left `pending` meanwhile: the capture cannot become an order. Give it back.
      await this.#void(d, capture.reference, `order ${written.status}`);
      return 'voided';
    }
    if (written.commission > 0) await this.#queue.scheduleCommissionCredit(d.orderId, creditAfter - Date.now());
    // Saved for one-tap buys when the buyer asked at confirmation (a token the provider gave on its hosted step).
    if (written.paidNow && d.saveMethod) {
      await this.#methods.save(d.buyerId, d.saveMethod).catch((err: unknown) => log.warn({ err, orderId: d.orderId }, 'could not save the payment method'));
    }
    await this.#afterPaid(d, written.paidNow);
    return 'paid';
  }

  /**
   * A payment step's deadline (phase `expire`). Moved by a `pending` notification: check again
   * then. Ended meanwhile: its outcome is recorded (handed on again, idempotently). Still waiting:
   * the provider is asked to cancel it (it may answer that the payment ended first), the attempt
   * expires, and the units go back (PostgreSQL, then Redis); the buyer is told `failed` with
   * PAYMENT_EXPIRED.
   */
  async #expireStep(d: SettleJob): Promise<SettleOutcome> {
    const attempt = this.#attempts ? await this.#attempts.get(d.orderId) : null;
    if (attempt?.status === 'pending' && attempt.expiresAt > Date.now()) {
      // (A job id of its own: this run's id may name the same deadline when the timer fired a little early.)
      await this.#queue.schedulePaymentExpiry(attempt.job, attempt.expiresAt, `r${Date.now()}`);
      return 'waiting';
    }
    if (attempt?.status === 'captured' || attempt?.status === 'declined') {
      const result: CaptureResult = attempt.status === 'captured'
        ? { status: 'captured', reference: attempt.reference! } : { status: 'declined', reason: attempt.reason ?? 'declined' };
      await this.#queue.recordPayment(attempt.job, result);
      return 'recorded';
    }
    if (!attempt || attempt.status === 'pending') {
      let final: CancelResult;
      try {
        final = await this.#provider.cancelPayment(d.paymentKey);
      } catch (error) {
        if (error instanceof SettlementError && !error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
        throw error; // retried with backoff: the units stay held until the provider has said the payment is over
      }
      if (final.status !== 'canceled') {
        // It ended at the provider before the cancel: record that (a capture becomes the order, as notified).
        if (this.#attempts) await this.#attempts.settle(d.orderId, final);
        await this.#queue.recordPayment(attempt?.job ?? d, final);
        return 'recorded';
      }
      if (this.#attempts && attempt) {
        const e = await this.#attempts.expire(d.orderId);
        // A notification came in between: its own record job settles the order.
        if (!e.expired && e.attempt?.status !== 'expired') return 'recorded';
      }
    }
    const code = SettlementErrorCode.PaymentExpired;
    const released = await this.#orders.release(d.orderId, 'failed', code);
    const status = released ? 'failed' : await this.#orders.status(d.orderId);
    if (status === 'paid' || status === 'refunded') return 'paid';
    const r = await this.#reservation.release(d.dealId, d.orderId, 'HP');
    if (r.released) await this.#showStock(d, r);
    // Units held in Redis only (the step never claimed them): the order is recorded as it ended.
    if (r.released && status === null) await this.#orders.recordFailed(d, 'failed', code);
    if (!released && !r.released) return 'failed'; // nothing was held for it any more: released (and told) before
    log.info({ orderId: d.orderId, dealId: d.dealId }, 'payment step expired: units released');
    return this.#failed(d, 'failed', code, 'the payment step was not finished in time');
  }

  #allowPayment(): boolean {
    const allowed = this.#breaker.allow();
    this.#noteBreaker();
    return allowed;
  }

  #breakerSaw(ok: boolean): void {
    if (ok) this.#breaker.success();
    else this.#breaker.failure();
    this.#noteBreaker();
  }

  #noteBreaker(): void {
    const state = this.#breaker.state;
    if (state === this.#breakerState) return;
    this.#breakerState = state;
    log.warn({ state }, 'payment provider breaker');
    // Checkout everywhere stops holding stock for payments while the breaker is open.
    const shared = state === 'open' ? this.#payments?.markUnavailable(this.#breaker.retryAfterMs()) : this.#payments?.markAvailable();
    void shared?.catch((err) => log.warn({ err }, 'could not share the payment availability'));
    this.safeEmit('breaker', state);
  }

  /**
   * The provider is unavailable: nothing was captured. The order fails with PAYMENT_UNAVAILABLE
   * (units back in PostgreSQL if it had claimed them, then in Redis, where the buyer's key is
   * forgotten so that the same tap may be retried) and the buyer is told when to retry.
   */
  async #unavailable(d: SettleJob): Promise<SettleOutcome> {
    if (!(await this.#orders.release(d.orderId, 'failed', RETRYABLE_FAIL_CODE))) await this.#orders.recordFailed(d, 'failed', RETRYABLE_FAIL_CODE);
    const r = await this.#reservation.release(d.dealId, d.orderId, 'HP', true);
    if (r.released) await this.#showStock(d, r);
    const retryAfterMs = Math.max(1_000, this.#breaker.retryAfterMs());
    await this.#tell(d, { status: 'failed', code: SettlementErrorCode.PaymentUnavailable, message: 'payments are unavailable right now; nothing was charged, tap again shortly', retryAfterMs });
    await this.#events?.failed(d, 'failed', SettlementErrorCode.PaymentUnavailable);
    this.safeEmit('orderfailed', d, SettlementErrorCode.PaymentUnavailable);
    return 'failed';
  }

  /**
   * The provider's outcome came after the order had ended (its payment step expired first): a
   * capture is refunded; the buyer was told when the order ended, and is not told again.
   */
  async #tooLate(d: SettleJob, captured: string | null, status: string): Promise<SettleOutcome> {
    if (captured) await this.#void(d, captured, `order ${status}`);
    const r = await this.#reservation.release(d.dealId, d.orderId, 'HP');
    if (r.released) await this.#showStock(d, r);
    return captured ? 'voided' : 'failed';
  }

  /** The order had ended already (declined, lapsed, failed): Redis may hold it again (a retry after it forgot): let it go. */
  async #closed(d: SettleJob, status: string): Promise<SettleOutcome> {
    const r = await this.#reservation.release(d.dealId, d.orderId, 'HP');
    if (r.released) await this.#showStock(d, r);
    const outcome: FailedStatus = status === 'declined' || status === 'expired' ? status : 'failed';
    return this.#failed(d, outcome, SettlementErrorCode.OrderClosed, `the order is ${status}`);
  }

  async #failed(d: SettleJob, status: FailedStatus, code: string, message: string): Promise<SettleOutcome> {
    await this.#tell(d, { status, code, message });
    // A retry of an order that had ended already is no new failure.
    if (code !== SettlementErrorCode.OrderClosed) await this.#events?.failed(d, status, code);
    this.safeEmit('orderfailed', d, code);
    return status;
  }

  /** Refunds a capture that cannot become an order (idempotent: one refund per capture). */
  async #void(d: SettleJob, reference: string, reason: string): Promise<void> {
    const result = await this.#provider.refund({ idempotencyKey: `void.${d.paymentKey}`, captureReference: reference, amount: d.totalAmount, currency: d.currency });
    if (result.status !== 'refunded') throw new Error(`void of ${d.paymentKey} rejected: ${result.reason}`);
    await this.#db.query(
      `INSERT INTO payment_voids (payment_key, order_id, provider, provider_ref, amount, currency, reason)
       VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (payment_key) DO NOTHING`,
      [d.paymentKey, d.orderId, this.#provider.name, result.reference, d.totalAmount, d.currency, reason]);
    log.warn({ orderId: d.orderId, reason }, 'capture refunded: it could not become an order');
    this.safeEmit('orderfailed', d, 'VOIDED');
  }

  /** `paidNow`: this job's run recorded the payment (the buyer and the ticker hear of it once). */
  async #afterPaid(d: SettleJob, paidNow: boolean): Promise<void> {
    const sold = await this.#reservation.sell(d.dealId, d.orderId, d.totalAmount);
    if (sold.code === 'OK' || paidNow) {
      const [, hidden] = await Promise.all([
        this.#redis.sadd(this.#keys.room(d.roomId, 'buyers'), d.buyerId),
        this.#methods.hiddenInTicker(d.buyerId),
      ]);
      this.#ticker.add(d.roomId, { productId: d.productId, name: d.buyerName, region: d.buyerRegion, quantity: d.quantity, hidden });
      await this.#tell(d, { status: 'paid' });
      if (paidNow) this.safeEmit('orderpaid', d);
    } else if (sold.code === 'DUP') {
      await this.#redis.sadd(this.#keys.room(d.roomId, 'buyers'), d.buyerId);
    }
    if (sold.code === 'RELEASED' || sold.code === 'UNKNOWN') {
      // Paid in PostgreSQL, but Redis released or forgot the hold: the order stands (nothing a buyer
      // paid for is lost); the deal's reconciler sees Redis's stock above PostgreSQL's and rebuilds it.
      log.warn({ orderId: d.orderId, dealId: d.dealId, code: sold.code }, 'paid order without a live hold in Redis');
    }
    // After the buyer is told; recorded once per order, so every run may ask (a crash cannot lose it).
    await this.#events?.paid(d);
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
      await runCloseSteps(log, [['worker', () => this.#worker.close()], ['orders', () => this.#orders.close()]]);
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
  /** Where the breaker's state is shared with checkout (none: not shared). */
  payments?: PaymentAvailability | null;
  /** Records order events for merchant webhooks (none: not recorded). */
  events?: OrderEvents | null;
  /** The payment steps' attempts (their deadlines are checked here); none: no asynchronous payments. */
  attempts?: PaymentAttempts | null;
}
