import type { Database, Queryable } from '../db/Database.js';
import type { CancelResult, PaymentMethodType } from '../commerce/PaymentProvider.js';
import { RandomPool } from '../../common/RandomPool.js';

const random = new RandomPool();

/** Where a hosted step stands: waiting for the buyer, in a 3-D Secure challenge, or ended. */
export type SessionStatus = 'open' | 'challenge' | 'captured' | 'declined' | 'canceled';

/** A hosted step of the sandbox (the page behind a redirect or an approval link). */
export interface SandboxSession {
  id: string;
  paymentKey: string;
  method: PaymentMethodType;
  instalments: number | null;
  amount: number;
  currency: string;
  status: SessionStatus;
  reference: string | null;
  reason: string | null;
  returnUrl: string | null;
  expiresAt: number;
  createdAt: number;
}

/** What the buyer did on the page. */
export type BuyerAction =
  | { kind: 'card'; number: string }
  | { kind: 'challenge'; outcome: 'complete' | 'fail' }
  | { kind: 'approval'; decision: 'approve' | 'reject' };

/** How an action ended: the session after, the outcome to notify (if it ended now), and a message for the page. */
export interface ActionResult {
  session: SandboxSession;
  /** Set when this action ended the payment: what the notification says. */
  ended: { type: 'captured'; reference: string; methodToken: string } | { type: 'declined' | 'canceled'; reason: string } | null;
  /** The action could not be taken (unknown test card, step already over): shown on the page. */
  error: string | null;
}

/**
 * The sandbox's test cards (Stripe's numbers): one succeeds, one asks for a 3-D Secure
 * challenge, two are declined. Any other number is not a test card.
 */
export const TEST_CARDS: Readonly<Record<string, { outcome: 'captured' | 'challenge' | 'declined'; reason?: string; label: string }>> = {
  '4242424242424242': { outcome: 'captured', label: 'succeeds' },
  '4000000000003220': { outcome: 'challenge', label: 'asks for 3-D Secure' },
  '4000000000000002': { outcome: 'declined', reason: 'card_declined', label: 'is declined' },
  '4000000000009995': { outcome: 'declined', reason: 'insufficient_funds', label: 'is declined (insufficient funds)' },
};

const COLUMNS = 'id, payment_key, method, instalments, amount, currency, status, reference, reason, return_url, expires_at, created_at';

interface Row {
  id: string; payment_key: string; method: PaymentMethodType; instalments: number | null; amount: number | string; currency: string;
  status: SessionStatus; reference: string | null; reason: string | null; return_url: string | null; expires_at: string | Date; created_at: string | Date;
}

function toSession(r: Row): SandboxSession {
  return {
    id: r.id, paymentKey: r.payment_key, method: r.method, instalments: r.instalments ?? null, amount: Number(r.amount), currency: r.currency,
    status: r.status, reference: r.reference ?? null, reason: r.reason ?? null, returnUrl: r.return_url ?? null,
    expiresAt: new Date(r.expires_at).getTime(), createdAt: new Date(r.created_at).getTime(),
  };
}

/**
 * The sandbox provider's hosted steps, kept in its own tables (`sandbox_sessions`, and the
 * capture ledger `sandbox_payments` it shares with synchronous captures, so refunds and
 * idempotency work the same): opened by `createPayment`, acted on by the buyer on the page,
 * given up by `cancel`. Each change is one transaction over the session's row, so the buyer's
 * approval and a cancellation racing each other end the payment exactly once.
 */
export class SandboxSessions {
  readonly #db: Database;
  readonly #bnplLimit: () => number;

  constructor(db: Database, bnplLimit: () => number) {
    this.#db = db;
    this.#bnplLimit = bnplLimit;
  }

  /** Opens a session for a payment key, or resolves to the one already open for it. */
  async open(s: { paymentKey: string; method: PaymentMethodType; instalments: number | null; amount: number; currency: string; status: 'open' | 'challenge'; returnUrl: string | null; expiresAt: number }): Promise<SandboxSession> {
    const { rows } = await this.#db.query<Row>(
      `INSERT INTO sandbox_sessions (id, payment_key, method, instalments, amount, currency, status, return_url, expires_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (payment_key) DO NOTHING RETURNING ${COLUMNS}`,
      [`ps_${random.hex(16)}`, s.paymentKey, s.method, s.instalments, s.amount, s.currency, s.status, s.returnUrl, new Date(s.expiresAt)]);
    return rows[0] ? toSession(rows[0]) : (await this.byKey(s.paymentKey))!;
  }

  async get(id: string): Promise<SandboxSession | null> {
    const { rows } = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM sandbox_sessions WHERE id = $1`, [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async byKey(paymentKey: string): Promise<SandboxSession | null> {
    const { rows } = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM sandbox_sessions WHERE payment_key = $1`, [paymentKey]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  /** True the first time a waiting session is opened by the buyer (the provider then says "pending"). */
  async markViewed(id: string): Promise<boolean> {
    const { rows } = await this.#db.query(
      "UPDATE sandbox_sessions SET pending_sent = true WHERE id = $1 AND status IN ('open', 'challenge') AND NOT pending_sent AND expires_at > now() RETURNING id", [id]);
    return rows.length > 0;
  }

  /** The buyer's action on the page, decided and recorded in one transaction. */
  async act(id: string, action: BuyerAction, now = Date.now()): Promise<ActionResult | null> {
    return this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM sandbox_sessions WHERE id = $1 FOR UPDATE`, [id]);
      if (!rows[0]) return null;
      const session = toSession(rows[0]);
      const unchanged = (error: string | null): ActionResult => ({ session, ended: null, error });
      if (session.status !== 'open' && session.status !== 'challenge') return unchanged('This payment is over.');
      if (session.expiresAt <= now) return this.#end(tx, session, { type: 'canceled', reason: 'expired' });
      if (session.status === 'challenge') {
        if (action.kind !== 'challenge') return unchanged('Finish the 3-D Secure check first.');
        return action.outcome === 'complete' ? this.#capture(tx, session) : this.#end(tx, session, { type: 'declined', reason: 'authentication_failed' });
      }
      if (session.method === 'card') {
        if (action.kind !== 'card') return unchanged('Enter a card number.');
        const card = TEST_CARDS[action.number.replace(/[\s-]/g, '')];
        if (!card) return unchanged('That is not a test card: use one of the numbers listed.');
        if (card.outcome === 'captured') return this.#capture(tx, session);
        if (card.outcome === 'declined') return this.#end(tx, session, { type: 'declined', reason: card.reason! });
        const r = await tx.query<Row>(`UPDATE sandbox_sessions SET status = 'challenge' WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
        return { session: toSession(r.rows[0]), ended: null, error: null };
      }
      if (action.kind !== 'approval') return unchanged('Approve or reject the payment.');
      if (action.decision === 'reject') return this.#end(tx, session, { type: 'declined', reason: 'rejected_by_buyer' });
      if (session.method === 'bnpl' && session.amount > this.#bnplLimit()) return this.#end(tx, session, { type: 'declined', reason: 'bnpl_not_approved' });
      return this.#capture(tx, session);
    });
  }

  /**
   * Gives a waiting session up (the merchant's deadline passed). Resolves to the provider's
   * final word: canceled now, or how the payment ended first.
   */
  async cancel(paymentKey: string): Promise<CancelResult> {
    const { rows } = await this.#db.query<Row>(
      `UPDATE sandbox_sessions SET status = 'canceled', reason = 'canceled_by_merchant' WHERE payment_key = $1 AND status IN ('open', 'challenge') RETURNING ${COLUMNS}`,
      [paymentKey]);
    if (rows[0]) return { status: 'canceled' };
    // No waiting session: the ledger says how the payment ended (hosted or captured at once), if it did.
    const ledger = await this.#db.query<{ status: string; ref: string }>(
      "SELECT status, ref FROM sandbox_payments WHERE idempotency_key = $1 AND kind = 'capture'", [paymentKey]);
    const entry = ledger.rows[0];
    if (entry?.status === 'captured') return { status: 'captured', reference: entry.ref };
    if (entry?.status === 'declined') return { status: 'declined', reason: entry.ref };
    return { status: 'canceled' };
  }

  async #capture(tx: Queryable, session: SandboxSession): Promise<ActionResult> {
    const reference = `sbx_${session.method}_${random.hex(8)}`;
    await tx.query(
      `INSERT INTO sandbox_payments (idempotency_key, kind, status, ref, amount, currency, method) VALUES ($1, 'capture', 'captured', $2, $3, $4, $5)
       ON CONFLICT (idempotency_key) DO NOTHING`, [session.paymentKey, reference, session.amount, session.currency, session.method]);
    const r = await tx.query<Row>(`UPDATE sandbox_sessions SET status = 'captured', reference = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [session.id, reference]);
    return { session: toSession(r.rows[0]), ended: { type: 'captured', reference, methodToken: `tok_sbx_${session.method}_${random.hex(8)}` }, error: null };
  }

  async #end(tx: Queryable, session: SandboxSession, ended: { type: 'declined' | 'canceled'; reason: string }): Promise<ActionResult> {
    if (ended.type === 'declined') {
      await tx.query(
        `INSERT INTO sandbox_payments (idempotency_key, kind, status, ref, amount, currency, method) VALUES ($1, 'capture', 'declined', $2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO NOTHING`, [session.paymentKey, ended.reason, session.amount, session.currency, session.method]);
    }
    const r = await tx.query<Row>(`UPDATE sandbox_sessions SET status = $2, reason = $3 WHERE id = $1 RETURNING ${COLUMNS}`,
      [session.id, ended.type === 'declined' ? 'declined' : 'canceled', ended.reason]);
    return { session: toSession(r.rows[0]), ended, error: null };
  }
}
