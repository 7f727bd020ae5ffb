import { z } from 'zod';
import type { HttpRouter } from '../../common/http/HttpRouter.js';
import { ID_PATTERN } from '../../common/keys.js';
import { httpUrl, safeText } from '../../common/text.js';
import type { Database } from '../db/Database.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './WebhookEvent.js';
import { WebhookEndpoints } from './WebhookEndpoints.js';
import { DELIVERY_STATUSES, WebhookDeliveries, type DeliveryStatus } from './WebhookDeliveries.js';

const id = z.string().regex(ID_PATTERN, 'must be a valid id');

const schemas = {
  endpoint: z.object({
    url: httpUrl(2048),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length * 2),
    enabled: z.boolean().optional(),
    description: safeText({ max: 200 }).nullable().optional(),
  }).strict(),
  deliveries: z.object({
    status: z.enum(DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]]).optional(),
    shopId: id.optional(),
    eventId: id.optional(),
    limit: z.coerce.number().int().min(1).max(200).optional(),
  }).strict(),
};

export interface WebhookApiOptions {
  db: Database;
  /** The owner of a shop, for the policy's shop.write (an unknown shop throws its 404). */
  shopOwner: (shopId: string) => Promise<string>;
  /** Accept endpoint URLs on loopback and private networks (development, tests). Default false. */
  allowPrivate?: boolean;
  /** Endpoints one shop may have (default 16). */
  maxPerShop?: number;
}

/**
 * The webhooks HTTP API: a shop's endpoints for its owner (shop.write: create, showing the
 * signing secret once; list; delete), and deliveries for ops (ops.read: list, by status,
 * shop or event, with every attempt; ops.write: replay). Errors are written by the router's
 * one adapter. The composition root registers it where commerce runs.
 */
export class WebhookApi {
  readonly #endpoints: WebhookEndpoints;
  readonly #deliveries: WebhookDeliveries;
  readonly #shopOwner: (shopId: string) => Promise<string>;

  constructor(options: WebhookApiOptions) {
    this.#endpoints = new WebhookEndpoints(options.db, { allowPrivate: options.allowPrivate ?? false, maxPerShop: options.maxPerShop });
    this.#deliveries = new WebhookDeliveries(options.db);
    this.#shopOwner = options.shopOwner;
  }

  /** Adds the routes to the router. */
  register(router: HttpRouter): void {
    router.add('POST', '/v1/shops/:shopId/webhooks', 'shop.write', async (req) => {
      req.authorize({ ownerUserId: await this.#shopOwner(req.params.shopId) });
      const b = schemas.endpoint.parse(req.body ?? {});
      const created = await this.#endpoints.create(req.params.shopId, { ...b, events: b.events as WebhookEventType[] });
      return { status: 201, body: created };
    });
    router.add('GET', '/v1/shops/:shopId/webhooks', 'shop.write', async (req) => {
      req.authorize({ ownerUserId: await this.#shopOwner(req.params.shopId) });
      return { status: 200, body: { webhooks: await this.#endpoints.list(req.params.shopId) } };
    });
    router.add('DELETE', '/v1/shops/:shopId/webhooks/:webhookId', 'shop.write', async (req) => {
      req.authorize({ ownerUserId: await this.#shopOwner(req.params.shopId) });
      await this.#endpoints.remove(req.params.shopId, req.params.webhookId);
      return { status: 204 };
    });
    router.add('GET', '/v1/ops/webhooks/deliveries', 'ops.read', async (req) => {
      req.authorize();
      const q = schemas.deliveries.parse(Object.fromEntries(req.query));
      return { status: 200, body: { deliveries: await this.#deliveries.list(q) } };
    });
    router.add('POST', '/v1/ops/webhooks/deliveries/:deliveryId/replay', 'ops.write', async (req) => {
      req.authorize();
      const replay = await this.#deliveries.replay(req.params.deliveryId);
      return { status: 202, body: { id: replay.id, status: 'pending', replays: replay.replays } };
    });
  }
}
