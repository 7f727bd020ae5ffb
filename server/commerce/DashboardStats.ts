import type { Redis, Cluster } from 'ioredis';
import type { RedisKeys } from '../../common/keys.js';
import type { FlashDeals } from './FlashDeals.js';
import type { flashcast } from '../../protocol/index.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';

const log = logger('DashboardStats');

/** Viewers in a room now (from the realtime gateway's presence). */
export type ViewerCount = (roomId: string) => number | Promise<number>;

export type DashboardStatsEvents = { stats: [roomId: string, stats: flashcast.IDashboardStats]; close: [] };

/**
 * The host dashboard: live GMV, orders, units, buyers and conversion (buyers / viewers)
 * per room and product, from the counters the settlement worker maintains exactly once in
 * Redis. `snapshot` answers the API; `watch` feeds hosts over the socket on an interval.
 */
export class DashboardStats extends EnhancedEventEmitter<DashboardStatsEvents> {
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #deals: FlashDeals;
  readonly #viewers: ViewerCount;
  readonly #watched = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(redis: Redis | Cluster, keys: RedisKeys, deals: FlashDeals, viewers: ViewerCount, intervalMs = 1_000) {
    super();
    this.#redis = redis;
    this.#keys = keys;
    this.#deals = deals;
    this.#viewers = viewers;
    this.#timer = setInterval(() => void this.#tick(), intervalMs);
    this.#timer.unref();
  }

  /** Current figures for a room. */
  async snapshot(roomId: string): Promise<flashcast.IDashboardStats> {
    const dealIds = await this.#redis.smembers(this.#keys.room(roomId, 'deals'));
    const [buyers, viewers] = await Promise.all([
      this.#redis.scard(this.#keys.room(roomId, 'buyers')),
      Promise.resolve(this.#viewers(roomId)).catch(() => 0),
    ]);
    const gmv = new Map<string, number>();
    let orders = 0;
    let units = 0;
    const products: flashcast.IProductStats[] = [];
    await Promise.all(dealIds.map(async (dealId) => {
      try {
        const [deal, stats, stock] = await Promise.all([
          this.#deals.get(dealId),
          this.#redis.hgetall(this.#keys.deal(dealId, 'stats')),
          this.#redis.hget(this.#keys.deal(dealId, 'deal'), 'stock'),
        ]);
        const s = { orders: Number(stats.orders ?? 0), units: Number(stats.units ?? 0), gmv: Number(stats.gmv ?? 0), buyers: Number(stats.buyers ?? 0) };
        orders += s.orders;
        units += s.units;
        gmv.set(deal.price.currency, (gmv.get(deal.price.currency) ?? 0) + s.gmv);
        products.push({
          productId: deal.productId, dealId, gmv: { amount: s.gmv, currency: deal.price.currency },
          orders: s.orders, units: s.units, buyers: s.buyers, available: Number(stock ?? 0),
        });
      } catch (err) {
        log.warn({ err, dealId }, 'deal stats unavailable');
      }
    }));
    products.sort((a, b) => String(a.dealId).localeCompare(String(b.dealId)));
    return {
      room: roomId,
      gmv: [...gmv.entries()].sort().map(([currency, amount]) => ({ amount, currency })),
      orders, units, buyers, viewers,
      conversion: viewers > 0 ? buyers / viewers : 0,
      products,
      ts: Date.now(),
    };
  }

  /** Starts emitting `stats` for a room (reference counted: one per host socket). */
  watch(roomId: string): void {
    this.#watched.set(roomId, (this.#watched.get(roomId) ?? 0) + 1);
  }

  /** Undoes one `watch`. */
  unwatch(roomId: string): void {
    const n = (this.#watched.get(roomId) ?? 0) - 1;
    if (n <= 0) this.#watched.delete(roomId);
    else this.#watched.set(roomId, n);
  }

  async #tick(): Promise<void> {
    for (const roomId of this.#watched.keys()) {
      try {
        this.safeEmit('stats', roomId, await this.snapshot(roomId));
      } catch (err) {
        log.warn({ err, roomId }, 'dashboard tick failed');
      }
    }
  }

  /** Stops the feed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#watched.clear();
    this.safeEmit('close');
  }
}
