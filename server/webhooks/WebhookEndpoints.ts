import { randomBytes } from 'node:crypto';
import type { Database } from '../db/Database.js';
import { WebhookAddress } from './WebhookAddress.js';
import { WebhookSignature } from './WebhookSignature.js';
import { isWebhookEventType, type WebhookEventType } from './WebhookEvent.js';
import { WebhookEndpointLimitError, WebhookEndpointNotFoundError } from './errors.js';

/** A shop's webhook endpoint as the API returns it (never with its secret, except once at creation). */
export interface WebhookEndpoint {
  id: string;
  shopId: string;
  url: string;
  events: WebhookEventType[];
  enabled: boolean;
  description: string | null;
  /** ISO 8601. */
  createdAt: string;
}

/** An endpoint just created: the only time its signing secret is shown. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

/** What the shop owner sends to create an endpoint (validated by WebhookApi's schema). */
export interface WebhookEndpointInput {
  url: string;
  events: WebhookEventType[];
  enabled?: boolean;
  description?: string | null;
}

export interface WebhookEndpointsOptions {
  /** Accept URLs on loopback and private networks (development, tests). Default false. */
  allowPrivate: boolean;
  /** Endpoints one shop may have (default 16). */
  maxPerShop: number;
}

type Row = { id: string; shop_id: string; url: string; events: string[]; enabled: boolean; description: string | null; created_at: Date | string };

const COLUMNS = 'id, shop_id, url, events, enabled, description, created_at';

/**
 * A shop's webhook endpoints (`webhook_endpoints`, written by no other module): where its
 * events go, which ones, and the secret that signs them. The server generates the secret and
 * shows it once, at creation. A deleted endpoint stops receiving and disappears from the list;
 * its row stays for the deliveries that name it.
 */
export class WebhookEndpoints {
  readonly #db: Database;
  readonly #options: WebhookEndpointsOptions;

  constructor(db: Database, options: Partial<WebhookEndpointsOptions> = {}) {
    this.#db = db;
    this.#options = { allowPrivate: false, maxPerShop: 16, ...options };
  }

  /** Creates an endpoint for the shop with a new secret (shown in the answer only). */
  async create(shopId: string, input: WebhookEndpointInput): Promise<CreatedWebhookEndpoint> {
    WebhookAddress.check(input.url, this.#options.allowPrivate);
    const events = [...new Set(input.events)];
    if (events.length === 0 || !events.every(isWebhookEventType)) throw new TypeError('events must list at least one event type');
    const id = `we_${randomBytes(9).toString('hex')}`;
    const secret = WebhookSignature.newSecret();
    const row = await this.#db.transaction(async (tx) => {
      // The shop's row serialises creations, so the limit holds (NO KEY UPDATE: foreign keys to the shop still pass).
      await tx.query('SELECT 1 FROM shops WHERE id = $1 FOR NO KEY UPDATE', [shopId]);
      const { rows: count } = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM webhook_endpoints WHERE shop_id = $1 AND deleted_at IS NULL', [shopId]);
      if (Number(count[0].n) >= this.#options.maxPerShop) throw new WebhookEndpointLimitError(this.#options.maxPerShop);
      const { rows } = await tx.query<Row>(
        `INSERT INTO webhook_endpoints (id, shop_id, url, secret, events, enabled, description)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7) RETURNING ${COLUMNS}`,
        [id, shopId, input.url, secret, events, input.enabled ?? true, input.description ?? null]);
      return rows[0];
    });
    return { ...WebhookEndpoints.#view(row), secret };
  }

  /** The shop's endpoints, oldest first. */
  async list(shopId: string): Promise<WebhookEndpoint[]> {
    const { rows } = await this.#db.query<Row>(
      `SELECT ${COLUMNS} FROM webhook_endpoints WHERE shop_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, [shopId]);
    return rows.map((r) => WebhookEndpoints.#view(r));
  }

  /** Deletes the shop's endpoint: no event reaches it any more. Deleting it again is a no-op; another shop's is not found. */
  async remove(shopId: string, id: string): Promise<void> {
    const { rows } = await this.#db.query<{ deleted: boolean }>(
      `WITH upd AS (UPDATE webhook_endpoints SET deleted_at = now(), enabled = false
                    WHERE id = $1 AND shop_id = $2 AND deleted_at IS NULL RETURNING id)
       SELECT EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1 AND shop_id = $2) AS deleted`,
      [id, shopId]);
    if (!rows[0]?.deleted) throw new WebhookEndpointNotFoundError();
  }

  static #view(r: Row): WebhookEndpoint {
    return {
      id: r.id, shopId: r.shop_id, url: r.url, events: r.events.filter(isWebhookEventType), enabled: r.enabled,
      description: r.description, createdAt: new Date(r.created_at).toISOString(),
    };
  }
}
