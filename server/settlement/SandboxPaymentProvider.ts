import type { Database } from '../db/Database.js';
import type { CaptureRequest, CaptureResult, PaymentProvider, RefundRequest, RefundResult } from '../commerce/PaymentProvider.js';
import { IdempotencyMismatchError, PaymentTimeoutError, ProviderUnavailableError } from './errors.js';
import { MicroBatcher } from '../../common/MicroBatcher.js';
import { RandomPool } from '../../common/RandomPool.js';

const randomRefs = new RandomPool();

/** Knobs of the simulated provider. */
export interface SandboxOptions {
  /** Tokens that are always declined (e.g. `tok_decline`, `tok_insufficient_funds`). */
  declineTokens: string[];
  /** Tokens whose capture is recorded but whose answer times out (the next retry sees it captured). */
  timeoutTokens: string[];
  /** Every call fails with ProviderUnavailableError before anything happens. */
  outage: boolean;
  /** Random fraction of calls failing as outages / timeouts / declines. */
  outageRate: number;
  timeoutRate: number;
  declineRate: number;
  /** BNPL spending limit in minor units (above it: declined). */
  bnplLimit: number;
  /** Simulated network latency before the provider acts (ms). */
  latencyMs: number;
  /** Delay after the capture is recorded, before answering (ms): a window to crash in. */
  answerDelayMs: number;
}

const DEFAULTS: SandboxOptions = {
  declineTokens: ['tok_decline', 'tok_insufficient_funds', 'tok_stolen'],
  timeoutTokens: ['tok_timeout'],
  outage: false,
  outageRate: 0,
  timeoutRate: 0,
  declineRate: 0,
  bnplLimit: 100_000_00,
  latencyMs: 0,
  answerDelayMs: 0,
};

/** A row of the sandbox's own ledger. */
interface Recorded {
  kind: string;
  status: string;
  ref: string;
  amount: number;
  currency: string;
}

/** A capture to record: the key, what this call decided, and the request it must match. */
interface CaptureRecord {
  key: string;
  status: 'captured' | 'declined';
  ref: string;
  amount: number;
  currency: string;
  method: string;
}

// Records the captures of one batch and reads back, for keys recorded before, what was recorded.
const RECORD_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[])
  AS t(idempotency_key, status, ref, amount, currency, method)
), ins AS (
  INSERT INTO sandbox_payments (idempotency_key, kind, status, ref, amount, currency, method)
  SELECT idempotency_key, 'capture', status, ref, amount, currency, method FROM input
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key
)
SELECT i.idempotency_key AS key, ins.idempotency_key IS NOT NULL AS fresh, p.kind, p.status, p.ref, p.amount, p.currency
FROM input i LEFT JOIN ins ON ins.idempotency_key = i.idempotency_key
LEFT JOIN sandbox_payments p ON ins.idempotency_key IS NULL AND p.idempotency_key = i.idempotency_key`;

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * A sandbox payment provider simulating card, wallet and buy-now-pay-later, with
 * configurable declines, timeouts and outages. Its "remote" ledger is the
 * `sandbox_payments` table, so idempotency holds across worker crashes and restarts,
 * as it would at a real provider.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  readonly name = 'sandbox';
  readonly #db: Database;
  #options: SandboxOptions;
  /** Captures are recorded in batches (one statement and commit for the captures of one tick). */
  readonly #records: MicroBatcher<CaptureRecord, Recorded & { fresh: boolean }>;

  constructor(db: Database, options: Partial<SandboxOptions> = {}) {
    this.#db = db;
    this.#options = { ...DEFAULTS, ...options };
    this.#records = new MicroBatcher((records) => this.#record(records), { maxBatch: 200, maxInFlight: 2 });
  }

  /** Changes knobs at run time (tests, chaos drills). */
  configure(options: Partial<SandboxOptions>): void {
    this.#options = { ...this.#options, ...options };
  }

  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const o = this.#options;
    await sleep(o.latencyMs);
    if (o.outage || Math.random() < o.outageRate) throw new ProviderUnavailableError('sandbox outage');
    let result: CaptureResult;
    if (o.declineTokens.includes(req.token) || Math.random() < o.declineRate) {
      result = { status: 'declined', reason: req.token === 'tok_insufficient_funds' ? 'insufficient_funds' : 'card_declined' };
    } else if (req.method === 'bnpl' && (req.amount > o.bnplLimit || ![3, 6].includes(req.instalments ?? 0))) {
      result = { status: 'declined', reason: 'bnpl_not_approved' };
    } else {
      result = { status: 'captured', reference: `sbx_${req.method}_${randomRefs.hex(8)}` };
    }
    // Record this capture, or read the one already recorded under the key (batched with concurrent captures).
    const recorded = await this.#records.submit({
      key: req.idempotencyKey, status: result.status, ref: result.status === 'captured' ? result.reference : result.reason,
      amount: req.amount, currency: req.currency, method: req.method,
    });
    if (!recorded.fresh) {
      // Seen before: answer as the first call did (or refuse a different request under the same key).
      if (recorded.kind !== 'capture' || Number(recorded.amount) !== req.amount || recorded.currency !== req.currency) {
        throw new IdempotencyMismatchError();
      }
      return recorded.status === 'captured' ? { status: 'captured', reference: recorded.ref } : { status: 'declined', reason: recorded.ref };
    }
    await sleep(o.answerDelayMs);
    if (o.timeoutTokens.includes(req.token) || Math.random() < o.timeoutRate) throw new PaymentTimeoutError('sandbox timeout after capture');
    return result;
  }

  /**
   * Refunds part or all of a capture, as a PSP does: never more than was captured, counting
   * the refunds of that capture already made. A retry with the same key answers as the first
   * call; a refund over what is left is rejected (`exceeds_capture`) and not recorded.
   */
  async refund(req: RefundRequest): Promise<RefundResult> {
    const o = this.#options;
    await sleep(o.latencyMs);
    if (o.outage || Math.random() < o.outageRate) throw new ProviderUnavailableError('sandbox outage');
    const replay = (recorded: Recorded): RefundResult => {
      if (recorded.kind !== 'refund' || Number(recorded.amount) !== req.amount || recorded.currency !== req.currency) throw new IdempotencyMismatchError();
      return { status: 'refunded', reference: recorded.ref };
    };
    const seen = await this.#find(req.idempotencyKey);
    if (seen) return replay(seen);
    if (!Number.isSafeInteger(req.amount) || req.amount <= 0) return { status: 'rejected', reason: 'invalid_amount' };
    return this.#db.transaction(async (tx) => {
      // The capture row is the lock: refunds of one capture are checked one at a time.
      const { rows } = await tx.query<{ amount: number; currency: string }>(
        "SELECT amount, currency FROM sandbox_payments WHERE kind = 'capture' AND status = 'captured' AND ref = $1 FOR UPDATE",
        [req.captureReference]);
      const capture = rows[0];
      if (!capture) return { status: 'rejected', reason: 'capture_not_found' } as const;
      if (capture.currency !== req.currency) return { status: 'rejected', reason: 'currency_mismatch' } as const;
      const again = (await tx.query<Recorded>(
        'SELECT kind, status, ref, amount, currency FROM sandbox_payments WHERE idempotency_key = $1', [req.idempotencyKey])).rows[0];
      if (again) return replay(again);
      const done = await tx.query<{ sum: number }>(
        "SELECT COALESCE(SUM(amount), 0)::int8 AS sum FROM sandbox_payments WHERE kind = 'refund' AND capture_ref = $1", [req.captureReference]);
      // Compare as "amount ≤ captured − refunded": no sum that could overflow.
      if (req.amount > Number(capture.amount) - Number(done.rows[0].sum)) return { status: 'rejected', reason: 'exceeds_capture' } as const;
      const ref = `sbx_refund_${randomRefs.hex(8)}`;
      await tx.query(
        `INSERT INTO sandbox_payments (idempotency_key, kind, status, ref, amount, currency, method, capture_ref)
         VALUES ($1, 'refund', 'refunded', $2, $3, $4, 'refund', $5)`,
        [req.idempotencyKey, ref, req.amount, req.currency, req.captureReference]);
      return { status: 'refunded', reference: ref } as const;
    });
  }

  async #record(records: CaptureRecord[]): Promise<(Recorded & { fresh: boolean })[]> {
    // A key twice in one batch: the first is recorded, the others answer as retries of it.
    const first = new Map<string, number>();
    const unique: CaptureRecord[] = [];
    for (const r of records) {
      if (!first.has(r.key)) {
        first.set(r.key, unique.length);
        unique.push(r);
      }
    }
    const { rows } = await this.#db.query<{ key: string; fresh: boolean } & Partial<Recorded>>(RECORD_SQL, [
      unique.map((r) => r.key), unique.map((r) => r.status), unique.map((r) => r.ref),
      unique.map((r) => r.amount), unique.map((r) => r.currency), unique.map((r) => r.method),
    ]);
    const byKey = new Map(rows.map((row) => [row.key, row]));
    const out: (Recorded & { fresh: boolean })[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const row = byKey.get(r.key);
      const isFirst = unique[first.get(r.key)!] === r;
      if (row?.fresh) {
        const rec = { kind: 'capture', status: r.status, ref: r.ref, amount: r.amount, currency: r.currency };
        out.push(isFirst ? { ...rec, fresh: true } : { ...unique[first.get(r.key)!], kind: 'capture', fresh: false });
      } else if (row?.kind) {
        out.push({ kind: row.kind, status: row.status!, ref: row.ref!, amount: Number(row.amount), currency: row.currency!, fresh: false });
      } else {
        // Recorded by a concurrent call that committed after this statement began.
        out.push({ ...(await this.#find(r.key))!, fresh: false });
      }
    }
    return out;
  }

  async #find(key: string): Promise<Recorded | undefined> {
    const { rows } = await this.#db.query<Recorded>(
      'SELECT kind, status, ref, amount, currency FROM sandbox_payments WHERE idempotency_key = $1', [key]);
    return rows[0];
  }

  /** Waits for captures being recorded. The database belongs to the caller. */
  async close(): Promise<void> {
    await this.#records.close();
  }
}
