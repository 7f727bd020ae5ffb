import { z } from 'zod';
import type { Database } from '../db/Database.js';
import type {
  CancelResult, CaptureRequest, CaptureResult, NextAction, NotificationInput, PaymentNotification, PaymentProvider, PaymentRequest,
  RefundRequest, RefundResult,
} from '../commerce/PaymentProvider.js';
import { NotificationSignature } from '../commerce/NotificationSignature.js';
import { PaymentNotificationError } from '../commerce/errors.js';
import { IdempotencyMismatchError, PaymentTimeoutError, ProviderUnavailableError } from './errors.js';
import { SandboxSessions, type ActionResult, type BuyerAction, type SandboxSession } from './SandboxSessions.js';
import { MicroBatcher } from '../../common/MicroBatcher.js';
import { RandomPool } from '../../common/RandomPool.js';

const randomRefs = new RandomPool();

/** How long a sandbox hosted step stays usable at the provider (the merchant cancels it sooner, at its own deadline). */
const SESSION_TTL_MS = 24 * 3_600_000;

/** The body of a sandbox notification (what `verifyNotification` parses after the signature checks out). */
const notificationBody = z.object({
  id: z.string().regex(/^evt_[0-9a-f]{8,64}$/),
  type: z.enum(['payment.captured', 'payment.declined', 'payment.pending', 'payment.canceled']),
  created: z.number().int().nonnegative(),
  data: z.object({
    paymentKey: z.string().min(1).max(128),
    reference: z.string().max(128).nullish(),
    reason: z.string().max(128).nullish(),
    methodToken: z.string().regex(/^[\x21-\x7E]{1,128}$/).nullish(),
  }),
});

/** A signed notification, ready to POST to `/v1/payments/sandbox/notifications`. */
export interface SignedNotification {
  rawBody: string;
  headers: Record<string, string>;
}

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
  /** The secret the sandbox signs its notifications with (config PAYMENT_SANDBOX_SECRET). */
  secret: string;
  /** Where the hosted pages are served from (e.g. https://live.example.com); '' : paths on the API's origin. */
  pageUrl: string;
  /** Tokens whose payment needs a 3-D Secure challenge on the hosted page. */
  threeDSecureTokens: string[];
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
  secret: '',
  pageUrl: '',
  threeDSecureTokens: ['tok_3ds', 'tok_threeDSecure'],
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
 *
 * The asynchronous path works as a real provider's: `createPayment` captures a token at once
 * (3-D Secure tokens excepted), or opens a hosted step (`sandbox_sessions`) served by the
 * server (SandboxHostedPage): a card page (test cards, 3-D Secure challenge) or a BNPL /
 * wallet approval. What the buyer does there comes back as a notification signed with the
 * sandbox's secret (`flashcast-signature`, NotificationSignature), verified by
 * `verifyNotification` like any provider's.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  readonly name = 'sandbox';
  readonly #db: Database;
  #options: SandboxOptions;
  /** Captures are recorded in batches (one statement and commit for the captures of one tick). */
  readonly #records: MicroBatcher<CaptureRecord, Recorded & { fresh: boolean }>;
  readonly #sessions: SandboxSessions;

  constructor(db: Database, options: Partial<SandboxOptions> = {}) {
    this.#db = db;
    // Without a configured secret, a random one: notifications verify within this instance only.
    this.#options = { ...DEFAULTS, ...options, secret: options.secret || `sbx-${randomRefs.hex(16)}` };
    this.#records = new MicroBatcher((records) => this.#record(records), { maxBatch: 200, maxInFlight: 2 });
    this.#sessions = new SandboxSessions(db, () => this.#options.bnplLimit);
  }

  /**
   * Starts a payment: a token is captured at once (`none`) unless it needs 3-D Secure
   * (`redirect` to the challenge); without a token, a card is entered on the hosted page
   * (`redirect`) and a BNPL plan or a wallet payment approved there (`approval`). The same key
   * again answers the same step (or the same capture).
   */
  async createPayment(req: PaymentRequest): Promise<NextAction> {
    const o = this.#options;
    await sleep(o.latencyMs);
    if (o.outage || Math.random() < o.outageRate) throw new ProviderUnavailableError('sandbox outage');
    const existing = await this.#sessions.byKey(req.idempotencyKey);
    if (existing) return this.#actionOf(existing);
    const token = req.token ?? '';
    if (token !== '' && !o.threeDSecureTokens.includes(token)) {
      return { type: 'none', result: await this.capture({ ...req, token, instalments: req.instalments ?? null }) };
    }
    if (req.method === 'bnpl' && (req.amount > o.bnplLimit || ![3, 6].includes(req.instalments ?? 0))) {
      return { type: 'none', result: { status: 'declined', reason: 'bnpl_not_approved' } };
    }
    const session = await this.#sessions.open({
      paymentKey: req.idempotencyKey, method: req.method, instalments: req.method === 'bnpl' ? (req.instalments ?? 3) : null,
      amount: req.amount, currency: req.currency, status: token !== '' ? 'challenge' : 'open', returnUrl: req.returnUrl ?? null,
      expiresAt: Date.now() + SESSION_TTL_MS,
    });
    return this.#actionOf(session);
  }

  /** The hosted page's URL of a session. */
  pageUrl(sessionId: string): string {
    return `${this.#options.pageUrl}/v1/payments/sandbox/pay/${encodeURIComponent(sessionId)}`;
  }

  #actionOf(session: SandboxSession): NextAction {
    if (session.status === 'captured') return { type: 'none', result: { status: 'captured', reference: session.reference! } };
    if (session.status === 'declined' || session.status === 'canceled') return { type: 'none', result: { status: 'declined', reason: session.reason ?? session.status } };
    return { type: session.method === 'card' ? 'redirect' : 'approval', url: this.pageUrl(session.id) };
  }

  /** A hosted step, for its page (null: no such session). */
  session(id: string): Promise<SandboxSession | null> {
    return this.#sessions.get(id);
  }

  /**
   * The buyer opened the page: the first time, the sandbox says "pending" (the buyer is on the
   * step; the merchant extends the hold). Resolves to that notification, or null.
   */
  async viewed(id: string): Promise<SignedNotification | null> {
    if (!(await this.#sessions.markViewed(id))) return null;
    const session = await this.#sessions.get(id);
    return session ? this.#notification(session.paymentKey, 'payment.pending', {}) : null;
  }

  /** The buyer acted on the page; resolves to the result and, if the payment ended, the signed notification to send. */
  async act(id: string, action: BuyerAction): Promise<{ result: ActionResult; notification: SignedNotification | null } | null> {
    const result = await this.#sessions.act(id, action);
    if (!result) return null;
    const e = result.ended;
    if (!e) return { result, notification: null };
    const notification = e.type === 'captured'
      ? this.#notification(result.session.paymentKey, 'payment.captured', { reference: e.reference, methodToken: e.methodToken })
      : this.#notification(result.session.paymentKey, e.type === 'declined' ? 'payment.declined' : 'payment.canceled', { reason: e.reason });
    return { result, notification };
  }

  /** Gives up a waiting step (the merchant's deadline passed); resolves to how the payment ended. */
  async cancelPayment(idempotencyKey: string): Promise<CancelResult> {
    const o = this.#options;
    await sleep(o.latencyMs);
    if (o.outage || Math.random() < o.outageRate) throw new ProviderUnavailableError('sandbox outage');
    return this.#sessions.cancel(idempotencyKey);
  }

  /** Verifies a sandbox notification (signature, timestamp) and parses it. */
  verifyNotification(input: NotificationInput): PaymentNotification[] {
    const check = NotificationSignature.verify(this.#options.secret, input.rawBody, input.headers, input.now, input.toleranceMs);
    if (!check.ok) throw new PaymentNotificationError(check.reason);
    let parsed: z.infer<typeof notificationBody>;
    try {
      parsed = notificationBody.parse(JSON.parse(input.rawBody));
    } catch {
      throw new PaymentNotificationError('body', 'notification body is not a sandbox notification');
    }
    const d = parsed.data;
    const type = parsed.type.slice('payment.'.length) as PaymentNotification['type'];
    if (type === 'captured' && !d.reference) throw new PaymentNotificationError('body', 'a capture names its reference');
    return [{ id: parsed.id, paymentKey: d.paymentKey, type, reference: d.reference ?? undefined, reason: d.reason ?? undefined, methodToken: d.methodToken ?? undefined }];
  }

  /** A notification signed now with the sandbox's secret (tests send their own, forged or replayed, too). */
  sign(rawBody: string, now = Date.now()): SignedNotification {
    return { rawBody, headers: { 'content-type': 'application/json', ...NotificationSignature.headers(this.#options.secret, rawBody, now) } };
  }

  #notification(paymentKey: string, type: string, data: { reference?: string; reason?: string; methodToken?: string }): SignedNotification {
    const now = Date.now();
    return this.sign(JSON.stringify({ id: `evt_${randomRefs.hex(12)}`, type, created: Math.floor(now / 1000), data: { paymentKey, ...data } }), now);
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
