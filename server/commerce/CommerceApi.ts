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
import { ShippingApi } from './ShippingApi.js';
import {
  AffiliatePlanSchema,
  BalanceSchema,
  BuyResultSchema,
  DashboardStatsSchema,
  DealSchema,
  DealWithInventorySchema,
  FxRateSchema,
  OrderViewSchema,
  ProductPageSchema,
  ProductSchema,
  RefundSchema,
  ReturnShippingRateSchema,
  RoomDealSchema,
  ShopSchema,
} from './apiSchemas.js';
import { PaymentAttempts } from './PaymentAttempts.js';
import { InvalidArgumentError, NotFoundError } from '../../common/errors.js';
import { DealBuckets } from './DealBuckets.js';

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
    buckets: z.number().int().min(1).max(DealBuckets.MAX).optional()
      .describe('Split the stock over this many Redis buckets (hash slots), for a product hotter than one Redis core (default 1)'),
  }).strict(),
  checkout: z.object({
    roomId: id, productId: id,
    quantity: z.unknown().describe('Units to buy: an integer from 1 (else the BuyResult code INVALID_QUANTITY)'),
    idempotencyKey: z.string().max(64).describe('The tap\'s key: the same key is the same order (also on the socket)'), dealId: id.optional(),
    displayCurrency: currency.optional(), buyerId: z.string().max(64).optional(),
    addressId: id.optional().describe('The buyer\'s address to ship to (default: the default address)'),
  }).strict(),
  /** A confirmation: the method; a provider token when the buyer has one (else the provider's hosted step collects it). */
  confirm: z.object({
    method: z.enum(PAYMENT_METHOD_TYPES as [string, ...string[]]), token: paymentToken.optional(),
    instalments: z.union([z.literal(3), z.literal(6)]).optional(), save: z.boolean().optional(), displayCurrency: currency.optional(),
    addressId: id.optional(),
    returnUrl: httpUrl(2048).optional(),
  }).strict(),
  myOrders: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), before: id.optional() }).strict(),
  productPage: z.object({
    limit: z.coerce.number().int().min(1).max(200).default(50).describe('Products per page (default 50)'),
    cursor: id.optional().describe('The previous page\'s nextCursor'),
  }).strict(),
  roomDeals: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50).describe('Newest first (default 50)') }).strict(),
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
  ADDRESS_NOT_FOUND: 404, ADDRESS_REQUIRED: 409, SHIPPING_UNAVAILABLE: 422,
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

/**
 * The commerce HTTP API (catalog, affiliate plans, showcase, deals, checkout, orders, refunds,
 * FX, dashboard; the settlement ops routes are SettlementApi's). Each route declares its policy
 * action, its body schema (`schemas` above: the router validates it) and its answers
 * (apiSchemas.ts), which make the OpenAPI document; POSTs that create things take
 * `Idempotency-Key`. Handlers load the facts the action needs (shop owner, plan, order's buyer,
 * ban) and ask `req.authorize(facts)`. Errors are written by the router's one adapter. The
 * composition root (GatewayNode) registers it.
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
    router.add('POST', '/v1/shops', 'shop.create', {
      summary: 'Open a shop (the caller owns it)', tag: 'catalog', body: schemas.shop, responses: { 201: ShopSchema }, idempotent: true,
      errors: { 409: 'ALREADY_EXISTS: a shop with this id exists' },
    }, async (req) => {
      const p = req.authorize();
      Currency.assert(req.body.currency);
      return { status: 201, body: await s.catalog.createShop({ ...req.body, ownerUserId: p.userId }) };
    });
    router.add('GET', '/v1/shops/:shopId', 'shop.read', { summary: 'A shop', tag: 'catalog', responses: { 200: ShopSchema } },
      async (req) => ({ status: 200, body: await s.catalog.getShop(req.params.shopId) }));
    router.add('POST', '/v1/shops/:shopId/products', 'product.write', {
      summary: 'Add a product to the shop', tag: 'catalog', body: schemas.product, responses: { 201: ProductSchema }, idempotent: true,
      errors: { 409: 'ALREADY_EXISTS: a product with this id exists' },
    }, async (req) => {
      const shop = await s.catalog.getShop(req.params.shopId);
      req.authorize({ ownerUserId: shop.ownerUserId });
      Currency.assert(req.body.price.currency);
      return { status: 201, body: await s.catalog.createProduct(shop.id, req.body) };
    });
    router.add('GET', '/v1/me/shops', 'shop.mine', {
      summary: 'The shops the caller owns', tag: 'catalog', responses: { 200: z.object({ shops: z.array(ShopSchema) }).strict() },
    }, async (req) => {
      const p = req.authorize();
      return { status: 200, body: { shops: await s.catalog.shopsOf(p.userId) } };
    });
    router.add('GET', '/v1/shops/:shopId/products', 'product.list', {
      summary: 'The shop\'s catalog, newest first, a page at a time (price, stock, images)', tag: 'catalog', query: schemas.productPage,
      responses: { 200: ProductPageSchema }, errors: { 404: 'SHOP_NOT_FOUND' },
    }, async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      const page = await s.catalog.productsOf(req.params.shopId, { limit: req.queryValues.limit, after: req.queryValues.cursor });
      return { status: 200, body: { products: page.products, nextCursor: page.next } };
    });
    router.add('GET', '/v1/products/:productId', 'product.read', { summary: 'A product', tag: 'catalog', responses: { 200: ProductSchema } },
      async (req) => ({ status: 200, body: await s.catalog.getProduct(req.params.productId) }));
    router.add('PATCH', '/v1/products/:productId', 'product.write', {
      summary: 'Change a product\'s titles, images, price or deal-price floor', tag: 'catalog', body: schemas.productPatch, responses: { 200: ProductSchema },
    }, async (req) => {
      const { product, ownerUserId } = await productOwner(req.params.productId);
      req.authorize({ ownerUserId });
      return { status: 200, body: await s.catalog.updateProduct(product.id, req.body) };
    });
    router.add('PUT', '/v1/products/:productId/stock', 'product.write', {
      summary: 'Set a product\'s stock', tag: 'catalog', body: schemas.stock, responses: { 204: null },
    }, async (req) => {
      const { product, ownerUserId } = await productOwner(req.params.productId);
      req.authorize({ ownerUserId });
      await s.catalog.setStock(product.id, req.body.stock);
      return { status: 204 };
    });

    // --- return-shipping rates: the shop's own table (refunds read it; buyers never send an amount) ---
    router.add('PUT', '/v1/shops/:shopId/return-shipping-rates', 'shop.write', {
      summary: 'Set the return-shipping rate for a destination (or * for the default)', tag: 'after the sale', body: schemas.returnRate,
      responses: { 200: ReturnShippingRateSchema },
    }, async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: await s.shippingRates.set(req.params.shopId, req.body.region, req.body.amount) };
    });
    router.add('GET', '/v1/shops/:shopId/return-shipping-rates', 'shop.write', {
      summary: 'The shop\'s return-shipping rates', tag: 'after the sale', responses: { 200: z.object({ rates: z.array(ReturnShippingRateSchema) }).strict() },
    }, async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: { rates: await s.shippingRates.list(req.params.shopId) } };
    });

    // --- affiliate plans: the shop opens them; creators list theirs ---
    router.add('POST', '/v1/shops/:shopId/affiliate-plans', 'affiliate.plan.write', {
      summary: 'Open an affiliate plan: creators may sell the product at this commission and price floor', tag: 'affiliate plans',
      body: schemas.plan, responses: { 201: AffiliatePlanSchema }, idempotent: true,
    }, async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      Currency.assert(req.body.minDealPrice.currency);
      return { status: 201, body: await s.plans.create(req.params.shopId, req.body) };
    });
    router.add('GET', '/v1/shops/:shopId/affiliate-plans', 'affiliate.plan.read', {
      summary: 'The shop\'s affiliate plans', tag: 'affiliate plans', responses: { 200: z.object({ plans: z.array(AffiliatePlanSchema) }).strict() },
    }, async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: { plans: await s.plans.list(req.params.shopId) } };
    });
    router.add('POST', '/v1/shops/:shopId/affiliate-plans/:planId/close', 'affiliate.plan.write', {
      summary: 'Close an affiliate plan (idempotent; deals made under it keep their terms)', tag: 'affiliate plans', responses: { 200: AffiliatePlanSchema },
    }, async (req) => {
      req.authorize({ ownerUserId: await shopOwner(req.params.shopId) });
      return { status: 200, body: await s.plans.close(req.params.shopId, req.params.planId) };
    });
    router.add('GET', '/v1/me/affiliate-plans', 'affiliate.plan.mine', {
      summary: 'The open plans the calling creator may sell under', tag: 'affiliate plans', responses: { 200: z.object({ plans: z.array(AffiliatePlanSchema) }).strict() },
    }, async (req) => {
      const p = req.authorize();
      return { status: 200, body: { plans: await s.plans.forCreator(p.userId) } };
    });

    // --- a room's showcase and deals (its host; each product own or under a plan) ---
    router.add('GET', '/v1/rooms/:roomId/showcase', 'showcase.read', {
      summary: 'The products shown in a room', tag: 'catalog', responses: { 200: z.object({ products: z.array(ProductSchema) }).strict() },
    }, async (req) => {
      req.authorize();
      return { status: 200, body: { products: await s.catalog.showcase(req.params.roomId) } };
    });
    router.add('PUT', '/v1/rooms/:roomId/showcase', 'showcase.write', {
      summary: 'Replace a room\'s showcase', tag: 'catalog', body: schemas.showcase, responses: { 204: null },
    }, async (req) => {
      await authorizeProducts(req, req.body.productIds);
      await s.catalog.setShowcase(req.params.roomId, req.body.productIds);
      return { status: 204 };
    });
    router.add('POST', '/v1/rooms/:roomId/showcase', 'showcase.write', {
      summary: 'Add a product to a room\'s showcase', tag: 'catalog', body: schemas.showcaseAdd, responses: { 204: null },
      errors: { 409: 'SHOWCASE_FULL' },
    }, async (req) => {
      await authorizeProducts(req, [req.body.productId]);
      await s.catalog.addToShowcase(req.params.roomId, req.body.productId);
      return { status: 204 };
    });
    router.add('POST', '/v1/rooms/:roomId/deals', 'deal.create', {
      summary: 'Start a flash deal on a showcased product (countdown, then live for the duration)', tag: 'deals', body: schemas.deal,
      responses: { 201: DealSchema }, idempotent: true,
      errors: { 409: 'DEAL_CONFLICT (a deal runs on the product), PRICE_BELOW_FLOOR, NOT_IN_SHOWCASE, INSUFFICIENT_STOCK' },
    }, async (req) => {
      await authorizeProducts(req, [req.body.productId]);
      Currency.assert(req.body.price.currency);
      return { status: 201, body: await s.deals.create(req.params.roomId, caller(req).userId, req.body) };
    });
    router.add('GET', '/v1/rooms/:roomId/deals', 'deal.list', {
      summary: 'The room\'s flash deals, newest first, with their phase, sales and stock (its host, moderators and ops)', tag: 'deals',
      query: schemas.roomDeals, responses: { 200: z.object({ deals: z.array(RoomDealSchema) }).strict() },
    }, async (req) => {
      req.authorize();
      return { status: 200, body: { deals: await s.deals.ofRoom(req.params.roomId, req.queryValues.limit) } };
    });
    router.add('GET', '/v1/deals/:dealId', 'deal.read', {
      summary: 'A deal and its current stock', tag: 'deals', responses: { 200: DealWithInventorySchema },
    }, async (req) => {
      const deal = await s.deals.get(req.params.dealId);
      const inventory = flashcast.InventoryUpdate.toObject(flashcast.InventoryUpdate.fromObject(await s.deals.inventory(deal)), { enums: String, longs: Number, defaults: true });
      return { status: 200, body: { ...deal, inventory } };
    });
    router.add('POST', '/v1/deals/:dealId/end', 'deal.end', { summary: 'End a deal now', tag: 'deals', responses: { 204: null } }, async (req) => {
      const deal = await s.deals.get(req.params.dealId);
      req.authorize({ roomId: deal.roomId });
      await s.deals.end(deal.id);
      return { status: 204 };
    });

    // --- buying (not banned in the room) and orders ---
    router.add('POST', '/v1/checkout', 'checkout.buy', {
      summary: 'Buy: hold units of the deal running on the product (one tap)', tag: 'checkout', body: schemas.checkout,
      description: 'With a saved payment method the order settles (status CHECKOUT_SETTLING); otherwise the units are held (CHECKOUT_RESERVED) and `nextStep` says how to confirm. A refusal is the error shape with the BuyResult in `details`.',
      responses: { 200: BuyResultSchema }, idempotent: true,
      errors: {
        404: 'NOT_ON_SALE, NOT_FOUND', 409: 'SOLD_OUT, INSUFFICIENT_STOCK, LIMIT_REACHED, NOT_STARTED, IDEMPOTENCY_CONFLICT', 410: 'ENDED, HOLD_EXPIRED',
        503: 'UNAVAILABLE, PAYMENT_UNAVAILABLE (nothing was held; retry after `retry-after`)',
      },
    }, async (req) => {
      const b = req.body;
      const p = req.authorize({ roomId: b.roomId, banned: await s.isBanned(b.roomId, caller(req).userId) });
      return buyJson(await s.checkout.reserve(p, { ...b, quantity: b.quantity as number }));
    });
    router.add('POST', '/v1/deals/:dealId/orders/:orderId/confirm', 'checkout.confirm', {
      summary: 'Confirm a held order with a payment method (a first-time buyer\'s next step)', tag: 'checkout', body: schemas.confirm,
      responses: { 200: BuyResultSchema }, idempotent: true,
      errors: { 402: 'PAYMENT_DECLINED', 404: 'ORDER_NOT_FOUND', 410: 'HOLD_EXPIRED' },
    }, async (req) => {
      const p = req.authorize();
      const b = req.body;
      return buyJson(await s.checkout.confirm(p, { ...b, method: b.method as 'card', dealId: req.params.dealId, orderId: req.params.orderId }));
    });
    // --- the asynchronous payment step: a provider's signed notifications (the signature is the authentication) ---
    router.add('POST', '/v1/payments/:provider/notifications', 'payment.notify', {
      summary: 'A payment provider\'s signed notification (HMAC-SHA256 over "<timestamp>.<raw body>"; processed once)', tag: 'payments',
      responses: { 200: z.object({ received: z.boolean(), events: z.number().int(), duplicate: z.boolean() }).strict() },
      errors: { 400: 'PAYMENT_NOTIFICATION_INVALID: the signature, timestamp or body does not verify', 404: 'PAYMENT_NOT_FOUND: a payment this server did not create (retry later)' },
    }, async (req) => {
      if (!s.steps) throw new NotFoundError('no payment provider takes notifications here');
      if (req.text === undefined) throw new InvalidArgumentError('the raw body is required');
      const outcome = await s.steps.receive(req.params.provider, { rawBody: req.text, headers: req.headers });
      if (outcome.ack !== undefined) return { status: 200, raw: outcome.ack, headers: { 'content-type': 'text/plain' } };
      // `duplicate`: every event in it had been applied before (a replay: answered, not applied again).
      return { status: 200, body: { received: true, events: outcome.events.length, duplicate: outcome.events.every((e) => e.duplicate) } };
    });
    router.add('GET', '/v1/me/orders', 'me.read', {
      summary: 'The buyer\'s orders, newest first, each with its payment step', tag: 'checkout', query: schemas.myOrders,
      responses: { 200: z.object({ orders: z.array(OrderViewSchema.and(z.object({ payment_step: z.unknown() }))) }) },
    }, async (req) => {
      const p = req.authorize();
      const q = req.queryValues;
      const orders = await OrderStore.ofBuyer(s.db, p.userId, { limit: q.limit, before: q.before });
      const steps = s.steps ? await s.steps.attempts.forOrders(orders.map((o) => o.id)) : new Map();
      return {
        status: 200,
        body: { orders: orders.map((o) => ({ ...o, payment_step: steps.has(o.id) ? PaymentAttempts.view(steps.get(o.id)!) : null })) },
      };
    });
    router.add('GET', '/v1/orders/:orderId', 'order.read', { summary: 'An order', tag: 'checkout', responses: { 200: OrderViewSchema } }, async (req) => {
      req.authorize(await orderFacts(req.params.orderId));
      const order = await OrderStore.view(s.db, req.params.orderId);
      if (!order) throw new CommerceNotFoundError(CommerceErrorCode.OrderNotFound, 'order');
      return { status: 200, body: order };
    });
    router.add('PUT', '/v1/me/payment-method', 'me.write', {
      summary: 'Save the caller\'s payment method (one-tap buying)', tag: 'checkout', body: schemas.paymentMethod, responses: { 204: null },
    }, async (req) => {
      const p = req.authorize();
      await s.methods.save(p.userId, { type: req.body.type as 'card', token: req.body.token });
      return { status: 204 };
    });
    router.add('DELETE', '/v1/me/payment-method', 'me.write', { summary: 'Forget the caller\'s payment method', tag: 'checkout', responses: { 204: null } }, async (req) => {
      await s.methods.remove(req.authorize().userId);
      return { status: 204 };
    });
    router.add('PUT', '/v1/me/preferences', 'me.write', {
      summary: 'The caller\'s preferences (hide my name in the "just bought" ticker)', tag: 'checkout', body: schemas.prefs, responses: { 204: null },
    }, async (req) => {
      const p = req.authorize();
      await s.methods.setHiddenInTicker(p.userId, req.body.hideInTicker);
      return { status: 204 };
    });
    router.add('POST', '/v1/orders/:orderId/refunds', 'order.refund', {
      summary: 'Ask for a refund of a paid order (the server computes the amounts)', tag: 'after the sale', body: schemas.refund,
      responses: { 201: RefundSchema }, idempotent: true,
      errors: { 409: 'ORDER_STATE (not paid), NOTHING_TO_REFUND' },
    }, async (req) => {
      const p = req.authorize(await orderFacts(req.params.orderId));
      const decision = await s.refunds.request(req.params.orderId, p.role === 'ops' ? null : p.userId, req.body.reason as 'unwanted');
      return { status: 201, body: decision };
    });
    router.add('POST', '/v1/orders/:orderId/returned', 'order.returned', {
      summary: 'The shop received the returned item: the refund is paid', tag: 'after the sale', responses: { 204: null },
    }, async (req) => {
      req.authorize(await orderFacts(req.params.orderId));
      await s.refunds.markReturned(req.params.orderId);
      return { status: 204 };
    });

    // --- FX, affiliate balances, the host dashboard ---
    router.add('GET', '/v1/fx', 'fx.read', {
      summary: 'The FX rates display prices are computed from', tag: 'after the sale', responses: { 200: z.object({ rates: z.array(FxRateSchema) }).strict() },
    }, async () => ({ status: 200, body: { rates: s.fx.list() } }));
    router.add('PUT', '/v1/fx', 'fx.write', { summary: 'Load FX rates', tag: 'after the sale', body: schemas.fx, responses: { 204: null } }, async (req) => {
      req.authorize();
      for (const r of req.body.rates) FxTable.validate(r);
      await FxTable.save(s.db, req.body.rates);
      await s.reloadFx();
      return { status: 204 };
    });
    router.add('GET', '/v1/affiliates/:creatorId/balance', 'affiliate.balance.read', {
      summary: 'A creator\'s commission balances per currency', tag: 'affiliate plans', responses: { 200: z.object({ balances: z.array(BalanceSchema) }).strict() },
    }, async (req) => {
      req.authorize({ ownerUserId: req.params.creatorId });
      return { status: 200, body: { balances: await s.ledger.balance(req.params.creatorId) } };
    });
    // --- shipping: the buyers' address books, the shops' shipping rates ---
    new ShippingApi(s).register(router);

    router.add('GET', '/v1/rooms/:roomId/dashboard', 'room.dashboard', {
      summary: 'The host\'s live dashboard: GMV, orders, buyers, conversion', tag: 'rooms', responses: { 200: DashboardStatsSchema },
    }, async (req) => {
      req.authorize();
      const stats = await s.dashboard.snapshot(req.params.roomId);
      return { status: 200, body: flashcast.DashboardStats.toObject(flashcast.DashboardStats.fromObject(stats), { longs: Number, defaults: true }) };
    });
  }
}
