import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/Database.js';
import { MicroBatcher } from '../../common/MicroBatcher.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import type { NewWebhookEvent } from './WebhookEvent.js';

const log = logger('WebhookOutbox');

/** A new event id: `evt_` and 24 hex digits. */
export const newEventId = () => `evt_${randomBytes(12).toString('hex')}`;

// Stored only when an enabled endpoint of the shop subscribes to the type (a shop without
// webhooks costs one indexed probe), and once per dedup key (a job that runs again adds nothing).
const RECORD_SQL = `
INSERT INTO webhook_events (id, dedup_key, shop_id, type, data)
SELECT i.id, i.dedup_key, i.shop_id, i.type, i.data::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS i(id, dedup_key, shop_id, type, data)
WHERE EXISTS (SELECT 1 FROM webhook_endpoints ep
              WHERE ep.shop_id = i.shop_id AND ep.deleted_at IS NULL AND ep.enabled AND i.type = ANY (ep.events))
ON CONFLICT (dedup_key) DO NOTHING
RETURNING dedup_key`;

export type WebhookOutboxEvents = {
  /** Events were stored (the relay of this process may dispatch them now). */
  recorded: [count: number];
  close: [];
};

/**
 * The outbox of merchant webhook events (`webhook_events`, written by no other module):
 * where an order or a deal changes, the change's owner records an event here, right after
 * its own write. Records are group-committed (the events of one tick share one statement) and
 * never fail their caller: the money path neither waits on a receiver nor breaks when this
 * write fails (it is logged). `WebhookRelay` turns stored events into deliveries.
 */
export class WebhookOutbox extends EnhancedEventEmitter<WebhookOutboxEvents> {
  readonly #db: Queryable;
  readonly #batcher: MicroBatcher<NewWebhookEvent, boolean>;
  #closing: Promise<void> | null = null;

  constructor(db: Queryable) {
    super();
    this.#db = db;
    this.#batcher = new MicroBatcher((events) => this.#insert(events), { maxBatch: 200, maxInFlight: 2 });
  }

  /**
   * Records an event once per (type, key), for the shop's endpoints subscribed to its type.
   * Resolves to true when this call stored it; never rejects.
   */
  async record(event: NewWebhookEvent): Promise<boolean> {
    try {
      return await this.#batcher.submit(event);
    } catch (err) {
      log.error({ err, type: event.type, key: event.key, shopId: event.shopId }, 'webhook event not recorded');
      return false;
    }
  }

  async #insert(events: NewWebhookEvent[]): Promise<boolean[]> {
    const keys = events.map((e) => `${e.type}:${e.key}`);
    const unique = new Map<string, NewWebhookEvent>();
    events.forEach((e, i) => unique.has(keys[i]) || unique.set(keys[i], e));
    const rows = [...unique.entries()];
    const { rows: stored } = await this.#db.query<{ dedup_key: string }>(RECORD_SQL, [
      rows.map(() => newEventId()), rows.map(([k]) => k), rows.map(([, e]) => e.shopId), rows.map(([, e]) => e.type),
      rows.map(([, e]) => JSON.stringify(e.data)),
    ]);
    if (stored.length > 0) this.safeEmit('recorded', stored.length);
    const now = new Set(stored.map((r) => r.dedup_key));
    // Only the first of two records of one key in a batch is told it stored it.
    return keys.map((k) => now.delete(k));
  }

  /** Waits for pending records; later ones are logged and dropped. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#batcher.close();
      this.safeEmit('close');
    })();
    return this.#closing;
  }
}
