import { FlashcastError } from '../errors.js';

/** Stable codes of the settlement part. */
export const SettlementErrorCode = {
  PaymentDeclined: 'PAYMENT_DECLINED',
  PaymentTimeout: 'PAYMENT_TIMEOUT',
  ProviderUnavailable: 'PAYMENT_PROVIDER_UNAVAILABLE',
  IdempotencyMismatch: 'PAYMENT_IDEMPOTENCY_MISMATCH',
  HoldLost: 'HOLD_LOST',
  /** The provider could not be reached; nothing was charged and the hold was released. */
  PaymentUnavailable: 'PAYMENT_UNAVAILABLE',
  /** PostgreSQL had no units left for the order (Redis had sold more than the deal holds). */
  SoldOut: 'SOLD_OUT',
  /** The deal closed before the order could claim its units. */
  DealEnded: 'DEAL_ENDED',
  /** The order had already ended (declined, lapsed or failed) when a retry of it came in. */
  OrderClosed: 'ORDER_CLOSED',
  JobNotFound: 'JOB_NOT_FOUND',
} as const;

/** Base of settlement errors; `retryable` says whether the job should be retried with backoff. */
export class SettlementError extends FlashcastError {
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable: boolean, status = 502) {
    super(code, message, status);
    this.retryable = retryable;
  }
}

/** The provider did not answer in time; the payment may or may not have happened (retry with the same key). */
export class PaymentTimeoutError extends SettlementError {
  constructor(message = 'payment provider timed out') {
    super(SettlementErrorCode.PaymentTimeout, message, true, 504);
  }
}

/** The provider is down or refused the connection; nothing happened. */
export class ProviderUnavailableError extends SettlementError {
  constructor(message = 'payment provider unavailable') {
    super(SettlementErrorCode.ProviderUnavailable, message, true, 503);
  }
}

/** The same idempotency key was sent with a different amount or method. */
export class IdempotencyMismatchError extends SettlementError {
  constructor() {
    super(SettlementErrorCode.IdempotencyMismatch, 'idempotency key reused with different parameters', false, 409);
  }
}
