import { readdirSync, readFileSync } from 'node:fs';
import { assetPath } from '../../common/paths.js';
import type { Database } from './Database.js';
import { logger } from '../../common/logger.js';

const log = logger('Migrator');

/**
 * Applies `server/db/migrations/NNN_name.sql` in name order, each once, each in its own
 * transaction, recording them in `schema_migrations`. Concurrent migrators (server and
 * worker processes starting together) serialise on an advisory lock.
 */
export class Migrator {
  readonly #db: Database;
  readonly #dir: string;

  constructor(db: Database, dir: string = assetPath(import.meta.url, './migrations')) {
    this.#db = db;
    this.#dir = dir;
  }

  /** Applies pending migrations; resolves to the names applied. */
  async migrate(): Promise<string[]> {
    const files = readdirSync(this.#dir).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
    const applied: string[] = [];
    await this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const file of files) {
      const sql = readFileSync(`${this.#dir}/${file}`, 'utf8');
      const done = await this.#db.transaction(async (tx) => {
        if (this.#db.kind === 'pg') await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':migrations'))");
        const { rows } = await tx.query('SELECT 1 FROM schema_migrations WHERE name = $1', [file]);
        if (rows.length > 0) return false;
        await tx.exec(sql);
        await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        return true;
      });
      if (done) {
        applied.push(file);
        log.info({ migration: file }, 'applied');
      }
    }
    return applied;
  }
}
