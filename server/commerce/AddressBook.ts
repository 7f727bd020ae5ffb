import type { Redis, Cluster } from 'ioredis';
import type { Database, Queryable } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { Address, AddressList, SavedAddress } from '../../protocol/shipping.js';
import type { CachedHash } from './CachedHash.js';
import { AddressRules } from './AddressRules.js';
import { newId } from './Catalog.js';
import { CommerceErrorCode, CommerceNotFoundError, StateError } from './errors.js';
import { logger } from '../../common/logger.js';

const log = logger('AddressBook');

/** Most addresses one buyer keeps. */
export const MAX_ADDRESSES = 20;
/** How long Redis keeps a copy of a book with addresses, and the "no address" answer. */
const BOOK_TTL_MS = 30 * 86_400_000;
const EMPTY_TTL_MS = 10 * 60_000;

/**
 * What is known of a buyer's destination: `unknown` (Redis has no copy of the book: never
 * read, expired, or lost; only `cached` answers it), `none` (no address, or none is the
 * default), `not_found` (the address asked for is not in the book), or the address.
 */
export type AddressLookup =
  | { state: 'unknown' }
  | { state: 'none' }
  | { state: 'not_found' }
  | { state: 'found'; address: Address };

interface BookRow {
  version: number | null;
  default_address_id: string | null;
  id: string | null;
  name: string;
  phone: string;
  line1: string;
  line2: string | null;
  district: string | null;
  city: string | null;
  state: string | null;
  postal_code: string | null;
  country: string;
  created_at: Date | string;
}

interface Book extends AddressList {
  version: number;
}

// One statement, so the version and the addresses are one snapshot.
const READ_SQL = `
SELECT b.version, b.default_address_id, a.id, a.name, a.phone, a.line1, a.line2, a.district, a.city, a.state, a.postal_code,
  a.country, a.created_at
FROM (SELECT $1::text AS user_id) u
LEFT JOIN address_books b ON b.user_id = u.user_id
LEFT JOIN addresses a ON a.user_id = u.user_id
ORDER BY a.created_at, a.id`;

// The book's row, its version one up, locked until the change commits (changes of one buyer queue here).
const BUMP_SQL = `
INSERT INTO address_books (user_id, version) VALUES ($1, 1)
ON CONFLICT (user_id) DO UPDATE SET version = address_books.version + 1
RETURNING version, default_address_id`;

/**
 * The buyers' address books (`addresses`, `address_books`): each address checked against its
 * country's rules (AddressRules) before it is saved, one default per buyer (the first address,
 * or the one the buyer picks; the newest left when the default is removed), at most
 * MAX_ADDRESSES. PostgreSQL is the record; Redis holds a versioned copy of each book, written
 * through on every change, that the tap reads without PostgreSQL (`cached`).
 */
export class AddressBook {
  readonly #db: Database;
  readonly #redis: Redis | Cluster;
  readonly #keys: RedisKeys;
  readonly #cache: CachedHash;

  constructor(db: Database, redis: Redis | Cluster, keys: RedisKeys, cache: CachedHash) {
    this.#db = db;
    this.#redis = redis;
    this.#keys = keys;
    this.#cache = cache;
  }

  /** The buyer's addresses, oldest first, and the default's id. */
  async list(userId: string): Promise<AddressList> {
    const book = await this.#fill(userId);
    return { addresses: book.addresses, defaultAddressId: book.defaultAddressId };
  }

  /**
   * Checks (AddressRules: 400 ADDRESS_INVALID) and saves an address as the buyer sent it; it
   * becomes the default when asked, or when it is the buyer's first. 409 ADDRESS_BOOK_FULL
   * beyond MAX_ADDRESSES.
   */
  async add(userId: string, input: unknown): Promise<SavedAddress> {
    const { address, makeDefault } = AddressRules.validate(input);
    const id = newId('a');
    const book = await this.#change(userId, async (tx, current) => {
      const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses WHERE user_id = $1', [userId]);
      if (Number(rows[0].n) >= MAX_ADDRESSES) throw new StateError(CommerceErrorCode.AddressBookFull, `an address book holds at most ${MAX_ADDRESSES} addresses`);
      await tx.query(
        `INSERT INTO addresses (id, user_id, name, phone, line1, line2, district, city, state, postal_code, country)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
        [id, userId, address.name, address.phone, address.line1, address.line2, address.district, address.city, address.state, address.postalCode, address.country]);
      if (makeDefault || current.defaultAddressId === null) {
        await tx.query('UPDATE address_books SET default_address_id = $2 WHERE user_id = $1', [userId, id]);
      }
    });
    return book.addresses.find((a) => a.id === id)!;
  }

  /** Removes an address (404 ADDRESS_NOT_FOUND if the buyer has none by that id). Orders keep their copy. */
  async remove(userId: string, addressId: string): Promise<void> {
    await this.#change(userId, async (tx, current) => {
      const r = await tx.query('DELETE FROM addresses WHERE id = $1 AND user_id = $2', [addressId, userId]);
      if (r.rowCount === 0) throw new CommerceNotFoundError(CommerceErrorCode.AddressNotFound, 'address');
      if (current.defaultAddressId === addressId) {
        await tx.query(
          `UPDATE address_books SET default_address_id =
             (SELECT id FROM addresses WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)
           WHERE user_id = $1`, [userId]);
      }
    });
  }

  /**
   * The address a tap ships to (`addressId`, else the default), from Redis alone: one HMGET.
   * `unknown` when Redis has no copy of the book.
   */
  async cached(userId: string, addressId?: string): Promise<AddressLookup> {
    const [version, value] = await this.#redis.hmget(this.#key(userId), 'v', addressId ? `a:${addressId}` : 'd');
    if (version === null) return { state: 'unknown' };
    if (value === null) return { state: addressId ? 'not_found' : 'none' };
    if (value === '') return { state: 'none' };
    return { state: 'found', address: JSON.parse(value) as Address };
  }

  /** As `cached`, from PostgreSQL (the copy in Redis is refreshed on the way); never `unknown`. */
  async lookup(userId: string, addressId?: string): Promise<AddressLookup> {
    const book = await this.#fill(userId);
    const wanted = addressId ?? book.defaultAddressId;
    if (wanted === null) return { state: 'none' };
    const found = book.addresses.find((a) => a.id === wanted);
    if (!found) return { state: addressId ? 'not_found' : 'none' };
    return { state: 'found', address: AddressBook.#plain(found) };
  }

  /** Runs a change in one transaction under the book's lock, then writes the new book through to Redis. */
  async #change(userId: string, fn: (tx: Queryable, current: { defaultAddressId: string | null }) => Promise<void>): Promise<Book> {
    const book = await this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<{ version: number; default_address_id: string | null }>(BUMP_SQL, [userId]);
      await fn(tx, { defaultAddressId: rows[0].default_address_id });
      return AddressBook.#read(tx, userId);
    });
    await this.#store(userId, book);
    return book;
  }

  /** Reads the book from PostgreSQL and refreshes the copy in Redis (never with an older one). */
  async #fill(userId: string): Promise<Book> {
    const book = await AddressBook.#read(this.#db, userId);
    await this.#store(userId, book);
    return book;
  }

  async #store(userId: string, book: Book): Promise<void> {
    const entries: [string, string][] = [];
    const byId = new Map(book.addresses.map((a) => [a.id, JSON.stringify(AddressBook.#plain(a))]));
    entries.push(['d', (book.defaultAddressId && byId.get(book.defaultAddressId)) || '']);
    for (const [id, json] of byId) entries.push([`a:${id}`, json]);
    try {
      await this.#cache.put(this.#key(userId), book.version, book.addresses.length > 0 ? BOOK_TTL_MS : EMPTY_TTL_MS, entries);
    } catch (err) {
      // A copy that could not be replaced must not be read: drop it (the tap then reads PostgreSQL after the hold).
      log.warn({ err, userId }, 'address book copy not written');
      await this.#cache.drop(this.#key(userId)).catch(() => undefined);
    }
  }

  #key(userId: string): string {
    return this.#keys.global(`addr:${userId}`);
  }

  static async #read(q: Queryable, userId: string): Promise<Book> {
    const { rows } = await q.query<BookRow>(READ_SQL, [userId]);
    const defaultId = rows[0]?.default_address_id ?? null;
    const addresses: SavedAddress[] = rows.filter((r) => r.id !== null).map((r) => ({
      id: r.id!, name: r.name, phone: r.phone, line1: r.line1, line2: r.line2, district: r.district, city: r.city, state: r.state,
      postalCode: r.postal_code, country: r.country, isDefault: r.id === defaultId, createdAt: new Date(r.created_at).toISOString(),
    }));
    return { version: Number(rows[0]?.version ?? 0), addresses, defaultAddressId: addresses.some((a) => a.isDefault) ? defaultId : null };
  }

  /** The address without the book's fields: what an order keeps. */
  static #plain(a: SavedAddress): Address {
    return {
      id: a.id, name: a.name, phone: a.phone, line1: a.line1, line2: a.line2, district: a.district, city: a.city, state: a.state,
      postalCode: a.postalCode, country: a.country,
    };
  }
}
