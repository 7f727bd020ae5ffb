import { CommerceErrorCode } from '../../protocol/codes.js';
import { FlashcastError } from '../../common/errors.js';
import type { AddressFault } from '../../protocol/shipping.js';

/** Stable error codes of the commerce part (defined in protocol/codes.ts, exported by the SDK). */
export { CommerceErrorCode };

/** Base of every commerce error: a stable code plus HTTP status. */
export class CommerceError extends FlashcastError {
  constructor(code: string, message: string, status = 400) {
    super(code, message, status);
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

/** An address breaks its country's rules: 400 ADDRESS_INVALID, `details` `{ field, reason, faults }`. */
export class AddressInvalidError extends FlashcastError {
  constructor(faults: readonly AddressFault[]) {
    const first = faults[0] ?? { field: 'address', reason: 'invalid' as const };
    super(CommerceErrorCode.AddressInvalid, `address ${first.field}: ${first.reason}`, 400, 0, { field: first.field, reason: first.reason, faults });
  }
}

/** A provider notification that does not verify (signature, timestamp, body): 400, nothing recorded. */
export class PaymentNotificationError extends CommerceError {
  /** What failed: `missing`, `malformed`, `stale`, `mismatch` (signature) or `body`. */
  readonly reason: string;
  constructor(reason: string, message = `notification refused (${reason})`) {
    super(CommerceErrorCode.PaymentNotificationInvalid, message, 400);
    this.reason = reason;
  }
}
