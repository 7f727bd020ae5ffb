import { OrderStore, RETRYABLE_FAIL_CODE } from './OrderStore.js';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { RoomBroadcaster } from './RoomBroadcaster.js';
import { Reservation, type DealHealth, type StockLevel } from './Reservation.js';
import { AffiliatePlans } from './AffiliatePlans.js';
import type { DealEvents } from './DealEvents.js';
import { newId } from './Catalog.js';
import { Currency } from './Currency.js';
import { flashcast } from '../../protocol/index.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';
import { CommerceErrorCode, CommerceNotFoundError, StateError } from './errors.js';
import { ListingOutOfSyncError, type Listings } from './Listings.js';
import { DealBuckets } from './DealBuckets.js';

const log = logger('FlashDeals');

/**
 * A flash deal on a product in a room, or a product's regular-price listing (`kind` 'regular':
 * no room, no end, its product's current price; its total stock changes as units move between
 * it and flash deals). A flash deal is immutable once created except for its status.
 */
export interface Deal {
  id: string;
  kind: 'flash' | 'regular';
  /** The deal's room; '' for a listing (every room whose showcase holds the product sells it). */
  roomId: string;
  productId: string;
  shopId: string;
  price: { amount: number; currency: string };
  totalStock: number;
  perBuyerLimit: number;
  countdownSeconds: number;
  durationSeconds: number;
  startsAt: number;
  endsAt: number;
  allowedRegions: string[];
  blockedRegions: string[];
  /**
   * Affiliate commission in basis points: the plan's for another shop's product, 0 for the
   * creator's own (null only on deals made before affiliate plans). The only rate settlement applies.
   */
  commissionBps: number | null;
  /** The affiliate plan the deal was made under (null: the creator's own product). */
  planId: string | null;
  /** The creator (host) credited with affiliate commission. */
  creatorId: string;
  status: 'active' | 'ended' | 'closed';
  /** Buckets its stock is split over, in different Redis slots (1: one slot; docs/flash-sales.md). */
  buckets: number;
}

export interface CreateDealInput {
  productId: string;
  price: { amount: number; currency: string };
  totalStock: number;
  perBuyerLimit: number;
  countdownSeconds: number;
  durationSeconds: number;
  allowedRegions?: string[];
  /**
   * Split the stock over this many buckets in different Redis slots (default 1), for a product
   * hotter than one Redis core: docs/flash-sales.md, "A hot product beyond one shard".
   */
  buckets?: number;
}

export interface FlashDealsOptions {
  /** Buyer countries that ban cross-border direct sales: their buyers cannot buy from a shop abroad. */
  crossBorderBans: string[];
  /** How long after a deal ends unsold (and lapsed) units go back to the catalog (default 6 min). */
  closeAfterEndMs: number;
  /** BullMQ key prefix. */
  bullPrefix: string;
  /**
   * How often open deals' Redis state is compared with PostgreSQL (rebuilt when missing,
   * stale or of another epoch) and overdue phases are run (0: never; default 1 s).
   */
  reconcileIntervalMs: number;
}

/** A deal's row as the reconciler reads it. */
interface DealLedgerRow {
  id: string;
  kind: 'flash' | 'regular';
  total_stock: number;
  sold_units: number;
  redis_epoch: string | null;
  status: 'active' | 'ended' | 'closed';
  ends_at: Date;
}

/** Why a deal's Redis state must be rebuilt from PostgreSQL (missing, epoch, total, behind, phase), or null when it agrees. */
export function staleReason(row: Pick<DealLedgerRow, 'total_stock' | 'sold_units' | 'redis_epoch' | 'status'>, h: DealHealth): string | null {
  if (!h.exists) return 'missing';
  if (h.epoch !== (row.redis_epoch ?? '')) return 'epoch';
  // A listing's total moves (flash deals, the seller's stock) in PostgreSQL and Redis together.
  if (h.total !== row.total_stock) return 'total';
  // Redis's stock can be below PostgreSQL's (holds not yet claimed), never above: above, Redis forgot sales.
  if (h.available > row.total_stock - row.sold_units) return 'behind';
  if (row.status === 'ended' && h.status !== 'ended') return 'phase';
  return null;
}

export type FlashDealsEvents = { close: [] };

/** What is on sale for a product in a room: the flash deal there, the listing its showcase sells. */
interface ForSale {
  flash: string | null;
  listing: string | null;
}

/** A deal's phase as the studio lists it. */
export type DealListPhase = 'scheduled' | 'countdown' | 'active' | 'ended';

/** A flash deal of a room as `GET /v1/rooms/{room}/deals` answers it. */
export interface RoomDeal extends Deal {
  phase: DealListPhase;
  /** Units of paid or paying orders (PostgreSQL `sold_units`). */
  soldUnits: number;
  /** Units on sale now (Redis); null once the deal has ended. */
  available: number | null;
}

/**
 * Where a deal stands at `now`: 'ended' once ended (by its host, its time, or closed);
 * 'active' from its start (sold out included: `available` says so); before its start,
 * 'countdown' within its countdown, 'scheduled' earlier.
 */
export function dealListPhase(deal: Pick<Deal, 'status' | 'startsAt' | 'endsAt' | 'countdownSeconds'>, now: number): DealListPhase {
  if (deal.status !== 'active' || now >= deal.endsAt) return 'ended';
  if (now >= deal.startsAt) return 'active';
  return deal.startsAt - now > deal.countdownSeconds * 1000 ? 'scheduled' : 'countdown';
}

/** A `deals` row (with `product_price` for a listing: it sells at its product's current price). */
function toDeal(r: Record<string, any>): Deal {
  return {
    id: r.id, kind: r.kind, roomId: r.room_id, productId: r.product_id, shopId: r.shop_id,
    price: { amount: Number(r.kind === 'regular' ? r.product_price : r.price_amount), currency: r.currency },
    totalStock: r.total_stock, perBuyerLimit: r.per_buyer_limit, countdownSeconds: r.countdown_s, durationSeconds: r.duration_s,
    startsAt: new Date(r.starts_at).getTime(), endsAt: new Date(r.ends_at).getTime(),
    allowedRegions: r.allowed_regions, blockedRegions: r.blocked_regions, commissionBps: r.commission_bps, planId: r.plan_id ?? null,
    creatorId: r.creator_id, status: r.status, buckets: Number(r.buckets ?? 1),
  };
}

/** When a live deal's phase ends, as the room is told: a listing's never (0). */
const phaseEnd = (deal: Deal) => (deal.kind === 'regular' ? 0 : deal.endsAt);

type PhaseJob = { dealId: string; phase: 'live' | 'end' | 'close' };

/**
 * Creates flash deals and drives their lifecycle (scheduled -> live -> sold out -> ended),
 * broadcasting each phase to the room as a critical inventory event. Phase changes are
 * durable BullMQ delayed jobs, so a restart does not lose an end.
 */
export class FlashDeals extends EnhancedEventEmitter<FlashDealsEvents> {
  readonly #db: Database;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #reservation: Reservation;
  readonly #broadcaster: RoomBroadcaster;
  readonly #options: FlashDealsOptions;
  readonly #queue: Queue<PhaseJob>;
  readonly #worker: Worker<PhaseJob>;
  readonly #cache = new Map<string, { deal: Deal; at: number }>();
  readonly #listings: Listings | null;
  /** (room, product) → the flash deal on it there and the listing its showcase sells (cached 1 s). */
  readonly #roomCache = new Map<string, { at: number } & ForSale>();
  /** Loads in flight: concurrent taps after a cache expiry share one query (no thundering herd). */
  readonly #loading = new Map<string, Promise<Deal>>();
  readonly #roomLoading = new Map<string, Promise<ForSale>>();
  /** Rebuilds in flight on this node (concurrent taps on a lost deal share one). */
  readonly #recovering = new Map<string, Promise<boolean>>();
  /** Records deal.started / deal.ended for merchant webhooks (none: not recorded). */
  #events: DealEvents | null = null;
  #reconcileTimer: NodeJS.Timeout | null = null;
  #reconciling: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  private constructor(
    db: Database, redis: Redis | Cluster, keys: RedisKeys, reservation: Reservation, broadcaster: RoomBroadcaster,
    options: FlashDealsOptions, queue: Queue<PhaseJob>, worker: Worker<PhaseJob>, listings: Listings | null,
  ) {
    super();
    this.#listings = listings;
    // This node changed a room's showcase: what it cached for the room is stale.
    listings?.on('showcase', () => this.#roomCache.clear());
    this.#db = db;
    this.#redis = redis;
    this.#keys = keys;
    this.#reservation = reservation;
    this.#broadcaster = broadcaster;
    this.#options = options;
    this.#queue = queue;
    this.#worker = worker;
  }

  /** Starts the phase queue and its worker. */
  static async create(params: {
    db: Database; redis: Redis | Cluster; connection: ConnectionOptions; keys: RedisKeys; reservation: Reservation;
    broadcaster: RoomBroadcaster; options?: Partial<FlashDealsOptions>; runWorker?: boolean; events?: DealEvents | null;
    /** Products' regular-price listings: a deal takes its units from its product's listing and gives the unsold back. */
    listings?: Listings | null;
  }): Promise<FlashDeals> {
    const options: FlashDealsOptions = {
      crossBorderBans: [], closeAfterEndMs: 6 * 60_000, bullPrefix: `${params.keys.prefix}:bull`, reconcileIntervalMs: 1_000, ...params.options,
    };
    const queue = new Queue<PhaseJob>('{deal-phases}', { connection: params.connection, prefix: options.bullPrefix });
    let self: FlashDeals | null = null;
    const worker = new Worker<PhaseJob>('{deal-phases}', async (job: Job<PhaseJob>) => self!.#onPhase(job.data), {
      connection: params.connection, prefix: options.bullPrefix, autorun: params.runWorker !== false, concurrency: 8,
    });
    worker.on('error', (err) => log.warn({ err }, 'phase worker error'));
    self = new FlashDeals(params.db, params.redis, params.keys, params.reservation, params.broadcaster, options, queue, worker, params.listings ?? null);
    self.#events = params.events ?? null;
    if (params.runWorker !== false && options.reconcileIntervalMs > 0) self.#startReconciler();
    return self;
  }

  /**
   * Creates a deal: allocates its units from the product's listing (units nobody holds; Listings.take)
   * or, without one, from the product's stock, opens its inventory, broadcasts
   * SCHEDULED. The creator's own product: price ≥ the product floor, no commission. Another shop's
   * product: only under an open affiliate plan covering the creator, price ≥ max(plan minimum,
   * floor), at the plan's commission (AffiliatePlans.dealTerms).
   */
  async create(roomId: string, creatorId: string, input: CreateDealInput): Promise<Deal> {
    Currency.assert(input.price.currency);
    Currency.assertAmount(input.price.amount);
    DealBuckets.assertCount(input.buckets ?? 1);
    const { rows: prod } = await this.#db.query<{ shop_id: string; currency: string; country: string; owner_user_id: string; min_price: number | null }>(
      `SELECT p.shop_id, p.currency, p.min_price, s.country, s.owner_user_id FROM products p JOIN shops s ON s.id = p.shop_id
       JOIN showcase sc ON sc.product_id = p.id AND sc.room_id = $2 WHERE p.id = $1`, [input.productId, roomId]);
    if (!prod[0]) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product in this room showcase');
    if (prod[0].currency !== input.price.currency) {
      throw new StateError(CommerceErrorCode.InvalidCurrency, `deal price must be in ${prod[0].currency}`);
    }
    const own = prod[0].owner_user_id === creatorId;
    const plan = own ? null : await AffiliatePlans.openPlanFor(this.#db, input.productId, creatorId);
    const terms = AffiliatePlans.dealTerms({
      creatorId, shopOwnerId: prod[0].owner_user_id, floor: prod[0].min_price === null ? null : Number(prod[0].min_price),
      plan, price: input.price.amount, currency: prod[0].currency,
    });
    const mappingKey = this.#keys.room(roomId, `deal:${input.productId}`);
    const current = await this.#redis.get(mappingKey);
    if (current) throw new StateError(CommerceErrorCode.DealConflict, 'a deal on this product is already scheduled or live in this room');
    const blocked = this.#options.crossBorderBans.filter((c) => c !== prod[0].country);
    const allowed = (input.allowedRegions ?? []).filter((c) => !blocked.includes(c));
    if ((input.allowedRegions ?? []).length > 0 && allowed.length === 0) {
      throw new StateError(CommerceErrorCode.RegionBlocked, 'every allowed region is blocked by country rules');
    }
    const now = Date.now();
    const deal: Deal = {
      id: newId('d'),
      kind: 'flash',
      roomId,
      productId: input.productId,
      shopId: prod[0].shop_id,
      price: { ...input.price },
      totalStock: input.totalStock,
      perBuyerLimit: input.perBuyerLimit,
      countdownSeconds: input.countdownSeconds,
      durationSeconds: input.durationSeconds,
      startsAt: now + input.countdownSeconds * 1000,
      endsAt: now + (input.countdownSeconds + input.durationSeconds) * 1000,
      allowedRegions: allowed,
      blockedRegions: blocked,
      commissionBps: terms.commissionBps,
      planId: terms.planId,
      creatorId,
      status: 'active',
      buckets: input.buckets ?? 1,
    };
    const taken = await this.#redis.set(mappingKey, deal.id, 'PX', deal.endsAt - now, 'NX');
    let opened: StockLevel;
    // The epoch of the Redis state this deal starts with, recorded with its row.
    const epoch = newId('e');
    if (taken !== 'OK') throw new StateError(CommerceErrorCode.DealConflict, 'a deal on this product is already scheduled or live in this room');
    try {
      // A listing whose Redis total disagrees with PostgreSQL's is rebuilt, and the deal tried once more.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#insert(deal, epoch);
          break;
        } catch (error) {
          if (!(error instanceof ListingOutOfSyncError) || attempt > 0) throw error;
          await this.recover(error.listingId);
        }
      }
      opened = await this.#reservation.open({ ...deal, dealId: deal.id, priceAmount: deal.price.amount, currency: deal.price.currency, epoch, buckets: deal.buckets });
      // Two slots (the room's, the active set's): two commands, not a transaction (a failure undoes the deal either way).
      await Promise.all([
        this.#redis.sadd(this.#keys.room(roomId, 'deals'), deal.id),
        this.#redis.hset(this.#keys.global('deals:active'), deal.id, `${roomId}|${deal.productId}|${deal.totalStock}`),
      ]);
    } catch (error) {
      await this.#redis.del(mappingKey);
      throw error;
    }
    // This node may have cached "no deal" for the product moments ago.
    this.#roomCache.delete(`${roomId}\n${deal.productId}`);
    await this.#schedulePhases(deal);
    this.#cache.set(deal.id, { deal, at: Date.now() });
    await this.#publishPhase(deal, flashcast.DealPhase.DEAL_SCHEDULED, opened);
    if (deal.startsAt <= Date.now()) await this.#events?.started(deal);
    log.info({ dealId: deal.id, roomId, productId: deal.productId }, 'deal created');
    return deal;
  }

  /** The deal's row, its units taken from its product's listing or stock, in one transaction. */
  async #insert(deal: Deal, epoch: string): Promise<void> {
    let undo: (() => Promise<void>) | null = null;
    try {
      await this.#db.transaction(async (tx) => {
        undo = null;
        // The plan must still be open when the deal is recorded under it.
        if (deal.planId) {
          const open = await tx.query("SELECT 1 FROM affiliate_plans WHERE id = $1 AND status = 'open' FOR SHARE", [deal.planId]);
          if (open.rows.length === 0) throw new StateError(CommerceErrorCode.PlanNotFound, 'the affiliate plan was closed meanwhile');
        }
        if (this.#listings) {
          undo = await this.#listings.take(tx, deal.productId, deal.totalStock);
        } else {
          const r = await tx.query('UPDATE products SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2', [deal.productId, deal.totalStock]);
          if (r.rowCount === 0) throw new StateError(CommerceErrorCode.InsufficientStock, 'product stock is lower than the deal stock');
        }
        // PostgreSQL decides too (the product row lock above serialises creators): Redis may have lost the mapping.
        const live = await tx.query("SELECT 1 FROM deals WHERE room_id = $1 AND product_id = $2 AND kind = 'flash' AND status = 'active' AND ends_at > now()", [deal.roomId, deal.productId]);
        if (live.rows.length > 0) throw new StateError(CommerceErrorCode.DealConflict, 'a deal on this product is already scheduled or live in this room');
        await tx.query(
          `INSERT INTO deals (id, room_id, product_id, shop_id, price_amount, currency, total_stock, per_buyer_limit, countdown_s,
             duration_s, starts_at, ends_at, allowed_regions, blocked_regions, commission_bps, creator_id, plan_id, redis_epoch, buckets)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`,
          [deal.id, deal.roomId, deal.productId, deal.shopId, deal.price.amount, deal.price.currency, deal.totalStock, deal.perBuyerLimit,
            deal.countdownSeconds, deal.durationSeconds, new Date(deal.startsAt), new Date(deal.endsAt),
            JSON.stringify(deal.allowedRegions), JSON.stringify(deal.blockedRegions), deal.commissionBps, deal.creatorId, deal.planId, epoch, deal.buckets],
        );
      });
    } catch (error) {
      // The listing's Redis total moved with the transaction that did not commit: put it back.
      await (undo as (() => Promise<void>) | null)?.();
      throw error;
    }
  }

  /** A deal by id (cached briefly: only `status` changes after creation). */
  async get(dealId: string): Promise<Deal> {
    const hit = this.#cache.get(dealId);
    if (hit && Date.now() - hit.at < 5_000) return hit.deal;
    let loading = this.#loading.get(dealId);
    if (!loading) {
      loading = this.#load(dealId).finally(() => this.#loading.delete(dealId));
      this.#loading.set(dealId, loading);
    }
    return loading;
  }

  async #load(dealId: string): Promise<Deal> {
    // A listing sells at its product's current price.
    const { rows } = await this.#db.query<Record<string, any>>(
      `SELECT d.*, p.price_amount AS product_price FROM deals d LEFT JOIN products p ON p.id = d.product_id WHERE d.id = $1`, [dealId]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.DealNotFound, 'deal');
    const deal = toDeal(rows[0]);
    this.#cache.set(dealId, { deal, at: Date.now() });
    return deal;
  }

  /**
   * A room's flash deals, newest first, each with its phase for the studio (`dealListPhase`),
   * the units PostgreSQL counts sold (paid or paying orders) and, while it runs, the units on
   * sale now (Redis).
   */
  async ofRoom(roomId: string, limit = 50): Promise<RoomDeal[]> {
    const { rows } = await this.#db.query<Record<string, any>>(
      `SELECT d.* FROM deals d WHERE d.room_id = $1 AND d.kind = 'flash' ORDER BY d.created_at DESC, d.id DESC LIMIT $2`,
      [roomId, Math.min(Math.max(Math.trunc(limit), 1), 200)]);
    const now = Date.now();
    return Promise.all(rows.map(async (r) => {
      const deal = toDeal(r);
      const phase = dealListPhase(deal, now);
      const available = phase === 'ended' ? null : (await this.#reservation.stock(deal.id)).available;
      return { ...deal, phase, soldUnits: Number(r.sold_units), available };
    }));
  }

  /**
   * The running flash deal of each of these rooms, by room: the one on sale (the newest, if
   * several), else the one counting down.
   */
  async activeInRooms(roomIds: readonly string[]): Promise<Map<string, string>> {
    if (roomIds.length === 0) return new Map();
    const { rows } = await this.#db.query<{ room_id: string; id: string }>(
      `SELECT DISTINCT ON (room_id) room_id, id FROM deals
       WHERE room_id = ANY($1::text[]) AND kind = 'flash' AND status = 'active' AND ends_at > now()
       ORDER BY room_id, (starts_at <= now()) DESC, created_at DESC, id DESC`, [[...roomIds]]);
    return new Map(rows.map((r) => [r.room_id, r.id]));
  }

  /** The flash deal scheduled or live for a product in a room, or null (cached for 1 s). */
  async currentDealId(roomId: string, productId: string): Promise<string | null> {
    return (await this.#forSale(roomId, productId)).flash;
  }

  /**
   * What a tap on the product in the room buys: the flash deal scheduled or live on it there,
   * else its listing if the product is in the room's showcase, else null (not on sale here).
   * Redis answers (cached for 1 s); PostgreSQL only when Redis lost the room's showcase mirror.
   */
  async dealForTap(roomId: string, productId: string): Promise<string | null> {
    const f = await this.#forSale(roomId, productId);
    return f.flash ?? f.listing;
  }

  /** The listing the room's showcase sells the product from, or null (not in its showcase). */
  async listingFor(roomId: string, productId: string): Promise<string | null> {
    return (await this.#forSale(roomId, productId)).listing;
  }

  #forSale(roomId: string, productId: string): Promise<ForSale> {
    const k = `${roomId}\n${productId}`;
    const hit = this.#roomCache.get(k);
    if (hit && Date.now() - hit.at < 1_000) return Promise.resolve(hit);
    let loading = this.#roomLoading.get(k);
    if (!loading) {
      loading = (async () => {
        const [flash, listing] = await Promise.all([
          this.#redis.get(this.#keys.room(roomId, `deal:${productId}`)),
          this.#listings ? this.#listings.inShowcase(roomId, productId) : null,
        ]);
        let found: ForSale;
        if (listing !== undefined) {
          found = { flash, listing };
        } else {
          // Redis lost the room's showcase mirror (restart, eviction) or never had it: PostgreSQL
          // decides, for the deal mapping too (lost with it), and the mirror is rebuilt.
          const mirror = await this.#listings!.rebuildShowcase(roomId);
          found = { flash: flash ?? (await this.#openDealFromDb(roomId, productId)), listing: mirror.get(productId) ?? null };
        }
        if (!this.#listings && !flash) found = { flash: await this.#openDealFromDb(roomId, productId), listing: null };
        if (this.#roomCache.size > 10_000) this.#roomCache.clear();
        this.#roomCache.set(k, { ...found, at: Date.now() });
        return found;
      })().finally(() => this.#roomLoading.delete(k));
      this.#roomLoading.set(k, loading);
    }
    return loading;
  }

  /** Ends a deal now (host action); idempotent. A listing does not end. */
  async end(dealId: string): Promise<void> {
    if ((await this.get(dealId)).kind === 'regular') throw new StateError(CommerceErrorCode.DealConflict, "a product's regular-price listing does not end");
    await this.#onPhase({ dealId, phase: 'end' });
  }

  /**
   * The inventory update describing a deal now, for `stock` (a script's answer: available and
   * version from the same run) or, if not given, the stock and version read together now.
   */
  async inventory(deal: Deal, stock?: StockLevel): Promise<flashcast.IInventoryUpdate> {
    const { available: avail, version } = stock ?? (await this.#reservation.stock(deal.id));
    const now = Date.now();
    let phase: flashcast.DealPhase;
    if (deal.status !== 'active' || now >= deal.endsAt) phase = flashcast.DealPhase.DEAL_ENDED;
    else if (now < deal.startsAt) phase = flashcast.DealPhase.DEAL_SCHEDULED;
    else phase = avail > 0 ? flashcast.DealPhase.DEAL_LIVE : flashcast.DealPhase.DEAL_SOLD_OUT;
    const phaseEndsAt = phase === flashcast.DealPhase.DEAL_SCHEDULED ? deal.startsAt : phase === flashcast.DealPhase.DEAL_ENDED ? 0 : phaseEnd(deal);
    return { productId: deal.productId, dealId: deal.id, available: avail, total: deal.totalStock, phase, phaseEndsAt, version };
  }

  /**
   * `stock`: available and version from one script run (never a fresh count with an older version).
   * `roomId`: where (a listing has no room of its own: the room of the change; none, nothing is sent).
   */
  async #publishPhase(deal: Deal, phase: flashcast.DealPhase, stock: StockLevel, roomId = deal.roomId): Promise<void> {
    if (!roomId) return;
    const phaseEndsAt = phase === flashcast.DealPhase.DEAL_SCHEDULED ? deal.startsAt : phase === flashcast.DealPhase.DEAL_ENDED ? 0 : phaseEnd(deal);
    await this.#broadcaster.publish(roomId, {
      room: roomId, ts: Date.now(),
      inventory: { productId: deal.productId, dealId: deal.id, available: stock.available, total: deal.totalStock, phase, phaseEndsAt, version: stock.version },
    });
  }

  /**
   * Broadcasts a critical phase change computed from `stock` (sold out / live again), which must
   * be a script's answer: available and version of the same run. `roomId`: for a listing, the
   * room of the change.
   */
  async announceStock(deal: Deal, stock: StockLevel, roomId = deal.roomId): Promise<void> {
    const update = await this.inventory(deal, stock);
    await this.#publishPhase(deal, update.phase ?? flashcast.DealPhase.DEAL_LIVE, stock, roomId);
  }

  async #onPhase(job: PhaseJob): Promise<void> {
    const deal = await this.get(job.dealId);
    if (deal.kind === 'regular') return; // a listing has no phases
    // A phase changes Redis state: if Redis lost the deal (or went back in time), rebuild it first.
    if (job.phase !== 'close') await this.recover(deal.id);
    if (job.phase === 'live') {
      if (deal.status !== 'active') return;
      const stock = await this.#reservation.phaseChange(deal.id);
      await this.#publishPhase(deal, stock.available > 0 ? flashcast.DealPhase.DEAL_LIVE : flashcast.DealPhase.DEAL_SOLD_OUT, stock);
      await this.#events?.started(deal);
    } else if (job.phase === 'end') {
      const stock = await this.#reservation.end(deal.id);
      const r = await this.#db.query<{ sold_units: number }>("UPDATE deals SET status = 'ended' WHERE id = $1 AND status = 'active' RETURNING sold_units", [deal.id]);
      this.#cache.delete(deal.id);
      const mappingKey = this.#keys.room(deal.roomId, `deal:${deal.productId}`);
      if ((await this.#redis.get(mappingKey)) === deal.id) await this.#redis.del(mappingKey);
      this.#roomCache.clear();
      if (r.rowCount > 0) {
        await this.#publishPhase({ ...deal, status: 'ended' }, flashcast.DealPhase.DEAL_ENDED, stock);
        await this.#events?.ended(deal, Number(r.rows[0]?.sold_units ?? 0));
      }
    } else {
      // After every hold has lapsed or settled, unsold units go back to the catalog, once. PostgreSQL
      // counts what is sold (paid, refunded, or still paying: if such an order fails later, its units
      // go to the product then, since the deal is closed).
      await this.#reservation.expire(deal.id, 100_000);
      await this.#db.transaction(async (tx) => {
        const r = await tx.query<{ unsold: number }>(
          `UPDATE deals SET status = 'closed', closed_at = now() WHERE id = $1 AND status <> 'closed'
           RETURNING total_stock - sold_units AS unsold`, [deal.id]);
        const unsold = Number(r.rows[0]?.unsold ?? 0);
        if (unsold > 0) await tx.query('UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1', [deal.productId, unsold]);
      });
      await this.#redis.hdel(this.#keys.global('deals:active'), deal.id);
      this.#cache.delete(deal.id);
      // The unsold units go on with the product's listing (if the product has none, they stay its stock).
      await this.#listings?.fold(deal.productId);
    }
  }

  /** The deal scheduled or live for a product in a room, according to PostgreSQL. */
  async #openDealFromDb(roomId: string, productId: string): Promise<string | null> {
    const { rows } = await this.#db.query<{ id: string }>(
      `SELECT id FROM deals WHERE room_id = $1 AND product_id = $2 AND kind = 'flash' AND status = 'active' AND ends_at > now()
       ORDER BY created_at DESC LIMIT 1`, [roomId, productId]);
    return rows[0]?.id ?? null;
  }

  /** Adds the deal's phase jobs that are still due (job ids are fixed: adding one twice is a no-op). */
  async #schedulePhases(deal: Deal): Promise<void> {
    if (deal.kind === 'regular') return;
    const now = Date.now();
    const jobs: { name: string; data: PhaseJob; opts: { jobId: string; delay: number; removeOnComplete: true; attempts: number } }[] = [];
    const add = (phase: PhaseJob['phase'], at: number) =>
      jobs.push({ name: phase, data: { dealId: deal.id, phase }, opts: { jobId: `${phase}.${deal.id}`, delay: Math.max(0, at - now), removeOnComplete: true, attempts: 5 } });
    if (deal.status === 'active' && deal.startsAt > now) add('live', deal.startsAt);
    if (deal.status === 'active') add('end', deal.endsAt);
    if (deal.status !== 'closed') add('close', deal.endsAt + this.#options.closeAfterEndMs);
    if (jobs.length > 0) await this.#queue.addBulk(jobs);
  }

  /**
   * Makes sure the deal's Redis state agrees with PostgreSQL, rebuilding it if it is missing,
   * behind, of another epoch or in an older phase. Resolves to true if it was rebuilt. Concurrent
   * calls on this node share one check; across nodes the deal's row lock serialises rebuilds.
   */
  recover(dealId: string): Promise<boolean> {
    let running = this.#recovering.get(dealId);
    if (!running) {
      running = this.#rebuild(dealId, false).finally(() => this.#recovering.delete(dealId));
      this.#recovering.set(dealId, running);
    }
    return running;
  }

  async #rebuild(dealId: string, force: boolean): Promise<boolean> {
    const rebuilt = await this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<Record<string, any>>(
        `SELECT id, kind, room_id, product_id, price_amount, currency, total_stock, per_buyer_limit, starts_at, ends_at,
           allowed_regions, blocked_regions, status, sold_units, redis_epoch, buckets FROM deals WHERE id = $1 FOR UPDATE`, [dealId]);
      const row = rows[0];
      if (!row || row.status === 'closed') return null;
      const health = await this.#reservation.health(dealId);
      const reason = staleReason(row as DealLedgerRow, health) ?? (force ? 'forced' : null);
      if (!reason) return null;
      const orders = await OrderStore.ofDeal(tx, dealId);
      const buckets = Number(row.buckets ?? 1);
      const records: string[] = [];
      const stats = { orders: 0, units: 0, gmv: 0, buyers: 0 };
      const buyers = new Set<string>();
      // With several buckets, each bucket's stats count its own orders (an order lives in its buyer's home).
      const bucketStats = Array.from({ length: buckets }, () => ({ orders: 0, units: 0, gmv: 0, buyers: new Set<string>() }));
      for (const o of orders) {
        const state = o.status === 'pending' ? 'P' : o.status === 'paid' || o.status === 'refunded' ? 'S'
          : o.status === 'failed' && o.failCode === RETRYABLE_FAIL_CODE ? 'F' : 'R';
        if (o.idempotencyKey.includes('|') || o.buyerId.includes('|')) continue; // never written by checkout
        records.push(`${o.id}|${state}|${o.buyerId}|${o.quantity}|${o.idempotencyKey}`);
        if (state === 'S') {
          stats.orders++;
          stats.units += o.quantity;
          stats.gmv += o.totalAmount;
          buyers.add(o.buyerId);
          const b = bucketStats[DealBuckets.ofOrder(o.id) % buckets];
          b.orders++;
          b.units += o.quantity;
          b.gmv += o.totalAmount;
          b.buyers.add(o.buyerId);
        }
      }
      stats.buyers = buyers.size;
      const epoch = newId('e');
      const status: 'active' | 'ended' = row.status === 'active' && new Date(row.ends_at).getTime() > Date.now() ? 'active' : 'ended';
      const stock = await this.#reservation.rebuild({
        dealId, roomId: row.room_id, productId: row.product_id, totalStock: row.total_stock, perBuyerLimit: row.per_buyer_limit,
        startsAt: new Date(row.starts_at).getTime(), endsAt: new Date(row.ends_at).getTime(),
        allowedRegions: row.allowed_regions, blockedRegions: row.blocked_regions, priceAmount: Number(row.price_amount),
        currency: row.currency, epoch, status, soldUnits: row.sold_units, orders: records, stats, buckets,
        bucketStats: bucketStats.map((b) => ({ orders: b.orders, units: b.units, gmv: b.gmv, buyers: b.buyers.size })),
      });
      await tx.query('UPDATE deals SET redis_epoch = $2 WHERE id = $1', [dealId, epoch]);
      log.warn({ dealId, reason, available: stock.available, keptHolds: stock.keptHolds, droppedHolds: stock.droppedHolds }, 'deal state rebuilt from PostgreSQL');
      return {
        reason, stock, status, kind: row.kind as Deal['kind'], roomId: row.room_id as string, productId: row.product_id as string,
        endsAt: new Date(row.ends_at).getTime(), totalStock: Number(row.total_stock),
      };
    });
    if (!rebuilt) return false;
    // What else Redis lost: the room's mapping, the active set, the phase jobs; and the room is told the stock.
    // (A listing has no room: only the active set, which the hold sweeper and the outbox mover read.)
    // The active set's slot and the room's: one transaction per slot (each is idempotent, and the reconciler repeats a failed one).
    const room = rebuilt.kind === 'flash' ? this.#redis.multi().sadd(this.#keys.room(rebuilt.roomId, 'deals'), dealId) : null;
    if (room && rebuilt.status === 'active') {
      room.set(this.#keys.room(rebuilt.roomId, `deal:${rebuilt.productId}`), dealId, 'PX', Math.max(1, rebuilt.endsAt - Date.now()));
    }
    await Promise.all([
      this.#redis.hset(this.#keys.global('deals:active'), dealId, `${rebuilt.roomId}|${rebuilt.productId}|${rebuilt.totalStock}`),
      room?.exec(),
    ]);
    this.#cache.delete(dealId);
    this.#roomCache.clear();
    const deal = await this.get(dealId);
    await this.#schedulePhases(deal);
    await this.announceStock(deal, rebuilt.stock);
    return true;
  }

  #startReconciler(): void {
    this.#reconcileTimer = setInterval(() => {
      this.#reconciling ??= this.reconcile().catch((err) => log.warn({ err }, 'reconcile failed')).finally(() => (this.#reconciling = null));
    }, this.#options.reconcileIntervalMs);
    this.#reconcileTimer.unref();
  }

  /**
   * One pass over the deals PostgreSQL has open: a deal whose Redis state disagrees is rebuilt,
   * and a phase whose time has passed (its job lost with Redis, or never run) is run now, so no
   * deal stays active or unclosed. Several nodes may run it; every step is idempotent.
   */
  async reconcile(): Promise<void> {
    const { rows } = await this.#db.query<DealLedgerRow>(
      "SELECT id, kind, total_stock, sold_units, redis_epoch, status, ends_at FROM deals WHERE status <> 'closed'");
    const now = Date.now();
    const grace = 2_000;
    // Redis's side of every open deal and listing, read in one round trip per 500.
    const health = new Map<string, DealHealth>();
    for (let i = 0; i < rows.length; i += 500) {
      const ids = rows.slice(i, i + 500).map((r) => r.id);
      (await this.#reservation.healthOf(ids)).forEach((h, j) => health.set(ids[j], h));
    }
    for (const row of rows) {
      const endsAt = new Date(row.ends_at).getTime();
      if (row.kind === 'regular') {
        if (staleReason(row, health.get(row.id)!)) await this.recover(row.id);
        continue;
      }
      if (row.status === 'ended' && now > endsAt + this.#options.closeAfterEndMs + grace) {
        await this.#onPhase({ dealId: row.id, phase: 'close' });
        continue;
      }
      if (row.status === 'active' && now > endsAt + grace) {
        await this.#onPhase({ dealId: row.id, phase: 'end' });
        continue;
      }
      if (staleReason(row, health.get(row.id)!)) await this.recover(row.id);
    }
    // Units that reached a listed product (a payment failing after its deal closed) join its listing.
    await this.#listings?.foldAll();
  }

  /** Stops the phase worker and queue. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
      await this.#reconciling;
      await Promise.allSettled([...this.#recovering.values()]);
      await runCloseSteps(log, [
        ['phase worker', () => this.#worker.close()],
        ['phase queue', () => this.#queue.close()],
      ]);
      this.#cache.clear();
      this.#roomCache.clear();
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
