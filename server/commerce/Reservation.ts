import type { Redis, Cluster } from 'ioredis';
import type { RedisKeys } from '../../common/keys.js';
import { RedisScript } from '../../common/RedisScript.js';
import { assetPath } from '../../common/paths.js';
import { MicroBatcher } from '../../common/MicroBatcher.js';

/** What the reservation script needs to know about a deal (kept in Redis, in the deal's slot). */
export interface DealInventory {
  dealId: string;
  roomId: string;
  productId: string;
  totalStock: number;
  perBuyerLimit: number;
  /** ms since the epoch (Redis clock decides). */
  startsAt: number;
  endsAt: number;
  /** Empty = every region allowed. */
  allowedRegions: string[];
  blockedRegions: string[];
  priceAmount: number;
  currency: string;
  /** Epoch of this Redis state, recorded with the deal in PostgreSQL (a hash of another epoch is stale). */
  epoch: string;
}

/** What PostgreSQL knows about a deal, to rebuild its Redis state from (see rebuild-5.lua). */
export interface DealTruth extends DealInventory {
  status: 'active' | 'ended';
  /** Units of the deal's pending, paid and refunded orders. */
  soldUnits: number;
  /** `orderId|state|userId|qty|key`, state P (pending), S (paid), R (failed), F (failed, same key may retry). */
  orders: string[];
  stats: DealSalesStats;
}

/** A deal's Redis state as the reconciler compares it with PostgreSQL. */
export interface DealHealth {
  exists: boolean;
  available: number;
  /** The deal's total stock in Redis (a listing's changes; PostgreSQL's must agree). */
  total: number;
  epoch: string;
  status: string;
}

/** Order state in Redis: H held, P payment in flight, S sold, R released. */
export type HoldState = 'H' | 'P' | 'S' | 'R';

export type ReserveCode =
  | 'OK' | 'DUP' | 'IDEMPOTENCY_CONFLICT' | 'NOT_FOUND' | 'NOT_STARTED' | 'ENDED'
  | 'REGION_BLOCKED' | 'LIMIT_REACHED' | 'SOLD_OUT' | 'INSUFFICIENT_STOCK';

/**
 * A deal's stock as of one version. The version grows by one, in the same script, with every
 * change of the stock (and with every phase change), so of two levels the one with the
 * higher version is the newer: `available` and `version` always come from the same script run.
 */
export interface StockLevel {
  available: number;
  version: number;
}

/** Stock after a release (hold lapsed, payment failed), with what decides the deal's phase. */
export interface StockChange extends StockLevel {
  /** The deal's end (ms); 0 once it was ended. */
  endsAt: number;
}

export interface ReserveReply extends StockLevel {
  code: ReserveCode;
  orderId: string;
  /** Hold expiry for OK/DUP; deal start for NOT_STARTED. */
  at: number;
  state: HoldState | '';
  quantity: number;
}

export interface ReserveInput {
  dealId: string;
  userId: string;
  idempotencyKey: string;
  quantity: number;
  region: string | null;
  orderId: string;
  holdMs: number;
  /** Settle job recorded with a new hold, in the same script (transactional outbox); none if absent. */
  settleJob?: string;
}

export interface DealSalesStats {
  orders: number;
  units: number;
  gmv: number;
  buyers: number;
}

const SCRIPTS = ['reserve-4.lua', 'release-3.lua', 'expire-3.lua', 'commit-3.lua', 'sell-3.lua', 'phase-1.lua', 'outbox-2.lua', 'rebuild-5.lua', 'adjust-1.lua'] as const;

/** What changing a listing's total stock in Redis did (see adjust-1.lua). */
export type AdjustCode = 'OK' | 'NOT_FOUND' | 'STALE' | 'SHORT';

/**
 * The lowest stock version a deal's state takes when it is written or rebuilt: microseconds
 * since the epoch, so a rebuilt state's versions are above every version handed out before
 * (a deal's version grows by one per change, far slower than a microsecond clock), and the
 * room takes its stock events as the newest. Exact as a JavaScript number until 2255.
 */
export function versionFloor(now = Date.now()): number {
  return now * 1000;
}

/**
 * The keys of one deal, built once per deal (the hot path allocates no key strings).
 * `deal` hash: the deal's rules and `stock`; `orders` hash: hold records, idempotency keys
 * (`#user|key`) and units per buyer (`@user`); `expiry` zset; `stats` and `sold` hashes.
 */
interface DealKeys {
  /** [deal, orders, expiry]: the keys of release/expire/commit. */
  hold: [string, string, string];
  /** [deal, orders, expiry, outbox]: the keys of reserve. */
  reserve: [string, string, string, string];
  outbox: string;
  /** [orders, stats, sold]: the keys of sell. */
  sale: [string, string, string];
  /** [deal, orders, expiry, stats, sold]: the keys of rebuild. */
  rebuild: [string, string, string, string, string];
  deal: string;
  orders: string;
  all: string[];
}

const MAX_CACHED_DEALS = 10_000;

/**
 * Flash-deal inventory in Redis: atomic reservation, release, expiry, commit and sale,
 * each one Lua script over keys that share the deal's hash tag `{d:dealId}`.
 */
export class Reservation {
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #reserve: RedisScript;
  readonly #release: RedisScript;
  readonly #expire: RedisScript;
  readonly #commit: RedisScript;
  readonly #sell: RedisScript;
  readonly #phase: RedisScript;
  readonly #outbox: RedisScript;
  readonly #rebuild: RedisScript;
  readonly #adjust: RedisScript;
  readonly #dealKeys = new Map<string, DealKeys>();
  readonly #reservers = new Map<string, MicroBatcher<ReserveInput, ReserveReply>>();

  private constructor(redis: Redis | Cluster, keys: RedisKeys, scripts: RedisScript[]) {
    this.#redis = redis;
    this.#keys = keys;
    [this.#reserve, this.#release, this.#expire, this.#commit, this.#sell, this.#phase, this.#outbox, this.#rebuild, this.#adjust] = scripts;
  }

  /** Loads the scripts into Redis once. */
  static async create(redis: Redis | Cluster, keys: RedisKeys): Promise<Reservation> {
    const dir = assetPath(import.meta.url, './scripts');
    const scripts = SCRIPTS.map((f) => RedisScript.fromFile(f, dir));
    for (const s of scripts) await s.load(redis);
    return new Reservation(redis, keys, scripts);
  }

  #k(dealId: string): DealKeys {
    let k = this.#dealKeys.get(dealId);
    if (k) return k;
    const deal = this.#keys.deal(dealId, 'deal');
    const orders = this.#keys.deal(dealId, 'orders');
    const expiry = this.#keys.deal(dealId, 'expiry');
    const stats = this.#keys.deal(dealId, 'stats');
    const sold = this.#keys.deal(dealId, 'sold');
    const outbox = this.#keys.deal(dealId, 'outbox');
    k = {
      hold: [deal, orders, expiry], reserve: [deal, orders, expiry, outbox], sale: [orders, stats, sold],
      rebuild: [deal, orders, expiry, stats, sold], deal, orders, outbox,
      all: [deal, orders, expiry, stats, sold, outbox],
    };
    if (this.#dealKeys.size >= MAX_CACHED_DEALS) this.#dealKeys.clear();
    this.#dealKeys.set(dealId, k);
    return k;
  }

  /**
   * Writes a deal's inventory. Stock is set only the first time (re-opening never refills).
   * Resolves to the stock, under a new version (opening is a phase change).
   */
  async open(deal: DealInventory): Promise<StockLevel> {
    const k = this.#k(deal.dealId);
    const list = (r: string[]) => (r.length ? `,${r.join(',')},` : '');
    const r = await this.#redis
      .multi()
      .hset(k.deal, {
        status: 'active',
        room: deal.roomId,
        product: deal.productId,
        total: deal.totalStock,
        limit: deal.perBuyerLimit,
        starts: deal.startsAt,
        ends: deal.endsAt,
        allowed: list(deal.allowedRegions),
        blocked: list(deal.blockedRegions),
        price: deal.priceAmount,
        currency: deal.currency,
      })
      // A reconciler may have rebuilt the deal from PostgreSQL between its row's commit and this
      // write: its epoch, stock and version stand.
      .hsetnx(k.deal, 'epoch', deal.epoch)
      .hsetnx(k.deal, 'stock', deal.totalStock)
      .hsetnx(k.deal, 'ver', String(versionFloor()))
      .hincrby(k.deal, 'ver', 1)
      .hget(k.deal, 'stock')
      .exec();
    if (!r) throw new Error('deal inventory not written (transaction aborted)');
    for (const [err] of r) if (err) throw err;
    return { available: Number(r[5][1]), version: Number(r[4][1]) };
  }

  /**
   * Replaces the deal's Redis state with what PostgreSQL knows (plus live holds only Redis
   * knows, while units remain). Call it holding the deal's row lock in PostgreSQL.
   */
  async rebuild(truth: DealTruth): Promise<StockLevel & { keptHolds: number; droppedHolds: number }> {
    for (const o of truth.orders) {
      if (!/^[^|]+\|[PSRF]\|[^|]+\|\d+\|/.test(o)) throw new TypeError(`bad order record: ${o}`);
    }
    const list = (r: string[]) => (r.length ? `,${r.join(',')},` : '');
    const deal = {
      status: truth.status, room: truth.roomId, product: truth.productId, total: String(truth.totalStock),
      limit: String(truth.perBuyerLimit), starts: String(truth.startsAt), ends: String(truth.endsAt),
      allowed: list(truth.allowedRegions), blocked: list(truth.blockedRegions), price: String(truth.priceAmount),
      currency: truth.currency, epoch: truth.epoch, sold: String(truth.soldUnits), verFloor: String(versionFloor()),
      orders: String(truth.stats.orders), units: String(truth.stats.units), gmv: String(truth.stats.gmv), buyers: String(truth.stats.buyers),
    };
    const r = await this.#rebuild.run<[number, number, number, number]>(this.#redis, this.#k(truth.dealId).rebuild, [JSON.stringify(deal), ...truth.orders]);
    return { available: Number(r[0]), version: Number(r[1]), keptHolds: Number(r[2]), droppedHolds: Number(r[3]) };
  }

  /** The deal's Redis state as far as the reconciler compares it with PostgreSQL. */
  async health(dealId: string): Promise<DealHealth> {
    const [stock, epoch, status, total] = await this.#redis.hmget(this.#k(dealId).deal, 'stock', 'epoch', 'status', 'total');
    return { exists: status !== null, available: Number(stock ?? 0), epoch: epoch ?? '', status: status ?? '', total: Number(total ?? 0) };
  }

  /**
   * `health` of several deals (the reconciler's pass): one round trip per Redis node, the deals'
   * reads auto-pipelined together (an explicit pipeline must stay in one slot on a cluster).
   */
  async healthOf(dealIds: string[]): Promise<DealHealth[]> {
    return Promise.all(dealIds.map((id) => this.health(id)));
  }

  /**
   * Changes a listing's total stock from `from` (what PostgreSQL has) to `to`, and its available
   * stock by the same amount (adjust-1.lua). `need`: the units taken must be free of holds.
   * Call it holding the listing's row lock in PostgreSQL.
   */
  async adjust(dealId: string, from: number, to: number, need: boolean): Promise<StockLevel & { code: AdjustCode }> {
    const r = await this.#adjust.run<[AdjustCode, number, number]>(this.#redis, [this.#k(dealId).deal], [from, to, need ? '1' : '0']);
    return { code: r[0], available: Number(r[1]), version: Number(r[2]) };
  }

  /**
   * Remembers the room a listing's hold was made in (a listing has no room of its own), for the
   * order its buyer confirms later; forgotten after `ttlMs`.
   */
  async noteRoom(dealId: string, orderId: string, roomId: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#keys.deal(dealId, `room:${orderId}`), roomId, 'PX', ttlMs);
  }

  /** The room noted for a listing's order, or null. */
  async roomOf(dealId: string, orderId: string): Promise<string | null> {
    return this.#redis.get(this.#keys.deal(dealId, `room:${orderId}`));
  }

  /**
   * Marks the deal ended (later reservations answer ENDED); resolves to its stock under a new
   * version, so the room takes the ENDED event as newer than every stock event before it.
   */
  async end(dealId: string): Promise<StockLevel> {
    return this.phaseChange(dealId, 'ended');
  }

  /**
   * A phase change (scheduled -> live, ...): a new stock version, and the stock of that
   * version, atomically. The room stream refuses an inventory event whose version is not
   * newer than the last one, so a phase event needs its own version.
   */
  async phaseChange(dealId: string, status: 'ended' | '' = ''): Promise<StockLevel> {
    const r = await this.#phase.run<[number, number]>(this.#redis, [this.#k(dealId).deal], [status]);
    return { available: Number(r[0]), version: Number(r[1]) };
  }

  /**
   * Reserves for one tap. Taps on the same deal that arrive in the same event-loop turn run
   * in one script call, in arrival order, each answered as if it ran alone (group commit:
   * one round trip and one script invocation for the whole burst).
   */
  reserve(input: ReserveInput): Promise<ReserveReply> {
    for (const field of [input.userId, input.idempotencyKey, input.region ?? '', input.orderId]) {
      // (the settle job is the last field of the script argument: it may contain anything)
      if (typeof field !== 'string' || field.includes('|')) return Promise.reject(new TypeError('ids, keys and regions must be strings without "|"'));
    }
    if (!Number.isInteger(input.quantity) || input.quantity < 1 || !Number.isInteger(input.holdMs) || input.holdMs < 1) {
      return Promise.reject(new TypeError('quantity and holdMs must be positive integers'));
    }
    let reserver = this.#reservers.get(input.dealId);
    if (!reserver) {
      const dealId = input.dealId;
      // If a batch fails, each of its taps runs alone: a retry of a tap that was held answers DUP, so this is safe.
      reserver = new MicroBatcher((taps) => this.#reserveBatch(dealId, taps), { maxBatch: 256, maxInFlight: 1_000, isolateFailures: true });
      if (this.#reservers.size >= MAX_CACHED_DEALS) this.#reservers.clear();
      this.#reservers.set(dealId, reserver);
    }
    return reserver.submit(input);
  }

  async #reserveBatch(dealId: string, taps: ReserveInput[]): Promise<ReserveReply[]> {
    const args: string[] = new Array(taps.length);
    for (let i = 0; i < taps.length; i++) {
      const t = taps[i];
      args[i] = `${t.userId}|${t.idempotencyKey}|${t.quantity}|${t.region ?? ''}|${t.orderId}|${t.holdMs}|${t.settleJob ?? ''}`;
    }
    const r = await this.#reserve.run<(string | number)[]>(this.#redis, this.#k(dealId).reserve, args);
    const out: ReserveReply[] = new Array(taps.length);
    for (let i = 0, j = 0; i < taps.length; i++, j += 7) {
      out[i] = {
        code: r[j] as ReserveCode, orderId: r[j + 1] as string, at: Number(r[j + 2]), available: Number(r[j + 3]),
        state: r[j + 4] as HoldState | '', quantity: Number(r[j + 5]), version: Number(r[j + 6]),
      };
    }
    return out;
  }

  /**
   * Gives an order's units back if it is in one of `states`. Exactly once. Resolves to the stock
   * after. `forget`: the buyer's idempotency key is forgotten too, so a retry with it holds again.
   */
  async release(dealId: string, orderId: string, states: string, forget = false): Promise<StockChange & { released: boolean; previous: HoldState | ''; quantity: number }> {
    const r = await this.#release.run<[number, number, HoldState | '', number, number, number]>(this.#redis, this.#k(dealId).hold, [orderId, states, forget ? '1' : '0']);
    return { released: r[0] === 1, available: Number(r[1]), previous: r[2], quantity: Number(r[3]), version: Number(r[4]), endsAt: Number(r[5]) };
  }

  /** Releases lapsed holds; resolves to the stock after and the released order ids. */
  async expire(dealId: string, max = 500): Promise<StockChange & { units: number; orderIds: string[] }> {
    const r = await this.#expire.run<[number, number, number, number, ...string[]]>(this.#redis, this.#k(dealId).hold, [max]);
    return { available: Number(r[0]), units: Number(r[1]), version: Number(r[2]), endsAt: Number(r[3]), orderIds: r.slice(4) as string[] };
  }

  /**
   * H -> P before capture. `previous` is the state before the call: `H` with code OK means
   * this call committed the hold, so no earlier run of the order can have recorded anything.
   */
  async commit(dealId: string, orderId: string): Promise<StockChange & { code: 'OK' | 'SOLD' | 'RELEASED' | 'EXPIRED' | 'UNKNOWN'; previous: HoldState | '' }> {
    const r = await this.#commit.run<[string, number, HoldState | '', number, number]>(this.#redis, this.#k(dealId).hold, [orderId]);
    return { code: r[0] as 'OK', available: Number(r[1]), previous: r[2], version: Number(r[3]), endsAt: Number(r[4]) };
  }

  /** P -> S after the payment is recorded; counts the sale once. */
  async sell(dealId: string, orderId: string, totalAmount: number): Promise<{ code: 'OK' | 'DUP' | 'RELEASED' | 'UNKNOWN'; quantity: number }> {
    const r = await this.#sell.run<[string, number]>(this.#redis, this.#k(dealId).sale, [orderId, totalAmount]);
    return { code: r[0] as 'OK', quantity: Number(r[1]) };
  }

  /** An order's hold record, or null. */
  async order(dealId: string, orderId: string): Promise<{ state: HoldState; userId: string; quantity: number; expiresAt: number; idempotencyKey: string } | null> {
    const rec = await this.#redis.hget(this.#k(dealId).orders, orderId);
    if (!rec) return null;
    const [state, userId, q, exp, ...key] = rec.split('|');
    return { state: state as HoldState, userId, quantity: Number(q), expiresAt: Number(exp), idempotencyKey: key.join('|') };
  }

  /**
   * Records a settle job in the deal's outbox if the order is still held; resolves to the
   * order's state ('H': recorded).
   */
  async recordSettleJob(dealId: string, orderId: string, job: string): Promise<HoldState | ''> {
    const k = this.#k(dealId);
    return this.#outbox.run<HoldState | ''>(this.#redis, [k.orders, k.outbox], [orderId, job]);
  }

  /** Settle jobs in the deal's outbox (order id -> job), at most `max` (HSCAN beyond a small outbox). */
  async outbox(dealId: string, max = 1_000): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(this.#k(dealId).outbox, cursor, 'COUNT', 500);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) out.set(flat[i], flat[i + 1]);
    } while (cursor !== '0' && out.size < max);
    return out;
  }

  /** Removes moved jobs from the deal's outbox. */
  async clearOutbox(dealId: string, orderIds: string[]): Promise<void> {
    if (orderIds.length > 0) await this.#redis.hdel(this.#k(dealId).outbox, ...orderIds);
  }

  /** Units available now. */
  async available(dealId: string): Promise<number> {
    return Number((await this.#redis.hget(this.#k(dealId).deal, 'stock')) ?? 0);
  }

  /** Units available now and their version, read together. */
  async stock(dealId: string): Promise<StockLevel> {
    const [available, version] = await this.#redis.hmget(this.#k(dealId).deal, 'stock', 'ver');
    return { available: Number(available ?? 0), version: Number(version ?? 0) };
  }

  /** Sales counted by `sell`. */
  async stats(dealId: string): Promise<DealSalesStats> {
    const h = await this.#redis.hgetall(this.#k(dealId).sale[1]);
    return { orders: Number(h.orders ?? 0), units: Number(h.units ?? 0), gmv: Number(h.gmv ?? 0), buyers: Number(h.buyers ?? 0) };
  }

  /** Units per buyer currently held or bought. */
  async committedBy(dealId: string): Promise<Record<string, number>> {
    const h = await this.#redis.hgetall(this.#k(dealId).orders);
    const out: Record<string, number> = {};
    for (const [field, v] of Object.entries(h)) if (field.startsWith('@')) out[field.slice(1)] = Number(v);
    return out;
  }

  /** Deletes every key of a deal (tests, purge after archival). */
  async purge(dealId: string): Promise<void> {
    await this.#redis.del(...this.#k(dealId).all);
    this.#dealKeys.delete(dealId);
  }
}
