import type { Database, Queryable } from '../db/Database.js';
import type { CaptureResult, NextAction, PaymentMethodType, PaymentNotification } from './PaymentProvider.js';
import type { SettleJob } from './SettlementQueue.js';
import { CommerceError, CommerceErrorCode } from './errors.js';

/** Where an order's payment attempt stands (see migrations/006_payments.sql). */
export type AttemptStatus = 'pending' | 'captured' | 'declined' | 'expired';

/** An order's payment attempt on the asynchronous path: a declared shape, never a row. */
export interface PaymentAttempt {
  orderId: string;
  paymentKey: string;
  provider: string;
  buyerId: string;
  method: PaymentMethodType;
  instalments: number | null;
  status: AttemptStatus;
  /** What the buyer does next; null while the payment is being created. */
  action: NextAction['type'] | null;
  url: string | null;
  /** `captured`: the capture's reference (also set on an `expired` attempt captured too late). */
  reference: string | null;
  reason: string | null;
  saveMethod: boolean;
  /** The units are held until then (ms). */
  expiresAt: number;
  /** The latest `expiresAt` may move to (ms). */
  limitAt: number;
  createdAt: number;
  /** The order's settle job (what settlement records the outcome with, or releases the units of). */
  job: SettleJob;
}

/** An order's payment step as the buyer's order list shows it (`GET /v1/me/orders`): a declared shape. */
export interface PaymentStepView {
  provider: string;
  /** pending (waiting for the buyer), captured, declined, expired. */
  status: AttemptStatus;
  /** What the buyer does while pending: redirect (a page), approval (an app); none: decided at once. */
  action: NextAction['type'] | null;
  /** While pending: where to finish the step. */
  url: string | null;
  /** Until when the units are held for it (ISO 8601). */
  expires_at: string;
}

/** A new attempt (before the provider is asked). */
export interface NewAttempt {
  orderId: string;
  paymentKey: string;
  provider: string;
  buyerId: string;
  method: PaymentMethodType;
  instalments: number | null;
  saveMethod: boolean;
  expiresAt: number;
  limitAt: number;
  job: SettleJob;
}

/** What applying a notification did. */
export interface NotificationOutcome {
  /** The provider sent this notification id before: nothing was applied this time. */
  duplicate: boolean;
  /** The attempt after the notification. */
  attempt: PaymentAttempt;
  /** This notification changed the attempt (captured, declined, deadline moved, late capture noted). */
  applied: boolean;
}

/** The notification names a payment this server has no attempt for (404: the provider retries). */
export class PaymentNotFoundError extends CommerceError {
  constructor() {
    super(CommerceErrorCode.PaymentNotFound, 'no payment with this key', 404);
  }
}

const COLUMNS = `order_id, payment_key, provider, buyer_id, method, instalments, status, action, url, reference, reason, save_method,
  expires_at, limit_at, created_at, job`;

interface Row {
  order_id: string; payment_key: string; provider: string; buyer_id: string; method: PaymentMethodType; instalments: number | null;
  status: AttemptStatus; action: NextAction['type'] | null; url: string | null; reference: string | null; reason: string | null;
  save_method: boolean; expires_at: string | Date; limit_at: string | Date; created_at: string | Date; job: SettleJob | string;
}

const ms = (v: string | Date) => new Date(v).getTime();

function toAttempt(r: Row): PaymentAttempt {
  return {
    orderId: r.order_id, paymentKey: r.payment_key, provider: r.provider, buyerId: r.buyer_id, method: r.method,
    instalments: r.instalments ?? null, status: r.status, action: r.action ?? null, url: r.url ?? null, reference: r.reference ?? null,
    reason: r.reason ?? null, saveMethod: r.save_method, expiresAt: ms(r.expires_at), limitAt: ms(r.limit_at), createdAt: ms(r.created_at),
    job: typeof r.job === 'string' ? (JSON.parse(r.job) as SettleJob) : r.job,
  };
}

/**
 * The owner of `payment_attempts` and `payment_notifications`: one attempt per order on the
 * asynchronous payment path (opened before the provider is asked, so a notification can never
 * arrive for a payment it does not know), and the ids of the notifications applied, so each is
 * applied once. Every transition is one conditional statement: a notification and the step's
 * deadline racing each other leave exactly one of them in effect.
 */
export class PaymentAttempts {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Opens the order's attempt, or resolves to the one already there (`created` false). */
  async open(a: NewAttempt): Promise<{ attempt: PaymentAttempt; created: boolean }> {
    if (!(a.expiresAt <= a.limitAt)) throw new TypeError('expiresAt must not be after limitAt');
    const { rows } = await this.#db.query<Row>(
      `INSERT INTO payment_attempts (order_id, payment_key, provider, buyer_id, method, instalments, status, save_method, expires_at, limit_at, job)
       VALUES ($1,$2,$3,$4,$5,$6,'pending',$7,$8,$9,$10) ON CONFLICT (order_id) DO NOTHING RETURNING ${COLUMNS}`,
      [a.orderId, a.paymentKey, a.provider, a.buyerId, a.method, a.instalments, a.saveMethod, new Date(a.expiresAt), new Date(a.limitAt), JSON.stringify(a.job)]);
    if (rows[0]) return { attempt: toAttempt(rows[0]), created: true };
    return { attempt: (await this.get(a.orderId))!, created: false };
  }

  /**
   * Records what the provider answered `createPayment` on a pending attempt: the step to show,
   * or (action `none`) the result itself. Resolves to the attempt after (a notification that
   * came first stays in effect).
   */
  async setAction(orderId: string, action: NextAction): Promise<PaymentAttempt> {
    const result = action.type === 'none' ? action.result : null;
    await this.#db.query(
      `UPDATE payment_attempts SET action = $2, url = $3,
         status = COALESCE($4, status), reference = COALESCE($5, reference), reason = COALESCE($6, reason), updated_at = now()
       WHERE order_id = $1 AND status = 'pending'`,
      [orderId, action.type, action.type === 'none' ? null : action.url, result?.status ?? null,
        result?.status === 'captured' ? result.reference : null, result?.status === 'declined' ? result.reason : null]);
    return (await this.get(orderId))!;
  }

  /** The order's attempt, or null. */
  async get(orderId: string): Promise<PaymentAttempt | null> {
    const { rows } = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM payment_attempts WHERE order_id = $1`, [orderId]);
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  /** The step's API shape. */
  static view(a: PaymentAttempt): PaymentStepView {
    return {
      provider: a.provider, status: a.status, action: a.action, url: a.status === 'pending' ? a.url : null,
      expires_at: new Date(a.expiresAt).toISOString(),
    };
  }

  /** The attempts of several orders (the buyer's order list), by order id. */
  async forOrders(orderIds: readonly string[]): Promise<Map<string, PaymentAttempt>> {
    if (orderIds.length === 0) return new Map();
    const { rows } = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM payment_attempts WHERE order_id = ANY($1::text[])`, [[...orderIds]]);
    return new Map(rows.map((r) => [r.order_id, toAttempt(r)]));
  }

  /**
   * Applies a verified notification, once per (provider, notification id), in one transaction:
   * `captured` / `declined` / `canceled` end a pending attempt; `captured` on an attempt that
   * expired first is noted (its capture must be refunded); `pending` moves the deadline to
   * `now + stepHoldMs`, never past the attempt's limit. A payment key without an attempt throws
   * PaymentNotFoundError and records nothing (the provider's retry is applied later).
   */
  async applyNotification(provider: string, n: PaymentNotification, stepHoldMs: number, now = Date.now()): Promise<NotificationOutcome> {
    return this.#db.transaction(async (tx) => {
      const attempt = await PaymentAttempts.#lock(tx, provider, n.paymentKey);
      if (!attempt) throw new PaymentNotFoundError();
      const fresh = await tx.query('INSERT INTO payment_notifications (provider, id, payment_key, type) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING RETURNING id',
        [provider, n.id, n.paymentKey, n.type]);
      if (fresh.rows.length === 0) return { duplicate: true, attempt, applied: false };
      let changed: Row | undefined;
      if (n.type === 'captured') {
        changed = (await tx.query<Row>(
          `UPDATE payment_attempts SET status = CASE WHEN status = 'pending' THEN 'captured' ELSE status END, reference = $2, updated_at = now()
           WHERE order_id = $1 AND (status = 'pending' OR (status = 'expired' AND reference IS NULL)) RETURNING ${COLUMNS}`,
          [attempt.orderId, n.reference ?? null])).rows[0];
      } else if (n.type === 'declined' || n.type === 'canceled') {
        changed = (await tx.query<Row>(
          `UPDATE payment_attempts SET status = 'declined', reason = $2, updated_at = now() WHERE order_id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
          [attempt.orderId, n.reason ?? n.type])).rows[0];
      } else {
        changed = (await tx.query<Row>(
          `UPDATE payment_attempts SET expires_at = LEAST(GREATEST(expires_at, $2::timestamptz), limit_at), updated_at = now()
           WHERE order_id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
          [attempt.orderId, new Date(now + stepHoldMs)])).rows[0];
      }
      return { duplicate: false, attempt: changed ? toAttempt(changed) : attempt, applied: changed !== undefined };
    });
  }

  /**
   * Records the provider's final word learned when giving the step up (`cancelPayment` answered
   * captured or declined first). Resolves to the attempt after.
   */
  async settle(orderId: string, result: CaptureResult): Promise<PaymentAttempt | null> {
    await this.#db.query(
      `UPDATE payment_attempts SET status = $2, reference = $3, reason = $4, updated_at = now() WHERE order_id = $1 AND status = 'pending'`,
      [orderId, result.status, result.status === 'captured' ? result.reference : null, result.status === 'declined' ? result.reason : null]);
    return this.get(orderId);
  }

  /** A pending attempt the provider was never asked about is closed (`expired`, with the reason). */
  async abandon(orderId: string, reason: string): Promise<void> {
    await this.#db.query(
      `UPDATE payment_attempts SET status = 'expired', reason = $2, updated_at = now() WHERE order_id = $1 AND status = 'pending' AND action IS NULL`,
      [orderId, reason]);
  }

  /**
   * A pending attempt whose deadline has passed becomes `expired` (exactly once). Resolves to
   * whether this call expired it, and the attempt after.
   */
  async expire(orderId: string, now = Date.now()): Promise<{ expired: boolean; attempt: PaymentAttempt | null }> {
    const { rows } = await this.#db.query<Row>(
      `UPDATE payment_attempts SET status = 'expired', reason = 'step_expired', updated_at = now()
       WHERE order_id = $1 AND status = 'pending' AND expires_at <= $2 RETURNING ${COLUMNS}`, [orderId, new Date(now)]);
    if (rows[0]) return { expired: true, attempt: toAttempt(rows[0]) };
    return { expired: false, attempt: await this.get(orderId) };
  }

  static async #lock(tx: Queryable, provider: string, paymentKey: string): Promise<PaymentAttempt | null> {
    const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM payment_attempts WHERE payment_key = $1 AND provider = $2 FOR UPDATE`, [paymentKey, provider]);
    return rows[0] ? toAttempt(rows[0]) : null;
  }
}
