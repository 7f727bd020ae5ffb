import { z, ZodError } from 'zod';
import type { ApiRequest, ApiResponse, HttpRouter, RouteHandler } from '../http/HttpRouter.js';
import type { Principal } from '../auth/TokenService.js';
import type { CommerceService } from './CommerceService.js';
import { flashcast } from '../../protocol/index.js';
import { ErrorCode } from '../../protocol/codes.js';
import { FlashcastError, ForbiddenError, UnauthorizedError } from '../errors.js';
import { ID_PATTERN } from '../redis/keys.js';
import { Currency, MAX_MINOR_UNITS } from './Currency.js';
import { FxTable } from './FxTable.js';
import { REFUND_REASONS } from './RefundPolicy.js';
import { PAYMENT_METHOD_TYPES } from '../settlement/PaymentProvider.js';
import { listFailedJobs, replayFailedJob } from '../settlement/ops.js';
import { CommerceErrorCode, CommerceNotFoundError } from './errors.js';
import { logger } from '../common/logger.js';

const log = logger('CommerceApi');

const id = z.string().regex(ID_PATTERN, 'must be 1-64 of [A-Za-z0-9_.:-]');
const region = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code');
const currency = z.string().max(8);
const money = z.object({ amount: z.number().int().min(0).max(MAX_MINOR_UNITS), currency }).strict();

const schemas = {
  shop: z.object({ id: id.optional(), name: z.string().min(1).max(120), currency, country: region }).strict(),
  product: z.object({
    id: id.optional(),
    titles: z.record(z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/), z.string().min(1).max(200))
      .refine((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 30, 'between 1 and 30 titles'),
    images: z.array(z.string().url().max(2048).regex(/^https?:\/\//)).max(10).default([]),
    price: money,
    stock: z.number().int().min(0).max(10_000_000),
  }).strict(),
  stock: z.object({ stock: z.number().int().min(0).max(10_000_000) }).strict(),
  showcase: z.object({ productIds: z.array(id).max(100) }).strict(),
  showcaseAdd: z.object({ productId: id }).strict(),
  pin: z.object({ productId: id, locale: z.string().max(8).optional(), dealId: id.optional() }).strict(),
  deal: z.object({
    productId: id,
    price: money,
    totalStock: z.number().int().min(1).max(1_000_000),
    perBuyerLimit: z.number().int().min(1).max(100),
    countdownSeconds: z.number().int().min(10).max(300),
    durationSeconds: z.number().int().min(60).max(1200),
    allowedRegions: z.array(region).max(250).optional(),
    commissionBps: z.number().int().min(0).max(10_000).nullable().optional(),
  }).strict(),
  checkout: z.object({
    roomId: id, productId: id, quantity: z.unknown(), idempotencyKey: z.string().max(64), dealId: id.optional(),
    displayCurrency: currency.optional(), buyerId: z.string().max(64).optional(),
  }).strict(),
  confirm: z.object({
    method: z.enum(PAYMENT_METHOD_TYPES as [string, ...string[]]), token: z.string().min(1).max(128),
    instalments: z.union([z.literal(3), z.literal(6)]).optional(), save: z.boolean().optional(), displayCurrency: currency.optional(),
  }).strict(),
  paymentMethod: z.object({ type: z.enum(PAYMENT_METHOD_TYPES as [string, ...string[]]), token: z.string().min(1).max(128) }).strict(),
  prefs: z.object({ hideInTicker: z.boolean() }).strict(),
  // No amount: the server computes the refund and the return shipping (RefundService).
  refund: z.object({ reason: z.enum(REFUND_REASONS as [string, ...string[]]) }).strict(),
  fx: z.object({
    rates: z.array(z.object({ base: currency, quote: currency, rate: z.string().max(32), asOf: z.number().int().positive() }).strict()).min(1).max(500),
  }).strict(),
  rate: z.object({ scope: z.enum(['creator', 'product', 'deal']), scopeId: id, rateBps: z.number().int().min(0).max(10_000) }).strict(),
};

/** HTTP status for a BuyResult error code. */
const BUY_STATUS: Record<string, number> = {
  SOLD_OUT: 409, INSUFFICIENT_STOCK: 409, LIMIT_REACHED: 409, NOT_STARTED: 409, ENDED: 410, REGION_BLOCKED: 403,
  NOT_ON_SALE: 404, INVALID_QUANTITY: 400, INVALID_CURRENCY: 400, INVALID_ARGUMENT: 400, IDEMPOTENCY_CONFLICT: 409,
  FORBIDDEN: 403, ROOM_NOT_ALLOWED: 403, HOLD_EXPIRED: 410, ORDER_NOT_FOUND: 404, UNAVAILABLE: 503,
};

function buyJson(r: flashcast.IBuyResult): ApiResponse {
  const body = flashcast.BuyResult.toObject(flashcast.BuyResult.fromObject(r), { enums: String, longs: Number });
  return { status: r.code ? (BUY_STATUS[r.code] ?? 400) : 200, body };
}

function caller(req: ApiRequest): Principal {
  if (!req.principal) throw new UnauthorizedError();
  return req.principal;
}

function requireOps(p: Principal): void {
  if (p.role !== 'ops') throw new ForbiddenError();
}

/** Hosts and moderators of the room (or ops). */
function requireRoomStaff(p: Principal, roomId: string): void {
  if (p.role === 'ops') return;
  if ((p.role === 'host' || p.role === 'moderator') && p.rooms !== null && p.rooms.includes(roomId)) return;
  throw new ForbiddenError('only the room host, its moderators or ops may do this');
}

function parse<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  return schema.parse(body ?? {});
}

/** The commerce HTTP API (catalog, showcase, pins, deals, checkout, orders, refunds, FX, dashboard, ops). */
export class CommerceApi {
  readonly #svc: CommerceService;

  constructor(service: CommerceService) {
    this.#svc = service;
  }

  /** Adds every route to the router. Handlers answer errors as `{ code, message }` with the error's status. */
  register(router: HttpRouter): void {
    const s = this.#svc;
    const add = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, h: RouteHandler) => router.add(method, path, guard(h));

    add('POST', '/v1/shops', async (req) => {
      const p = caller(req);
      if (p.role !== 'host' && p.role !== 'ops') throw new ForbiddenError('only hosts and ops create shops');
      const b = parse(schemas.shop, req.body);
      Currency.assert(b.currency);
      return { status: 201, body: await s.catalog.createShop({ ...b, ownerUserId: p.userId }) };
    });
    add('GET', '/v1/shops/:shopId', async (req) => ({ status: 200, body: await s.catalog.getShop(req.params.shopId) }));
    add('POST', '/v1/shops/:shopId/products', async (req) => {
      const p = caller(req);
      const shop = await s.catalog.getShop(req.params.shopId);
      if (p.role !== 'ops' && shop.ownerUserId !== p.userId) throw new ForbiddenError('only the shop owner or ops');
      const b = parse(schemas.product, req.body);
      Currency.assert(b.price.currency);
      return { status: 201, body: await s.catalog.createProduct(shop.id, b) };
    });
    add('GET', '/v1/products/:productId', async (req) => ({ status: 200, body: await s.catalog.getProduct(req.params.productId) }));
    add('PUT', '/v1/products/:productId/stock', async (req) => {
      const p = caller(req);
      const product = await s.catalog.getProduct(req.params.productId);
      const shop = await s.catalog.getShop(product.shopId);
      if (p.role !== 'ops' && shop.ownerUserId !== p.userId) throw new ForbiddenError('only the shop owner or ops');
      await s.catalog.setStock(product.id, parse(schemas.stock, req.body).stock);
      return { status: 204 };
    });
    add('GET', '/v1/rooms/:roomId/showcase', async (req) => {
      caller(req);
      return { status: 200, body: { products: await s.catalog.showcase(req.params.roomId) } };
    });
    add('PUT', '/v1/rooms/:roomId/showcase', async (req) => {
      requireRoomStaff(caller(req), req.params.roomId);
      await s.catalog.setShowcase(req.params.roomId, parse(schemas.showcase, req.body).productIds);
      return { status: 204 };
    });
    add('POST', '/v1/rooms/:roomId/showcase', async (req) => {
      requireRoomStaff(caller(req), req.params.roomId);
      await s.catalog.addToShowcase(req.params.roomId, parse(schemas.showcaseAdd, req.body).productId);
      return { status: 204 };
    });
    add('POST', '/v1/rooms/:roomId/pin', async (req) => {
      const p = caller(req);
      requireRoomStaff(p, req.params.roomId);
      const b = parse(schemas.pin, req.body);
      const dealId = b.dealId ?? (await s.deals.currentDealId(req.params.roomId, b.productId));
      const deal = dealId ? await s.deals.get(dealId) : undefined;
      const offset = await s.catalog.pin(req.params.roomId, b.productId, p.userId, {
        locale: b.locale, deal: deal && deal.productId === b.productId ? { id: deal.id, price: deal.price } : undefined,
      });
      return { status: 200, body: { offset } };
    });
    add('DELETE', '/v1/rooms/:roomId/pin/:productId', async (req) => {
      requireRoomStaff(caller(req), req.params.roomId);
      return { status: 200, body: { offset: await s.catalog.unpin(req.params.roomId, req.params.productId) } };
    });
    add('POST', '/v1/rooms/:roomId/deals', async (req) => {
      const p = caller(req);
      requireRoomStaff(p, req.params.roomId);
      const b = parse(schemas.deal, req.body);
      Currency.assert(b.price.currency);
      return { status: 201, body: await s.deals.create(req.params.roomId, p.userId, b) };
    });
    add('GET', '/v1/deals/:dealId', async (req) => {
      const deal = await s.deals.get(req.params.dealId);
      const inventory = flashcast.InventoryUpdate.toObject(flashcast.InventoryUpdate.fromObject(await s.deals.inventory(deal)), { enums: String, longs: Number, defaults: true });
      return { status: 200, body: { ...deal, inventory } };
    });
    add('POST', '/v1/deals/:dealId/end', async (req) => {
      const deal = await s.deals.get(req.params.dealId);
      requireRoomStaff(caller(req), deal.roomId);
      await s.deals.end(deal.id);
      return { status: 204 };
    });
    add('POST', '/v1/checkout', async (req) => {
      const p = caller(req);
      const b = parse(schemas.checkout, req.body);
      return buyJson(await s.checkout.reserve(p, { ...b, quantity: b.quantity as number }));
    });
    add('POST', '/v1/deals/:dealId/orders/:orderId/confirm', async (req) => {
      const p = caller(req);
      const b = parse(schemas.confirm, req.body);
      return buyJson(await s.checkout.confirm(p, { ...b, method: b.method as 'card', dealId: req.params.dealId, orderId: req.params.orderId }));
    });
    add('GET', '/v1/orders/:orderId', async (req) => {
      const p = caller(req);
      const { rows } = await s.db.query<Record<string, unknown>>(
        `SELECT o.*, (SELECT json_agg(l ORDER BY l.line_no) FROM order_lines l WHERE l.order_id = o.id) AS lines,
                (SELECT json_agg(i ORDER BY i.seq) FROM instalments i WHERE i.order_id = o.id) AS instalments
         FROM orders o WHERE o.id = $1`, [req.params.orderId]);
      const o = rows[0];
      if (!o || (p.role !== 'ops' && o.buyer_id !== p.userId)) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'order');
      return { status: 200, body: o };
    });
    add('PUT', '/v1/me/payment-method', async (req) => {
      const p = caller(req);
      const b = parse(schemas.paymentMethod, req.body);
      await s.methods.save(p.userId, { type: b.type as 'card', token: b.token });
      return { status: 204 };
    });
    add('DELETE', '/v1/me/payment-method', async (req) => {
      await s.methods.remove(caller(req).userId);
      return { status: 204 };
    });
    add('PUT', '/v1/me/preferences', async (req) => {
      const p = caller(req);
      await s.methods.setHiddenInTicker(p.userId, parse(schemas.prefs, req.body).hideInTicker);
      return { status: 204 };
    });
    add('POST', '/v1/orders/:orderId/refunds', async (req) => {
      const p = caller(req);
      const b = parse(schemas.refund, req.body);
      const decision = await s.refunds.request(req.params.orderId, p.role === 'ops' ? null : p.userId, b.reason as 'unwanted');
      return { status: 201, body: decision };
    });
    add('POST', '/v1/orders/:orderId/returned', async (req) => {
      requireOps(caller(req));
      await s.refunds.markReturned(req.params.orderId);
      return { status: 204 };
    });
    add('GET', '/v1/fx', async () => ({ status: 200, body: { rates: s.fx.list() } }));
    add('PUT', '/v1/fx', async (req) => {
      requireOps(caller(req));
      const b = parse(schemas.fx, req.body);
      for (const r of b.rates) FxTable.validate(r);
      await FxTable.save(s.db, b.rates);
      await s.reloadFx();
      return { status: 204 };
    });
    add('PUT', '/v1/affiliates/:creatorId/rates', async (req) => {
      requireOps(caller(req));
      const b = parse(schemas.rate, req.body);
      await s.ledger.setRate(req.params.creatorId, b.scope, b.scopeId, b.rateBps);
      return { status: 204 };
    });
    add('GET', '/v1/affiliates/:creatorId/balance', async (req) => {
      const p = caller(req);
      if (p.role !== 'ops' && p.userId !== req.params.creatorId) throw new ForbiddenError();
      return { status: 200, body: { balances: await s.ledger.balance(req.params.creatorId) } };
    });
    add('GET', '/v1/rooms/:roomId/dashboard', async (req) => {
      requireRoomStaff(caller(req), req.params.roomId);
      const stats = await s.dashboard.snapshot(req.params.roomId);
      return { status: 200, body: flashcast.DashboardStats.toObject(flashcast.DashboardStats.fromObject(stats), { longs: Number, defaults: true }) };
    });
    add('GET', '/v1/ops/settlement/failed', async (req) => {
      requireOps(caller(req));
      const queue = (req.query.get('queue') ?? 'settle') as 'settle';
      return { status: 200, body: { jobs: await listFailedJobs(s.params.connection, `${s.params.keys.prefix}:bull`, queue) } };
    });
    add('POST', '/v1/ops/settlement/failed/:jobId/replay', async (req) => {
      requireOps(caller(req));
      const queue = (req.query.get('queue') ?? 'settle') as 'settle';
      await replayFailedJob(s.params.connection, `${s.params.keys.prefix}:bull`, req.params.jobId, queue);
      return { status: 202 };
    });
  }
}

/** Turns thrown errors into stable `{ code, message }` answers; never lets a handler crash the server. */
function guard(handler: RouteHandler): RouteHandler {
  return async (req) => {
    try {
      return await handler(req);
    } catch (error) {
      if (error instanceof ZodError) {
        return { status: 400, body: { code: ErrorCode.InvalidArgument, message: 'invalid input', issues: error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message })) } };
      }
      if (error instanceof FlashcastError) return { status: error.status, body: { code: error.code, message: error.message } };
      if (error instanceof TypeError) return { status: 400, body: { code: ErrorCode.InvalidArgument, message: error.message } };
      log.error({ err: error, path: req.path }, 'handler failed');
      return { status: 500, body: { code: ErrorCode.Internal, message: 'internal error' } };
    }
  };
}
