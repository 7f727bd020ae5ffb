import type { Redis, Cluster } from 'ioredis';
import type { RedisKeys } from '../../common/keys.js';
import type { Reservation } from './Reservation.js';
import type { RoomBroadcaster } from './RoomBroadcaster.js';
import { stockUpdate } from './StockUpdate.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';

const log = logger('HoldSweeper');

export type HoldSweeperEvents = { close: [] };

/**
 * Gives lapsed holds back to stock for every active deal, on an interval, and shows the
 * room the new stock. Release is exactly once in Lua, so several sweepers may run. For a deal
 * split over buckets it also shows the stock read afresh whenever it changed: the stock other
 * processes publish is summed from what each last saw of the buckets, so this is what makes
 * the room end on the true total (docs/flash-sales.md, "A hot product beyond one shard").
 */
export class HoldSweeper extends EnhancedEventEmitter<HoldSweeperEvents> {
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #reservation: Reservation;
  readonly #broadcaster: RoomBroadcaster;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | null = null;
  /** Per deal split over buckets: the version last shown. */
  readonly #shown = new Map<string, number>();
  #closed = false;

  constructor(redis: Redis | Cluster, keys: RedisKeys, reservation: Reservation, broadcaster: RoomBroadcaster, intervalMs = 1_000) {
    super();
    this.#redis = redis;
    this.#keys = keys;
    this.#reservation = reservation;
    this.#broadcaster = broadcaster;
    this.#timer = setInterval(() => {
      this.#running ??= this.sweep().then(() => undefined, (err) => log.warn({ err }, "sweep failed")).finally(() => (this.#running = null));
    }, intervalMs);
    this.#timer.unref();
  }

  /** One pass over active deals; resolves to the units released. */
  async sweep(): Promise<number> {
    const active = await this.#redis.hgetall(this.#keys.global('deals:active'));
    let units = 0;
    for (const [dealId, info] of Object.entries(active)) {
      const r = await this.#reservation.expire(dealId);
      units += r.units;
      const changed = r.fresh && this.#shown.get(dealId) !== r.version;
      if (r.units === 0 && !changed) continue;
      if (r.fresh) {
        if (this.#shown.size > 10_000) this.#shown.clear();
        this.#shown.set(dealId, r.version);
      }
      const [roomId, productId, total] = info.split('|');
      // A listing has no room of its own: its stock reaches a room with the next change there.
      if (!roomId) continue;
      this.#broadcaster.publishInventory(roomId, stockUpdate({ productId, dealId, total: Number(total) }, r));
    }
    return units;
  }

  /** Stops the interval. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
    this.safeEmit('close');
  }
}
