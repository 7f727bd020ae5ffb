import type { Database } from '../db/Database.js';
import { isWebhookEventType, type WebhookEnvelope, type WebhookEventType } from './WebhookEvent.js';
import { WebhookDeliveryActiveError, WebhookDeliveryNotFoundError } from './errors.js';

/** Where a delivery is: see the migration (008_webhooks.sql). */
export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'succeeded', 'failed'];

/** One attempt as ops see it. */
export interface DeliveryAttempt {
  attempt: number;
  /** ISO 8601. */
  at: string;
  durationMs: number;
  /** The receiver's HTTP status, null when none came (network error, timeout). */
  statusCode: number | null;
  /** Why it failed (`http_500`, `timeout`, `connection_refused`, `private_address`...), null on success. */
  error: string | null;
  /** The first bytes of the receiver's answer. */
  response: string | null;
}

/** A delivery as ops see it (`GET /v1/ops/webhooks/deliveries`). */
export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  shopId: string;
  endpointId: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  replays: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  /** The latest attempts, newest first (at most 20). */
  history: DeliveryAttempt[];
}

/** What one attempt needs: the event, the endpoint, and where the delivery stands. */
export interface DeliveryTask {
  id: string;
  status: DeliveryStatus;
  replays: number;
  attempts: number;
  endpoint: { id: string; url: string; secret: string; usable: boolean; deleted: boolean };
  envelope: WebhookEnvelope;
}

/** The outcome of one attempt, as recorded. */
export interface AttemptOutcome {
  at: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  response: string | null;
}

/** A delivery to hand to the queue: its id and replay number (together, its job id). */
export interface QueuedDelivery {
  id: string;
  replays: number;
}

// Each event not yet dispatched becomes one delivery per enabled endpoint of its shop subscribed
// to its type, in one statement; delivery ids are derived from (event, endpoint), so running it
// twice creates nothing twice. SKIP LOCKED: relays of several processes share the work.
const FAN_OUT_SQL = `
WITH picked AS (
  SELECT id, shop_id, type FROM webhook_events WHERE dispatched_at IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED
), ins AS (
  INSERT INTO webhook_deliveries (id, event_id, endpoint_id)
  SELECT 'wd_' || substr(md5(p.id || '/' || ep.id), 1, 24), p.id, ep.id
  FROM picked p JOIN webhook_endpoints ep
    ON ep.shop_id = p.shop_id AND ep.deleted_at IS NULL AND ep.enabled AND p.type = ANY (ep.events)
  ON CONFLICT (event_id, endpoint_id) DO NOTHING
  RETURNING id
), upd AS (
  UPDATE webhook_events e SET dispatched_at = now() FROM picked p WHERE e.id = p.id RETURNING e.id
)
SELECT (SELECT count(*) FROM upd)::int AS events, (SELECT count(*) FROM ins)::int AS deliveries`;

// Deliveries to put in the queue: new and replayed ones, and those whose job the queue should
// have run by now (lost with Redis, or added by a process that died before adding it). A job id
// is (delivery, replay): adding a job the queue still has is a no-op.
const CLAIM_SQL = `
UPDATE webhook_deliveries d SET queued_at = now()
WHERE d.id IN (
  SELECT id FROM webhook_deliveries
  WHERE (status = 'pending' AND (queued_at IS NULL OR queued_at < now() - $2::float8 * interval '1 millisecond'))
     OR (status = 'retrying' AND next_attempt_at < now() - $2::float8 * interval '1 millisecond' AND queued_at < now() - $2::float8 * interval '1 millisecond')
  ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.replays`;

const TASK_SQL = `
SELECT d.id, d.status, d.replays, d.attempts, e.id AS event_id, e.type, e.data, e.created_at,
  ep.id AS endpoint_id, ep.url, ep.secret, ep.enabled, ep.deleted_at
FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
WHERE d.id = $1`;

// The attempt and the delivery's new state in one statement; the attempt's number is the delivery's count.
const RECORD_SQL = `
WITH d AS (
  UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, last_status_code = $3, last_error = $4, last_attempt_at = $5,
    next_attempt_at = $6, delivered_at = CASE WHEN $2 = 'succeeded' THEN $5 ELSE delivered_at END
  WHERE id = $1 RETURNING id, attempts
)
INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status_code, error, response)
SELECT d.id, d.attempts, $5, $7, $3, $4, $8 FROM d
ON CONFLICT (delivery_id, attempt) DO NOTHING`;

const LIST_SQL = `
SELECT d.id, d.event_id, e.type, e.shop_id, d.endpoint_id, ep.url, d.status, d.attempts, d.replays, d.last_status_code, d.last_error,
  d.last_attempt_at, d.next_attempt_at, d.delivered_at, d.created_at,
  COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'durationMs', a.duration_ms, 'statusCode', a.status_code,
    'error', a.error, 'response', a.response) ORDER BY a.attempt DESC)
    FROM (SELECT x.attempt, x.at, x.duration_ms, x.status_code, x.error, x.response FROM webhook_attempts x
          WHERE x.delivery_id = d.id ORDER BY x.attempt DESC LIMIT 20) a), '[]') AS history
FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR e.shop_id = $2) AND ($3::text IS NULL OR d.event_id = $3)
ORDER BY d.created_at DESC, d.id LIMIT $4`;

// Events older than the retention whose deliveries are all over (their deliveries and attempts go with them).
const PRUNE_SQL = `
DELETE FROM webhook_events e
WHERE e.created_at < now() - $1::float8 * interval '1 millisecond' AND e.dispatched_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'retrying'))`;

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/**
 * The deliveries of webhook events (`webhook_deliveries`, `webhook_attempts`, written by no
 * other module; it also marks `webhook_events` dispatched): fan-out of stored events to the
 * subscribed endpoints, the hand-over to the queue, each attempt's record, the ops view and
 * replays. A replay sends the same event (same id, same body) again as a new job.
 */
export class WebhookDeliveries {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Creates the deliveries of up to `limit` undispatched events; resolves to how many events it took. */
  async fanOut(limit: number): Promise<{ events: number; deliveries: number }> {
    const { rows } = await this.#db.query<{ events: number; deliveries: number }>(FAN_OUT_SQL, [limit]);
    return { events: Number(rows[0]?.events ?? 0), deliveries: Number(rows[0]?.deliveries ?? 0) };
  }

  /** Up to `limit` deliveries the queue should run, marked queued (again after `leaseMs` if still not run). */
  async claimForQueue(limit: number, leaseMs: number): Promise<QueuedDelivery[]> {
    const { rows } = await this.#db.query<{ id: string; replays: number }>(CLAIM_SQL, [limit, leaseMs]);
    return rows.map((r) => ({ id: r.id, replays: Number(r.replays) }));
  }

  /** What an attempt of the delivery needs, or null when it is gone. */
  async task(id: string): Promise<DeliveryTask | null> {
    const { rows } = await this.#db.query<Record<string, any>>(TASK_SQL, [id]);
    const r = rows[0];
    if (!r) return null;
    const type: WebhookEventType = isWebhookEventType(r.type) ? r.type : 'order.created';
    return {
      id: r.id, status: r.status, replays: Number(r.replays), attempts: Number(r.attempts),
      endpoint: { id: r.endpoint_id, url: r.url, secret: r.secret, usable: r.enabled && r.deleted_at === null, deleted: r.deleted_at !== null },
      envelope: { id: r.event_id, type, created: iso(r.created_at)!, data: r.data },
    };
  }

  /** Records an attempt and the delivery's new status (`retrying` with the time of the next one). */
  async record(id: string, outcome: AttemptOutcome, status: DeliveryStatus, nextAttemptAt: Date | null): Promise<void> {
    await this.#db.query(RECORD_SQL, [
      id, status, outcome.statusCode, outcome.error, outcome.at, nextAttemptAt, Math.max(0, Math.round(outcome.durationMs)),
      outcome.response,
    ]);
  }

  /** Deliveries that gave up (status `failed`, not replayed since): the ops overview's count. */
  async failedCount(): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'failed'");
    return Number(rows[0]?.n ?? 0);
  }

  /** Deliveries for ops, newest first, filtered by status, shop or event. */
  async list(filter: { status?: DeliveryStatus; shopId?: string; eventId?: string; limit?: number } = {}): Promise<DeliveryView[]> {
    const { rows } = await this.#db.query<Record<string, any>>(LIST_SQL, [
      filter.status ?? null, filter.shopId ?? null, filter.eventId ?? null, Math.min(Math.max(filter.limit ?? 50, 1), 200),
    ]);
    return rows.map((r) => ({
      id: r.id, eventId: r.event_id, eventType: r.type, shopId: r.shop_id, endpointId: r.endpoint_id, url: r.url, status: r.status,
      attempts: Number(r.attempts), replays: Number(r.replays), lastStatusCode: r.last_status_code ?? null, lastError: r.last_error ?? null,
      lastAttemptAt: iso(r.last_attempt_at), nextAttemptAt: iso(r.next_attempt_at), deliveredAt: iso(r.delivered_at), createdAt: iso(r.created_at)!,
      history: (r.history as any[]).map((a) => ({
        attempt: Number(a.attempt), at: iso(a.at)!, durationMs: Number(a.durationMs), statusCode: a.statusCode ?? null, error: a.error ?? null,
        response: a.response ?? null,
      })),
    }));
  }

  /**
   * Sends a delivery that succeeded or failed again: back to `pending` with its replay number
   * raised (the relay queues it as a new job). A delivery still being attempted is refused.
   */
  async replay(id: string): Promise<QueuedDelivery> {
    const { rows } = await this.#db.query<{ id: string; replays: number; status: string | null }>(
      `WITH upd AS (
         UPDATE webhook_deliveries SET status = 'pending', replays = replays + 1, queued_at = NULL, next_attempt_at = NULL
         WHERE id = $1 AND status IN ('succeeded', 'failed') RETURNING id, replays
       )
       SELECT u.id, u.replays, NULL AS status FROM upd u
       UNION ALL SELECT d.id, d.replays, d.status FROM webhook_deliveries d WHERE d.id = $1 AND NOT EXISTS (SELECT 1 FROM upd)`, [id]);
    const r = rows[0];
    if (!r) throw new WebhookDeliveryNotFoundError();
    if (r.status !== null) throw new WebhookDeliveryActiveError(r.status);
    return { id: r.id, replays: Number(r.replays) };
  }

  /** Deletes events older than `retentionMs` whose deliveries are over; resolves to how many. */
  async prune(retentionMs: number): Promise<number> {
    return (await this.#db.query(PRUNE_SQL, [retentionMs])).rowCount;
  }
}
