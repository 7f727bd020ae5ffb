import { randomBytes } from 'node:crypto';
import type { Database } from '../db/Database.js';
import type { RoomBroadcaster } from './RoomBroadcaster.js';
import type { flashcast } from '../../protocol/index.js';
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
}

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  shopId: r.shop_id,
  titles: r.titles,
  images: r.images,
  price: { amount: Number(r.price_amount), currency: r.currency },
  stock: Number(r.stock),
});

export const newId = (p: string) => `${p}_${randomBytes(9).toString('hex')}`;

/** Shops, products, a room's showcase and its pinned product card. */
export class Catalog {
  readonly #db: Database;
  readonly #broadcaster: RoomBroadcaster;

  constructor(db: Database, broadcaster: RoomBroadcaster) {
    this.#db = db;
    this.#broadcaster = broadcaster;
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

  /** Adds a product; its price must be in the shop's currency. */
  async createProduct(shopId: string, input: Omit<Product, 'id' | 'shopId'> & { id?: string }): Promise<Product> {
    const shop = await this.getShop(shopId);
    Currency.assert(input.price.currency);
    Currency.assertAmount(input.price.amount);
    if (input.price.currency !== shop.currency) {
      throw new StateError(CommerceErrorCode.InvalidCurrency, `price must be in the shop currency ${shop.currency}`);
    }
    const product: Product = { ...input, id: input.id ?? newId('p'), shopId };
    const r = await this.#db.query(
      `INSERT INTO products (id, shop_id, titles, images, price_amount, currency, stock)
       VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (id) DO NOTHING`,
      [product.id, shopId, JSON.stringify(product.titles), JSON.stringify(product.images), product.price.amount, product.price.currency, product.stock],
    );
    if (r.rowCount === 0) throw new StateError(CommerceErrorCode.AlreadyExists, 'product id already exists');
    return product;
  }

  async getProduct(id: string): Promise<Product> {
    const { rows } = await this.#db.query<ProductRow>(
      'SELECT id, shop_id, titles, images, price_amount, currency, stock FROM products WHERE id = $1', [id]);
    if (!rows[0]) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
    return toProduct(rows[0]);
  }

  /** Sets the stock of a product (seller restock). */
  async setStock(id: string, stock: number): Promise<void> {
    const r = await this.#db.query('UPDATE products SET stock = $2, updated_at = now() WHERE id = $1', [id, stock]);
    if (r.rowCount === 0) throw new CommerceNotFoundError(CommerceErrorCode.ProductNotFound, 'product');
  }

  /** Replaces a room's showcase (at most SHOWCASE_MAX products, in order). */
  async setShowcase(roomId: string, productIds: string[]): Promise<void> {
    const unique = [...new Set(productIds)];
    if (unique.length > SHOWCASE_MAX) throw new ShowcaseFullError(SHOWCASE_MAX);
    await this.#db.transaction(async (tx) => {
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
    await this.#db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`showcase:${roomId}`]);
      const { rows } = await tx.query<{ n: number; present: boolean }>(
        'SELECT count(*)::int AS n, bool_or(product_id = $2) AS present FROM showcase WHERE room_id = $1', [roomId, productId]);
      if (rows[0]?.present) return;
      if (Number(rows[0]?.n ?? 0) >= SHOWCASE_MAX) throw new ShowcaseFullError(SHOWCASE_MAX);
      await tx.query('INSERT INTO showcase (room_id, product_id, position) VALUES ($1,$2,$3)', [roomId, productId, Number(rows[0]?.n ?? 0)]);
    });
  }

  /** The room's showcase, in order. */
  async showcase(roomId: string): Promise<Product[]> {
    const { rows } = await this.#db.query<ProductRow>(
      `SELECT p.id, p.shop_id, p.titles, p.images, p.price_amount, p.currency, p.stock
       FROM showcase s JOIN products p ON p.id = s.product_id WHERE s.room_id = $1 ORDER BY s.position`, [roomId]);
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

  /** Pins a showcase product's card in the room (critical broadcast); resolves to the stream offset. */
  async pin(roomId: string, productId: string, byUserId: string, options: { locale?: string; deal?: { id: string; price: { amount: number; currency: string } } } = {}): Promise<number> {
    if (!(await this.inShowcase(roomId, productId))) {
      throw new StateError(CommerceErrorCode.NotInShowcase, 'product is not in the room showcase');
    }
    const product = await this.getProduct(productId);
    return this.#broadcaster.publish(roomId, { room: roomId, ts: Date.now(), pin: { product: Catalog.card(product, options.locale, options.deal), byUserId } });
  }

  /** Unpins the card (critical broadcast). */
  async unpin(roomId: string, productId: string): Promise<number> {
    return this.#broadcaster.publish(roomId, { room: roomId, ts: Date.now(), unpin: { productId } });
  }
}
