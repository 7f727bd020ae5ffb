import { z } from 'zod';
import type { HttpRouter } from '../../common/http/HttpRouter.js';
import { ID_PATTERN } from '../../common/keys.js';
import { httpUrl, safeText } from '../../common/text.js';
import type { Database } from '../db/Database.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './WebhookEvent.js';
import { WebhookEndpoints } from './WebhookEndpoints.js';
import { DELIVERY_STATUSES, WebhookDeliveries, type DeliveryStatus } from './WebhookDeliveries.js';
import { apiSchema } from '../../common/http/apiSchema.js';

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
/** A webhook endpoint as the API answers it. */
const EndpointSchema = apiSchema('WebhookEndpoint', z.object({
  id: z.string(), shopId: z.string(), url: z.string(), events: z.array(z.string()), enabled: z.boolean(), description: z.string().nullable(),
  createdAt: z.string(),
}).strict());
const CreatedEndpointSchema = apiSchema('CreatedWebhookEndpoint', EndpointSchema.extend({ secret: z.string() }).strict());
/** A delivery as ops see it, with its latest attempts. */
const DeliverySchema = apiSchema('WebhookDelivery', z.object({ id: z.string(), eventId: z.string(), eventType: z.string(), status: z.string() }).passthrough());

export class WebhookApi {
  readonly #endpoints: WebhookEndpoints;
  readonly #deliveries: WebhookDeliveries;
  readonly #shopOwner: (shopId: string) => Promise<string>;

  constructor(options: WebhookApiOptions) {
    this.#endpoints = new WebhookEndpoints(options.db, { allowPrivate: options.allowPrivate ?? false, maxPerShop: options.maxPerShop });
    this.#deliveries = new WebhookDeliveries(options.db);
    this.#shopOwner = options.shopOwner;
  }

  /** Deliveries that gave up, for the ops overview. */
  failedDeliveries(): Promise<number> {
    return this.#deliveries.failedCount();
  }

  /** Adds the routes to the router. */
  register(router: HttpRouter): void {
    router.add('POST', '/v1/shops/:shopId/webhooks', 'shop.write', {
      summary: 'Add a webhook endpoint (its signing secret is shown once, in this answer)', tag: 'webhooks',
      body: schemas.endpoint, responses: { 201: CreatedEndpointSchema }, idempotent: true,
    }, async (req) => {
      req.authorize({ ownerUserId: await this.#shopOwner(req.params.shopId) });
      const b = req.body;
      const created = await this.#endpoints.create(req.params.shopId, { ...b, events: b.events as WebhookEventType[] });
      return { status: 201, body: created };
    });
    router.add('GET', '/v1/shops/:shopId/webhooks', 'shop.write', {
      summary: 'The shop\'s webhook endpoints', tag: 'webhooks', responses: { 200: z.object({ webhooks: z.array(EndpointSchema) }).strict() },
    }, async (req) => {
      req.authorize({ ownerUserId: await this.#shopOwner(req.params.shopId) });
      return { status: 200, body: { webhooks: await this.#endpoints.list(req.params.shopId) } };
    });
    router.add('DELETE', '/v1/shops/:shopId/webhooks/:webhookId', 'shop.write', {
      summary: 'Remove a webhook endpoint', tag: 'webhooks', responses: { 204: null },
    }, async (req) => {
      req.authorize({ ownerUserId: await this.#shopOwner(req.params.shopId) });
      await this.#endpoints.remove(req.params.shopId, req.params.webhookId);
      return { status: 204 };
    });
    router.add('GET', '/v1/ops/webhooks/deliveries', 'ops.read', {
      summary: 'Webhook deliveries with their attempts (filter by status, shop or event)', tag: 'ops',
      query: schemas.deliveries, responses: { 200: z.object({ deliveries: z.array(DeliverySchema) }).strict() },
    }, async (req) => {
      req.authorize();
      const q = req.queryValues;
      return { status: 200, body: { deliveries: await this.#deliveries.list(q) } };
    });
    router.add('POST', '/v1/ops/webhooks/deliveries/:deliveryId/replay', 'ops.write', {
      summary: 'Deliver again, with the same event id', tag: 'ops',
      responses: { 202: z.object({ id: z.string(), status: z.string(), replays: z.number().int() }).strict() },
    }, async (req) => {
      req.authorize();
      const replay = await this.#deliveries.replay(req.params.deliveryId);
      return { status: 202, body: { id: replay.id, status: 'pending', replays: replay.replays } };
    });
  }
}
