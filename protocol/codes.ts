/**
 * Stable close codes and error codes of the Flashcast protocol.
 *
 * Close codes are split in two ranges (see docs/protocol.md):
 * - 4000-4499 "reconnect": the client reconnects with backoff (possibly to another
 *   node) and resumes its rooms from their offsets.
 * - 4500-4999 "terminal": reconnecting with the same credentials will fail again; the
 *   client stops and surfaces the reason to the app.
 * Standard codes used by the transport itself: 1000 normal, 1001 going away,
 * 1006 abnormal (no close frame: network loss), 1009 frame too big.
 */
export const CloseCode = {
  /** The node is draining (deploy, scale-in): reconnect, to another node. */
  Draining: 4000,
  /** The client fell too far behind on critical messages; reconnect and resume. */
  SlowConsumer: 4001,
  /** No frame (not even a ping) within the idle timeout. */
  IdleTimeout: 4002,
  /** The node hit an internal error for this connection. */
  InternalError: 4003,
  /** Sustained flooding beyond the rate limits; reconnect after a backoff. */
  Flood: 4004,
  /** Credentials missing or invalid (forged, wrong algorithm, malformed). */
  Unauthorized: 4500,
  /** The token expired; reconnect only with a fresh token. */
  TokenExpired: 4501,
  // 4502 is not used: a ban is per room (the member gets `left` LEFT_BANNED, a join gets
  // error BANNED) and the connection stays up for the user's other rooms.
  /** Repeated undecodable frames: the client speaks something else. */
  ProtocolViolation: 4503,
  /** The client speaks a protocol version this server does not. */
  UnsupportedVersion: 4504,
  /**
   * The user already holds FLASHCAST_MAX_CONNS_PER_USER sockets on this node: close
   * one (another tab or device) before connecting again.
   */
  TooManyConnections: 4505,
  /** Frame larger than the limit (uWebSockets.js closes these with 1009). */
  FrameTooBig: 1009,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** True for close codes after which a client should reconnect and resume. */
export function isReconnectCode(code: number): boolean {
  if (code >= 4000 && code < 4500) return true;
  if (code >= 4500 && code < 5000) return false;
  // Transport-level closes (network loss, 1001 going away, 1011 server error) are retried.
  return code !== 1000 && code !== 1002 && code !== 1003 && code !== 1007 && code !== 1008 && code !== 1009;
}

/** Stable error codes carried in Error frames and HTTP error bodies. Clients switch on these. */
export const ErrorCode = {
  BadFrame: 'BAD_FRAME',
  UnknownMessage: 'UNKNOWN_MESSAGE',
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  FrameTooLarge: 'FRAME_TOO_LARGE',
  InvalidArgument: 'INVALID_ARGUMENT',
  RateLimited: 'RATE_LIMITED',
  Unauthorized: 'UNAUTHORIZED',
  TokenExpired: 'TOKEN_EXPIRED',
  Forbidden: 'FORBIDDEN',
  RoomNotAllowed: 'ROOM_NOT_ALLOWED',
  NotJoined: 'NOT_JOINED',
  TooManyRooms: 'TOO_MANY_ROOMS',
  /** The user already holds the most sockets allowed on this node (closed with 4505). */
  TooManyConnections: 'TOO_MANY_CONNECTIONS',
  Banned: 'BANNED',
  Muted: 'MUTED',
  SlowMode: 'SLOW_MODE',
  BlockedWord: 'BLOCKED_WORD',
  RoomEnded: 'ROOM_ENDED',
  NotFound: 'NOT_FOUND',
  /** The room has no stream: nobody ever published to it, or it expired. */
  RoomNotFound: 'ROOM_NOT_FOUND',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
  /** The product is another shop's and no open affiliate plan of that shop covers this creator. */
  AffiliatePlanRequired: 'AFFILIATE_PLAN_REQUIRED',
  /** HTTP: the `Idempotency-Key` was already used by this caller for another request (another body or route) (422). */
  IdempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  /** HTTP: a request with this `Idempotency-Key` is still running; retry after `retry-after` to get its answer (409). */
  IdempotencyKeyInUse: 'IDEMPOTENCY_KEY_IN_USE',
  /**
   * A guest token (`POST /v1/guest-tokens`) may watch, read and react, not this: sign in (the shop's
   * token endpoint) and retry with a user token (401; over the socket, an Error frame).
   */
  SignInRequired: 'SIGN_IN_REQUIRED',
  /** A stream key is only the WHIP bearer of its room: any other use is refused (403; at the socket, close 4500). */
  IngestOnly: 'INGEST_ONLY',
  /** A development-only route on a server that does not run on the public development secret (404). */
  DevOnly: 'DEV_ONLY',
  /** Guest viewing is off on this server (FLASHCAST_GUEST_VIEWERS=0): sign in to watch (403). */
  GuestsOff: 'GUESTS_OFF',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Stable codes of the commerce API (catalog, affiliate plans, deals, checkout, refunds). */
export const CommerceErrorCode = {
  SoldOut: 'SOLD_OUT',
  InsufficientStock: 'INSUFFICIENT_STOCK',
  LimitReached: 'LIMIT_REACHED',
  NotStarted: 'NOT_STARTED',
  Ended: 'ENDED',
  RegionBlocked: 'REGION_BLOCKED',
  NotOnSale: 'NOT_ON_SALE',
  InvalidQuantity: 'INVALID_QUANTITY',
  InvalidCurrency: 'INVALID_CURRENCY',
  InvalidAmount: 'INVALID_AMOUNT',
  /** Payments cannot be taken right now (provider outage): nothing was held; retry after `retryAfterMs`. */
  PaymentUnavailable: 'PAYMENT_UNAVAILABLE',
  IdempotencyConflict: 'IDEMPOTENCY_CONFLICT',
  ProductNotFound: 'PRODUCT_NOT_FOUND',
  ShopNotFound: 'SHOP_NOT_FOUND',
  DealNotFound: 'DEAL_NOT_FOUND',
  OrderNotFound: 'ORDER_NOT_FOUND',
  PlanNotFound: 'PLAN_NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  ShowcaseFull: 'SHOWCASE_FULL',
  NotInShowcase: 'NOT_IN_SHOWCASE',
  DealConflict: 'DEAL_CONFLICT',
  /** The deal price is under the product's floor or the affiliate plan's lowest deal price. */
  PriceBelowFloor: 'PRICE_BELOW_FLOOR',
  HoldExpired: 'HOLD_EXPIRED',
  OrderState: 'ORDER_STATE',
  /** Nothing is left to refund on the order (captured minus already refunded is 0). */
  NothingToRefund: 'NOTHING_TO_REFUND',
  FxRateMissing: 'FX_RATE_MISSING',
  PaymentDeclined: 'PAYMENT_DECLINED',
  PaymentMethodRequired: 'PAYMENT_METHOD_REQUIRED',
  /** An address field breaks its country's rules; `details` names the field and the fault (protocol/shipping.ts). */
  AddressInvalid: 'ADDRESS_INVALID',
  /** No such address in the buyer's address book. */
  AddressNotFound: 'ADDRESS_NOT_FOUND',
  /** The buyer's address book holds its maximum number of addresses. */
  AddressBookFull: 'ADDRESS_BOOK_FULL',
  /** The shop ships and the buyer has no address yet: add one (POST /v1/me/addresses), then confirm. */
  AddressRequired: 'ADDRESS_REQUIRED',
  /** The shop has no shipping rate for the destination country (neither its own nor '*'). */
  ShippingUnavailable: 'SHIPPING_UNAVAILABLE',
  /** The payment step (hosted page, BNPL approval) was not finished in time: the units went back. */
  PaymentExpired: 'PAYMENT_EXPIRED',
  /** A payment step is already under way for this order with another method: finish or let it expire. */
  PaymentInProgress: 'PAYMENT_IN_PROGRESS',
  /** A provider notification whose signature, timestamp or body does not verify (400; nothing was recorded). */
  PaymentNotificationInvalid: 'PAYMENT_NOTIFICATION_INVALID',
  /** A provider notification about a payment this server did not create (404: the provider retries). */
  PaymentNotFound: 'PAYMENT_NOT_FOUND',
} as const;

export type CommerceErrorCode = (typeof CommerceErrorCode)[keyof typeof CommerceErrorCode];

/** Codes a `BuyResult` (socket `buy`, `POST /v1/checkout`, confirm) can carry; empty on success. */
export const BuyResultCode = {
  SoldOut: CommerceErrorCode.SoldOut,
  InsufficientStock: CommerceErrorCode.InsufficientStock,
  LimitReached: CommerceErrorCode.LimitReached,
  NotStarted: CommerceErrorCode.NotStarted,
  Ended: CommerceErrorCode.Ended,
  RegionBlocked: CommerceErrorCode.RegionBlocked,
  NotOnSale: CommerceErrorCode.NotOnSale,
  InvalidQuantity: CommerceErrorCode.InvalidQuantity,
  InvalidCurrency: CommerceErrorCode.InvalidCurrency,
  InvalidAmount: CommerceErrorCode.InvalidAmount,
  PaymentUnavailable: CommerceErrorCode.PaymentUnavailable,
  IdempotencyConflict: CommerceErrorCode.IdempotencyConflict,
  HoldExpired: CommerceErrorCode.HoldExpired,
  OrderNotFound: CommerceErrorCode.OrderNotFound,
  PaymentDeclined: CommerceErrorCode.PaymentDeclined,
  AddressNotFound: CommerceErrorCode.AddressNotFound,
  AddressRequired: CommerceErrorCode.AddressRequired,
  ShippingUnavailable: CommerceErrorCode.ShippingUnavailable,
  PaymentExpired: CommerceErrorCode.PaymentExpired,
  PaymentInProgress: CommerceErrorCode.PaymentInProgress,
  InvalidArgument: ErrorCode.InvalidArgument,
  Forbidden: ErrorCode.Forbidden,
  RoomNotAllowed: ErrorCode.RoomNotAllowed,
  Banned: ErrorCode.Banned,
  NotJoined: ErrorCode.NotJoined,
  Unavailable: ErrorCode.Unavailable,
  NotFound: ErrorCode.NotFound,
} as const;

export type BuyResultCode = (typeof BuyResultCode)[keyof typeof BuyResultCode];

/**
 * What a buyer does next (`NextStep.code`), with the step's parameters as fields of NextStep.
 * Shopper text is rendered by the client from the code and parameters (localisable).
 */
export const NextStepCode = {
  /** Choose a method (`methods`, `instalmentOptions`) and confirm, before `expiresAt`. */
  ConfirmPayment: 'CONFIRM_PAYMENT',
  /** Finish paying on the provider's page (`url`): card entry, 3-D Secure. */
  CompletePayment: 'COMPLETE_PAYMENT',
  /** Approve the payment in the provider's app (`url` opens it): buy now, pay later. */
  ApprovePayment: 'APPROVE_PAYMENT',
} as const;

export type NextStepCode = (typeof NextStepCode)[keyof typeof NextStepCode];

/** Stable codes of settlement (payments), seen in order updates and ops answers. */
export const SettlementErrorCode = {
  PaymentDeclined: 'PAYMENT_DECLINED',
  PaymentTimeout: 'PAYMENT_TIMEOUT',
  ProviderUnavailable: 'PAYMENT_PROVIDER_UNAVAILABLE',
  IdempotencyMismatch: 'PAYMENT_IDEMPOTENCY_MISMATCH',
  HoldLost: 'HOLD_LOST',
  /** The provider could not be reached; nothing was charged and the hold was released (order update). */
  PaymentUnavailable: 'PAYMENT_UNAVAILABLE',
  /** PostgreSQL had no units left for the order (Redis had sold more than the deal holds). */
  SoldOut: 'SOLD_OUT',
  /** The deal closed before the order could claim its units. */
  DealEnded: 'DEAL_ENDED',
  /** The order had already ended (declined, lapsed or failed) when a retry of it came in. */
  OrderClosed: 'ORDER_CLOSED',
  /** The buyer did not finish the payment step before its deadline (PAYMENT_STEP_MAX_HOLD_MS at most): units released. */
  PaymentExpired: 'PAYMENT_EXPIRED',
  JobNotFound: 'JOB_NOT_FOUND',
} as const;

export type SettlementErrorCode = (typeof SettlementErrorCode)[keyof typeof SettlementErrorCode];

/** Stable codes of merchant webhooks (endpoints per shop, deliveries for ops; docs/webhooks.md). */
export const WebhookErrorCode = {
  /** No such endpoint in this shop (or it was deleted). */
  EndpointNotFound: 'WEBHOOK_ENDPOINT_NOT_FOUND',
  /** The shop already has the most endpoints allowed. */
  EndpointLimit: 'WEBHOOK_ENDPOINT_LIMIT',
  /** The URL is not one deliveries may go to (credentials in it, or a private address). */
  UrlRefused: 'WEBHOOK_URL_REFUSED',
  DeliveryNotFound: 'WEBHOOK_DELIVERY_NOT_FOUND',
  /** The delivery is still being attempted: replay it once it has succeeded or failed. */
  DeliveryActive: 'WEBHOOK_DELIVERY_ACTIVE',
} as const;

export type WebhookErrorCode = (typeof WebhookErrorCode)[keyof typeof WebhookErrorCode];

/** Stable codes of the media plane (in addition to ErrorCode). */
export const SfuErrorCode = {
  /** The role may not do this: viewers never produce; hosts produce only in their rooms. */
  Forbidden: ErrorCode.Forbidden,
  InvalidArgument: ErrorCode.InvalidArgument,
  RateLimited: ErrorCode.RateLimited,
  Unavailable: ErrorCode.Unavailable,
  TransportNotFound: 'TRANSPORT_NOT_FOUND',
  ProducerNotFound: 'PRODUCER_NOT_FOUND',
  ConsumerNotFound: 'CONSUMER_NOT_FOUND',
  /** connect_transport was already called on this transport. */
  AlreadyConnected: 'ALREADY_CONNECTED',
  /** The viewer's RTP capabilities cannot receive the producer (or audio-only asked for video). */
  CannotConsume: 'CANNOT_CONSUME',
  /** Per-session transport / producer / consumer limit reached. */
  LimitReached: 'MEDIA_LIMIT_REACHED',
  /** The operation does not fit the transport (produce on a receive transport...). */
  WrongTransport: 'WRONG_TRANSPORT',
} as const;

export type SfuErrorCode = (typeof SfuErrorCode)[keyof typeof SfuErrorCode];

/** Current protocol version, carried in every frame's `v`. */
export const PROTOCOL_VERSION = 1;
