import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './Database.js';
import { logger } from '../../common/logger.js';

const log = logger('PGliteDatabase');

/** Embedded PostgreSQL (PGlite, WASM): the default when DATABASE_URL is unset. One process only. */
export class PGliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #db: PGlite;
  #closing: Promise<void> | null = null;

  private constructor(db: PGlite) {
    this.#db = db;
  }

  /** Opens (creating if needed) a database in `dataDir`, or in memory when omitted. */
  static async create(dataDir?: string): Promise<PGliteDatabase> {
    const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
    return new PGliteDatabase(db);
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const r = await this.#db.query<T>(sql, params);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }

  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (t) => {
      const tx: Queryable = {
        query: async <R>(sql: string, params: unknown[] = []) => {
          const r = await t.query<R>(sql, params);
          return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
        },
        exec: async (sql: string) => {
          await t.exec(sql);
        },
      };
      return fn(tx);
    });
  }

  /** Closes the instance. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#db.close().catch((err) => log.warn({ err }, 'close failed'));
    return this.#closing;
  }
}
