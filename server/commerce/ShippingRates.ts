import type { Redis, Cluster } from 'ioredis';
import type { Database, Queryable } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { CachedHash } from './CachedHash.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { AddressRules } from './AddressRules.js';
import { Currency } from './Currency.js';
import { ANY_REGION, type ShippingRate, type ShippingTable } from './ShippingQuote.js';
import { CommerceErrorCode, CommerceNotFoundError } from './errors.js';
import { logger } from '../../common/logger.js';

const log = logger('ShippingRates');

/** Most rates one shop sets (one per country, and `*`). */
export const MAX_RATES = 250;
/** How long Redis keeps a shop's copy (refilled from PostgreSQL by the next tap after that). */
const COPY_TTL_MS = 86_400_000;

/** A shop's rates as the API shows them. */
export interface ShopShippingRates extends ShippingTable {
  shopId: string;
  rates: ShippingRate[];
}

export interface ShippingRatesOptions {
  /** How long this node reuses a table it read (ms, default 1000): a change reaches other nodes within this. */
  memoMs: number;
}

interface RateRow {
  currency: string;
  version: number | null;
  region: string | null;
  amount: number | null;
  free_above: number | null;
}

// The shop, its rates and their version, in one statement (one snapshot).
const READ_SQL = `
SELECT s.currency, v.version, r.region, r.amount, r.free_above FROM shops s
LEFT JOIN shipping_rate_versions v ON v.shop_id = s.id
LEFT JOIN shipping_rates r ON r.shop_id = s.id
WHERE s.id = $1 ORDER BY (r.region <> '*'), r.region`;

/**
 * The shops' shipping rate tables (`shipping_rates`): per destination country or `*`, with an
 * optional free-above threshold, in the shop currency, set as a whole by the shop owner.
 * PostgreSQL is the record; Redis holds a versioned copy of each table, written through on
 * every change, and this node reuses what it read for `memoMs`. The tap reads `table`, which
 * reads PostgreSQL only when Redis has no copy (once per shop, shared by concurrent taps).
 */
export class ShippingRates {
  readonly #db: Database;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #cache: CachedHash;
  readonly #options: ShippingRatesOptions;
  readonly #memo = new Map<string, { table: ShippingTable; at: number }>();
  readonly #filling = new Map<string, Promise<ShippingTable>>();

  constructor(db: Database, redis: Redis | Cluster, keys: RedisKeys, cache: CachedHash, options: Partial<ShippingRatesOptions> = {}) {
    this.#db = db;
    this.#redis = redis;
    this.#keys = keys;
    this.#cache = cache;
    this.#options = { memoMs: 1_000, ...options };
  }

  /**
   * Replaces the shop's whole table (an empty list: the shop stops charging shipping and
   * asking for an address). Regions are ISO 3166-1 alpha-2 codes or `*`, each once.
   */
  async replace(shopId: string, rates: readonly ShippingRate[]): Promise<ShopShippingRates> {
    ShippingRates.#assertRates(rates);
    const table = await this.#db.transaction(async (tx) => {
      const shop = await tx.query<{ currency: string }>('SELECT currency FROM shops WHERE id = $1 FOR SHARE', [shopId]);
      if (!shop.rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ShopNotFound, 'shop');
      // The version row is the lock: changes of one shop queue here, and versions follow commit order.
      await tx.query(
        `INSERT INTO shipping_rate_versions (shop_id, version) VALUES ($1, 1)
         ON CONFLICT (shop_id) DO UPDATE SET version = shipping_rate_versions.version + 1`, [shopId]);
      await tx.query('DELETE FROM shipping_rates WHERE shop_id = $1', [shopId]);
      if (rates.length > 0) {
        await tx.query(
          `INSERT INTO shipping_rates (shop_id, region, amount, currency, free_above)
           SELECT $1, t.region, t.amount, $5, t.free_above FROM unnest($2::text[], $3::int8[], $4::int8[]) AS t(region, amount, free_above)`,
          [shopId, rates.map((r) => r.region), rates.map((r) => r.amount), rates.map((r) => r.freeAbove), shop.rows[0].currency]);
      }
      return ShippingRates.#read(tx, shopId);
    });
    this.#memo.delete(shopId);
    await this.#store(shopId, table!);
    return ShippingRates.#view(shopId, table!);
  }

  /** The shop's table from PostgreSQL (404 SHOP_NOT_FOUND), `*` first. */
  async list(shopId: string): Promise<ShopShippingRates> {
    const table = await ShippingRates.#read(this.#db, shopId);
    if (!table) throw new CommerceNotFoundError(CommerceErrorCode.ShopNotFound, 'shop');
    return ShippingRates.#view(shopId, table);
  }

  /**
   * The table a tap quotes from: this node's copy if fresh, else Redis's, else PostgreSQL's
   * (which is then written to Redis). A shop that does not exist has no rates.
   */
  async table(shopId: string): Promise<ShippingTable> {
    const hit = this.#memo.get(shopId);
    if (hit && Date.now() - hit.at < this.#options.memoMs) return hit.table;
    const copy = await this.#redis.hgetall(this.#key(shopId));
    let table: ShippingTable;
    if (copy.v !== undefined && copy.c !== undefined) {
      const rates: ShippingRate[] = [];
      for (const [field, value] of Object.entries(copy)) {
        if (!field.startsWith('r:')) continue;
        const [amount, freeAbove] = value.split('|');
        rates.push({ region: field.slice(2), amount: Number(amount), freeAbove: freeAbove === '' ? null : Number(freeAbove) });
      }
      table = { currency: copy.c, rates };
    } else {
      table = await this.#fillOnce(shopId);
    }
    if (this.#memo.size >= 10_000) this.#memo.clear();
    this.#memo.set(shopId, { table, at: Date.now() });
    return table;
  }

  #fillOnce(shopId: string): Promise<ShippingTable> {
    let filling = this.#filling.get(shopId);
    if (!filling) {
      filling = (async () => {
        const table = await ShippingRates.#read(this.#db, shopId);
        if (!table) return { currency: '', rates: [] };
        await this.#store(shopId, table);
        return table;
      })().finally(() => this.#filling.delete(shopId));
      this.#filling.set(shopId, filling);
    }
    return filling;
  }

  async #store(shopId: string, table: ShippingTable & { version: number }): Promise<void> {
    const entries: [string, string][] = [['c', table.currency]];
    for (const r of table.rates) entries.push([`r:${r.region}`, `${r.amount}|${r.freeAbove ?? ''}`]);
    try {
      await this.#cache.put(this.#key(shopId), table.version, COPY_TTL_MS, entries);
    } catch (err) {
      log.warn({ err, shopId }, 'shipping rates copy not written');
      await this.#cache.drop(this.#key(shopId)).catch(() => undefined);
    }
  }

  #key(shopId: string): string {
    return this.#keys.global(`shiprates:${shopId}`);
  }

  static async #read(q: Queryable, shopId: string): Promise<(ShippingTable & { version: number; rates: ShippingRate[] }) | null> {
    const { rows } = await q.query<RateRow>(READ_SQL, [shopId]);
    if (!rows[0]) return null;
    const rates = rows.filter((r) => r.region !== null).map((r) => ({
      region: r.region!, amount: Number(r.amount), freeAbove: r.free_above === null ? null : Number(r.free_above),
    }));
    return { currency: rows[0].currency, version: Number(rows[0].version ?? 0), rates };
  }

  static #view(shopId: string, table: ShippingTable): ShopShippingRates {
    return { shopId, currency: table.currency, rates: table.rates.map((r) => ({ region: r.region, amount: r.amount, freeAbove: r.freeAbove })) };
  }

  static #assertRates(rates: readonly ShippingRate[]): void {
    if (!Array.isArray(rates) || rates.length > MAX_RATES) throw new InvalidArgumentError(`rates must be a list of at most ${MAX_RATES}`);
    const seen = new Set<string>();
    for (const r of rates) {
      if (r.region !== ANY_REGION && !AddressRules.isCountry(r.region)) throw new InvalidArgumentError('region must be an ISO 3166-1 alpha-2 code or "*"');
      if (seen.has(r.region)) throw new InvalidArgumentError(`region ${r.region} appears twice`);
      seen.add(r.region);
      Currency.assertAmount(r.amount);
      if (r.freeAbove !== null) Currency.assertAmount(r.freeAbove);
    }
  }
}
