/**
 * The commerce API's answers as declared schemas: what each route of CommerceApi returns,
 * named for the OpenAPI document (`components.schemas`). Each one is checked against the
 * TypeScript type the code returns (`Same<…>` below), so a field added to `OrderView`, `Shop`,
 * `Product`, `Deal`... without its schema is a compile error, and the contract test
 * (test/http-api.test.ts) validates real answers against the published document.
 */
import { z } from 'zod';
import { apiSchema } from '../../common/http/apiSchema.js';
import { flashcast } from '../../protocol/index.js';
import type { AffiliatePlan } from './AffiliatePlans.js';
import type { Product, Shop } from './Catalog.js';
import type { FxRate } from './FxTable.js';
import type { Deal, RoomDeal } from './FlashDeals.js';
import type { OrderView } from './OrderStore.js';
import type { ReturnShippingRate } from './ReturnShippingRates.js';
import type { StoredRefund } from './RefundService.js';

/** True when A and B are the same type (both ways assignable). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Names of a protobuf enum, as its JSON carries them. */
const enumNames = (e: Record<string, number | string>) => Object.keys(e).filter((k) => Number.isNaN(Number(k))) as [string, ...string[]];

const int = z.number().int();
const ms = int.describe('Unix time, milliseconds');

export const MoneySchema = apiSchema('Money', z.object({
  amount: int.describe('Integer amount in the currency\'s minor unit (cents, yen, fils)'),
  currency: z.string().describe('ISO 4217 code'),
}).strict());

export const ShopSchema = apiSchema('Shop', z.object({
  id: z.string(),
  ownerUserId: z.string(),
  name: z.string(),
  currency: z.string().describe('The shop\'s settlement currency (ISO 4217)'),
  country: z.string().describe('ISO 3166-1 alpha-2 country the shop ships from'),
}).strict());

export const ProductSchema = apiSchema('Product', z.object({
  id: z.string(),
  shopId: z.string(),
  titles: z.record(z.string()).describe('Locale → title, e.g. {"en": "Red scarf"}'),
  images: z.array(z.string()),
  price: MoneySchema,
  stock: int,
  minPrice: int.nullable().describe('The lowest deal price the shop allows (minor units); null: no floor'),
}).strict());

export const ReturnShippingRateSchema = apiSchema('ReturnShippingRate', z.object({
  shopId: z.string(),
  region: z.string().describe('ISO 3166-1 alpha-2 destination, or * for the shop\'s default'),
  amount: int,
  currency: z.string(),
}).strict());

export const AffiliatePlanSchema = apiSchema('AffiliatePlan', z.object({
  id: z.string(),
  shopId: z.string(),
  productId: z.string(),
  creatorId: z.string().nullable().describe('The one creator it is for; null: any creator'),
  commissionBps: int.describe('Commission in basis points of the sale'),
  minDealPrice: MoneySchema,
  status: z.enum(['open', 'closed']),
  createdAt: ms,
}).strict());

export const DealSchema = apiSchema('Deal', z.object({
  id: z.string(),
  roomId: z.string(),
  productId: z.string(),
  shopId: z.string(),
  price: MoneySchema,
  totalStock: int,
  perBuyerLimit: int,
  countdownSeconds: int,
  durationSeconds: int,
  startsAt: ms,
  endsAt: ms,
  allowedRegions: z.array(z.string()),
  blockedRegions: z.array(z.string()),
  commissionBps: int.nullable(),
  planId: z.string().nullable(),
  creatorId: z.string(),
  kind: z.enum(['flash', 'regular']).describe('flash: a deal with a countdown and an end; regular: the product\'s regular-price listing'),
  status: z.enum(['active', 'ended', 'closed']),
  buckets: int.describe('Redis buckets (hash slots) the stock is split over: 1, or more for a product hotter than one Redis core'),
}).strict());

/** The protobuf InventoryUpdate in its JSON form (every field present). */
export const InventorySchema = apiSchema('Inventory', z.object({
  productId: z.string(),
  dealId: z.string(),
  available: int,
  total: int,
  phase: z.enum(enumNames(flashcast.DealPhase)),
  phaseEndsAt: ms.describe('When the phase changes next (server clock, ms); 0: not scheduled'),
  version: int.describe('Grows with every change of the deal\'s stock'),
}).strict());

export const DealWithInventorySchema = apiSchema('DealWithInventory', DealSchema.extend({ inventory: InventorySchema }).strict());

/** A room's flash deal as the studio lists it (`GET /v1/rooms/{room}/deals`). */
export const RoomDealSchema = apiSchema('RoomDeal', DealSchema.extend({
  phase: z.enum(['scheduled', 'countdown', 'active', 'ended'])
    .describe('scheduled: starts later than its countdown; countdown: counting down to startsAt; active: on sale from startsAt to endsAt (sold out included: available 0); ended: ended by its host or its time'),
  soldUnits: int.describe('Units of paid or paying orders (PostgreSQL)'),
  available: int.nullable().describe('Units on sale now; null once ended'),
}).strict());

/** A page of a shop's catalog (`GET /v1/shops/{shop}/products`). */
export const ProductPageSchema = apiSchema('ProductPage', z.object({
  products: z.array(ProductSchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
}).strict());

/** The protobuf NextStep in its JSON form (fields at their default are left out). */
export const NextStepSchema = apiSchema('NextStep', z.object({
  action: z.string().optional().describe('Stable action name, e.g. confirm_payment'),
  method: z.string().optional(),
  path: z.string().optional(),
  message: z.string().optional(),
  methods: z.array(z.string()).optional(),
  instalments: z.array(int).optional(),
  expiresAt: ms.optional(),
  code: z.string().optional().describe('What the shopper does next, a localisable code: CONFIRM_PAYMENT, COMPLETE_PAYMENT, APPROVE_PAYMENT'),
  orderId: z.string().optional(),
  dealId: z.string().optional(),
  instalmentOptions: z.array(z.object({
    count: int.optional(),
    instalments: z.array(z.object({}).passthrough()).optional(),
  }).passthrough()).optional().describe('Each BNPL plan with every instalment\'s amount and due date'),
  url: z.string().optional().describe('The provider\'s hosted step or approval (COMPLETE_PAYMENT, APPROVE_PAYMENT)'),
  provider: z.string().optional(),
}).strict());

/** The protobuf BuyResult in its JSON form (fields at their default are left out). */
export const BuyResultSchema = apiSchema('BuyResult', z.object({
  code: z.string().optional().describe('Empty on success; else a stable code (the error body carries this BuyResult in details)'),
  message: z.string().optional(),
  status: z.enum(enumNames(flashcast.CheckoutStatus)).optional(),
  orderId: z.string().optional(),
  holdExpiresAt: ms.optional(),
  dealId: z.string().optional(),
  productId: z.string().optional(),
  quantity: int.optional(),
  unitPrice: MoneySchema.optional(),
  total: MoneySchema.optional(),
  displayTotal: MoneySchema.optional(),
  fxAsOf: ms.optional(),
  nextStep: NextStepSchema.optional(),
  available: int.optional(),
  retryAfterMs: int.optional(),
  itemsTotal: MoneySchema.optional().describe('The items, before shipping'),
  shipping: MoneySchema.optional().describe('Shipping to the destination (0 when free)'),
  addressId: z.string().optional().describe('The address the order ships to'),
  shipToCountry: z.string().optional(),
  shippingCode: z.string().optional().describe('Why shipping is not settled yet, e.g. ADDRESS_REQUIRED'),
}).strict());

/** An address as stored, and the copy an order keeps. */
export const AddressSchema = apiSchema('Address', z.object({
  id: z.string(), name: z.string(), phone: z.string(), line1: z.string(), line2: z.string().nullable(), district: z.string().nullable(),
  city: z.string().nullable(), state: z.string().nullable(), postalCode: z.string().nullable(), country: z.string(),
}).strict());

export const OrderViewSchema = apiSchema('Order', z.object({
  id: z.string(),
  deal_id: z.string(),
  room_id: z.string(),
  buyer_id: z.string(),
  shop_id: z.string(),
  idempotency_key: z.string(),
  status: z.string().describe('pending, paid, declined, expired, failed or refunded'),
  fail_code: z.string().nullable(),
  total_amount: int,
  currency: z.string(),
  display_amount: int.nullable(),
  display_currency: z.string().nullable(),
  fx_rate: z.string().nullable(),
  fx_as_of: z.string().nullable().describe('ISO 8601'),
  payment_method: z.string().nullable(),
  instalment_count: int.nullable(),
  created_at: z.string().describe('ISO 8601'),
  paid_at: z.string().nullable(),
  shipping_amount: int.describe('Included in total_amount'),
  shipping_address: AddressSchema.nullable(),
  lines: z.array(z.object({ line_no: int, product_id: z.string(), quantity: int, unit_amount: int, currency: z.string() }).strict()),
  instalments: z.array(z.object({ seq: int, amount: int, currency: z.string(), due_at: z.string(), status: z.string() }).strict()),
}).strict());

export const RefundSchema = apiSchema('Refund', z.object({
  returnRequired: z.boolean(),
  itemRefund: int,
  shippingReimbursed: int,
  total: int,
  currency: z.string(),
  rule: z.enum(['low_value_keep', 'fit_or_unwanted_full_shipping', 'quality_capped_shipping']),
  capped: z.boolean(),
  status: z.string().describe('accepted, awaiting_return, refunded, ...'),
}).strict());

export const FxRateSchema = apiSchema('FxRate', z.object({
  base: z.string(),
  quote: z.string(),
  rate: z.string().describe('Decimal string, e.g. "151.2345"'),
  asOf: ms,
}).strict());

export const BalanceSchema = apiSchema('Balance', z.object({ currency: z.string(), pending: int, credited: int }).strict());

const ProductStatsSchema = z.object({
  productId: z.string(), dealId: z.string(), gmv: MoneySchema.nullable(), orders: int, units: int, buyers: int, available: int,
}).strict();

/** The protobuf DashboardStats in its JSON form (every field present). */
export const DashboardStatsSchema = apiSchema('DashboardStats', z.object({
  room: z.string(),
  gmv: z.array(MoneySchema),
  orders: int,
  units: int,
  buyers: int,
  viewers: int,
  conversion: z.number(),
  products: z.array(ProductStatsSchema),
  ts: ms,
}).strict());

// Compile-time: each schema is exactly the type the code returns.
const checks: [
  Same<z.infer<typeof ShopSchema>, Shop>,
  Same<z.infer<typeof ProductSchema>, Product>,
  Same<z.infer<typeof ReturnShippingRateSchema>, ReturnShippingRate>,
  Same<z.infer<typeof AffiliatePlanSchema>, AffiliatePlan>,
  Same<z.infer<typeof DealSchema>, Deal>,
  Same<z.infer<typeof RoomDealSchema>, RoomDeal>,
  Same<z.infer<typeof OrderViewSchema>, OrderView>,
  Same<z.infer<typeof RefundSchema>, StoredRefund>,
  Same<z.infer<typeof FxRateSchema>, FxRate>,
] = [true, true, true, true, true, true, true, true, true];
void checks;
