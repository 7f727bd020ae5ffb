import { runCloseSteps } from '../../common/closeSteps.js';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { CaptureResult, PaymentMethodType } from './PaymentProvider.js';
import type { Address } from '../../protocol/shipping.js';
import { logger } from '../../common/logger.js';

const log = logger('SettlementQueue');

/** Everything the settlement worker needs to settle one order (job id: see `settleJobId`). */
export interface SettleJob {
  /** Derived from (deal, buyer, idempotency key): see OrderIds. */
  orderId: string;
  /** The provider idempotency key of the capture, derived from the order id. */
  paymentKey: string;
  /**
   * Random per job: a job is stored once however often it is moved, and a new attempt at the
   * same order (the buyer retried after the provider was unavailable) is a new job.
   */
  attempt: string;
  dealId: string;
  roomId: string;
  productId: string;
  shopId: string;
  buyerId: string;
  buyerName: string;
  buyerRegion: string;
  idempotencyKey: string;
  quantity: number;
  unitAmount: number;
  /** Items plus shipping. */
  totalAmount: number;
  currency: string;
  /** Shipping charged (part of totalAmount) and a copy of the address; absent or null: the shop does not ship. */
  shipping?: { amount: number; address: Address } | null;
  display: { amount: number; currency: string; rate: string; asOf: number } | null;
  method: { type: PaymentMethodType; token: string };
  instalments: number | null;
  /** Enqueue time (ms): latency metrics. */
  enqueuedAt: number;
  /**
   * How the worker settles the payment: `capture` (absent: charge `method` now, the one-tap
   * path), `record` (the provider decided already: `result`, from a notification or an answer
   * given at once), `expire` (the payment step's deadline: release the units unless it ended).
   */
  phase?: 'capture' | 'record' | 'expire';
  /** `record`: what the provider decided. */
  result?: CaptureResult;
  /** `record` / `expire`: the provider of the payment (absent: the worker's). */
  provider?: string;
  /** `record` of a capture: save this method for the buyer's one-tap buys. */
  saveMethod?: { type: PaymentMethodType; token: string } | null;
}

export interface CommissionJob {
  orderId: string;
}

export interface RefundJob {
  orderId: string;
}

/** Queue names: one per concern, hash-tagged so each queue's keys share a slot. */
export const QUEUES = { settle: '{settlement}', commission: '{commission}', refund: '{refund}' } as const;

/** Settle jobs per addBulk call. */
const ADD_CHUNK = 16;

/** BullMQ job id of a settle job: the order and the attempt. */
export function settleJobId(job: SettleJob): string {
  return `${job.orderId}.${job.attempt}`;
}

export const SETTLE_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: false,
};

/**
 * Producer side of settlement: adds settle jobs (batched into one addBulk per tick, so a
 * burst of buyers costs few round trips), delayed commission credits and refunds.
 */
export class SettlementQueue {
  readonly settle: Queue<SettleJob>;
  readonly commission: Queue<CommissionJob>;
  readonly refund: Queue<RefundJob>;
  #batch: { job: SettleJob; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;
  readonly #adding = new Set<Promise<void>>();
  #closing: Promise<void> | null = null;

  private constructor(settle: Queue<SettleJob>, commission: Queue<CommissionJob>, refund: Queue<RefundJob>) {
    this.settle = settle;
    this.commission = commission;
    this.refund = refund;
  }

  /** Opens the three queues under `prefix` (BullMQ key prefix). */
  static async create(connection: ConnectionOptions, prefix: string): Promise<SettlementQueue> {
    const settle = new Queue<SettleJob>(QUEUES.settle, { connection, prefix });
    const commission = new Queue<CommissionJob>(QUEUES.commission, { connection, prefix });
    const refund = new Queue<RefundJob>(QUEUES.refund, { connection, prefix });
    await Promise.all([settle.waitUntilReady(), commission.waitUntilReady(), refund.waitUntilReady()]);
    return new SettlementQueue(settle, commission, refund);
  }

  /** Adds a settle job (adding the same job again is a no-op). Resolves once stored in Redis. */
  enqueueSettle(job: SettleJob): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('settlement queue closed'));
    return new Promise((resolve, reject) => {
      this.#batch.push({ job, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#batch;
    this.#batch = [];
    // Chunks, yielding to the event loop between them: creating BullMQ jobs is synchronous work
    // (~50 µs each), and a burst of winners must not stall every other tap in flight.
    for (let i = 0; i < batch.length; i += ADD_CHUNK) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const p = this.#add(batch.slice(i, i + ADD_CHUNK));
      this.#adding.add(p);
      void p.finally(() => this.#adding.delete(p));
    }
  }

  async #add(chunk: { job: SettleJob; resolve: () => void; reject: (e: unknown) => void }[]): Promise<void> {
    try {
      await this.settle.addBulk(chunk.map(({ job }) => ({ name: 'settle', data: job, opts: { ...SETTLE_JOB_OPTIONS, jobId: settleJobId(job) } })));
      for (const b of chunk) b.resolve();
    } catch (error) {
      log.warn({ err: error, jobs: chunk.length }, 'addBulk failed');
      for (const b of chunk) b.reject(error);
    }
  }

  /** Adds settle jobs now, in one addBulk (a job added twice is stored once). */
  async addSettleJobs(jobs: SettleJob[]): Promise<void> {
    if (this.#closing) throw new Error('settlement queue closed');
    await this.settle.addBulk(jobs.map((job) => ({ name: 'settle', data: job, opts: { ...SETTLE_JOB_OPTIONS, jobId: settleJobId(job) } })));
  }

  /**
   * Hands the provider's decision on an order's payment to settlement (phase `record`). One job
   * per order and outcome: handing the same decision again (a replayed notification) adds nothing.
   */
  async recordPayment(job: SettleJob, result: CaptureResult, saveMethod: SettleJob['saveMethod'] = null): Promise<void> {
    await this.addSettleJobs([{ ...job, phase: 'record', result, saveMethod, attempt: `rec-${result.status}`, enqueuedAt: Date.now() }]);
  }

  /**
   * Checks the order's payment step at `at` (ms; phase `expire`): the worker releases the units
   * if the step is still unfinished past its deadline, or checks again at a moved deadline. One
   * job per deadline (and `suffix`): scheduling the same check again adds nothing.
   */
  async schedulePaymentExpiry(job: SettleJob, at: number, suffix = ''): Promise<void> {
    if (this.#closing) throw new Error('settlement queue closed');
    const data: SettleJob = { ...job, phase: 'expire', result: undefined, attempt: `exp-${at}${suffix ? `-${suffix}` : ''}`, enqueuedAt: Date.now() };
    await this.settle.add('settle', data, { ...SETTLE_JOB_OPTIONS, jobId: settleJobId(data), delay: Math.max(0, at - Date.now()) });
  }

  /** Credits the order's affiliate commission after `delayMs` (the return window). */
  async scheduleCommissionCredit(orderId: string, delayMs: number): Promise<void> {
    await this.commission.add('credit', { orderId }, {
      jobId: `credit.${orderId}`, delay: Math.max(0, delayMs), attempts: 10, backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { age: 24 * 3600 }, removeOnFail: false,
    });
  }

  /** Executes an accepted refund (provider call, ledger, clawback). */
  async enqueueRefund(orderId: string): Promise<void> {
    await this.refund.add('refund', { orderId }, {
      jobId: `refund.${orderId}`, attempts: 10, backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { age: 24 * 3600 }, removeOnFail: false,
    });
  }

  /** Flushes pending adds and closes the queues. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#flush();
      await Promise.allSettled([...this.#adding]);
      await runCloseSteps(log, [['settle', () => this.settle.close()], ['commission', () => this.commission.close()], ['refund', () => this.refund.close()]]);
    })();
    return this.#closing;
  }
}
