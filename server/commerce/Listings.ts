import type { Redis, Cluster } from 'ioredis';
import type { Database, Queryable } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { Reservation } from './Reservation.js';
import { newId, type ShowcaseListings } from './Catalog.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import { CommerceErrorCode, CommerceNotFoundError, StateError } from './errors.js';

const log = logger('Listings');

/**
 * A listing's end: none while its product is listed (a deal row needs one; the reservation
 * script compares it with the Redis clock).
 */
export const LISTING_ENDS_AT = Date.UTC(9999, 11, 31);

export interface ListingsOptions {
  /** Buyer countries that ban cross-border direct sales (as for flash deals). */
  crossBorderBans: string[];
  /**
   * Units one buyer may hold or have bought from one listing (a sane cap against a bot
   * emptying a shop; a tap asks for at most Checkout's `maxQuantity`). Default 1,000.
   */
  perBuyerLimit: number;
}

export type ListingsEvents = {
  /** A room's showcase changed on this node (lookups cached for it are stale). */
  showcase: [roomId: string];
};

/** A listing's row, locked. */
interface ListingRow {
  id: string;
  total_stock: number;
  sold_units: number;
}

/** The Redis side of a listing's total no longer matches PostgreSQL's: rebuild it, then try again. */
export class ListingOutOfSyncError extends StateError {
  readonly listingId: string;
  constructor(listingId: string) {
    super(CommerceErrorCode.DealConflict, 'the listing is being rebuilt, retry');
    this.listingId = listingId;
  }
}

/** The mirror's field saying it was built (an empty showcase still has it). */
const BUILT = '~';

/**
 * A product's regular-price stock as a standing deal of kind 'regular' (its listing), so that
 * regular-price taps take the flash-deal path unchanged: Reservation's scripts, OrderStore's
 * claims (sold_units ≤ total_stock), rebuilds from PostgreSQL, settlement. One listing per
 * product, shared by every room whose showcase holds it; it opens when the product first
 * enters a showcase, takes the product's unallocated stock, and has no end.
 *
 * Units move between the product, its listing and its flash deals only here, each move in one
 * PostgreSQL transaction holding the product's and the listing's row locks, with the listing's
 * Redis total moved in the same step (adjust-1.lua: only units nobody holds can go to a deal).
 * Also keeps a Redis mirror of each room's showcase (product → listing), so a tap reads no
 * PostgreSQL; a lost mirror is rebuilt from PostgreSQL.
 */
export class Listings extends EnhancedEventEmitter<ListingsEvents> implements ShowcaseListings {
  readonly #db: Database;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #reservation: Reservation;
  readonly #options: ListingsOptions;
  /** Rebuilds a deal's Redis state from PostgreSQL when it disagrees (FlashDeals.recover). */
  readonly #recover: (dealId: string) => Promise<boolean>;
  /** Mirror rebuilds in flight on this node (the taps of a room that lost its mirror share one). */
  readonly #rebuilding = new Map<string, Promise<Map<string, string>>>();

  constructor(params: {
    db: Database; redis: Redis | Cluster; keys: RedisKeys; reservation: Reservation; options?: Partial<ListingsOptions>;
    recover: (dealId: string) => Promise<boolean>;
  }) {
    super();
    this.#db = params.db;
    this.#redis = params.redis;
    this.#keys = params.keys;
    this.#reservation = params.reservation;
    this.#options = { crossBorderBans: [], perBuyerLimit: 1_000, ...params.options };
    this.#recover = params.recover;
  }

  // ---- the room's showcase mirror (the tap path reads it; Catalog's showcase writes keep it)

  /**
   * The listing a tap in the room buys the product from, as the room's mirror says: its id,
   * null (not in the room's showcase), or undefined (Redis has no mirror: ask `rebuildShowcase`).
   */
  async inShowcase(roomId: string, productId: string): Promise<string | null | undefined> {
    const [listing, built] = await this.#redis.hmget(this.#mirrorKey(roomId), productId, BUILT);
    if (built === null) return undefined;
    return listing;
  }

  /** Rebuilds the room's mirror from PostgreSQL (Redis lost it); resolves to product → listing. */
  rebuildShowcase(roomId: string): Promise<Map<string, string>> {
    let running = this.#rebuilding.get(roomId);
    if (!running) {
      running = this.#rebuildShowcase(roomId).finally(() => this.#rebuilding.delete(roomId));
      this.#rebuilding.set(roomId, running);
    }
    return running;
  }

  async #rebuildShowcase(roomId: string): Promise<Map<string, string>> {
    const { mirror, opened } = await this.#db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`showcase:${roomId}`]);
      return this.#sync(tx, roomId);
    });
    this.#build(opened);
    log.info({ roomId, products: mirror.size }, 'showcase mirror rebuilt from PostgreSQL');
    return mirror;
  }

  /** In a showcase transaction (the room's showcase lock held): opens missing listings, writes the mirror. */
  async syncShowcase(tx: Queryable, roomId: string): Promise<string[]> {
    return (await this.#sync(tx, roomId)).opened;
  }

  /** After a showcase transaction: builds the listings it opened, tells this node's caches. */
  showcaseChanged(roomId: string, opened: string[]): void {
    this.#build(opened);
    this.safeEmit('showcase', roomId);
  }

  /** After a failed showcase transaction: the mirror may show what was rolled back; drop it (rebuilt on use). */
  async forgetShowcase(roomId: string): Promise<void> {
    await this.#redis.del(this.#mirrorKey(roomId));
    this.safeEmit('showcase', roomId);
  }

  async #sync(tx: Queryable, roomId: string): Promise<{ mirror: Map<string, string>; opened: string[] }> {
    const { rows } = await tx.query<{ product_id: string; listing: string | null }>(
      `SELECT s.product_id, l.id AS listing FROM showcase s
       LEFT JOIN deals l ON l.product_id = s.product_id AND l.kind = 'regular' AND l.status <> 'closed'
       WHERE s.room_id = $1 ORDER BY s.product_id`, [roomId]);
    const mirror = new Map<string, string>();
    const opened: string[] = [];
    for (const r of rows) {
      let listing = r.listing;
      if (!listing) {
        const o = await this.#open(tx, r.product_id);
        listing = o.id;
        if (o.opened) opened.push(o.id);
      }
      mirror.set(r.product_id, listing);
    }
    const key = this.#mirrorKey(roomId);
    const fields: string[] = [BUILT, '1'];
    for (const [p, l] of mirror) fields.push(p, l);
    const written = await this.#redis.multi().del(key).hset(key, ...fields).exec();
    for (const [err] of written ?? [[new Error('showcase mirror not written')]]) if (err) throw err;
    return { mirror, opened };
  }

  /** Opens the product's listing with its unallocated stock, unless one is open (in `tx`). */
  async #open(tx: Queryable, productId: string): Promise<{ id: string; opened: boolean }> {
    const { rows } = await tx.query<{ stock: number; shop_id: string; price_amount: number; currency: string; country: string; owner_user_id: string }>(
      `SELECT p.stock, p.shop_id, p.price_amount, p.currency, s.country, s.owner_user_id
       FROM products p JOIN shops s ON s.id = p.shop_id WHERE p.id = $1 FOR UPDATE OF p`, [productId]);
    const p = rows[0];
    if (!p) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
    const open = await this.#lock(tx, productId);
    if (open) return { id: open.id, opened: false };
    const id = newId('l');
    const blocked = this.#options.crossBorderBans.filter((c) => c !== p.country);
    await tx.query(
      `INSERT INTO deals (id, kind, room_id, product_id, shop_id, price_amount, currency, total_stock, per_buyer_limit, countdown_s,
         duration_s, starts_at, ends_at, allowed_regions, blocked_regions, commission_bps, creator_id, plan_id)
       VALUES ($1,'regular','',$2,$3,$4,$5,$6,$7,0,0,now(),$8,'[]',$9,0,$10,NULL)`,
      [id, productId, p.shop_id, p.price_amount, p.currency, Number(p.stock), this.#options.perBuyerLimit, new Date(LISTING_ENDS_AT),
        JSON.stringify(blocked), p.owner_user_id]);
    await tx.query('UPDATE products SET stock = 0, updated_at = now() WHERE id = $1', [productId]);
    log.info({ productId, listingId: id, stock: Number(p.stock) }, 'listing opened');
    return { id, opened: true };
  }

  // ---- units between the product, its listing and its flash deals

  /**
   * Takes `units` for a new flash deal on the product (in the deal's transaction): from its
   * listing when it has one (only units nobody holds), else from the product's stock. Resolves
   * to an undo step for Redis, to run if the transaction does not commit.
   */
  async take(tx: Queryable, productId: string, units: number): Promise<() => Promise<void>> {
    const { rows } = await tx.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1 FOR UPDATE', [productId]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
    const listing = await this.#lock(tx, productId);
    if (!listing) {
      const r = await tx.query('UPDATE products SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2', [productId, units]);
      if (r.rowCount === 0) throw new StateError(CommerceErrorCode.InsufficientStock, 'product stock is lower than the deal stock');
      return async () => undefined;
    }
    // Units that reached the product since (a late release of a closed deal) join the listing first.
    const stray = Number(rows[0].stock);
    const total = listing.total_stock + stray;
    if (total - listing.sold_units < units) throw new StateError(CommerceErrorCode.InsufficientStock, 'product stock is lower than the deal stock');
    const to = total - units;
    const r = await this.#reservation.adjust(listing.id, listing.total_stock, to, true);
    if (r.code === 'SHORT') throw new StateError(CommerceErrorCode.InsufficientStock, 'not enough units of the product are free of buyers\' holds');
    if (r.code === 'STALE') throw new ListingOutOfSyncError(listing.id);
    // NOT_FOUND: Redis has no state for the listing (lost, or never built): it is built from PostgreSQL's totals.
    await tx.query('UPDATE products SET stock = 0, updated_at = now() WHERE id = $1', [productId]);
    await tx.query('UPDATE deals SET total_stock = $2 WHERE id = $1', [listing.id, to]);
    if (r.code !== 'OK') return async () => undefined;
    return () => this.#undo(listing.id, to, listing.total_stock);
  }

  /**
   * Moves the product's unallocated units (a closed deal's unsold units, a late release) into
   * its listing, if it has one. Idempotent.
   */
  async fold(productId: string): Promise<void> {
    await this.#change(productId, (listing, stray) => listing.total_stock + stray, (stray) => stray > 0);
  }

  /**
   * The seller's stock: the units of the product for sale at its regular price from now on
   * (its listing's unsold units; units in flash deals are not counted). Without a listing, the
   * product's stock.
   */
  async setStock(productId: string, stock: number): Promise<void> {
    await this.#change(productId, (listing) => listing.sold_units + stock, () => true, stock);
  }

  /** Folds every listed product's unallocated units into its listing (the reconciler's pass). */
  async foldAll(): Promise<void> {
    const { rows } = await this.#db.query<{ product_id: string }>(
      `SELECT l.product_id FROM deals l JOIN products p ON p.id = l.product_id
       WHERE l.kind = 'regular' AND l.status <> 'closed' AND p.stock > 0`);
    for (const r of rows) await this.fold(r.product_id);
  }

  /**
   * One change of a listing's total (`target`), with the product's unallocated units folded in,
   * in one transaction; Redis follows in the same step (no need for free units: a seller may
   * set less than is held, and PostgreSQL refuses the claims it has no units for).
   * `noListing`: the product's stock to set when it has no listing (undefined: leave it).
   */
  async #change(productId: string, target: (l: ListingRow, stray: number) => number, wanted: (stray: number) => boolean, noListing?: number): Promise<void> {
    const step: { undo: (() => Promise<void>) | null } = { undo: null };
    let stale: string | null;
    try {
      stale = await this.#db.transaction(async (tx) => {
        step.undo = null;
        const { rows } = await tx.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1 FOR UPDATE', [productId]);
        if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
        const stray = Number(rows[0].stock);
        const listing = await this.#lock(tx, productId);
        if (!listing) {
          if (noListing !== undefined) await tx.query('UPDATE products SET stock = $2, updated_at = now() WHERE id = $1', [productId, noListing]);
          return null;
        }
        if (!wanted(stray)) return null;
        const to = target(listing, stray);
        const r = await this.#reservation.adjust(listing.id, listing.total_stock, to, false);
        if (r.code === 'OK') step.undo = () => this.#undo(listing.id, to, listing.total_stock);
        await tx.query('UPDATE products SET stock = 0, updated_at = now() WHERE id = $1', [productId]);
        await tx.query('UPDATE deals SET total_stock = $2 WHERE id = $1', [listing.id, to]);
        return r.code === 'STALE' ? listing.id : null;
      });
    } catch (error) {
      await step.undo?.();
      throw error;
    }
    // Redis had another total: PostgreSQL's stands, and the listing's Redis state is rebuilt from it.
    if (stale) await this.#recover(stale);
  }

  /** Puts a listing's Redis total back after its PostgreSQL change did not commit. */
  async #undo(listingId: string, from: number, to: number): Promise<void> {
    try {
      const r = await this.#reservation.adjust(listingId, from, to, false);
      if (r.code !== 'OK') await this.#recover(listingId);
    } catch (err) {
      // The reconciler sees the totals disagree and rebuilds the listing from PostgreSQL.
      log.warn({ err, listingId }, 'listing total not put back in Redis');
    }
  }

  /** The product's open listing, row locked, or null. */
  async #lock(tx: Queryable, productId: string): Promise<ListingRow | null> {
    const { rows } = await tx.query<ListingRow>(
      "SELECT id, total_stock, sold_units FROM deals WHERE product_id = $1 AND kind = 'regular' AND status <> 'closed' FOR UPDATE", [productId]);
    return rows[0] ? { id: rows[0].id, total_stock: Number(rows[0].total_stock), sold_units: Number(rows[0].sold_units) } : null;
  }

  /** Builds the Redis state of listings just opened (else the first tap or the reconciler does). */
  #build(listingIds: string[]): void {
    for (const id of listingIds) void this.#recover(id).catch((err) => log.warn({ err, listingId: id }, 'listing state not built yet'));
  }

  #mirrorKey(roomId: string): string {
    return this.#keys.room(roomId, 'showcase');
  }
}
