import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import type { QueuedDelivery, WebhookDeliveries } from './WebhookDeliveries.js';

const log = logger('WebhookRelay');

export interface WebhookRelayOptions {
  /** How often the outbox is looked at (default 500 ms); `wake()` looks at once. */
  pollIntervalMs: number;
  /** Events fanned out, and deliveries queued, per statement (default 100). */
  batch: number;
  /** A queued delivery whose job has not run after this long is queued again (default 60 s). */
  leaseMs: number;
  /** Delivered (or given-up) events are deleted after this long (default 30 days; 0: never). */
  retentionMs: number;
  /** How often old events are pruned (default 1 h). */
  pruneIntervalMs: number;
}

export type WebhookRelayEvents = {
  /** A pass queued this many deliveries. */
  queued: [count: number];
  close: [];
};

/**
 * Moves webhook events from the outbox to the delivery queue, off every request's path: each
 * pass fans stored events out to deliveries (one per subscribed endpoint) and hands new,
 * replayed and overdue deliveries to the queue. Runs on a timer, and at once when woken (the
 * outbox of this process recorded something). Several processes may run one; each row is
 * taken by one of them (SKIP LOCKED) and job ids make a second hand-over a no-op.
 */
export class WebhookRelay extends EnhancedEventEmitter<WebhookRelayEvents> {
  readonly #deliveries: WebhookDeliveries;
  readonly #enqueue: (items: QueuedDelivery[]) => Promise<void>;
  readonly #options: WebhookRelayOptions;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | null = null;
  #again = false;
  #lastPrune = Date.now();
  #closing: Promise<void> | null = null;

  constructor(deliveries: WebhookDeliveries, enqueue: (items: QueuedDelivery[]) => Promise<void>, options: Partial<WebhookRelayOptions> = {}) {
    super();
    this.#deliveries = deliveries;
    this.#enqueue = enqueue;
    this.#options = { pollIntervalMs: 500, batch: 100, leaseMs: 60_000, retentionMs: 30 * 86_400_000, pruneIntervalMs: 3_600_000, ...options };
    this.#timer = setInterval(() => this.wake(), this.#options.pollIntervalMs);
    this.#timer.unref();
  }

  /** Runs a pass now (or right after the one running). */
  wake(): void {
    if (this.#closing) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => (this.#running = null));
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.pass();
      } catch (err) {
        log.warn({ err }, 'relay pass failed');
      }
    } while (this.#again && !this.#closing);
  }

  /** One pass: fan out, queue, and now and then prune. Resolves to the deliveries queued. */
  async pass(): Promise<number> {
    const { batch } = this.#options;
    while ((await this.#deliveries.fanOut(batch)).events === batch);
    let queued = 0;
    for (;;) {
      const items = await this.#deliveries.claimForQueue(batch, this.#options.leaseMs);
      if (items.length > 0) await this.#enqueue(items);
      queued += items.length;
      if (items.length < batch) break;
    }
    if (queued > 0) this.safeEmit('queued', queued);
    if (this.#options.retentionMs > 0 && Date.now() - this.#lastPrune >= this.#options.pruneIntervalMs) {
      this.#lastPrune = Date.now();
      const pruned = await this.#deliveries.prune(this.#options.retentionMs);
      if (pruned > 0) log.info({ pruned }, 'old webhook events pruned');
    }
    return queued;
  }

  /** Stops the timer and waits for the pass running. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await this.#running;
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
