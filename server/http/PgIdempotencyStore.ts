import { randomUUID } from 'node:crypto';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from '../../common/http/IdempotencyStore.js';
import { logger } from '../../common/logger.js';
import type { Queryable } from '../db/Database.js';

const log = logger('PgIdempotencyStore');

export interface PgIdempotencyStoreOptions {
  /** How long an answer is replayed after the first request (default 24 h, as Stripe). */
  ttlMs?: number;
  /** How long a running request holds its key; after that a retry may run it again (default 60 s). */
  leaseMs?: number;
  /** How often expired keys are deleted (default 10 min; 0: never, `sweep()` by hand). */
  sweepIntervalMs?: number;
}

export type PgIdempotencyStoreEvents = { close: [] };

/**
 * `Idempotency-Key` answers in PostgreSQL (table `idempotency_keys`, migration 009; this is the
 * only module that reads or writes it). The first request with a (caller, key) claims the row
 * with a lease; one statement decides, so concurrent requests on any gateway see one winner.
 * Expired rows are treated as absent and deleted in the background.
 */
export class PgIdempotencyStore extends EnhancedEventEmitter<PgIdempotencyStoreEvents> implements IdempotencyStore {
  readonly #db: Queryable;
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #timer: NodeJS.Timeout | null;
  #sweeping: Promise<void> | null = null;
  #closed = false;

  constructor(db: Queryable, options: PgIdempotencyStoreOptions = {}) {
    super();
    this.#db = db;
    this.#ttlMs = options.ttlMs ?? 24 * 3_600_000;
    this.#leaseMs = options.leaseMs ?? 60_000;
    const every = options.sweepIntervalMs ?? 600_000;
    this.#timer = every > 0 ? setInterval(() => {
      this.#sweeping ??= this.sweep().then(() => undefined, (err: unknown) => log.warn({ err }, 'sweep failed')).finally(() => (this.#sweeping = null));
    }, every) : null;
    this.#timer?.unref();
  }

  /** Claims (scope, key) for this request, or reports the earlier request's answer, mismatch or run. */
  async begin(scope: string, key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const lease = randomUUID();
    for (let attempt = 0; attempt < 3; attempt++) {
      // Insert, or take over a row that expired, or whose same request died holding it.
      const { rows } = await this.#db.query<{ lease: string | null }>(
        `INSERT INTO idempotency_keys AS k (scope, key, fingerprint, lease, locked_until, expires_at)
         VALUES ($1, $2, $3, $4, now() + $5::float8 * interval '1 millisecond', now() + $6::float8 * interval '1 millisecond')
         ON CONFLICT (scope, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, lease = EXCLUDED.lease, locked_until = EXCLUDED.locked_until,
               response_status = NULL, response_headers = NULL, response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
           WHERE k.expires_at <= now()
              OR (k.response_status IS NULL AND k.locked_until <= now() AND k.fingerprint = EXCLUDED.fingerprint)
         RETURNING k.lease`,
        [scope, key, fingerprint, lease, this.#leaseMs, this.#ttlMs],
      );
      if (rows[0]?.lease === lease) return { kind: 'started', lease };
      const { rows: found } = await this.#db.query<{ fingerprint: string; response_status: number | null; response_headers: Record<string, string> | null; response_body: string | null }>(
        'SELECT fingerprint, response_status, response_headers, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at > now()',
        [scope, key],
      );
      const row = found[0];
      if (!row) continue; // expired or answered-and-released in between: claim again
      if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (row.response_status === null) return { kind: 'in_progress' };
      return { kind: 'replay', response: { status: row.response_status, headers: row.response_headers ?? {}, body: row.response_body } };
    }
    throw new Error('idempotency key could not be claimed');
  }

  /** Stores the answer of the request holding `lease` (nothing if its lease was taken over). */
  async complete(scope: string, key: string, lease: string, response: StoredResponse): Promise<void> {
    await this.#db.query(
      `UPDATE idempotency_keys SET lease = NULL, locked_until = NULL, response_status = $4, response_headers = $5::jsonb, response_body = $6
       WHERE scope = $1 AND key = $2 AND lease = $3`,
      [scope, key, lease, response.status, JSON.stringify(response.headers), response.body],
    );
  }

  /** Forgets the key held by `lease`: the next request with it runs. */
  async release(scope: string, key: string, lease: string): Promise<void> {
    await this.#db.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND lease = $3', [scope, key, lease]);
  }

  /** Deletes expired keys, a batch at a time; resolves to how many. */
  async sweep(batch = 1_000): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await this.#db.query(
        `DELETE FROM idempotency_keys WHERE (scope, key) IN (
           SELECT scope, key FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)`,
        [batch],
      );
      total += r.rowCount;
      if (r.rowCount < batch || this.#closed) return total;
    }
  }

  /** Stops the background sweep. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#sweeping;
    this.safeEmit('close');
  }
}
