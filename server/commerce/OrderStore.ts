import type { Database, Queryable } from '../db/Database.js';
import type { SettleJob } from './SettlementQueue.js';
import type { Instalment } from './InstalmentPlan.js';
import type { Address } from '../../protocol/shipping.js';
import { CommissionLedger } from './CommissionLedger.js';
import { MicroBatcher, type MicroBatcherOptions } from '../../common/MicroBatcher.js';

/** A captured order, ready to be recorded as paid. */
export interface PaidOrder {
  job: SettleJob;
  provider: string;
  providerRef: string;
  /** Creator credited with affiliate commission, and the deal's own rate (null: none). */
  creatorId: string;
  dealBps: number | null;
  /** When the pending commission may be credited (ms). */
  creditAfter: number;
  /** BNPL schedule (empty otherwise). */
  instalments: Instalment[];
}

/**
 * What claiming an order's units in PostgreSQL decided:
 * - `claimed`: the order row exists now as `pending` and its units count against the deal;
 *   the payment may be captured;
 * - `pending` / `paid` / `declined` / `expired` / `failed` / `refunded`: the order existed
 *   already in that state (a re-run, or a retry after Redis forgot the hold);
 * - `sold_out`: the deal has no units left in PostgreSQL (Redis sold more than it had);
 * - `deal_closed`: the deal is closed (its unsold units went back to the product);
 * - `no_deal`: no such deal in PostgreSQL.
 */
export type ClaimOutcome = 'claimed' | 'pending' | 'paid' | 'declined' | 'expired' | 'failed' | 'refunded' | 'sold_out' | 'deal_closed' | 'no_deal';

/** What recording a capture decided: `paid` now or before, else the state that stopped it. */
export interface PaidResult {
  status: string;
  /** True when this call turned the order paid (commission to schedule, buyer to tell). */
  paidNow: boolean;
  /** Pending commission accrued (minor units, 0: none). */
  commission: number;
}

/**
 * An order as the HTTP API returns it (`GET /v1/orders/{id}`): a declared shape, so a column
 * rename is not an API break. Field names are those the API has always used.
 */
export interface OrderView {
  id: string;
  deal_id: string;
  room_id: string;
  buyer_id: string;
  shop_id: string;
  idempotency_key: string;
  status: string;
  /** Why a failed order failed (SOLD_OUT, DEAL_ENDED, PAYMENT_UNAVAILABLE, HOLD_EXPIRED, ...), else null. */
  fail_code: string | null;
  /** Items plus shipping. */
  total_amount: number;
  currency: string;
  /** Shipping charged, part of total_amount (0: free, or the shop does not ship). */
  shipping_amount: number;
  /** The copy of the address the order ships to (null: the shop does not ship). */
  shipping_address: Address | null;
  display_amount: number | null;
  display_currency: string | null;
  fx_rate: string | null;
  fx_as_of: string | null;
  payment_method: string | null;
  instalment_count: number | null;
  created_at: string;
  paid_at: string | null;
  lines: { line_no: number; product_id: string; quantity: number; unit_amount: number; currency: string }[];
  instalments: { seq: number; amount: number; currency: string; due_at: string; status: string }[];
}

/** What the policy needs to decide who may see or act on an order. */
export interface OrderFacts {
  buyerId: string;
  /** The owner of the order's shop. */
  ownerUserId: string;
}

/** An order as a refund decision reads it, with its row locked. */
export interface LockedOrder {
  buyerId: string;
  shopId: string;
  status: string;
  totalAmount: number;
  currency: string;
  buyerRegion: string | null;
}

/** One of a deal's orders, as a rebuild of the deal's Redis state reads it. */
export interface DealOrder {
  id: string;
  buyerId: string;
  idempotencyKey: string;
  status: string;
  failCode: string | null;
  quantity: number;
  totalAmount: number;
}

/** A terminal state an order leaves `pending` (or never entered it) for. */
export type FailedStatus = 'declined' | 'expired' | 'failed';

/** Fail code of an order whose payment step failed for want of a provider: the buyer may retry the same key. */
export const RETRYABLE_FAIL_CODE = 'PAYMENT_UNAVAILABLE';

const CLAIM_CTES = `
c_input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[],
    $9::int8[], $10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::int4[], $15::text[], $16::int4[], $17::int8[], $18::text[], $19::text[],
    $20::int8[], $21::jsonb[])
    WITH ORDINALITY AS t(id, deal_id, room_id, buyer_id, shop_id, idempotency_key, total_amount, currency,
      display_amount, display_currency, fx_rate, fx_as_of, payment_method, instalment_count, product_id, quantity, unit_amount, payment_key,
      buyer_region, shipping_amount, shipping_address, ord)
), c_prior AS (
  SELECT o.id, o.status, o.fail_code FROM orders o WHERE o.id IN (SELECT id FROM c_input)
), c_fresh AS (
  SELECT i.* FROM c_input i LEFT JOIN c_prior p ON p.id = i.id
  WHERE p.id IS NULL OR (p.status = 'failed' AND p.fail_code = '${RETRYABLE_FAIL_CODE}')
), c_locked AS (
  SELECT d.id, d.total_stock - d.sold_units AS free, d.status FROM deals d
  WHERE d.id IN (SELECT deal_id FROM c_fresh) ORDER BY d.id FOR UPDATE
), c_ranked AS (
  SELECT f.*, sum(f.quantity) OVER (PARTITION BY f.deal_id ORDER BY f.ord) AS running FROM c_fresh f
), c_accepted AS (
  SELECT r.* FROM c_ranked r JOIN c_locked l ON l.id = r.deal_id WHERE l.status <> 'closed' AND r.running <= l.free
), c_ins AS (
  INSERT INTO orders (id, deal_id, room_id, buyer_id, shop_id, idempotency_key, status, total_amount, currency,
    display_amount, display_currency, fx_rate, fx_as_of, payment_method, instalment_count, quantity, payment_key, buyer_region,
    shipping_amount, shipping_address)
  SELECT id, deal_id, room_id, buyer_id, shop_id, idempotency_key, 'pending', total_amount, currency,
    display_amount, display_currency, fx_rate, fx_as_of, payment_method, instalment_count, quantity, payment_key, buyer_region,
    shipping_amount, shipping_address FROM c_accepted
  ON CONFLICT (id) DO UPDATE SET status = 'pending', fail_code = NULL, payment_method = EXCLUDED.payment_method,
    instalment_count = EXCLUDED.instalment_count
    WHERE orders.status = 'failed' AND orders.fail_code = '${RETRYABLE_FAIL_CODE}'
  RETURNING id, deal_id, quantity
), c_lines AS (
  INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_amount, currency)
  SELECT a.id, 1, a.product_id, a.quantity, a.unit_amount, a.currency FROM c_accepted a JOIN c_ins ins ON ins.id = a.id
  ON CONFLICT (order_id, line_no) DO NOTHING
), c_units AS (
  UPDATE deals d SET sold_units = d.sold_units + s.units
  FROM (SELECT deal_id, sum(quantity)::int AS units FROM c_ins GROUP BY deal_id) s WHERE d.id = s.deal_id
  RETURNING d.id
)`;
const CLAIM_SELECT = `
SELECT i.id,
  CASE WHEN ins.id IS NOT NULL THEN 'claimed'
       WHEN p.id IS NOT NULL AND NOT (p.status = 'failed' AND p.fail_code = '${RETRYABLE_FAIL_CODE}') THEN p.status
       WHEN l.id IS NULL THEN 'no_deal'
       WHEN l.status = 'closed' THEN 'deal_closed'
       ELSE 'sold_out' END AS outcome
FROM c_input i LEFT JOIN c_ins ins ON ins.id = i.id LEFT JOIN c_prior p ON p.id = i.id LEFT JOIN c_locked l ON l.id = i.deal_id
ORDER BY i.ord`;
const CLAIM_SQL = `WITH ${CLAIM_CTES}
${CLAIM_SELECT}`;

// A pending order becomes paid with its payment, BNPL instalments and pending commission, in one
// statement (all or nothing); an order that is no longer pending is left alone.
const PAID_CTES = `
p_input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[])
    AS t(id, provider, provider_ref, creator_id, deal_bps, credit_after)
), p_upd AS (
  UPDATE orders o SET status = 'paid', paid_at = now() FROM p_input i
  WHERE o.id = i.id AND o.status = 'pending'
  RETURNING o.id, o.deal_id, o.total_amount, o.shipping_amount, o.currency, o.payment_method
), p_pays AS (
  INSERT INTO payments (order_id, provider, provider_ref, method, status, amount, currency)
  SELECT u.id, i.provider, i.provider_ref, u.payment_method, 'captured', u.total_amount, u.currency
  FROM p_upd u JOIN p_input i ON i.id = u.id
  ON CONFLICT (order_id) DO NOTHING
), p_inst AS (
  INSERT INTO instalments (order_id, seq, amount, currency, due_at)
  SELECT s.order_id, s.seq, s.amount, s.currency, s.due_at
  FROM unnest($7::text[], $8::int4[], $9::int8[], $10::text[], $11::timestamptz[]) AS s(order_id, seq, amount, currency, due_at)
  JOIN p_upd upd ON upd.id = s.order_id
  ON CONFLICT (order_id, seq) DO NOTHING
), p_rated AS (
  SELECT u.id, i.creator_id, u.total_amount - u.shipping_amount AS items_amount, u.currency, i.credit_after, ${CommissionLedger.rateSql('i')} AS bps
  FROM p_upd u JOIN p_input i ON i.id = u.id
), p_comm AS (
  INSERT INTO commissions (order_id, creator_id, rate_bps, amount, currency, status, credit_after)
  SELECT id, creator_id, bps, ${CommissionLedger.amountSql('items_amount', 'bps')}, currency, 'pending', credit_after
  FROM p_rated WHERE bps > 0
  ON CONFLICT (order_id) DO NOTHING RETURNING order_id, amount
)`;
const PAID_SELECT = `
SELECT i.id, (upd.id IS NOT NULL) AS paid_now, COALESCE(comm.amount, 0)::int8 AS commission,
  COALESCE((SELECT o.status FROM orders o WHERE o.id = i.id), 'missing') AS prior_status
FROM p_input i LEFT JOIN p_upd upd ON upd.id = i.id LEFT JOIN p_comm comm ON comm.order_id = i.id`;
const PAID_SQL = `WITH ${PAID_CTES}
${PAID_SELECT}`;

/** Shifts the `$n` placeholders of a SQL fragment by `by` (to put two fragments in one statement). */
const shift = (sql: string, by: number) => sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + by}`);
const CLAIM_PARAMS = 21;
// Claims of new jobs and captures of earlier ones in ONE statement (one commit for both): each kind
// keeps its own CTEs and answers; the union tells them apart by `kind`.
const CLAIM_AND_PAID_SQL = `WITH ${CLAIM_CTES},
${shift(PAID_CTES, CLAIM_PARAMS)}
SELECT 'claim' AS kind, c.id, c.outcome, NULL::boolean AS paid_now, NULL::int8 AS commission, NULL::text AS prior_status FROM (${CLAIM_SELECT}) c
UNION ALL
SELECT 'paid', p.id, NULL, p.paid_now, p.commission, p.prior_status FROM (${PAID_SELECT}) p`;

// A pending order fails: its units go back to the deal (and to the product, if the deal already
// closed), in one statement. Locks the deals in id order, as claims do (no deadlock).
const RELEASE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, status, fail_code)
), upd AS (
  UPDATE orders o SET status = i.status, fail_code = i.fail_code FROM input i
  WHERE o.id = i.id AND o.status = 'pending'
  RETURNING o.id, o.deal_id, o.quantity
), per_deal AS (
  SELECT deal_id, sum(quantity)::int AS units FROM upd GROUP BY deal_id
), locked AS (
  SELECT d.id, d.product_id, d.closed_at FROM deals d WHERE d.id IN (SELECT deal_id FROM per_deal) ORDER BY d.id FOR UPDATE
), deals_upd AS (
  UPDATE deals d SET sold_units = d.sold_units - p.units FROM per_deal p JOIN locked l ON l.id = p.deal_id
  WHERE d.id = p.deal_id RETURNING d.id
), products_upd AS (
  UPDATE products pr SET stock = pr.stock + s.units, updated_at = now()
  FROM (SELECT l.product_id, sum(p.units)::int AS units FROM per_deal p JOIN locked l ON l.id = p.deal_id
        WHERE l.closed_at IS NOT NULL GROUP BY l.product_id) s
  WHERE pr.id = s.product_id RETURNING pr.id
)
SELECT i.id, (upd.id IS NOT NULL) AS released FROM input i LEFT JOIN upd ON upd.id = i.id`;

// An order that never held units in PostgreSQL (its hold lapsed, or the deal had none left) is
// recorded with its terminal state, so the buyer and ops can look it up.
const RECORD_FAILED_SQL = `
INSERT INTO orders (id, deal_id, room_id, buyer_id, shop_id, idempotency_key, status, total_amount, currency,
  payment_method, quantity, fail_code, buyer_region, shipping_amount, shipping_address)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::text[],
  $10::text[], $11::int4[], $12::text[], $13::text[], $14::int8[], $15::jsonb[])
ON CONFLICT DO NOTHING`;

/**
 * The owner of the `orders` table (no other module reads or writes it). Settlement claims an order's units in PostgreSQL
 * before its payment is captured, records the capture, releases the units of orders that
 * fail. Each operation is group-committed (calls made at about the same time share one
 * statement and one commit) and idempotent, and a failed batch is retried order by order, so
 * an order fails only for its own reasons.
 *
 * The units of a deal's `pending` and `paid` orders never exceed its stock: the claim counts
 * them under the deal's row lock, and a CHECK constraint backs it up.
 */
/** A write to group-commit: claims and recorded captures share statements. */
type OrderWrite = { kind: 'claim'; job: SettleJob } | { kind: 'paid'; order: PaidOrder };

export class OrderStore {
  readonly #db: Database;
  readonly #writes: MicroBatcher<OrderWrite, ClaimOutcome | PaidResult>;
  readonly #releases: MicroBatcher<{ orderId: string; status: FailedStatus; code: string }, boolean>;
  readonly #statuses: MicroBatcher<string, string | null>;

  constructor(db: Database, options: Partial<Omit<MicroBatcherOptions, 'isolateFailures'>> = {}) {
    this.#db = db;
    const batch = { maxBatch: 100, maxInFlight: 2, ...options, isolateFailures: true };
    this.#writes = new MicroBatcher((writes) => this.#writeBatch(writes), { ...batch, maxBatch: 2 * batch.maxBatch });
    this.#releases = new MicroBatcher((items) => this.#releaseBatch(items), batch);
    this.#statuses = new MicroBatcher(async (ids) => {
      const { rows } = await db.query<{ id: string; status: string }>('SELECT id, status FROM orders WHERE id = ANY($1::text[])', [ids]);
      const status = new Map(rows.map((r) => [r.id, r.status]));
      return ids.map((id) => status.get(id) ?? null);
    }, { ...batch, maxBatch: 200 });
  }

  /** The order's status, or null when it has no row. */
  status(orderId: string): Promise<string | null> {
    return this.#statuses.submit(orderId);
  }

  /** Claims the order's units (row `pending`) before its payment is captured. */
  claim(job: SettleJob): Promise<ClaimOutcome> {
    return this.#writes.submit({ kind: 'claim', job }) as Promise<ClaimOutcome>;
  }

  /** Records the capture of a claimed order: `paid`, with payment, instalments and commission. */
  markPaid(order: PaidOrder): Promise<PaidResult> {
    return this.#writes.submit({ kind: 'paid', order }) as Promise<PaidResult>;
  }

  /** A claimed (`pending`) order fails: its units go back. False if it was not pending. */
  release(orderId: string, status: FailedStatus, code: string): Promise<boolean> {
    return this.#releases.submit({ orderId, status, code });
  }

  /** Records the terminal state of an order that never claimed units (no-op if it has a row). */
  async recordFailed(job: SettleJob, status: FailedStatus, code: string): Promise<void> {
    await this.#db.query(RECORD_FAILED_SQL, [[job.orderId], [job.dealId], [job.roomId], [job.buyerId], [job.shopId], [job.idempotencyKey],
      [status], [job.totalAmount], [job.currency], [job.method.type], [job.quantity], [code], [/^[A-Z]{2}$/.test(job.buyerRegion) ? job.buyerRegion : null],
      [job.shipping?.amount ?? 0], [job.shipping ? JSON.stringify(job.shipping.address) : null]]);
  }

  /** The order in its API shape, or null. */
  static async view(db: Queryable, orderId: string): Promise<OrderView | null> {
    const { rows } = await db.query<Record<string, any>>(
      `SELECT o.id, o.deal_id, o.room_id, o.buyer_id, o.shop_id, o.idempotency_key, o.status, o.fail_code, o.total_amount,
         o.currency, o.display_amount, o.display_currency, o.fx_rate, o.fx_as_of, o.payment_method, o.instalment_count,
         o.created_at, o.paid_at, o.shipping_amount, o.shipping_address,
         COALESCE((SELECT json_agg(json_build_object('line_no', l.line_no, 'product_id', l.product_id, 'quantity', l.quantity,
           'unit_amount', l.unit_amount, 'currency', l.currency) ORDER BY l.line_no) FROM order_lines l WHERE l.order_id = o.id), '[]') AS lines,
         COALESCE((SELECT json_agg(json_build_object('seq', i.seq, 'amount', i.amount, 'currency', i.currency, 'due_at', i.due_at,
           'status', i.status) ORDER BY i.seq) FROM instalments i WHERE i.order_id = o.id), '[]') AS instalments
       FROM orders o WHERE o.id = $1`, [orderId]);
    const r = rows[0];
    if (!r) return null;
    const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
    return {
      id: r.id, deal_id: r.deal_id, room_id: r.room_id, buyer_id: r.buyer_id, shop_id: r.shop_id, idempotency_key: r.idempotency_key,
      status: r.status, fail_code: r.fail_code ?? null, total_amount: Number(r.total_amount), currency: r.currency,
      shipping_amount: Number(r.shipping_amount ?? 0), shipping_address: (r.shipping_address as Address | null) ?? null,
      display_amount: r.display_amount === null ? null : Number(r.display_amount), display_currency: r.display_currency ?? null,
      fx_rate: r.fx_rate ?? null, fx_as_of: iso(r.fx_as_of), payment_method: r.payment_method ?? null,
      instalment_count: r.instalment_count ?? null, created_at: iso(r.created_at)!, paid_at: iso(r.paid_at),
      lines: (r.lines as any[]).map((l) => ({ line_no: l.line_no, product_id: l.product_id, quantity: l.quantity, unit_amount: Number(l.unit_amount), currency: l.currency })),
      instalments: (r.instalments as any[]).map((i) => ({ seq: i.seq, amount: Number(i.amount), currency: i.currency, due_at: iso(i.due_at)!, status: i.status })),
    };
  }

  /**
   * A buyer's orders in their API shape, newest first: at most `limit`, those placed before the
   * order `before` when given (the next page). Each is `view`'s shape (one read per order: a
   * page is small, and the shape stays declared in one place).
   */
  static async ofBuyer(db: Queryable, buyerId: string, page: { limit: number; before?: string | null }): Promise<OrderView[]> {
    if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 100) throw new TypeError('limit must be an integer from 1 to 100');
    const { rows } = await db.query<{ id: string }>(
      `SELECT o.id FROM orders o WHERE o.buyer_id = $1
         AND ($3::text IS NULL OR (o.created_at, o.id) < (SELECT b.created_at, b.id FROM orders b WHERE b.id = $3 AND b.buyer_id = $1))
       ORDER BY o.created_at DESC, o.id DESC LIMIT $2`, [buyerId, page.limit, page.before ?? null]);
    const views = await Promise.all(rows.map((r) => OrderStore.view(db, r.id)));
    return views.filter((v): v is OrderView => v !== null);
  }

  /** The buyer and the shop owner of an order, or null. */
  static async facts(db: Queryable, orderId: string): Promise<OrderFacts | null> {
    const { rows } = await db.query<{ buyer_id: string; owner_user_id: string }>(
      'SELECT o.buyer_id, s.owner_user_id FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.id = $1', [orderId]);
    return rows[0] ? { buyerId: rows[0].buyer_id, ownerUserId: rows[0].owner_user_id } : null;
  }

  /** Locks the order's row in `tx` (refunds take it first) and reads what a refund needs; null if none. */
  static async lock(tx: Queryable, orderId: string): Promise<LockedOrder | null> {
    const { rows } = await tx.query<{ buyer_id: string; shop_id: string; status: string; total_amount: number; currency: string; buyer_region: string | null }>(
      'SELECT buyer_id, shop_id, status, total_amount, currency, buyer_region FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
    const r = rows[0];
    return r ? { buyerId: r.buyer_id, shopId: r.shop_id, status: r.status, totalAmount: Number(r.total_amount), currency: r.currency, buyerRegion: r.buyer_region } : null;
  }

  /** A paid order is refunded (in the refund's transaction). */
  static async markRefunded(tx: Queryable, orderId: string): Promise<void> {
    await tx.query("UPDATE orders SET status = 'refunded' WHERE id = $1 AND status = 'paid'", [orderId]);
  }

  /** Every order of a deal, for a rebuild of its Redis state (read in the rebuild's transaction). */
  static async ofDeal(tx: Queryable, dealId: string): Promise<DealOrder[]> {
    const { rows } = await tx.query<{ id: string; buyer_id: string; idempotency_key: string; status: string; fail_code: string | null; quantity: number; total_amount: number }>(
      `SELECT o.id, o.buyer_id, o.idempotency_key, o.status, o.fail_code, o.total_amount,
         COALESCE(o.quantity, (SELECT sum(l.quantity) FROM order_lines l WHERE l.order_id = o.id), 0)::int AS quantity
       FROM orders o WHERE o.deal_id = $1`, [dealId]);
    return rows.map((r) => ({
      id: r.id, buyerId: r.buyer_id, idempotencyKey: r.idempotency_key, status: r.status, failCode: r.fail_code,
      quantity: Number(r.quantity), totalAmount: Number(r.total_amount),
    }));
  }

  /** Waits for pending writes. Idempotent. */
  async close(): Promise<void> {
    await Promise.all([this.#writes.close(), this.#releases.close(), this.#statuses.close()]);
  }

  /**
   * One statement for the writes of one tick: the claims of new jobs and the captures recorded
   * since, so both share one commit (CLAIM_AND_PAID_SQL), or the one kind there is.
   */
  async #writeBatch(writes: OrderWrite[]): Promise<(ClaimOutcome | PaidResult)[]> {
    const jobs: SettleJob[] = [];
    const orders: PaidOrder[] = [];
    for (const w of writes) {
      if (w.kind === 'claim') jobs.push(w.job);
      else orders.push(w.order);
    }
    const claimCols = jobs.length > 0 ? OrderStore.#claimColumns(jobs) : null;
    const paidCols = orders.length > 0 ? OrderStore.#paidColumns(orders) : null;
    let claimRows: { id: string; outcome: ClaimOutcome }[] = [];
    let paidRows: { id: string; paid_now: boolean; commission: number; prior_status: string }[] = [];
    if (claimCols && paidCols) {
      const { rows } = await this.#db.query<{ kind: 'claim' | 'paid'; id: string; outcome: ClaimOutcome; paid_now: boolean; commission: number; prior_status: string }>(
        CLAIM_AND_PAID_SQL, [...claimCols, ...paidCols]);
      claimRows = rows.filter((r) => r.kind === 'claim');
      paidRows = rows.filter((r) => r.kind === 'paid');
    } else if (claimCols) {
      claimRows = (await this.#db.query<{ id: string; outcome: ClaimOutcome }>(CLAIM_SQL, claimCols)).rows;
    } else if (paidCols) {
      paidRows = (await this.#db.query<{ id: string; paid_now: boolean; commission: number; prior_status: string }>(PAID_SQL, paidCols)).rows;
    }
    const outcome = new Map(claimRows.map((r) => [r.id, r.outcome]));
    // A claim of the same order committed by another statement after this one's snapshot (two
    // settle jobs of one order, in two statements in flight) makes the insert a no-op that the
    // snapshot cannot explain: it reads as `sold_out`. Read those orders again, in a new snapshot.
    const refused = claimRows.filter((r) => r.outcome === 'sold_out').map((r) => r.id);
    if (refused.length > 0) {
      const { rows } = await this.#db.query<{ id: string; status: string }>(
        "SELECT id, status FROM orders WHERE id = ANY($1::text[]) AND status IN ('pending', 'paid', 'refunded')", [refused]);
      for (const r of rows) outcome.set(r.id, r.status as ClaimOutcome);
    }
    const paid = new Map(paidRows.map((r) => [r.id, r]));
    const told = new Set<string>();
    return writes.map((w) => {
      if (w.kind === 'claim') return outcome.get(w.job.orderId)!;
      const r = paid.get(w.order.job.orderId)!;
      // Only the first of two jobs of one order in a batch is told it turned the order paid.
      const paidNow = r.paid_now && !told.has(w.order.job.orderId);
      if (paidNow) told.add(w.order.job.orderId);
      return { status: r.paid_now ? 'paid' : r.prior_status, paidNow, commission: paidNow ? Number(r.commission) : 0 };
    });
  }

  /** CLAIM_SQL's 21 parameter arrays; two jobs of one order (a tap and its confirm) are claimed once. */
  static #claimColumns(jobs: SettleJob[]): unknown[][] {
    const unique = new Map<string, SettleJob>();
    for (const j of jobs) if (!unique.has(j.orderId)) unique.set(j.orderId, j);
    const cols: unknown[][] = Array.from({ length: CLAIM_PARAMS }, () => []);
    for (const d of unique.values()) {
      const row = [d.orderId, d.dealId, d.roomId, d.buyerId, d.shopId, d.idempotencyKey, d.totalAmount, d.currency,
        d.display?.amount ?? null, d.display?.currency ?? null, d.display?.rate ?? null,
        d.display ? new Date(d.display.asOf || Date.now()) : null, d.method.type, d.instalments, d.productId, d.quantity, d.unitAmount,
        d.paymentKey, /^[A-Z]{2}$/.test(d.buyerRegion) ? d.buyerRegion : null,
        d.shipping?.amount ?? 0, d.shipping ? JSON.stringify(d.shipping.address) : null];
      for (let c = 0; c < row.length; c++) cols[c].push(row[c]);
    }
    return cols;
  }

  /** PAID_SQL's 11 parameter arrays (one row per order, one per instalment). */
  static #paidColumns(orders: PaidOrder[]): unknown[][] {
    const unique = new Map<string, PaidOrder>();
    for (const o of orders) if (!unique.has(o.job.orderId)) unique.set(o.job.orderId, o);
    const cols: unknown[][] = Array.from({ length: 11 }, () => []);
    for (const o of unique.values()) {
      const row = [o.job.orderId, o.provider, o.providerRef, o.creatorId, o.dealBps, new Date(o.creditAfter)];
      for (let c = 0; c < row.length; c++) cols[c].push(row[c]);
      for (const i of o.instalments) {
        cols[6].push(o.job.orderId);
        cols[7].push(i.seq);
        cols[8].push(i.amount);
        cols[9].push(i.currency);
        cols[10].push(new Date(i.dueAt));
      }
    }
    return cols;
  }

  async #releaseBatch(items: { orderId: string; status: FailedStatus; code: string }[]): Promise<boolean[]> {
    const unique = new Map<string, { orderId: string; status: FailedStatus; code: string }>();
    for (const i of items) if (!unique.has(i.orderId)) unique.set(i.orderId, i);
    const list = [...unique.values()];
    const { rows } = await this.#db.query<{ id: string; released: boolean }>(RELEASE_SQL,
      [list.map((i) => i.orderId), list.map((i) => i.status), list.map((i) => i.code)]);
    const released = new Map(rows.map((r) => [r.id, r.released]));
    const told = new Set<string>();
    return items.map((i) => {
      const now = released.get(i.orderId) === true && !told.has(i.orderId);
      if (now) told.add(i.orderId);
      return now;
    });
  }
}
