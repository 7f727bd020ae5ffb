/**
 * The events a shop's webhook endpoints can subscribe to, and the shape of what they receive
 * (docs/webhooks.md). These are declared shapes: a column rename is not a webhook break.
 */

/** Every event type, in the order docs/webhooks.md lists them. */
export const WEBHOOK_EVENT_TYPES = [
  'order.created',
  'order.paid',
  'order.failed',
  'order.refunded',
  'deal.started',
  'deal.ended',
] as const;

/** One event type. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const TYPE_SET: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

/** True if `value` names an event type. */
export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return typeof value === 'string' && TYPE_SET.has(value);
}

/**
 * An order as webhooks carry it: the fields of `GET /v1/orders/{id}` known when the event
 * happened (snake_case, as that route answers). The full order is one GET away.
 */
export interface WebhookOrder {
  id: string;
  shop_id: string;
  room_id: string;
  deal_id: string | null;
  buyer_id: string;
  idempotency_key: string;
  /** `pending` (order.created), `paid`, `declined` / `expired` / `failed` (order.failed), `refunded`. */
  status: string;
  /** Why a failed order failed (SOLD_OUT, DEAL_ENDED, PAYMENT_DECLINED, PAYMENT_UNAVAILABLE, HOLD_EXPIRED...), else null. */
  fail_code: string | null;
  total_amount: number;
  currency: string;
  payment_method: string | null;
  instalment_count: number | null;
  lines: { product_id: string; quantity: number; unit_amount: number; currency: string }[];
}

/** A flash deal as webhooks carry it: the fields `GET /v1/deals/{id}` answers (camelCase, as that route does). */
export interface WebhookDeal {
  id: string;
  shopId: string;
  roomId: string;
  productId: string;
  price: { amount: number; currency: string };
  totalStock: number;
  perBuyerLimit: number;
  /** ISO 8601. */
  startsAt: string;
  endsAt: string;
  status: string;
}

/** The `data` of each event type. */
export interface WebhookEventData {
  'order.created': { order: WebhookOrder };
  'order.paid': { order: WebhookOrder };
  'order.failed': { order: WebhookOrder };
  'order.refunded': { order: WebhookOrder; refund: { amount: number; currency: string } };
  'deal.started': { deal: WebhookDeal };
  /** `soldUnits`: units of the deal's paid and still-paying orders when it ended. */
  'deal.ended': { deal: WebhookDeal; soldUnits: number };
}

/** An event to record: for a shop, of a type, once per `key` (a second record with the same key is a no-op). */
export interface NewWebhookEvent<T extends WebhookEventType = WebhookEventType> {
  shopId: string;
  type: T;
  /**
   * What makes the event unique (e.g. the order id for order.paid): a job that runs again
   * records nothing new. The type is prefixed by the outbox.
   */
  key: string;
  data: WebhookEventData[T];
}

/** The JSON body of every delivery. */
export interface WebhookEnvelope {
  /** The event id (`evt_...`): the same on every attempt and replay; receivers dedupe on it. */
  id: string;
  type: WebhookEventType;
  /** When the event happened (ISO 8601). */
  created: string;
  data: unknown;
}
