import type { ConnectionOptions } from 'bullmq';
import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { RoomBroadcaster } from '../commerce/RoomBroadcaster.js';
import type { PaymentProvider } from '../commerce/PaymentProvider.js';
import type { OrderNotifier } from '../realtime/OrderNotifier.js';
import { Reservation } from '../commerce/Reservation.js';
import { PurchaseTicker } from '../commerce/PurchaseTicker.js';
import { PaymentMethods } from '../commerce/PaymentMethods.js';
import { HoldSweeper } from '../commerce/HoldSweeper.js';
import { PaymentAvailability } from '../commerce/PaymentAvailability.js';
import { SettlementQueue } from '../commerce/SettlementQueue.js';
import { PaymentAttempts } from '../commerce/PaymentAttempts.js';
import { SettlementWorker, type SettlementWorkerOptions } from './SettlementWorker.js';
import { LedgerWorker } from './LedgerWorker.js';
import { OrderEvents } from './OrderEvents.js';
import { WebhookOutbox } from '../webhooks/WebhookOutbox.js';
import { WebhookService, type WebhookServiceOptions } from '../webhooks/WebhookService.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';

const log = logger('SettlementService');

export interface SettlementServiceParams {
  redis: Redis | Cluster;
  /** BullMQ connection (workers need maxRetriesPerRequest: null). */
  connection: ConnectionOptions;
  keys: RedisKeys;
  db: Database;
  provider: PaymentProvider;
  broadcaster: RoomBroadcaster;
  notifier?: OrderNotifier | null;
  worker?: Partial<SettlementWorkerOptions>;
  /** Run a hold sweeper in this process too (default true). */
  sweepHolds?: boolean;
  tickerWindowMs?: number;
  /** Merchant webhook delivery in this process (default on, with WebhookService's defaults); false: off. */
  webhooks?: Partial<WebhookServiceOptions> | false;
}

/**
 * The worker side of settlement in one object: settle, commission and refund workers, a hold
 * sweeper, and merchant webhooks (the order events these workers record, and their delivery).
 */
export class SettlementService {
  readonly queue: SettlementQueue;
  readonly worker: SettlementWorker;
  readonly ledger: LedgerWorker;
  readonly ticker: PurchaseTicker;
  readonly sweeper: HoldSweeper | null;
  /** Delivers merchant webhooks (null: off in this process). */
  readonly webhooks: WebhookService | null;
  readonly #outbox: WebhookOutbox;
  #closing: Promise<void> | null = null;

  private constructor(queue: SettlementQueue, worker: SettlementWorker, ledger: LedgerWorker, ticker: PurchaseTicker, sweeper: HoldSweeper | null,
    outbox: WebhookOutbox, webhooks: WebhookService | null) {
    this.#outbox = outbox;
    this.webhooks = webhooks;
    this.queue = queue;
    this.worker = worker;
    this.ledger = ledger;
    this.ticker = ticker;
    this.sweeper = sweeper;
  }

  static async create(p: SettlementServiceParams): Promise<SettlementService> {
    const prefix = `${p.keys.prefix}:bull`;
    const reservation = await Reservation.create(p.redis, p.keys);
    const queue = await SettlementQueue.create(p.connection, prefix);
    const ticker = new PurchaseTicker(p.broadcaster, p.tickerWindowMs ?? 1_000);
    const methods = new PaymentMethods(p.db, p.redis, p.keys);
    const outbox = new WebhookOutbox(p.db);
    const events = new OrderEvents(outbox, p.db);
    const worker = await SettlementWorker.create({
      connection: p.connection, prefix, db: p.db, reservation, provider: p.provider, broadcaster: p.broadcaster,
      ticker, queue, methods, notifier: p.notifier, redis: p.redis, keys: p.keys, payments: new PaymentAvailability(p.redis, p.keys), events,
      attempts: new PaymentAttempts(p.db),
    }, p.worker);
    const ledger = await LedgerWorker.create(p.connection, prefix, p.db, p.provider, events);
    const webhooks = p.webhooks === false ? null
      : await WebhookService.create({ connection: p.connection, prefix, db: p.db, outbox, options: p.webhooks });
    const sweeper = p.sweepHolds === false ? null : new HoldSweeper(p.redis, p.keys, reservation, p.broadcaster);
    return new SettlementService(queue, worker, ledger, ticker, sweeper, outbox, webhooks);
  }

  /** Finishes in-flight jobs, flushes the ticker, closes queues. Idempotent; every step runs. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await runCloseSteps(log, [
        ['sweeper', () => this.sweeper?.close()],
        ['worker', () => this.worker.close()],
        ['ledger', () => this.ledger.close()],
        ['webhook events', () => this.#outbox.close()],
        ['webhooks', () => this.webhooks?.close()],
        ['ticker', () => this.ticker.close()],
        ['queue', () => this.queue.close()],
      ]);
    })();
    return this.#closing;
  }
}
