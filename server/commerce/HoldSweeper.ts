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
 * room the new stock. Release is exactly once in Lua, so several sweepers may run.
 */
export class HoldSweeper extends EnhancedEventEmitter<HoldSweeperEvents> {
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #reservation: Reservation;
  readonly #broadcaster: RoomBroadcaster;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | null = null;
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
      if (r.units === 0) continue;
      units += r.units;
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
