import type { Redis, Cluster } from 'ioredis';
import type { RedisKeys } from '../../common/keys.js';
import { RedisScript } from '../../common/RedisScript.js';
import { assetPath } from '../../common/paths.js';
import { MicroBatcher } from '../../common/MicroBatcher.js';
import { logger } from '../../common/logger.js';
import { DealBuckets } from './DealBuckets.js';
import { StockView } from './StockView.js';

const log = logger('Reservation');

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
  /** Buckets the stock is split over, in different hash slots (default 1; see DealBuckets). */
  buckets?: number;
}

/** What PostgreSQL knows about a deal, to rebuild its Redis state from (see rebuild-5.lua). */
export interface DealTruth extends DealInventory {
  status: 'active' | 'ended';
  /** Units of the deal's pending, paid and refunded orders. */
  soldUnits: number;
  /** `orderId|state|userId|qty|key`, state P (pending), S (paid), R (failed), F (failed, same key may retry). */
  orders: string[];
  stats: DealSalesStats;
  /** With several buckets: the sales stats of each bucket's orders (an order's bucket is its buyer's home); default all in bucket 0. */
  bucketStats?: DealSalesStats[];
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

/** What reserve-4.lua answers besides ReserveCode inside a failover (never returned to callers). */
type RawReserveCode = ReserveCode | 'MOVE' | 'LAPSED' | 'CANCELLED';

/** One tap's answer from reserve-4.lua: one bucket's stock, and the loan its order's units are. */
interface RawReply extends Omit<ReserveReply, 'code'> {
  code: RawReserveCode;
  /** "j:token" when the order's units are a loan from bucket j, else "". */
  loan: string;
}

/** One loan's answer from take-3.lua. */
interface TakeReply extends StockLevel {
  code: ReserveCode;
  expiresAt: number;
  token: string;
  quantity: number;
}

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
  /**
   * The deal's bucket count (Deal.buckets), if the caller knows it: spares a lookup. With several
   * buckets, `orderId` must name the buyer's home (OrderIds.forPurchase with the bucket count).
   */
  buckets?: number;
}

export interface DealSalesStats {
  orders: number;
  units: number;
  gmv: number;
  buyers: number;
}

const SCRIPTS = [
  'reserve-4.lua', 'release-3.lua', 'expire-3.lua', 'commit-3.lua', 'sell-3.lua', 'phase-1.lua', 'outbox-2.lua', 'rebuild-5.lua', 'adjust-1.lua',
  'take-3.lua', 'give-3.lua',
] as const;

/** A lapsed loan whose order is still paying is looked at again after this long. */
const LOAN_RECHECK_MS = 30_000;

export interface ReservationOptions {
  /**
   * A lapsed loan nobody points to is given back this long after its expiry (default 10 s: more
   * than the clocks of two Redis masters differ; a home refuses a loan once it lapsed).
   */
  loanGraceMs: number;
}

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
 * The keys of one bucket of a deal (a one-bucket deal has one: `{d:<deal>}`), built once per deal
 * (the hot path allocates no key strings). `deal` hash: the deal's rules, this bucket's `stock` and
 * `ver`; `orders` hash: hold records, idempotency keys (`#user|key`), units per buyer (`@user`) and
 * loans an order's units are (`~order`); `expiry` zset; `stats` and `sold` hashes; `outbox`;
 * `loans` hash and `lapse` zset: units this bucket lent to taps of other homes (take-3.lua).
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
  /** [deal, loans, lapse]: the keys of take and give. */
  loan: [string, string, string];
  deal: string;
  orders: string;
  all: string[];
}

const MAX_CACHED_DEALS = 10_000;

/** The stock change a script answered: `[available, version, ends]` of one bucket. */
type BucketChange = { available: number; version: number; endsAt: number };

/**
 * Flash-deal inventory in Redis: atomic reservation, release, expiry, commit and sale,
 * each one Lua script over keys that share one hash tag. A deal may split its stock over
 * buckets in different slots (`DealInventory.buckets`, docs/flash-sales.md "A hot product
 * beyond one shard"): a buyer's home bucket holds their limit, idempotency records and orders;
 * a tap whose home ran short borrows units from another bucket (take-3.lua), records its hold at
 * home (reserve-4.lua), and gives the loan back exactly (give-3.lua) when the home refuses it.
 * Callers see one deal: stock and versions are the sums over buckets.
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
  readonly #take: RedisScript;
  readonly #give: RedisScript;
  /** Per deal: the keys of each bucket. */
  readonly #dealKeys = new Map<string, DealKeys[]>();
  /** Per deal: its bucket count, once known (it never changes). */
  readonly #counts = new Map<string, number>();
  /** Per deal of several buckets: the stock this process last saw in each. */
  readonly #views = new Map<string, StockView>();
  /** Per (deal, bucket): the group commit of reserve-4.lua, and of take-3.lua. */
  readonly #reservers = new Map<string, MicroBatcher<ReserveInput & { flags: string }, RawReply>>();
  readonly #takers = new Map<string, MicroBatcher<ReserveInput, TakeReply>>();
  readonly #options: ReservationOptions;

  private constructor(redis: Redis | Cluster, keys: RedisKeys, scripts: RedisScript[], options: ReservationOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#options = options;
    [this.#reserve, this.#release, this.#expire, this.#commit, this.#sell, this.#phase, this.#outbox, this.#rebuild, this.#adjust, this.#take, this.#give] = scripts;
  }

  /** Loads the scripts into Redis once. */
  static async create(redis: Redis | Cluster, keys: RedisKeys, options: Partial<ReservationOptions> = {}): Promise<Reservation> {
    const dir = assetPath(import.meta.url, './scripts');
    const scripts = SCRIPTS.map((f) => RedisScript.fromFile(f, dir));
    for (const s of scripts) await s.load(redis);
    return new Reservation(redis, keys, scripts, { loanGraceMs: 10_000, ...options });
  }

  /** The keys of each of the deal's `n` buckets (default: as many as known; bucket 0's are always the same). */
  #k(dealId: string, n = this.#counts.get(dealId) ?? 1): DealKeys[] {
    let k = this.#dealKeys.get(dealId);
    if (k && k.length === n) return k;
    k = DealBuckets.tags(dealId, n).map((tag) => {
      const key = (suffix: string) => this.#keys.tagged(tag, suffix);
      const [deal, orders, expiry, stats, sold, outbox, loans, lapse] = ['deal', 'orders', 'expiry', 'stats', 'sold', 'outbox', 'loans', 'lapse'].map(key);
      return {
        hold: [deal, orders, expiry], reserve: [deal, orders, expiry, outbox], sale: [orders, stats, sold],
        rebuild: [deal, orders, expiry, stats, sold], loan: [deal, loans, lapse], deal, orders, outbox,
        all: [deal, orders, expiry, stats, sold, outbox, loans, lapse],
      } satisfies DealKeys;
    });
    if (this.#dealKeys.size >= MAX_CACHED_DEALS) this.#dealKeys.clear();
    this.#dealKeys.set(dealId, k);
    return k;
  }

  /** Remembers a deal's bucket count. */
  #know(dealId: string, n: number): void {
    DealBuckets.assertCount(n);
    if (this.#counts.size >= MAX_CACHED_DEALS) this.#counts.clear();
    this.#counts.set(dealId, n);
  }

  /** The deal's bucket count: remembered, or read from its first bucket (1 for a deal Redis does not have). */
  async #bucketsOf(dealId: string): Promise<number> {
    const known = this.#counts.get(dealId);
    if (known !== undefined) return known;
    const [n, status] = await this.#redis.hmget(this.#keys.deal(dealId, 'deal'), 'buckets', 'status');
    if (status === null) return 1; // not remembered: the deal's state may come back (rebuild)
    const count = Math.max(1, Number(n ?? 1));
    this.#know(dealId, count);
    return count;
  }

  #view(dealId: string, n: number): StockView {
    let v = this.#views.get(dealId);
    if (!v || v.buckets !== n) {
      if (this.#views.size >= MAX_CACHED_DEALS) this.#views.clear();
      v = new StockView(n);
      this.#views.set(dealId, v);
    }
    return v;
  }

  /** The deal's view, every bucket read once first if some were never seen (their stock would count as 0). */
  async #fullView(dealId: string, n: number): Promise<StockView> {
    const view = this.#view(dealId, n);
    if (!view.complete) await this.stock(dealId);
    return view;
  }

  /** The deal's stock and version after `change` in one of its buckets (the view's sums with several). */
  async #dealLevel<T extends BucketChange>(dealId: string, n: number, bucket: number, change: T): Promise<T> {
    if (n === 1) return change;
    const view = await this.#fullView(dealId, n);
    view.see(bucket, change.available, change.version);
    return { ...change, ...view.total() };
  }

  /**
   * Writes a deal's inventory. Stock is set only the first time (re-opening never refills).
   * Resolves to the stock, under a new version (opening is a phase change). With several
   * buckets the stock is shared out evenly (DealBuckets.split).
   */
  async open(deal: DealInventory): Promise<StockLevel> {
    const n = deal.buckets ?? 1;
    DealBuckets.assertCount(n);
    const list = (r: string[]) => (r.length ? `,${r.join(',')},` : '');
    const shares = DealBuckets.split(deal.totalStock, n);
    const floor = String(versionFloor());
    const levels = await Promise.all(this.#k(deal.dealId, n).map(async (k, b) => {
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
          buckets: n,
        })
        // A reconciler may have rebuilt the deal from PostgreSQL between its row's commit and this
        // write: its epoch, stock and version stand. Bucket 0's version starts from the clock, the
        // others' from 0: the deal's version (their sum) stays exact.
        .hsetnx(k.deal, 'epoch', deal.epoch)
        .hsetnx(k.deal, 'stock', shares[b])
        .hsetnx(k.deal, 'ver', b === 0 ? floor : '0')
        .hincrby(k.deal, 'ver', 1)
        .hget(k.deal, 'stock')
        .exec();
      if (!r) throw new Error('deal inventory not written (transaction aborted)');
      for (const [err] of r) if (err) throw err;
      return { available: Number(r[5][1]), version: Number(r[4][1]) };
    }));
    this.#know(deal.dealId, n);
    if (n === 1) return levels[0];
    const view = this.#view(deal.dealId, n);
    levels.forEach((l, b) => view.see(b, l.available, l.version));
    return view.total();
  }

  /**
   * Replaces the deal's Redis state with what PostgreSQL knows (plus live holds only Redis
   * knows, while units remain). Call it holding the deal's row lock in PostgreSQL.
   */
  async rebuild(truth: DealTruth): Promise<StockLevel & { keptHolds: number; droppedHolds: number }> {
    for (const o of truth.orders) {
      if (!/^[^|]+\|[PSRF]\|[^|]+\|\d+\|/.test(o)) throw new TypeError(`bad order record: ${o}`);
    }
    const n = truth.buckets ?? 1;
    DealBuckets.assertCount(n);
    const list = (r: string[]) => (r.length ? `,${r.join(',')},` : '');
    const deal = {
      status: truth.status, room: truth.roomId, product: truth.productId, total: String(truth.totalStock),
      limit: String(truth.perBuyerLimit), starts: String(truth.startsAt), ends: String(truth.endsAt),
      allowed: list(truth.allowedRegions), blocked: list(truth.blockedRegions), price: String(truth.priceAmount),
      currency: truth.currency, epoch: truth.epoch, sold: String(truth.soldUnits), verFloor: String(versionFloor()), buckets: String(n),
    };
    const statsOf = (s: DealSalesStats) => ({ orders: String(s.orders), units: String(s.units), gmv: String(s.gmv), buyers: String(s.buyers) });
    const keys = this.#k(truth.dealId, n);
    this.#know(truth.dealId, n);
    if (n === 1) {
      const r = await this.#rebuild.run<[number, number, number, number]>(this.#redis, keys[0].rebuild, [JSON.stringify({ ...deal, ...statsOf(truth.stats) }), ...truth.orders]);
      return { available: Number(r[0]), version: Number(r[1]), keptHolds: Number(r[2]), droppedHolds: Number(r[3]) };
    }
    // 1. Fence every bucket: taps and loans answer NOT_FOUND (and wait for this rebuild) until it is written again.
    await Promise.all(keys.map((k) => this.#phase.run(this.#redis, [k.deal], ['fenced'])));
    // 2. Units of the holds only Redis knows, per bucket (as rebuild-5.lua counts them: P, or H not lapsed).
    const known = new Set(truth.orders.map((o) => o.slice(0, o.indexOf('|'))));
    const now = Date.now();
    const held = await Promise.all(keys.map(async (k) => {
      let units = 0;
      for (const [field, rec] of Object.entries(await this.#redis.hgetall(k.orders))) {
        if ('#@~'.includes(field[0]) || known.has(field)) continue;
        const [state, , q, exp] = rec.split('|');
        if (state === 'P' || (state === 'H' && Number(exp) > now)) units += Number(q);
      }
      return units;
    }));
    // 3. PostgreSQL's free units: first each bucket's kept holds, the rest shared out evenly. A hold
    // released meanwhile leaves its units in its bucket's stock (the script keeps fewer).
    let free = Math.max(0, truth.totalStock - truth.soldUnits);
    const heldTotal = held.reduce((a, b) => a + b, 0);
    let shares: number[];
    if (heldTotal <= free) {
      shares = DealBuckets.split(free - heldTotal, n).map((s, b) => s + held[b]);
    } else {
      shares = held.map((h) => {
        const take = Math.min(h, free);
        free -= take;
        return take;
      });
    }
    // 4. The old state's loans go: a kept hold is now backed by its home bucket's units.
    await Promise.all(keys.map((k) => this.#redis.del(k.loan[1], k.loan[2])));
    // 5. Each bucket: its orders (by their buyer's home), its share, its stats.
    const byHome: string[][] = keys.map(() => []);
    for (const o of truth.orders) byHome[DealBuckets.ofOrder(o.slice(0, o.indexOf('|'))) % n].push(o);
    const none: DealSalesStats = { orders: 0, units: 0, gmv: 0, buyers: 0 };
    const stats = truth.bucketStats ?? keys.map((_, b) => (b === 0 ? truth.stats : none));
    const replies = await Promise.all(keys.map((k, b) => this.#rebuild.run<[number, number, number, number]>(this.#redis, k.rebuild, [
      JSON.stringify({ ...deal, ...statsOf(stats[b] ?? none), free: String(shares[b]), verFloor: b === 0 ? deal.verFloor : '0' }),
      ...byHome[b],
    ])));
    const view = this.#view(truth.dealId, n);
    replies.forEach((r, b) => view.see(b, Number(r[0]), Number(r[1])));
    return {
      ...view.total(),
      keptHolds: replies.reduce((a, r) => a + Number(r[2]), 0),
      droppedHolds: replies.reduce((a, r) => a + Number(r[3]), 0),
    };
  }

  /**
   * The deal's Redis state as far as the reconciler compares it with PostgreSQL: with several
   * buckets, summed (and a deal a rebuild fenced and left so, because it died, counts as missing).
   */
  async health(dealId: string): Promise<DealHealth> {
    const fields = ['stock', 'epoch', 'status', 'total', 'buckets'];
    const first = await this.#redis.hmget(this.#keys.deal(dealId, 'deal'), ...fields);
    const n = first[2] === null ? 1 : Math.max(1, Number(first[4] ?? 1));
    const heads = n === 1 ? [first] : [first, ...(await Promise.all(this.#k(dealId, n).slice(1).map((k) => this.#redis.hmget(k.deal, ...fields))))];
    const same = (j: number) => heads.every((h) => h[j] === heads[0][j]);
    return {
      exists: heads.every((h) => h[2] !== null && h[2] !== 'fenced'),
      available: heads.reduce((a, h) => a + Number(h[0] ?? 0), 0),
      epoch: same(1) ? heads[0][1] ?? '' : '',
      status: same(2) ? heads[0][2] ?? '' : '',
      total: same(3) ? Number(heads[0][3] ?? 0) : -1,
    };
  }

  /**
   * `health` of several deals (the reconciler's pass): the deals' reads auto-pipelined together, one
   * round trip per Redis node (an explicit pipeline must stay in one slot on a cluster).
   */
  async healthOf(dealIds: string[]): Promise<DealHealth[]> {
    return Promise.all(dealIds.map((id) => this.health(id)));
  }

  /**
   * Changes a listing's total stock from `from` (what PostgreSQL has) to `to`, and its available
   * stock by the same amount (adjust-1.lua). `need`: the units taken must be free of holds.
   * Call it holding the listing's row lock in PostgreSQL. Listings have one bucket.
   */
  async adjust(dealId: string, from: number, to: number, need: boolean): Promise<StockLevel & { code: AdjustCode }> {
    if ((await this.#bucketsOf(dealId)) !== 1) throw new TypeError('only a one-bucket deal (a listing) changes its total');
    const r = await this.#adjust.run<[AdjustCode, number, number]>(this.#redis, [this.#k(dealId)[0].deal], [from, to, need ? '1' : '0']);
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
   * newer than the last one, so a phase event needs its own version. (With several buckets:
   * `ended` is written to each; the new version is bucket 0's, and the stock is read after.)
   */
  async phaseChange(dealId: string, status: 'ended' | '' = ''): Promise<StockLevel> {
    const n = await this.#bucketsOf(dealId);
    const keys = this.#k(dealId, n);
    const targets = status === '' ? keys.slice(0, 1) : keys;
    const rs = await Promise.all(targets.map((k) => this.#phase.run<[number, number]>(this.#redis, [k.deal], [status])));
    if (n === 1) return { available: Number(rs[0][0]), version: Number(rs[0][1]) };
    return this.stock(dealId);
  }

  /**
   * Reserves for one tap. Taps on the same deal (bucket) that arrive in the same event-loop turn
   * run in one script call, in arrival order, each answered as if it ran alone (group commit:
   * one round trip and one script invocation for the whole burst). With several buckets, a tap
   * whose home bucket is short borrows from another (see the class comment).
   */
  async reserve(input: ReserveInput): Promise<ReserveReply> {
    for (const field of [input.userId, input.idempotencyKey, input.region ?? '', input.orderId]) {
      // (the settle job is the last field of the script argument: it may contain anything)
      if (typeof field !== 'string' || field.includes('|')) throw new TypeError('ids, keys and regions must be strings without "|"');
    }
    if (!Number.isInteger(input.quantity) || input.quantity < 1 || !Number.isInteger(input.holdMs) || input.holdMs < 1) {
      throw new TypeError('quantity and holdMs must be positive integers');
    }
    if (input.buckets !== undefined) this.#know(input.dealId, input.buckets);
    const n = input.buckets ?? (await this.#bucketsOf(input.dealId));
    // One bucket: the script's answer as it is (its `loan` is always empty; no copy on the hot path).
    if (n === 1) return this.#homeTap(input.dealId, 1, 0, { ...input, flags: '' }) as Promise<RawReply> as Promise<ReserveReply>;
    return this.#reserveSplit(input, n);
  }

  /**
   * A tap on a deal of `n` buckets: at home; else (home short) the home claims the buyer's limit and
   * key (MOVE), another bucket lends the units (take-3.lua), the claim becomes the hold (reserve-4.lua
   * "L"); a loan the home refuses goes back exactly once (give-3.lua), a claim no bucket can serve is
   * dropped ("C").
   */
  async #reserveSplit(input: ReserveInput, n: number): Promise<ReserveReply> {
    const home = DealBuckets.ofOrder(input.orderId);
    if (home !== DealBuckets.home(input.userId, n)) throw new TypeError("the order id must name the buyer's home bucket (OrderIds.forPurchase with the deal's buckets)");
    const view = await this.#fullView(input.dealId, n);
    const answer = (r: RawReply): ReserveReply => {
      const { loan: _loan, ...reply } = r;
      return { ...reply, code: reply.code as ReserveCode, ...view.total() };
    };
    let first = await this.#homeTap(input.dealId, n, home, { ...input, flags: view.othersMayHave(home) ? 'S' : '' });
    // The same tap in flight elsewhere (a duplicate, a retry) has claimed: its answer, once it has one.
    for (let i = 0; first.code === 'DUP' && (first.state as string) === 'M'; i++) {
      if (i >= 40) throw new Error('the same tap is still in flight; retry with the same key');
      await new Promise((r) => setTimeout(r, 5));
      first = await this.#homeTap(input.dealId, n, home, { ...input, flags: view.othersMayHave(home) ? 'S' : '' });
    }
    if (first.code !== 'MOVE') return answer(first);
    // Claimed at home: the buyer's limit and key are ours until the hold is recorded or the claim dropped.
    const drop = async (code: ReserveCode): Promise<ReserveReply> => {
      await this.#homeTap(input.dealId, n, home, { ...input, flags: 'C' });
      const t = view.total();
      return { code, orderId: '', at: 0, state: '', quantity: 0, ...t };
    };
    for (const j of view.candidates(home)) {
      for (let attempt = 0; attempt < 2; attempt++) {
        let lent: TakeReply;
        try {
          lent = await this.#takeFrom(input.dealId, n, j, input);
        } catch (error) {
          // Lent or not: a loan nobody records is given back after it lapses; the claim goes now.
          await drop('SOLD_OUT').catch(() => undefined);
          throw error;
        }
        if (lent.code === 'SOLD_OUT' || lent.code === 'INSUFFICIENT_STOCK') break;
        if (lent.code !== 'OK' && lent.code !== 'DUP') return drop(lent.code);
        if (lent.code === 'DUP' && lent.quantity !== input.quantity) {
          // A loan of an earlier try with another quantity, which nobody recorded (this claim is the key's): back, and again.
          await this.#returnLoan(input.dealId, n, j, input.orderId, lent.token);
          continue;
        }
        const loan = `${j}:${lent.token}`;
        const rec = await this.#homeTap(input.dealId, n, home, { ...input, flags: `L${loan}:${lent.expiresAt}` });
        if (rec.code === 'OK' || rec.loan === loan) return answer(rec);
        // Refused at home (the claim lapsed, the deal ended or was fenced meanwhile): the loan goes back, exactly once.
        await this.#returnLoan(input.dealId, n, j, input.orderId, lent.token);
        // The loan of an earlier try had lapsed (reused with its old expiry): once more with a new one, if the claim stands.
        if (rec.code === 'LAPSED' && lent.code === 'DUP') {
          const again = await this.#homeTap(input.dealId, n, home, { ...input, flags: view.othersMayHave(home) ? 'S' : '' });
          if (again.code !== 'MOVE') return answer(again);
          continue;
        }
        // The claim itself lapsed (the tap took longer than a claim lives): nothing is held; the buyer taps again.
        if (rec.code === 'LAPSED') throw new Error('the tap took too long and was dropped; retry with the same key');
        return answer(rec);
      }
    }
    return drop(view.total().available > 0 ? 'INSUFFICIENT_STOCK' : 'SOLD_OUT');
  }

  /** reserve-4.lua on one bucket, group-committed per (deal, bucket). */
  #homeTap(dealId: string, n: number, bucket: number, tap: ReserveInput & { flags: string }): Promise<RawReply> {
    const id = `${dealId}\n${bucket}`;
    let reserver = this.#reservers.get(id);
    if (!reserver) {
      const keys = this.#k(dealId, n)[bucket];
      // If a batch fails, each of its taps runs alone: a retry of a tap that was held answers DUP, so this is safe.
      reserver = new MicroBatcher((taps) => this.#reserveBatch(keys, taps), { maxBatch: 256, maxInFlight: 1_000, isolateFailures: true });
      if (this.#reservers.size >= MAX_CACHED_DEALS) this.#reservers.clear();
      this.#reservers.set(id, reserver);
    }
    if (n === 1) return reserver.submit(tap);
    return reserver.submit(tap).then((r) => {
      this.#view(dealId, n).see(bucket, r.available, r.version);
      return r;
    });
  }

  async #reserveBatch(keys: DealKeys, taps: (ReserveInput & { flags: string })[]): Promise<RawReply[]> {
    const args: string[] = new Array(taps.length);
    for (let i = 0; i < taps.length; i++) {
      const t = taps[i];
      args[i] = `${t.userId}|${t.idempotencyKey}|${t.quantity}|${t.region ?? ''}|${t.orderId}|${t.holdMs}|${t.flags}|${t.settleJob ?? ''}`;
    }
    const r = await this.#reserve.run<(string | number)[]>(this.#redis, keys.reserve, args);
    const out: RawReply[] = new Array(taps.length);
    for (let i = 0, j = 0; i < taps.length; i++, j += 8) {
      out[i] = {
        code: r[j] as RawReserveCode, orderId: r[j + 1] as string, at: Number(r[j + 2]), available: Number(r[j + 3]),
        state: r[j + 4] as HoldState | '', quantity: Number(r[j + 5]), version: Number(r[j + 6]), loan: r[j + 7] as string,
      };
    }
    return out;
  }

  /** take-3.lua on bucket `bucket` for one tap, group-committed per (deal, bucket). */
  #takeFrom(dealId: string, n: number, bucket: number, tap: ReserveInput): Promise<TakeReply> {
    const id = `${dealId}\n${bucket}`;
    let taker = this.#takers.get(id);
    if (!taker) {
      const keys = this.#k(dealId, n)[bucket];
      // A loan is made once per order: a tap run again alone after a failed batch gets its loan (DUP).
      taker = new MicroBatcher((taps) => this.#takeBatch(keys, taps), { maxBatch: 256, maxInFlight: 1_000, isolateFailures: true });
      if (this.#takers.size >= MAX_CACHED_DEALS) this.#takers.clear();
      this.#takers.set(id, taker);
    }
    return taker.submit(tap).then((r) => {
      this.#view(dealId, n).see(bucket, r.available, r.version);
      return r;
    });
  }

  async #takeBatch(keys: DealKeys, taps: ReserveInput[]): Promise<TakeReply[]> {
    const r = await this.#take.run<(string | number)[]>(this.#redis, keys.loan, taps.map((t) => `${t.orderId}|${t.quantity}|${t.holdMs}`));
    return taps.map((_, i) => ({
      code: r[6 * i] as ReserveCode, expiresAt: Number(r[6 * i + 1]), token: String(r[6 * i + 2]),
      available: Number(r[6 * i + 3]), version: Number(r[6 * i + 4]), quantity: Number(r[6 * i + 5]),
    }));
  }

  /**
   * Ends a loan of bucket `bucket` (give-3.lua): `return` gives its units back, `consume` keeps
   * them sold. Exactly once (by order and token). A failure is logged: the loan lapses and the
   * sweep (`expire`) ends it. Resolves to the units given back.
   */
  async #returnLoan(dealId: string, n: number, bucket: number, orderId: string, token: string, mode: 'return' | 'consume' = 'return'): Promise<number> {
    try {
      const r = await this.#give.run<[number, number, number, number, number]>(this.#redis, this.#k(dealId, n)[bucket].loan, [orderId, token, mode]);
      this.#view(dealId, n).see(bucket, Number(r[1]), Number(r[2]));
      return r[0] === 1 && mode === 'return' ? Number(r[4]) : 0;
    } catch (error) {
      log.warn({ err: error, dealId, bucket, orderId, mode }, 'loan not ended; the sweep ends it after it lapses');
      return 0;
    }
  }

  /** Ends the loan `loan` ("j:token") an order's answer named (none: nothing to do). */
  async #endLoan(dealId: string, n: number, orderId: string, loan: string, mode: 'return' | 'consume' = 'return'): Promise<number> {
    if (!loan) return 0;
    const [j, token] = loan.split(':');
    return this.#returnLoan(dealId, n, Number(j), orderId, token, mode);
  }

  /** The bucket holding an order's record, and the deal's bucket count. */
  async #homeOf(dealId: string, orderId: string): Promise<{ n: number; home: number; keys: DealKeys }> {
    const n = await this.#bucketsOf(dealId);
    const home = n === 1 ? 0 : DealBuckets.ofOrder(orderId) % n;
    return { n, home, keys: this.#k(dealId, n)[home] };
  }

  /**
   * Gives an order's units back if it is in one of `states`. Exactly once. Resolves to the stock
   * after. `forget`: the buyer's idempotency key is forgotten too, so a retry with it holds again.
   */
  async release(dealId: string, orderId: string, states: string, forget = false): Promise<StockChange & { released: boolean; previous: HoldState | ''; quantity: number }> {
    const { n, home, keys } = await this.#homeOf(dealId, orderId);
    const r = await this.#release.run<[number, number, HoldState | '', number, number, number, string]>(this.#redis, keys.hold, [orderId, states, forget ? '1' : '0']);
    await this.#endLoan(dealId, n, orderId, r[6]);
    const change = await this.#dealLevel(dealId, n, home, { available: Number(r[1]), version: Number(r[4]), endsAt: Number(r[5]) });
    return { released: r[0] === 1, previous: r[2], quantity: Number(r[3]), ...change };
  }

  /**
   * Releases lapsed holds; resolves to the stock after, the units released and the released order
   * ids. With several buckets: every bucket's holds, then loans nobody points to any more (a
   * gateway died between lending and recording, or a return failed), then the stock read afresh
   * from every bucket (`fresh`).
   */
  async expire(dealId: string, max = 500): Promise<StockChange & { units: number; orderIds: string[]; fresh: boolean }> {
    const n = await this.#bucketsOf(dealId);
    const keys = this.#k(dealId, n);
    let units = 0;
    const orderIds: string[] = [];
    let last: BucketChange = { available: 0, version: 0, endsAt: 0 };
    for (let b = 0; b < n; b++) {
      const r = await this.#expire.run<[number, number, number, number, ...string[]]>(this.#redis, keys[b].hold, [max]);
      units += Number(r[1]);
      last = { available: Number(r[0]), version: Number(r[2]), endsAt: Number(r[3]) };
      for (const entry of r.slice(4) as string[]) {
        const [id, loan = ''] = entry.split('~');
        orderIds.push(id);
        units += await this.#endLoan(dealId, n, id, loan);
      }
    }
    if (n === 1) return { ...last, units, orderIds, fresh: false };
    for (let b = 0; b < n; b++) units += await this.#sweepLoans(dealId, n, b);
    const stock = await this.stock(dealId);
    return { ...stock, endsAt: last.endsAt, units, orderIds, fresh: true };
  }

  /** Ends the lapsed loans of one bucket that no order holds any more; resolves to the units given back. */
  async #sweepLoans(dealId: string, n: number, bucket: number): Promise<number> {
    const [, loans, lapse] = this.#k(dealId, n)[bucket].loan;
    const due = await this.#redis.zrangebyscore(lapse, '-inf', Date.now() - this.#options.loanGraceMs, 'LIMIT', 0, 200);
    if (due.length === 0) return 0;
    const records = await this.#redis.hmget(loans, ...due);
    let units = 0;
    for (let i = 0; i < due.length; i++) {
      const orderId = due[i];
      const rec = records[i];
      if (!rec) continue; // ended meanwhile
      const token = rec.split('|')[2];
      const home = this.#k(dealId, n)[DealBuckets.ofOrder(orderId) % n];
      const [order, pointer] = await this.#redis.hmget(home.orders, orderId, `~${orderId}`);
      const ours = pointer === `${bucket}:${token}`;
      const state = order?.[0];
      if (ours && (state === 'H' || state === 'P')) {
        // Still held (its home's sweep releases it) or paying: looked at again later.
        await this.#redis.zadd(lapse, 'XX', Date.now() + LOAN_RECHECK_MS - this.#options.loanGraceMs, orderId);
        continue;
      }
      // Sold on this loan: the units stay sold. Anything else (released, refused, never recorded): back to stock.
      units += await this.#returnLoan(dealId, n, bucket, orderId, token, ours && state === 'S' ? 'consume' : 'return');
    }
    return units;
  }

  /**
   * H -> P before capture. `previous` is the state before the call: `H` with code OK means
   * this call committed the hold, so no earlier run of the order can have recorded anything.
   */
  async commit(dealId: string, orderId: string): Promise<StockChange & { code: 'OK' | 'SOLD' | 'RELEASED' | 'EXPIRED' | 'UNKNOWN'; previous: HoldState | '' }> {
    const { n, home, keys } = await this.#homeOf(dealId, orderId);
    const r = await this.#commit.run<[string, number, HoldState | '', number, number, string]>(this.#redis, keys.hold, [orderId]);
    await this.#endLoan(dealId, n, orderId, r[5]);
    const change = await this.#dealLevel(dealId, n, home, { available: Number(r[1]), version: Number(r[3]), endsAt: Number(r[4]) });
    return { code: r[0] as 'OK', previous: r[2], ...change };
  }

  /** P -> S after the payment is recorded; counts the sale once (and settles the loan its units were). */
  async sell(dealId: string, orderId: string, totalAmount: number): Promise<{ code: 'OK' | 'DUP' | 'RELEASED' | 'UNKNOWN'; quantity: number }> {
    const { n, keys } = await this.#homeOf(dealId, orderId);
    const r = await this.#sell.run<[string, number, string]>(this.#redis, keys.sale, [orderId, totalAmount]);
    if (r[0] === 'OK' || r[0] === 'DUP') await this.#endLoan(dealId, n, orderId, r[2], 'consume');
    return { code: r[0] as 'OK', quantity: Number(r[1]) };
  }

  /** An order's hold record, or null. */
  async order(dealId: string, orderId: string): Promise<{ state: HoldState; userId: string; quantity: number; expiresAt: number; idempotencyKey: string } | null> {
    const { keys } = await this.#homeOf(dealId, orderId);
    const rec = await this.#redis.hget(keys.orders, orderId);
    if (!rec) return null;
    const [state, userId, q, exp, ...key] = rec.split('|');
    return { state: state as HoldState, userId, quantity: Number(q), expiresAt: Number(exp), idempotencyKey: key.join('|') };
  }

  /**
   * Records a settle job in the deal's outbox if the order is still held; resolves to the
   * order's state ('H': recorded).
   */
  async recordSettleJob(dealId: string, orderId: string, job: string): Promise<HoldState | ''> {
    const { keys } = await this.#homeOf(dealId, orderId);
    return this.#outbox.run<HoldState | ''>(this.#redis, [keys.orders, keys.outbox], [orderId, job]);
  }

  /** Settle jobs in the deal's outbox (order id -> job), at most `max` (HSCAN beyond a small outbox). */
  async outbox(dealId: string, max = 1_000): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const k of this.#k(dealId, await this.#bucketsOf(dealId))) {
      let cursor = '0';
      do {
        const [next, flat] = await this.#redis.hscan(k.outbox, cursor, 'COUNT', 500);
        cursor = next;
        for (let i = 0; i < flat.length; i += 2) out.set(flat[i], flat[i + 1]);
      } while (cursor !== '0' && out.size < max);
      if (out.size >= max) break;
    }
    return out;
  }

  /** Removes moved jobs from the deal's outbox. */
  async clearOutbox(dealId: string, orderIds: string[]): Promise<void> {
    if (orderIds.length === 0) return;
    const n = await this.#bucketsOf(dealId);
    const keys = this.#k(dealId, n);
    const byHome = new Map<number, string[]>();
    for (const id of orderIds) {
      const b = n === 1 ? 0 : DealBuckets.ofOrder(id) % n;
      byHome.set(b, [...(byHome.get(b) ?? []), id]);
    }
    await Promise.all([...byHome].map(([b, ids]) => this.#redis.hdel(keys[b].outbox, ...ids)));
  }

  /** Units available now. */
  async available(dealId: string): Promise<number> {
    return (await this.stock(dealId)).available;
  }

  /** Units available now and their version, read together (with several buckets: each bucket's pair, summed). */
  async stock(dealId: string): Promise<StockLevel> {
    const n = await this.#bucketsOf(dealId);
    const levels = await Promise.all(this.#k(dealId, n).map((k) => this.#redis.hmget(k.deal, 'stock', 'ver')));
    if (n === 1) return { available: Number(levels[0][0] ?? 0), version: Number(levels[0][1] ?? 0) };
    const view = this.#view(dealId, n);
    levels.forEach(([a, v], b) => view.see(b, Number(a ?? 0), Number(v ?? 0)));
    return view.total();
  }

  /** Sales counted by `sell` (summed over buckets). */
  async stats(dealId: string): Promise<DealSalesStats> {
    const all = await Promise.all(this.#k(dealId, await this.#bucketsOf(dealId)).map((k) => this.#redis.hgetall(k.sale[1])));
    const sum = (f: string) => all.reduce((a, h) => a + Number(h[f] ?? 0), 0);
    return { orders: sum('orders'), units: sum('units'), gmv: sum('gmv'), buyers: sum('buyers') };
  }

  /** Units per buyer currently held or bought (counted in the buyer's home bucket). */
  async committedBy(dealId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const k of this.#k(dealId, await this.#bucketsOf(dealId))) {
      const h = await this.#redis.hgetall(k.orders);
      for (const [field, v] of Object.entries(h)) if (field.startsWith('@')) out[field.slice(1)] = (out[field.slice(1)] ?? 0) + Number(v);
    }
    return out;
  }

  /** Deletes every key of a deal (tests, purge after archival). */
  async purge(dealId: string): Promise<void> {
    for (const k of this.#k(dealId, await this.#bucketsOf(dealId))) await this.#redis.del(...k.all);
    this.#dealKeys.delete(dealId);
    this.#counts.delete(dealId);
    this.#views.delete(dealId);
  }
}
