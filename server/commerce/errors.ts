import { FlashcastError } from '../errors.js';

/** Stable error codes of the commerce part (catalog, deals, checkout, refunds). Clients switch on these. */
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
  /** Payments cannot be taken right now (provider outage); retry after `retryAfterMs`. */
  PaymentUnavailable: 'PAYMENT_UNAVAILABLE',
  IdempotencyConflict: 'IDEMPOTENCY_CONFLICT',
  ProductNotFound: 'PRODUCT_NOT_FOUND',
  ShopNotFound: 'SHOP_NOT_FOUND',
  DealNotFound: 'DEAL_NOT_FOUND',
  OrderNotFound: 'ORDER_NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  ShowcaseFull: 'SHOWCASE_FULL',
  NotInShowcase: 'NOT_IN_SHOWCASE',
  DealConflict: 'DEAL_CONFLICT',
  HoldExpired: 'HOLD_EXPIRED',
  OrderState: 'ORDER_STATE',
  NothingToRefund: 'NOTHING_TO_REFUND',
  FxRateMissing: 'FX_RATE_MISSING',
  PaymentDeclined: 'PAYMENT_DECLINED',
  PaymentMethodRequired: 'PAYMENT_METHOD_REQUIRED',
} as const;

export type CommerceErrorCode = (typeof CommerceErrorCode)[keyof typeof CommerceErrorCode];

/** Base of every commerce error: a stable code plus HTTP status. */
export class CommerceError extends FlashcastError {
  constructor(code: string, message: string, status = 400) {
    super(code, message, status);
  }
}

/** No units left in the deal. */
export class SoldOutError extends CommerceError {
  constructor(message = 'sold out') {
    super(CommerceErrorCode.SoldOut, message, 409);
  }
}

/** The buyer would go over the deal's per-buyer limit. */
export class PurchaseLimitError extends CommerceError {
  constructor(limit: number) {
    super(CommerceErrorCode.LimitReached, `at most ${limit} per buyer`, 409);
  }
}

/** Quantity is not a positive integer within the allowed range. */
export class InvalidQuantityError extends CommerceError {
  constructor(message = 'quantity must be an integer from 1 to 100') {
    super(CommerceErrorCode.InvalidQuantity, message, 400);
  }
}

/** Not an ISO 4217 currency this server knows. */
export class InvalidCurrencyError extends CommerceError {
  constructor(currency: unknown) {
    super(CommerceErrorCode.InvalidCurrency, `unknown currency ${JSON.stringify(String(currency).slice(0, 8))}`, 400);
  }
}

/** A money amount that is not a safe non-negative integer of minor units. */
export class InvalidAmountError extends CommerceError {
  constructor(message = 'amount must be a non-negative integer of minor units') {
    super(CommerceErrorCode.InvalidAmount, message, 400);
  }
}

/** Something named by id does not exist (product, shop, deal, order). */
export class CommerceNotFoundError extends CommerceError {
  constructor(code: string, what: string) {
    super(code, `${what} not found`, 404);
  }
}

/** The same idempotency key was used for a different request. */
export class IdempotencyConflictError extends CommerceError {
  constructor() {
    super(CommerceErrorCode.IdempotencyConflict, 'idempotency key already used for a different request', 409);
  }
}

/** The room's showcase holds its maximum number of products. */
export class ShowcaseFullError extends CommerceError {
  constructor(max: number) {
    super(CommerceErrorCode.ShowcaseFull, `a showcase holds at most ${max} products`, 409);
  }
}

/** A state transition that the order/deal is not in a state for. */
export class StateError extends CommerceError {
  constructor(code: string, message: string) {
    super(code, message, 409);
  }
}

/** No FX rate between the two currencies. */
export class FxRateMissingError extends CommerceError {
  constructor(base: string, quote: string) {
    super(CommerceErrorCode.FxRateMissing, `no FX rate ${base}->${quote}`, 422);
  }
}
