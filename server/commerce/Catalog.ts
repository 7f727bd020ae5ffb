import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../db/Database.js';
import type { flashcast } from '../../protocol/index.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { Currency } from './Currency.js';
import { CommerceErrorCode, CommerceNotFoundError, ShowcaseFullError, StateError } from './errors.js';

/** A seller. Prices of its products are in its currency, which is also the settlement currency. */
export interface Shop {
  id: string;
  ownerUserId: string;
  name: string;
  currency: string;
  /** ISO 3166-1 alpha-2 country the shop ships from. */
  country: string;
}

export interface Product {
  id: string;
  shopId: string;
  /** Locale -> title, e.g. { en: 'Red scarf', fr: 'Écharpe rouge' }. */
  titles: Record<string, string>;
  images: string[];
  price: { amount: number; currency: string };
  stock: number;
  /** The lowest deal price the shop allows (minor units, product currency); null = no floor. */
  minPrice: number | null;
}

/** What a shop may change on a product (PATCH). */
export interface ProductPatch {
  titles?: Record<string, string>;
  images?: string[];
  price?: { amount: number; currency: string };
  minPrice?: number | null;
}

/** Products a room's showcase may hold. */
export const SHOWCASE_MAX = 100;

interface ProductRow {
  id: string;
  shop_id: string;
  titles: Record<string, string>;
  images: string[];
  price_amount: number;
  currency: string;
  stock: number;
  min_price: number | null;
}

/**
 * A product's row as the API shows it (`p` is products): its stock is its unallocated units plus
 * its listing's unsold units (the units for sale at its regular price; flash deals' are not).
 */
const PRODUCT_COLUMNS = `p.id, p.shop_id, p.titles, p.images, p.price_amount, p.currency, p.min_price,
  p.stock + COALESCE((SELECT l.total_stock - l.sold_units FROM deals l
    WHERE l.product_id = p.id AND l.kind = 'regular' AND l.status <> 'closed'), 0) AS stock`;

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  shopId: r.shop_id,
  titles: r.titles,
  images: r.images,
  price: { amount: Number(r.price_amount), currency: r.currency },
  stock: Number(r.stock),
  minPrice: r.min_price === null || r.min_price === undefined ? null : Number(r.min_price),
});

export const newId = (p: string) => `${p}_${randomBytes(9).toString('hex')}`;

/**
 * What the catalog's writes tell the regular-price listings (implemented by Listings): a
 * showcase change opens the listings it needs and is mirrored in Redis; a stock change moves
 * the listing's units.
 */
export interface ShowcaseListings {
  /** In the showcase transaction, the room's showcase lock held: resolves to the listings opened. */
  syncShowcase(tx: Queryable, roomId: string): Promise<string[]>;
  /** After the showcase transaction committed. */
  showcaseChanged(roomId: string, opened: string[]): void;
  /** After the showcase transaction failed. */
  forgetShowcase(roomId: string): Promise<void>;
  /** The seller's stock of a product (404 PRODUCT_NOT_FOUND for an unknown one). */
  setStock(productId: string, stock: number): Promise<void>;
}

/** Shops, products (with their price floors), a room's showcase and the card a pin shows. */
export class Catalog {
  readonly #db: Database;
  readonly #listings: ShowcaseListings | null;

  constructor(db: Database, listings: ShowcaseListings | null = null) {
    this.#db = db;
    this.#listings = listings;
  }

  /** Creates a shop owned by `ownerUserId`. */
  async createShop(input: Omit<Shop, 'id'> & { id?: string }): Promise<Shop> {
    Currency.assert(input.currency);
    const shop: Shop = { ...input, id: input.id ?? newId('s') };
    const r = await this.#db.query(
      'INSERT INTO shops (id, owner_user_id, name, currency, country) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (id) DO NOTHING',
      [shop.id, shop.ownerUserId, shop.name, shop.currency, shop.country],
    );
    if (r.rowCount === 0) throw new StateError(CommerceErrorCode.AlreadyExists, 'shop id already exists');
    return shop;
  }

  async getShop(id: string): Promise<Shop> {
    const { rows } = await this.#db.query<{ id: string; owner_user_id: string; name: string; currency: string; country: string }>(
      'SELECT id, owner_user_id, name, currency, country FROM shops WHERE id = $1', [id]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ShopNotFound, 'shop');
    const r = rows[0];
    return { id: r.id, ownerUserId: r.owner_user_id, name: r.name, currency: r.currency, country: r.country };
  }

  /** The shops a user owns, oldest first. */
  async shopsOf(ownerUserId: string): Promise<Shop[]> {
    const { rows } = await this.#db.query<{ id: string; owner_user_id: string; name: string; currency: string; country: string }>(
      'SELECT id, owner_user_id, name, currency, country FROM shops WHERE owner_user_id = $1 ORDER BY created_at, id LIMIT 500', [ownerUserId]);
    return rows.map((r) => ({ id: r.id, ownerUserId: r.owner_user_id, name: r.name, currency: r.currency, country: r.country }));
  }

  /**
   * A page of a shop's products, newest first. `after`: the last product id of the previous page
   * (the answer's `next`; null on the last page). An `after` that is not a product of the shop is 400.
   */
  async productsOf(shopId: string, page: { limit: number; after?: string }): Promise<{ products: Product[]; next: string | null }> {
    const limit = Math.min(Math.max(Math.trunc(page.limit), 1), 200);
    if (page.after !== undefined) {
      const { rows } = await this.#db.query('SELECT 1 FROM products WHERE id = $1 AND shop_id = $2', [page.after, shopId]);
      if (rows.length === 0) throw new InvalidArgumentError('cursor is not a product of this shop');
    }
    const { rows } = await this.#db.query<ProductRow>(
      `SELECT ${PRODUCT_COLUMNS} FROM products p
       WHERE p.shop_id = $1 AND ($2::text IS NULL OR (p.created_at, p.id) < (SELECT c.created_at, c.id FROM products c WHERE c.id = $2))
       ORDER BY p.created_at DESC, p.id DESC LIMIT $3`,
      [shopId, page.after ?? null, limit + 1]);
    const products = rows.slice(0, limit).map(toProduct);
    return { products, next: rows.length > limit ? products[products.length - 1].id : null };
  }

  /** Adds a product; its price must be in the shop's currency. */
  async createProduct(shopId: string, input: Omit<Product, 'id' | 'shopId' | 'minPrice'> & { id?: string; minPrice?: number | null }): Promise<Product> {
    const shop = await this.getShop(shopId);
    Currency.assert(input.price.currency);
    Currency.assertAmount(input.price.amount);
    if (input.minPrice !== undefined && input.minPrice !== null) Currency.assertAmount(input.minPrice);
    if (input.price.currency !== shop.currency) {
      throw new StateError(CommerceErrorCode.InvalidCurrency, `price must be in the shop currency ${shop.currency}`);
    }
    const product: Product = { ...input, id: input.id ?? newId('p'), shopId, minPrice: input.minPrice ?? null };
    const r = await this.#db.query(
      `INSERT INTO products (id, shop_id, titles, images, price_amount, currency, stock, min_price)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (id) DO NOTHING`,
      [product.id, shopId, JSON.stringify(product.titles), JSON.stringify(product.images), product.price.amount, product.price.currency, product.stock, product.minPrice],
    );
    if (r.rowCount === 0) throw new StateError(CommerceErrorCode.AlreadyExists, 'product id already exists');
    return product;
  }

  async getProduct(id: string): Promise<Product> {
    const { rows } = await this.#db.query<ProductRow>(`SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.id = $1`, [id]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
    return toProduct(rows[0]);
  }

  /** Changes a product's titles, images, price or price floor (the shop's decision). */
  async updateProduct(id: string, patch: ProductPatch): Promise<Product> {
    const product = await this.getProduct(id);
    if (patch.price) {
      Currency.assert(patch.price.currency);
      Currency.assertAmount(patch.price.amount);
      if (patch.price.currency !== product.price.currency) {
        throw new StateError(CommerceErrorCode.InvalidCurrency, `price must be in the shop currency ${product.price.currency}`);
      }
    }
    if (patch.minPrice !== undefined && patch.minPrice !== null) Currency.assertAmount(patch.minPrice);
    const next: Product = {
      ...product,
      titles: patch.titles ?? product.titles,
      images: patch.images ?? product.images,
      price: patch.price ?? product.price,
      minPrice: patch.minPrice === undefined ? product.minPrice : patch.minPrice,
    };
    await this.#db.query(
      `UPDATE products SET titles = $2, images = $3, price_amount = $4, min_price = $5, updated_at = now() WHERE id = $1`,
      [id, JSON.stringify(next.titles), JSON.stringify(next.images), next.price.amount, next.minPrice],
    );
    return next;
  }

  /**
   * Sets the stock of a product (seller restock): the units for sale at its regular price from
   * now on (units in flash deals are not counted).
   */
  async setStock(id: string, stock: number): Promise<void> {
    if (this.#listings) return this.#listings.setStock(id, stock);
    const r = await this.#db.query('UPDATE products SET stock = $2, updated_at = now() WHERE id = $1', [id, stock]);
    if (r.rowCount === 0) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
  }

  /** Replaces a room's showcase (at most SHOWCASE_MAX products, in order). */
  async setShowcase(roomId: string, productIds: string[]): Promise<void> {
    const unique = [...new Set(productIds)];
    if (unique.length > SHOWCASE_MAX) throw new ShowcaseFullError(SHOWCASE_MAX);
    await this.#showcaseWrite(roomId, async (tx) => {
      if (unique.length > 0) {
        const { rows } = await tx.query<{ id: string }>('SELECT id FROM products WHERE id = ANY($1::text[])', [unique]);
        if (rows.length !== unique.length) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
      }
      await tx.query('DELETE FROM showcase WHERE room_id = $1', [roomId]);
      for (let i = 0; i < unique.length; i++) {
        await tx.query('INSERT INTO showcase (room_id, product_id, position) VALUES ($1,$2,$3)', [roomId, unique[i], i]);
      }
    });
  }

  /** Adds one product at the end of the showcase. */
  async addToShowcase(roomId: string, productId: string): Promise<void> {
    await this.getProduct(productId);
    await this.#showcaseWrite(roomId, async (tx) => {
      const { rows } = await tx.query<{ n: number; present: boolean }>(
        'SELECT count(*)::int AS n, bool_or(product_id = $2) AS present FROM showcase WHERE room_id = $1', [roomId, productId]);
      if (rows[0]?.present) return;
      if (Number(rows[0]?.n ?? 0) >= SHOWCASE_MAX) throw new ShowcaseFullError(SHOWCASE_MAX);
      await tx.query('INSERT INTO showcase (room_id, product_id, position) VALUES ($1,$2,$3)', [roomId, productId, Number(rows[0]?.n ?? 0)]);
    });
  }

  /**
   * One change of a room's showcase, under the room's showcase lock: the products it lists get
   * their regular-price listings and the room's Redis mirror is rewritten in the same
   * transaction (dropped if it does not commit).
   */
  async #showcaseWrite(roomId: string, change: (tx: Queryable) => Promise<void>): Promise<void> {
    let opened: string[] = [];
    let mirrored = false;
    try {
      opened = await this.#db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`showcase:${roomId}`]);
        await change(tx);
        if (!this.#listings) return [];
        mirrored = true;
        return this.#listings.syncShowcase(tx, roomId);
      });
    } catch (error) {
      if (mirrored) await this.#listings?.forgetShowcase(roomId);
      throw error;
    }
    this.#listings?.showcaseChanged(roomId, opened);
  }

  /** The room's showcase, in order. */
  async showcase(roomId: string): Promise<Product[]> {
    const { rows } = await this.#db.query<ProductRow>(
      `SELECT ${PRODUCT_COLUMNS} FROM showcase s JOIN products p ON p.id = s.product_id WHERE s.room_id = $1 ORDER BY s.position`, [roomId]);
    return rows.map(toProduct);
  }

  async inShowcase(roomId: string, productId: string): Promise<boolean> {
    const { rows } = await this.#db.query('SELECT 1 FROM showcase WHERE room_id = $1 AND product_id = $2', [roomId, productId]);
    return rows.length > 0;
  }

  /** Builds the card viewers see, in the requested locale (falling back to the first title). */
  static card(product: Product, locale = 'en', deal?: { id: string; price: { amount: number; currency: string } }): flashcast.IProductCard {
    const title = product.titles[locale] ?? Object.values(product.titles)[0] ?? product.id;
    return {
      productId: product.id,
      title,
      imageUrl: product.images[0] ?? '',
      price: { amount: product.price.amount, currency: product.price.currency },
      dealPrice: deal ? { amount: deal.price.amount, currency: deal.price.currency } : null,
      dealId: deal?.id ?? '',
    };
  }

  /**
   * The card a pin shows for a product of the room's showcase (404 PRODUCT_NOT_FOUND for an
   * unknown product, 409 NOT_IN_SHOWCASE otherwise), with `deal` when one runs on it there.
   */
  async pinCard(roomId: string, productId: string, locale?: string, deal?: { id: string; price: { amount: number; currency: string } }): Promise<flashcast.IProductCard> {
    const product = await this.getProduct(productId);
    if (!(await this.inShowcase(roomId, productId))) {
      throw new StateError(CommerceErrorCode.NotInShowcase, 'product is not in the room showcase');
    }
    return Catalog.card(product, locale, deal);
  }
}
