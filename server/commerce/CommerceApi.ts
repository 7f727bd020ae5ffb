import { OrderStore } from './OrderStore.js';
import { z } from 'zod';
import type { ApiRequest, ApiResponse, HttpRouter } from '../../common/http/HttpRouter.js';
import type { Principal } from '../../common/auth/TokenService.js';
import type { CommerceService } from './CommerceService.js';
import { flashcast } from '../../protocol/index.js';
import { FlashcastError, UnauthorizedError } from '../../common/errors.js';
import { ID_PATTERN } from '../../common/keys.js';
import { httpUrl, safeText } from '../../common/text.js';
import { Currency, MAX_MINOR_UNITS } from './Currency.js';
import { FxTable } from './FxTable.js';
import { REFUND_REASONS } from './RefundPolicy.js';
import { PAYMENT_METHOD_TYPES } from './PaymentProvider.js';
import { CommerceErrorCode, CommerceNotFoundError } from './errors.js';
import { PaymentAttempts } from './PaymentAttempts.js';
import { InvalidArgumentError, NotFoundError } from '../../common/errors.js';

const id = z.string().regex(ID_PATTERN, 'must be a valid id');
const region = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code');
const currency = z.string().max(8);
const amount = z.number().int().min(0).max(MAX_MINOR_UNITS);
const money = z.object({ amount, currency }).strict();
/** Payment tokens are opaque printable ASCII (never stored with controls). */
const paymentToken = z.string().regex(/^[\x21-\x7E]{1,128}$/, 'must be 1-128 printable ASCII characters');
const titles = z.record(z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/), safeText({ max: 200 }))
  .refine((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 30, 'between 1 and 30 titles');
const images = z.array(httpUrl(2048)).max(10);

const schemas = {
  shop: z.object({ id: id.optional(), name: safeText({ max: 120 }), currency, country: region }).strict(),
  product: z.object({
    id: id.optional(),
    titles,
    images: images.default([]),
    price: money,
    stock: z.number().int().min(0).max(10_000_000),
    minPrice: amount.nullable().optional(),
  }).strict(),
  productPatch: z.object({ titles: titles.optional(), images: images.optional(), price: money.optional(), minPrice: amount.nullable().optional() }).strict(),
  stock: z.object({ stock: z.number().int().min(0).max(10_000_000) }).strict(),
  /** A return-shipping rate: for a destination country, or '*' for the shop's default; in the shop currency. */
  returnRate: z.object({ region: z.union([region, z.literal('*')]), amount }).strict(),
  plan: z.object({
    productId: id, creatorId: id.nullable().optional(), commissionBps: z.number().int().min(0).max(10_000), minDealPrice: money,
  }).strict(),
  showcase: z.object({ productIds: z.array(id).max(100) }).strict(),
  showcaseAdd: z.object({ productId: id }).strict(),
  deal: z.object({
    productId: id,
    price: money,
    totalStock: z.number().int().min(1).max(1_000_000),
    perBuyerLimit: z.number().int().min(1).max(100),
    countdownSeconds: z.number().int().min(10).max(300),
    durationSeconds: z.number().int().min(60).max(1200),
    allowedRegions: z.array(region).max(250).optional(),
  }).strict(),
  checkout: z.object({
    roomId: id, productId: id, quantity: z.unknown(), idempotencyKey: z.string().max(64), dealId: id.optional(),
    displayCurrency: currency.optional(), buyerId: z.string().max(64).optional(),
  }).strict(),
  /** A confirmation: the method; a provider token when the buyer has one (else the provider's hosted step collects it). */
  confirm: z.object({
    method: z.enum(PAYMENT_METHOD_TYPES as [string, ...string[]]), token: paymentToken.optional(),
    instalments: z.union([z.literal(3), z.literal(6)]).optional(), save: z.boolean().optional(), displayCurrency: currency.optional(),
    returnUrl: httpUrl(2048).optional(),
  }).strict(),
  myOrders: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), before: id.optional() }).strict(),
  paymentMethod: z.object({ type: z.enum(PAYMENT_METHOD_TYPES as [string, ...string[]]), token: paymentToken }).strict(),
  prefs: z.object({ hideInTicker: z.boolean() }).strict(),
  // No amount: the server computes the refund and the return shipping (RefundService).
  refund: z.object({ reason: z.enum(REFUND_REASONS as [string, ...string[]]) }).strict(),
  fx: z.object({
    rates: z.array(z.object({ base: currency, quote: currency, rate: z.string().max(32), asOf: z.number().int().positive() }).strict()).min(1).max(500),
  }).strict(),
};

/** HTTP status for a BuyResult error code. */
const BUY_STATUS: Record<string, number> = {
  SOLD_OUT: 409, INSUFFICIENT_STOCK: 409, LIMIT_REACHED: 409, NOT_STARTED: 409, ENDED: 410, REGION_BLOCKED: 403,
  NOT_ON_SALE: 404, INVALID_QUANTITY: 400, INVALID_CURRENCY: 400, INVALID_ARGUMENT: 400, IDEMPOTENCY_CONFLICT: 409,
  FORBIDDEN: 403, ROOM_NOT_ALLOWED: 403, BANNED: 403, HOLD_EXPIRED: 410, ORDER_NOT_FOUND: 404, UNAVAILABLE: 503,
  PAYMENT_DECLINED: 402, PAYMENT_EXPIRED: 410, PAYMENT_IN_PROGRESS: 409, DEAL_ENDED: 410,
};

/** A BuyResult: 200 with it on success; otherwise the one error shape, the BuyResult in `details`. */
function buyJson(r: flashcast.IBuyResult): ApiResponse {
  const body = flashcast.BuyResult.toObject(flashcast.BuyResult.fromObject(r), { enums: String, longs: Number });
  if (!r.code) return { status: 200, body };
  throw new FlashcastError(r.code, r.message || r.code, BUY_STATUS[r.code] ?? 400, Number(r.retryAfterMs ?? 0), body);
}

/** The caller; the router's gate has already refused a missing token for non-public actions. */
function caller(req: ApiRequest): Principal {
  if (!req.principal) throw new UnauthorizedError();
  return req.principal;
}

function parse<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  return schema.parse(body ?? {});
}

/**
 * The commerce HTTP API (catalog, affiliate plans, showcase, deals, checkout, orders, refunds,
 * FX, dashboard; the settlement ops routes are SettlementApi's). Each route declares its policy
 * action; handlers load the facts the action needs (shop owner, plan, order's buyer, ban) and ask
 * `req.authorize(facts)`. Errors are written by the router's one adapter. The composition root
 * (GatewayNode) registers it.
 */
export class CommerceApi {
  readonly #svc: CommerceService;

  constructor(service: CommerceService) {
    this.#svc = service;
  }

  /** Adds every route to the router. */
  register(router: HttpRouter): void {
    const s = this.#svc;
    const shopOwner = async (shopId: string) => (await s.catalog.getShop(shopId)).ownerUserId;
    const productOwner = async (productId: string) => {
      const product = await s.catalog.getProduct(productId);
      return { product, ownerUserId: await shopOwner(product.shopId) };
    };
    const orderFacts = async (orderId: string) => {
      const facts = await OrderStore.facts(s.db, orderId);
      if (!facts) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'order');
      return facts;
    };
    /** The facts of showcase.write / deal.create for each product: owner and plan coverage for this creator. */
    const authorizeProducts = async (req: ApiRequest, productIds: string[]) => {
      const facts = await s.plans.productFacts(productIds, caller(req).userId);
      for (const f of facts.values()) req.authorize(f);
    };

    // --- shops and products (the shop's: seller of the shop or ops) ---
    router.add('POST', '/v1/shops', 'shop.create', async (req) => {
      const p = req.authorize();
      const b = parse(schemas.shop, req.body);
      Currency.assert(b.currency);
      return { status: 201, body: await s.catalog.createShop({ ...b, ownerUserId: p.userId }) };
    });
    router.add('GET', '/v1/shops/:shopId', 'shop.read', async (req) => ({ status: 200, body: await s.catalog.getShop(req.params.shopId) }));
    router.add('POST', '/v1/shops/:shopId/products', 'product.write', async (req) => {
      const shop = await s.catalog.getShop(req.params.shopId);
      req.authorize({ ownerUserId: shop.ownerUserId });
      const b = parse(schemas.product, req.body);
      Currency.assert(b.price.currency);
      return { status: 201, body: await s.catalog.createProduct(shop.id, b) };
    });
    router.add('GET', '/v1/products/:productId', 'product.read', async (req) => ({ status: 200, body: await s.catalog.getProduct(req.params.productId) }));
    router.add('PATCH', '/v1/products/:productId', 'product.write', async (req) => {
      const { product, ownerUserId } = await productOwner(req.params.productId);
      req.authorize({ ownerUserId });
      return { status: 200, body: await s.catalog.updateProduct(product.id, parse(schemas.productPatch, req.body)) };
    });
    router.add('PUT', '/v1/products/:productId/stock', 'product.write', async (req) => {
      const { product, ownerUserId } = await productOwner(req.params.productId);
      req.authorize({ ownerUserId });
      await s.catalog.setStock(product.id, parse(schemas.stock, req.body).stock);
      return { status: 204 };
    });

    // --- return-shipping rates: the shop's own table (refunds read it; buyers never send an amount) ---
    router.add('PUT', '/v1/shops/:shopId/return-shipping-rates', 'shop.write', async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      const b = parse(schemas.returnRate, req.body);
      return { status: 200, body: await s.shippingRates.set(req.params.shopId, b.region, b.amount) };
    });
    router.add('GET', '/v1/shops/:shopId/return-shipping-rates', 'shop.write', async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: { rates: await s.shippingRates.list(req.params.shopId) } };
    });

    // --- affiliate plans: the shop opens them; creators list theirs ---
    router.add('POST', '/v1/shops/:shopId/affiliate-plans', 'affiliate.plan.write', async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      const b = parse(schemas.plan, req.body);
      Currency.assert(b.minDealPrice.currency);
      return { status: 201, body: await s.plans.create(req.params.shopId, b) };
    });
    router.add('GET', '/v1/shops/:shopId/affiliate-plans', 'affiliate.plan.read', async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: { plans: await s.plans.list(req.params.shopId) } };
    });
    router.add('POST', '/v1/shops/:shopId/affiliate-plans/:planId/close', 'affiliate.plan.write', async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: await s.plans.close(req.params.shopId, req.params.planId) };
    });
    router.add('GET', '/v1/me/affiliate-plans', 'affiliate.plan.mine', async (req) => {
      const p = req.authorize();
      return { status: 200, body: { plans: await s.plans.forCreator(p.userId) } };
    });

    // --- a room's showcase and deals (its host; each product own or under a plan) ---
    router.add('GET', '/v1/rooms/:roomId/showcase', 'showcase.read', async (req) => {
      req.authorize();
      return { status: 200, body: { products: await s.catalog.showcase(req.params.roomId) } };
    });
    router.add('PUT', '/v1/rooms/:roomId/showcase', 'showcase.write', async (req) => {
      const { productIds } = parse(schemas.showcase, req.body);
      await authorizeProducts(req, productIds);
      await s.catalog.setShowcase(req.params.roomId, productIds);
      return { status: 204 };
    });
    router.add('POST', '/v1/rooms/:roomId/showcase', 'showcase.write', async (req) => {
      const { productId } = parse(schemas.showcaseAdd, req.body);
      await authorizeProducts(req, [productId]);
      await s.catalog.addToShowcase(req.params.roomId, productId);
      return { status: 204 };
    });
    router.add('POST', '/v1/rooms/:roomId/deals', 'deal.create', async (req) => {
      const b = parse(schemas.deal, req.body);
      await authorizeProducts(req, [b.productId]);
      Currency.assert(b.price.currency);
      return { status: 201, body: await s.deals.create(req.params.roomId, caller(req).userId, b) };
    });
    router.add('GET', '/v1/deals/:dealId', 'deal.read', async (req) => {
      const deal = await s.deals.get(req.params.dealId);
      const inventory = flashcast.InventoryUpdate.toObject(flashcast.InventoryUpdate.fromObject(await s.deals.inventory(deal)), { enums: String, longs: Number, defaults: true });
      return { status: 200, body: { ...deal, inventory } };
    });
    router.add('POST', '/v1/deals/:dealId/end', 'deal.end', async (req) => {
      const deal = await s.deals.get(req.params.dealId);
      req.authorize({ roomId: deal.roomId });
      await s.deals.end(deal.id);
      return { status: 204 };
    });

    // --- buying (not banned in the room) and orders ---
    router.add('POST', '/v1/checkout', 'checkout.buy', async (req) => {
      const b = parse(schemas.checkout, req.body);
      const p = req.authorize({ roomId: b.roomId, banned: await s.isBanned(b.roomId, caller(req).userId) });
      return buyJson(await s.checkout.reserve(p, { ...b, quantity: b.quantity as number }));
    });
    router.add('POST', '/v1/deals/:dealId/orders/:orderId/confirm', 'checkout.confirm', async (req) => {
      const p = req.authorize();
      const b = parse(schemas.confirm, req.body);
      return buyJson(await s.checkout.confirm(p, { ...b, method: b.method as 'card', dealId: req.params.dealId, orderId: req.params.orderId }));
    });
    // --- the asynchronous payment step: a provider's signed notifications (the signature is the authentication) ---
    router.add('POST', '/v1/payments/:provider/notifications', 'payment.notify', async (req) => {
      if (!s.steps) throw new NotFoundError('no payment provider takes notifications here');
      if (req.text === undefined) throw new InvalidArgumentError('the raw body is required');
      const outcome = await s.steps.receive(req.params.provider, { rawBody: req.text, headers: req.headers });
      if (outcome.ack !== undefined) return { status: 200, raw: outcome.ack, headers: { 'content-type': 'text/plain' } };
      // `duplicate`: every event in it had been applied before (a replay: answered, not applied again).
      return { status: 200, body: { received: true, events: outcome.events.length, duplicate: outcome.events.every((e) => e.duplicate) } };
    });
    router.add('GET', '/v1/me/orders', 'me.read', async (req) => {
      const p = req.authorize();
      const q = parse(schemas.myOrders, Object.fromEntries(req.query));
      const orders = await OrderStore.ofBuyer(s.db, p.userId, { limit: q.limit, before: q.before });
      const steps = s.steps ? await s.steps.attempts.forOrders(orders.map((o) => o.id)) : new Map();
      return {
        status: 200,
        body: { orders: orders.map((o) => ({ ...o, payment_step: steps.has(o.id) ? PaymentAttempts.view(steps.get(o.id)!) : null })) },
      };
    });
    router.add('GET', '/v1/orders/:orderId', 'order.read', async (req) => {
      req.authorize(await orderFacts(req.params.orderId));
      const order = await OrderStore.view(s.db, req.params.orderId);
      if (!order) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'order');
      return { status: 200, body: order };
    });
    router.add('PUT', '/v1/me/payment-method', 'me.write', async (req) => {
      const p = req.authorize();
      const b = parse(schemas.paymentMethod, req.body);
      await s.methods.save(p.userId, { type: b.type as 'card', token: b.token });
      return { status: 204 };
    });
    router.add('DELETE', '/v1/me/payment-method', 'me.write', async (req) => {
      await s.methods.remove(req.authorize().userId);
      return { status: 204 };
    });
    router.add('PUT', '/v1/me/preferences', 'me.write', async (req) => {
      const p = req.authorize();
      await s.methods.setHiddenInTicker(p.userId, parse(schemas.prefs, req.body).hideInTicker);
      return { status: 204 };
    });
    router.add('POST', '/v1/orders/:orderId/refunds', 'order.refund', async (req) => {
      const p = req.authorize(await orderFacts(req.params.orderId));
      const b = parse(schemas.refund, req.body);
      const decision = await s.refunds.request(req.params.orderId, p.role === 'ops' ? null : p.userId, b.reason as 'unwanted');
      return { status: 201, body: decision };
    });
    router.add('POST', '/v1/orders/:orderId/returned', 'order.returned', async (req) => {
      req.authorize(await orderFacts(req.params.orderId));
      await s.refunds.markReturned(req.params.orderId);
      return { status: 204 };
    });

    // --- FX, affiliate balances, the host dashboard ---
    router.add('GET', '/v1/fx', 'fx.read', async () => ({ status: 200, body: { rates: s.fx.list() } }));
    router.add('PUT', '/v1/fx', 'fx.write', async (req) => {
      req.authorize();
      const b = parse(schemas.fx, req.body);
      for (const r of b.rates) FxTable.validate(r);
      await FxTable.save(s.db, b.rates);
      await s.reloadFx();
      return { status: 204 };
    });
    router.add('GET', '/v1/affiliates/:creatorId/balance', 'affiliate.balance.read', async (req) => {
      req.authorize({ ownerUserId: req.params.creatorId });
      return { status: 200, body: { balances: await s.ledger.balance(req.params.creatorId) } };
    });
    router.add('GET', '/v1/rooms/:roomId/dashboard', 'room.dashboard', async (req) => {
      req.authorize();
      const stats = await s.dashboard.snapshot(req.params.roomId);
      return { status: 200, body: flashcast.DashboardStats.toObject(flashcast.DashboardStats.fromObject(stats), { longs: Number, defaults: true }) };
    });
  }
}
