import { SettlementErrorCode } from '../../protocol/codes.js';
import { FlashcastError } from '../../common/errors.js';

/** Stable codes of the settlement part (defined in protocol/codes.ts, exported by the SDK). */
export { SettlementErrorCode };

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

/** Ops asked for a failed job that is not in the queue's failed set (gone, or never failed). */
export class JobNotFoundError extends FlashcastError {
  constructor(queue: string, jobId: string) {
    super(SettlementErrorCode.JobNotFound, `no failed job ${jobId} in ${queue}`, 404);
  }
}

/** The same idempotency key was sent with a different amount or method. */
export class IdempotencyMismatchError extends SettlementError {
  constructor() {
    super(SettlementErrorCode.IdempotencyMismatch, 'idempotency key reused with different parameters', false, 409);
  }
}
