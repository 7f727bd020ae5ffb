import pg from 'pg';
import type { Database, Queryable, QueryResult } from './Database.js';
import { logger } from '../../common/logger.js';

const log = logger('PgDatabase');

export interface PgDatabaseOptions {
  connectionString: string;
  /** Schema to create (if missing) and put first on every connection's search_path. */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${value} is outside the safe integer range`);
  return n;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return parseInt8;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** PostgreSQL through a `pg` pool. */
export class PgDatabase implements Database {
  readonly kind = 'pg' as const;
  readonly #pool: pg.Pool;
  #closing: Promise<void> | null = null;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects (and creates the schema when one is named). */
  static async create(options: PgDatabaseOptions): Promise<PgDatabase> {
    if (options.schema !== undefined && !SCHEMA_RE.test(options.schema)) throw new TypeError('invalid schema name');
    if (options.schema) {
      const admin = new pg.Client({ connectionString: options.connectionString });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      types,
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
    });
    pool.on('error', (err) => log.warn({ err }, 'idle client error'));
    const client = await pool.connect();
    client.release();
    return new PgDatabase(pool);
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const r = await this.#pool.query(sql, params);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx: Queryable = {
      query: async <R>(sql: string, params: unknown[] = []) => {
        const r = await client.query(sql, params);
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      },
      exec: async (sql: string) => {
        await client.query(sql);
      },
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = true;
        log.warn({ err: rollbackError }, 'rollback failed');
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Ends the pool. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.end().catch((err) => log.warn({ err }, 'pool end failed'));
    return this.#closing;
  }
}
