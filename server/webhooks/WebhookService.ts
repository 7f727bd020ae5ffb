import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Database } from '../db/Database.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';
import type { WebhookOutbox } from './WebhookOutbox.js';
import { WebhookDeliveries, type QueuedDelivery } from './WebhookDeliveries.js';
import { WebhookRelay, type WebhookRelayOptions } from './WebhookRelay.js';
import { WEBHOOK_QUEUE, WebhookWorker, webhookJobId, type WebhookJob } from './WebhookWorker.js';

const log = logger('WebhookService');

/** The delivery side's settings (FLASHCAST_WEBHOOK_* in common/config.ts). */
export interface WebhookServiceOptions {
  /** Attempts per delivery (and per replay) before it is `failed` (default 12: about 6 hours with the default backoff). */
  attempts: number;
  /** First retry delay; each next one doubles (default 10 s). */
  backoffMs: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs: number;
  /** Deliveries may reach loopback and private networks (default false). */
  allowPrivate: boolean;
  /** Deliveries in flight per process (default 16). */
  concurrency: number;
  /** The relay's outbox poll (default 500 ms), lease, batch and retention. */
  relay: Partial<WebhookRelayOptions>;
}

/** The defaults of the delivery side. */
export const WEBHOOK_DEFAULTS: Omit<WebhookServiceOptions, 'relay'> = {
  attempts: 12, backoffMs: 10_000, timeoutMs: 10_000, allowPrivate: false, concurrency: 16,
};

/**
 * The delivery side of merchant webhooks in one object, for a worker process (the settlement
 * worker, and `flashcast start`): the `{webhooks}` queue, the relay that fills it from the
 * outbox, and the worker that delivers. Give it this process's outbox and the relay runs as
 * soon as an event is recorded, instead of at its next poll.
 */
export class WebhookService {
  readonly queue: Queue<WebhookJob>;
  readonly relay: WebhookRelay;
  readonly worker: WebhookWorker;
  readonly deliveries: WebhookDeliveries;
  readonly #outbox: WebhookOutbox | null;
  readonly #onRecorded = () => this.relay.wake();
  #closing: Promise<void> | null = null;

  private constructor(queue: Queue<WebhookJob>, relay: WebhookRelay, worker: WebhookWorker, deliveries: WebhookDeliveries, outbox: WebhookOutbox | null) {
    this.queue = queue;
    this.relay = relay;
    this.worker = worker;
    this.deliveries = deliveries;
    this.#outbox = outbox;
    outbox?.on('recorded', this.#onRecorded);
  }

  /** Opens the queue, starts the worker and the relay. */
  static async create(params: {
    connection: ConnectionOptions; prefix: string; db: Database; outbox?: WebhookOutbox | null; options?: Partial<WebhookServiceOptions>;
  }): Promise<WebhookService> {
    const o = { ...WEBHOOK_DEFAULTS, relay: {}, ...params.options };
    const deliveries = new WebhookDeliveries(params.db);
    const queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, { connection: params.connection, prefix: params.prefix });
    await queue.waitUntilReady();
    const jobOptions: JobsOptions = {
      attempts: o.attempts,
      backoff: { type: 'exponential', delay: o.backoffMs, jitter: 0.2 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
    const enqueue = async (items: QueuedDelivery[]) => {
      await queue.addBulk(items.map((d) => ({
        name: 'deliver', data: { deliveryId: d.id, replay: d.replays }, opts: { ...jobOptions, jobId: webhookJobId(d.id, d.replays) },
      })));
    };
    let worker: WebhookWorker;
    try {
      worker = await WebhookWorker.create({ connection: params.connection, prefix: params.prefix, deliveries }, {
        concurrency: o.concurrency, timeoutMs: o.timeoutMs, allowPrivate: o.allowPrivate, backoffMs: o.backoffMs,
      });
    } catch (error) {
      await queue.close();
      throw error;
    }
    const relay = new WebhookRelay(deliveries, enqueue, o.relay);
    relay.wake();
    log.info({ attempts: o.attempts, backoffMs: o.backoffMs, allowPrivate: o.allowPrivate }, 'webhook delivery ready');
    return new WebhookService(queue, relay, worker, deliveries, params.outbox ?? null);
  }

  /** Stops the relay, finishes the deliveries in flight, closes the queue. Idempotent; every step runs. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#outbox?.off('recorded', this.#onRecorded);
      await runCloseSteps(log, [
        ['relay', () => this.relay.close()],
        ['worker', () => this.worker.close()],
        ['queue', () => this.queue.close()],
      ]);
    })();
    return this.#closing;
  }
}
