import type { Redis, Cluster } from 'ioredis';
import type { RedisKeys } from '../../common/keys.js';
import type { Reservation } from './Reservation.js';
import type { SettleJob, SettlementQueue } from './SettlementQueue.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';

const log = logger('OutboxMover');

export interface OutboxMoverOptions {
  /** How often every active deal's outbox is swept for jobs nobody moved (0: never; default 1 s). */
  sweepIntervalMs: number;
  /** A swept job younger than this (by `enqueuedAt`) is left to the process that recorded it (default 2 s). */
  graceMs: number;
  /** Jobs per addBulk; the mover yields to the event loop between chunks (default 8). */
  chunk: number;
}

export type OutboxMoverEvents = { close: [] };

/**
 * Moves settle jobs from the deals' outboxes (recorded by the reserve script together with
 * their holds) to the settlement queue, so a winning tap is answered without waiting for
 * BullMQ. Jobs recorded by this process are handed over and moved at once, in small chunks;
 * a sweep on start-up and then periodically moves what a crashed (or slow) process left.
 * Job id = order id, so a job moved twice is stored once; a job leaves the outbox only after
 * BullMQ has stored it.
 */
export class OutboxMover extends EnhancedEventEmitter<OutboxMoverEvents> {
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #reservation: Reservation;
  readonly #queue: SettlementQueue;
  readonly #options: OutboxMoverOptions;
  readonly #timer: NodeJS.Timeout | null;
  #handed: SettleJob[] = [];
  /** Order ids handed over and not yet moved: the sweep leaves them alone. */
  readonly #moving = new Set<string>();
  #flushing: Promise<void> | null = null;
  #sweeping: Promise<number> | null = null;
  #closing: Promise<void> | null = null;

  constructor(redis: Redis | Cluster, keys: RedisKeys, reservation: Reservation, queue: SettlementQueue, options: Partial<OutboxMoverOptions> = {}) {
    super();
    this.#redis = redis;
    this.#keys = keys;
    this.#reservation = reservation;
    this.#queue = queue;
    this.#options = { sweepIntervalMs: 1_000, graceMs: 2_000, chunk: 8, ...options };
    if (this.#options.sweepIntervalMs > 0) {
      void this.sweep(0).catch((err) => log.warn({ err }, 'start-up sweep failed'));
      this.#timer = setInterval(() => void this.sweep().catch((err) => log.warn({ err }, 'sweep failed')), this.#options.sweepIntervalMs);
      this.#timer.unref();
    } else {
      this.#timer = null;
    }
  }

  /** A job already recorded in its deal's outbox: move it soon. */
  hand(job: SettleJob): void {
    if (this.#closing) return; // stays in the outbox: the next sweep (any process) moves it
    this.#handed.push(job);
    this.#moving.add(job.orderId);
    this.#flushing ??= this.#flush();
  }

  /** Resolves once every job handed over so far has been moved (or has failed to move). */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    // Let the taps of this turn be answered first: moving costs ~50 µs of JavaScript per job.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.#handed.length > 0) {
        const chunk = this.#handed.splice(0, this.#options.chunk);
        try {
          await this.#move(chunk);
        } catch (err) {
          // They stay in the outbox; a sweep moves them.
          log.warn({ err, jobs: chunk.length }, 'moving handed jobs failed');
        } finally {
          for (const j of chunk) this.#moving.delete(j.orderId);
        }
        if (this.#handed.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #move(jobs: SettleJob[]): Promise<void> {
    await this.#queue.addSettleJobs(jobs);
    const byDeal = new Map<string, string[]>();
    for (const j of jobs) {
      const ids = byDeal.get(j.dealId);
      if (ids) ids.push(j.orderId);
      else byDeal.set(j.dealId, [j.orderId]);
    }
    await Promise.all([...byDeal].map(([dealId, ids]) => this.#reservation.clearOutbox(dealId, ids)));
  }

  /**
   * Moves the outbox jobs of every active deal that are older than `graceMs` (0: all) and not
   * being moved by this process. Resolves to the number moved.
   */
  sweep(graceMs = this.#options.graceMs): Promise<number> {
    this.#sweeping ??= this.#sweep(graceMs).finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async #sweep(graceMs: number): Promise<number> {
    const active = await this.#redis.hkeys(this.#keys.global('deals:active'));
    const before = Date.now() - graceMs;
    let moved = 0;
    for (const dealId of active) {
      const entries = await this.#reservation.outbox(dealId);
      const due: SettleJob[] = [];
      const corrupt: string[] = [];
      for (const [orderId, raw] of entries) {
        if (this.#moving.has(orderId)) continue;
        let job: SettleJob;
        try {
          job = JSON.parse(raw) as SettleJob;
        } catch {
          corrupt.push(orderId);
          continue;
        }
        if (graceMs > 0 && job.enqueuedAt > before) continue;
        due.push(job);
      }
      if (corrupt.length > 0) log.error({ dealId, orderIds: corrupt }, 'unreadable outbox entries left in place');
      for (let i = 0; i < due.length; i += this.#options.chunk) {
        await this.#move(due.slice(i, i + this.#options.chunk));
        moved += Math.min(this.#options.chunk, due.length - i);
      }
    }
    if (moved > 0) log.info({ moved }, 'moved outbox jobs left behind');
    return moved;
  }

  /** Moves what was handed over, stops sweeping. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      await runCloseSteps(log, [
        ['drain', () => this.drain()],
        ['sweep', () => this.#sweeping],
      ]);
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
