/**
 * What the fault tests read back after a fault, from the durable records only: the `orders`,
 * `order_lines` and `payments` tables and the sandbox provider's own ledger `sandbox_payments`
 * (which stands in for the PSP's records: what money really moved).
 */
import type { Database } from '../../../server/db/Database.js';
import { sleep } from '../helpers.js';

/** Order statuses that mean "money may still move": none may remain once settlement is quiet. */
export const IN_FLIGHT_ORDER_STATUSES = ['pending', 'paying', 'capturing'];

/**
 * Ledger rows (`sandbox_payments.kind`) that give a capture's money back. ASSUMED: the rewrite
 * records an automatic void as kind 'void' (a refund keeps kind 'refund').
 */
export const GIVE_BACK_KINDS = ['void', 'refund'];

const n = (v: unknown) => Number(v ?? 0);

/** One deal's orders in PostgreSQL. */
export interface DealOrders {
  paidOrders: number;
  paidUnits: number;
  paidAmount: number;
  /** (deal, buyer, idempotency key) with more than one paid order. */
  duplicateKeys: number;
  /** Orders in IN_FLIGHT_ORDER_STATUSES. */
  inFlight: number;
  /** Buyer -> paid orders. */
  paidByBuyer: Map<string, number>;
  statuses: Record<string, number>;
}

export async function dealOrders(db: Database, dealId: string): Promise<DealOrders> {
  const paid = await db.query<{ orders: string; units: string; amount: string }>(
    `SELECT count(DISTINCT o.id) AS orders, COALESCE(sum(l.quantity), 0) AS units,
            (SELECT COALESCE(sum(total_amount), 0) FROM orders WHERE deal_id = $1 AND status = 'paid') AS amount
     FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id WHERE o.deal_id = $1 AND o.status = 'paid'`, [dealId]);
  const dup = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM orders WHERE deal_id = $1 AND status = 'paid'
     GROUP BY deal_id, buyer_id, idempotency_key HAVING count(*) > 1) d`, [dealId]);
  const byStatus = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM orders WHERE deal_id = $1 GROUP BY status', [dealId]);
  const byBuyer = await db.query<{ buyer_id: string; n: string }>(
    "SELECT buyer_id, count(*) AS n FROM orders WHERE deal_id = $1 AND status = 'paid' GROUP BY buyer_id", [dealId]);
  const statuses = Object.fromEntries(byStatus.rows.map((r) => [r.status, n(r.n)]));
  return {
    paidOrders: n(paid.rows[0].orders),
    paidUnits: n(paid.rows[0].units),
    paidAmount: n(paid.rows[0].amount),
    duplicateKeys: n(dup.rows[0].n),
    inFlight: IN_FLIGHT_ORDER_STATUSES.reduce((sum, st) => sum + (statuses[st] ?? 0), 0),
    paidByBuyer: new Map(byBuyer.rows.map((r) => [r.buyer_id, n(r.n)])),
    statuses,
  };
}

/** The money at the provider against the paid orders, over the whole schema (every deal). */
export interface MoneyAudit {
  captures: number;
  capturedAmount: number;
  givenBack: number;
  givenBackAmount: number;
  paidOrders: number;
  paidAmount: number;
  /** Captures whose reference is no paid order's payment (must each have been given back). */
  unmatchedCaptures: number;
  unmatchedAmount: number;
  /** Paid orders whose payment is not a capture of the same amount in the provider's ledger. */
  paidWithoutCapture: number;
  /** Capture references recorded as the payment of more than one paid order. */
  sharedCaptures: number;
}

export async function moneyAudit(db: Database): Promise<MoneyAudit> {
  const q = async (sql: string, params: unknown[] = []) => (await db.query<Record<string, string>>(sql, params)).rows[0];
  const cap = await q("SELECT count(*) AS n, COALESCE(sum(amount), 0) AS a FROM sandbox_payments WHERE kind = 'capture' AND status = 'captured'");
  const back = await q('SELECT count(*) AS n, COALESCE(sum(amount), 0) AS a FROM sandbox_payments WHERE kind = ANY($1::text[])', [GIVE_BACK_KINDS]);
  const paid = await q("SELECT count(*) AS n, COALESCE(sum(total_amount), 0) AS a FROM orders WHERE status = 'paid'");
  const unmatched = await q(
    `SELECT count(*) AS n, COALESCE(sum(sp.amount), 0) AS a FROM sandbox_payments sp
     WHERE sp.kind = 'capture' AND sp.status = 'captured' AND NOT EXISTS (
       SELECT 1 FROM payments p JOIN orders o ON o.id = p.order_id AND o.status = 'paid' WHERE p.provider_ref = sp.ref)`);
  const orphanPaid = await q(
    `SELECT count(*) AS n FROM orders o LEFT JOIN payments p ON p.order_id = o.id
     WHERE o.status = 'paid' AND NOT EXISTS (
       SELECT 1 FROM sandbox_payments sp WHERE sp.kind = 'capture' AND sp.status = 'captured' AND sp.ref = p.provider_ref AND sp.amount = o.total_amount)`);
  const shared = await q(
    `SELECT count(*) AS n FROM (SELECT p.provider_ref FROM payments p JOIN orders o ON o.id = p.order_id AND o.status = 'paid'
     GROUP BY p.provider_ref HAVING count(*) > 1) s`);
  return {
    captures: n(cap.n), capturedAmount: n(cap.a), givenBack: n(back.n), givenBackAmount: n(back.a),
    paidOrders: n(paid.n), paidAmount: n(paid.a), unmatchedCaptures: n(unmatched.n), unmatchedAmount: n(unmatched.a),
    paidWithoutCapture: n(orphanPaid.n), sharedCaptures: n(shared.n),
  };
}

/** Everything durable that settlement moves: when it stops changing, settlement is quiet. */
async function signature(db: Database): Promise<string> {
  const { rows: o } = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status');
  const { rows: p } = await db.query<{ kind: string; status: string; n: string }>(
    'SELECT kind, status, count(*) AS n FROM sandbox_payments GROUP BY kind, status ORDER BY kind, status');
  return JSON.stringify([o, p]);
}

/**
 * Waits until the orders and the provider's ledger have not changed for `stableMs` and no order
 * is in flight, or `timeoutMs` passed. Resolves to whether settlement went quiet (the callers
 * assert the totals either way, then assert this).
 */
export async function waitQuiet(db: Database, { stableMs = 3_000, timeoutMs = 30_000 } = {}): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  while (Date.now() < end) {
    const sig = await signature(db);
    if (sig !== last) {
      last = sig;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE status = ANY($1::text[])', [IN_FLIGHT_ORDER_STATUSES]);
      if (n(rows[0].n) === 0) return true;
    }
    await sleep(250);
  }
  return false;
}
