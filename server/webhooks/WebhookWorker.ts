import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';
import type { DeliveryStatus, WebhookDeliveries } from './WebhookDeliveries.js';
import { WebhookSender, type SendResult } from './WebhookSender.js';
import { WebhookSignature, SIGNATURE_HEADER } from './WebhookSignature.js';

const log = logger('WebhookWorker');

/** The BullMQ queue of deliveries (hash-tagged: its keys share a slot on Redis Cluster). */
export const WEBHOOK_QUEUE = '{webhooks}';

/** A delivery job: which delivery, and which replay of it (older replays' jobs are skipped). */
export interface WebhookJob {
  deliveryId: string;
  replay: number;
}

/** BullMQ job id of a delivery job: a job is added once per (delivery, replay). */
export const webhookJobId = (deliveryId: string, replay: number) => `${deliveryId}.${replay}`;

/** The exponential backoff's upper bound before attempt `n + 1`, after `n` failed attempts (BullMQ's formula, jitter aside). */
export const backoffDelay = (baseMs: number, failed: number) => Math.round(2 ** (failed - 1) * baseMs);

export interface WebhookWorkerOptions {
  /** Deliveries in flight per process (default 16). */
  concurrency: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs: number;
  /** Deliveries may reach loopback and private networks (default false). */
  allowPrivate: boolean;
  /** Base of the exponential backoff, as the queue's jobs are added with (to show the next attempt's time). */
  backoffMs: number;
}

/** One attempt, as the worker reports it. */
export interface WebhookAttemptInfo {
  deliveryId: string;
  eventId: string;
  status: DeliveryStatus;
  result: SendResult;
}

export type WebhookWorkerEvents = {
  attempt: [WebhookAttemptInfo];
  close: [];
};

/**
 * Delivers webhook jobs: loads the delivery (event and endpoint), POSTs the event's envelope
 * signed with the endpoint's secret, and records the attempt. A network error or an answer
 * that is not 2xx throws, so BullMQ retries with exponential backoff until the job's attempts
 * run out; then the delivery is `failed` (ops may replay it). The event id and body are the
 * same on every attempt and replay; the signature's timestamp is each attempt's own.
 */
export class WebhookWorker extends EnhancedEventEmitter<WebhookWorkerEvents> {
  readonly #worker: Worker<WebhookJob, string>;
  readonly #deliveries: WebhookDeliveries;
  readonly #sender: WebhookSender;
  readonly #options: WebhookWorkerOptions;
  #closing: Promise<void> | null = null;

  private constructor(connection: ConnectionOptions, prefix: string, deliveries: WebhookDeliveries, options: WebhookWorkerOptions) {
    super();
    this.#deliveries = deliveries;
    this.#options = options;
    this.#sender = new WebhookSender({ timeoutMs: options.timeoutMs, allowPrivate: options.allowPrivate });
    this.#worker = new Worker<WebhookJob, string>(WEBHOOK_QUEUE, (job) => this.#deliver(job), {
      connection, prefix, concurrency: options.concurrency, autorun: false,
    });
    this.#worker.on('error', (err) => log.warn({ err }, 'worker error'));
  }

  /** Starts consuming the delivery queue. */
  static async create(params: { connection: ConnectionOptions; prefix: string; deliveries: WebhookDeliveries }, options: Partial<WebhookWorkerOptions> = {}): Promise<WebhookWorker> {
    const w = new WebhookWorker(params.connection, params.prefix, params.deliveries, {
      concurrency: 16, timeoutMs: 10_000, allowPrivate: false, backoffMs: 10_000, ...options,
    });
    void w.#worker.run().catch((err) => log.error({ err }, 'worker stopped'));
    await w.#worker.waitUntilReady();
    return w;
  }

  async #deliver(job: Job<WebhookJob>): Promise<string> {
    const task = await this.#deliveries.task(job.data.deliveryId);
    // Gone (pruned), over, or replayed since this job was added: nothing to do.
    if (!task || task.replays !== job.data.replay || (task.status !== 'pending' && task.status !== 'retrying')) return 'skipped';
    const at = new Date();
    if (!task.endpoint.usable) {
      const error = task.endpoint.deleted ? 'endpoint_deleted' : 'endpoint_disabled';
      await this.#deliveries.record(task.id, { at, durationMs: 0, statusCode: null, error, response: null }, 'failed', null);
      return 'failed';
    }
    const body = JSON.stringify(task.envelope);
    const timestamp = Math.floor(at.getTime() / 1000);
    const result = await this.#sender.send(task.endpoint.url, body, {
      'user-agent': 'Flashcast-Webhooks/1',
      [SIGNATURE_HEADER]: WebhookSignature.header(task.endpoint.secret, timestamp, body),
      'Flashcast-Event-Id': task.envelope.id,
      'Flashcast-Event-Type': task.envelope.type,
      'Flashcast-Delivery-Id': task.id,
      'Flashcast-Attempt': String(task.attempts + 1),
    });
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const status: DeliveryStatus = result.ok ? 'succeeded' : last ? 'failed' : 'retrying';
    const next = status === 'retrying' ? new Date(Date.now() + backoffDelay(this.#options.backoffMs, job.attemptsMade + 1)) : null;
    await this.#deliveries.record(task.id, { at, durationMs: result.durationMs, statusCode: result.statusCode, error: result.error, response: result.response }, status, next);
    this.safeEmit('attempt', { deliveryId: task.id, eventId: task.envelope.id, status, result });
    if (status === 'retrying') throw new Error(`delivery ${task.id}: ${result.error}`);
    if (status === 'failed') log.warn({ deliveryId: task.id, eventId: task.envelope.id, error: result.error }, 'webhook delivery failed: out of attempts');
    return status;
  }

  /** Finishes the deliveries in flight and stops. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await runCloseSteps(log, [['worker', () => this.#worker.close()]]);
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
