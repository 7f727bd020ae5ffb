import type { Database } from '../db/Database.js';
import type { SettleJob } from './SettlementQueue.js';
import type { Instalment } from '../commerce/InstalmentPlan.js';
import { CommissionLedger } from '../commerce/CommissionLedger.js';
import { MicroBatcher, type MicroBatcherOptions } from '../commerce/MicroBatcher.js';

/** A captured order, ready to be recorded. */
export interface PaidOrder {
  job: SettleJob;
  provider: string;
  providerRef: string;
  /** Creator credited with affiliate commission, and the deal's own rate (null: product/creator rates apply). */
  creatorId: string;
  dealBps: number | null;
  /** When the pending commission may be credited (ms). */
  creditAfter: number;
  /** BNPL schedule (empty otherwise). */
  instalments: Instalment[];
  /** Fallback for the FX timestamp (ms). */
  now: number;
}

/** What writing one order did. */
export interface PaidOrderResult {
  /** False when the order row already existed (a re-run): nothing was written. */
  inserted: boolean;
  /** Pending commission accrued (minor units, 0: none). */
  commission: number;
}

// One statement = one implicit transaction: an order's row, line, payment, instalments and
// commission are all written or none are. Orders whose id already exists write nothing.
const INSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[],
    $9::int8[], $10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::int4[], $15::text[], $16::int4[], $17::int8[],
    $18::text[], $19::text[], $20::text[], $21::int4[], $22::timestamptz[])
  AS t(id, deal_id, room_id, buyer_id, shop_id, idempotency_key, total_amount, currency,
    display_amount, display_currency, fx_rate, fx_as_of, payment_method, instalment_count, product_id, quantity, unit_amount,
    provider, provider_ref, creator_id, deal_bps, credit_after)
), ins AS (
  INSERT INTO orders (id, deal_id, room_id, buyer_id, shop_id, idempotency_key, status, total_amount, currency,
    display_amount, display_currency, fx_rate, fx_as_of, payment_method, instalment_count, paid_at)
  SELECT id, deal_id, room_id, buyer_id, shop_id, idempotency_key, 'paid', total_amount, currency,
    display_amount, display_currency, fx_rate, fx_as_of, payment_method, instalment_count, now()
  FROM input ON CONFLICT (id) DO NOTHING RETURNING id
), lines AS (
  INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_amount, currency)
  SELECT i.id, 1, i.product_id, i.quantity, i.unit_amount, i.currency FROM input i JOIN ins ON ins.id = i.id
), pays AS (
  INSERT INTO payments (order_id, provider, provider_ref, method, status, amount, currency)
  SELECT i.id, i.provider, i.provider_ref, i.payment_method, 'captured', i.total_amount, i.currency FROM input i JOIN ins ON ins.id = i.id
), inst AS (
  INSERT INTO instalments (order_id, seq, amount, currency, due_at)
  SELECT s.order_id, s.seq, s.amount, s.currency, s.due_at
  FROM unnest($23::text[], $24::int4[], $25::int8[], $26::text[], $27::timestamptz[]) AS s(order_id, seq, amount, currency, due_at)
  JOIN ins ON ins.id = s.order_id
), rated AS (
  SELECT o.id, o.creator_id, o.total_amount, o.currency, o.credit_after, ${CommissionLedger.rateSql('o')} AS bps
  FROM input o JOIN ins ON ins.id = o.id
), comm AS (
  INSERT INTO commissions (order_id, creator_id, rate_bps, amount, currency, status, credit_after)
  SELECT id, creator_id, bps, ${CommissionLedger.amountSql('total_amount', 'bps')}, currency, 'pending', credit_after
  FROM rated WHERE bps > 0
  ON CONFLICT (order_id) DO NOTHING RETURNING order_id, amount
)
SELECT ins.id, COALESCE(comm.amount, 0)::int8 AS commission FROM ins LEFT JOIN comm ON comm.order_id = ins.id`;

/**
 * Records paid orders (order, line, payment, BNPL instalments, pending commission) with
 * group commit: orders captured at about the same time share one statement and one commit.
 * The statement is atomic, ids that exist already are skipped (job id = order id stays
 * idempotent), and if a batch fails each of its orders is written alone, so an order fails
 * only for its own reasons.
 */
export class PaidOrderWriter {
  readonly #db: Database;
  readonly #batcher: MicroBatcher<PaidOrder, PaidOrderResult>;

  constructor(db: Database, options: Partial<Omit<MicroBatcherOptions, 'isolateFailures'>> = {}) {
    this.#db = db;
    this.#batcher = new MicroBatcher((orders) => this.#write(orders), { maxBatch: 100, maxInFlight: 2, ...options, isolateFailures: true });
  }

  /** Records one paid order (batched with concurrent calls). */
  write(order: PaidOrder): Promise<PaidOrderResult> {
    return this.#batcher.submit(order);
  }

  /** Waits for pending writes. Idempotent. */
  close(): Promise<void> {
    return this.#batcher.close();
  }

  async #write(orders: PaidOrder[]): Promise<PaidOrderResult[]> {
    const cols: unknown[][] = Array.from({ length: 27 }, () => []);
    for (const o of orders) {
      const d = o.job;
      const row = [d.orderId, d.dealId, d.roomId, d.buyerId, d.shopId, d.idempotencyKey, d.totalAmount, d.currency,
        d.display?.amount ?? null, d.display?.currency ?? null, d.display?.rate ?? null,
        d.display ? new Date(d.display.asOf || o.now) : null, d.method.type, d.instalments, d.productId, d.quantity, d.unitAmount,
        o.provider, o.providerRef, o.creatorId, o.dealBps, new Date(o.creditAfter)];
      for (let c = 0; c < row.length; c++) cols[c].push(row[c]);
      for (const i of o.instalments) {
        cols[22].push(d.orderId);
        cols[23].push(i.seq);
        cols[24].push(i.amount);
        cols[25].push(i.currency);
        cols[26].push(new Date(i.dueAt));
      }
    }
    const { rows } = await this.#db.query<{ id: string; commission: number }>(INSERT_SQL, cols);
    const written = new Map(rows.map((r) => [r.id, Number(r.commission)]));
    return orders.map((o) => {
      const commission = written.get(o.job.orderId);
      if (commission !== undefined) written.delete(o.job.orderId);
      return { inserted: commission !== undefined, commission: commission ?? 0 };
    });
  }
}
