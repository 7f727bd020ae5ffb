/** How a buyer pays. */
export type PaymentMethodType = 'card' | 'wallet' | 'bnpl';
export const PAYMENT_METHOD_TYPES: readonly PaymentMethodType[] = ['card', 'wallet', 'bnpl'];

export interface CaptureRequest {
  /** The order id: the provider must not capture twice for one key. */
  idempotencyKey: string;
  amount: number;
  currency: string;
  method: PaymentMethodType;
  /** Provider token for the card / wallet / BNPL account. */
  token: string;
  /** BNPL: 3 or 6. */
  instalments?: number | null;
  buyerId: string;
}

export type CaptureResult =
  | { status: 'captured'; reference: string }
  | { status: 'declined'; reason: string };

export interface RefundRequest {
  /** `refund:<orderId>`. */
  idempotencyKey: string;
  captureReference: string;
  amount: number;
  currency: string;
}

export type RefundResult = { status: 'refunded'; reference: string } | { status: 'rejected'; reason: string };

/** A payment to create for a buyer who confirms an order (the asynchronous path, docs/payments.md). */
export interface PaymentRequest {
  /** `pay.<orderId>`: creating again with the same key returns the same payment and next action. */
  idempotencyKey: string;
  orderId: string;
  amount: number;
  currency: string;
  method: PaymentMethodType;
  /**
   * A token from the provider's own client-side collection (a tokenised card, a linked BNPL
   * account), when the buyer has one; absent: the provider collects the method on its hosted step.
   */
  token?: string | null;
  /** BNPL: 3 or 6. */
  instalments?: number | null;
  buyerId: string;
  /** Where the hosted step sends the buyer back when done (the shop's page), if anywhere. */
  returnUrl?: string | null;
  /** The step must be finished by then (ms); the provider may refuse it afterwards. */
  expiresAt: number;
}

/**
 * What the buyer does next, as the provider answered `createPayment`:
 * - `none`: decided at once (captured, or declined): nothing more for the buyer to do;
 * - `redirect`: finish on the provider's hosted page at `url` (card entry, 3-D Secure);
 * - `approval`: approve in the provider's app, on this or another device (BNPL); `url` opens it
 *   (a deep link, or a page showing a QR code).
 * In the last two, a signed notification later says how it ended.
 */
export type NextAction =
  | { type: 'none'; result: CaptureResult }
  | { type: 'redirect'; url: string }
  | { type: 'approval'; url: string };

/**
 * A provider's notification about a payment, verified (signature, timestamp) and parsed:
 * - `captured` / `declined`: the payment ended (final);
 * - `pending`: the buyer is still on the step (e.g. a BNPL application under review): the hold
 *   is extended, up to its limit;
 * - `canceled`: the payment was abandoned at the provider (treated as declined).
 */
export interface PaymentNotification {
  /** The provider's unique id of this notification: it is processed once. */
  id: string;
  /** The key the payment was created with (`pay.<orderId>`). */
  paymentKey: string;
  type: 'captured' | 'declined' | 'pending' | 'canceled';
  /** `captured`: the capture's reference (what refunds name). */
  reference?: string;
  /** `declined` / `canceled`: the provider's reason. */
  reason?: string;
  /** `captured`: a reusable token of the method, when the buyer asked to save it. */
  methodToken?: string;
}

/** A notification as received: the raw body (the signature is over it), headers, and the time. */
export interface NotificationInput {
  rawBody: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Now (ms): timestamps older or newer than `toleranceMs` are refused. */
  now: number;
  toleranceMs: number;
}

/** The provider's word on a payment when a step is given up (cancelPayment). */
export type CancelResult = CaptureResult | { status: 'canceled' };

/**
 * A payment service provider. Every call carries an idempotency key; a retried call with
 * the same key returns the first call's result and never moves money twice.
 * Transient failures throw PaymentTimeoutError / ProviderUnavailableError (retried with
 * backoff); a decline is a result, not an error.
 *
 * Two paths: `capture` charges a saved method at once (one-tap buyers, synchronous);
 * `createPayment` starts a payment that may need the buyer (first confirmations, 3-D Secure,
 * BNPL approval), whose outcome arrives as a signed notification (`verifyNotification`).
 * docs/payments.md says how to write one for Stripe, Adyen or Xendit.
 */
export interface PaymentProvider {
  /** The provider's name in URLs (`/v1/payments/{name}/notifications`) and records. */
  readonly name: string;
  capture(request: CaptureRequest): Promise<CaptureResult>;
  /** Creates (or, for a key seen before, returns) a payment and says what the buyer does next. */
  createPayment(request: PaymentRequest): Promise<NextAction>;
  /**
   * Verifies a notification (signature over the raw body, timestamp within the tolerance) and
   * parses it into its events (one, or several for providers that batch them). Throws
   * PaymentNotificationError when it does not verify. Pure: no I/O.
   */
  verifyNotification(input: NotificationInput): PaymentNotification[];
  /**
   * The body the provider expects in answer to a notification it delivered (e.g. Adyen's
   * `[accepted]`); absent: JSON `{received: true, ...}`.
   */
  readonly notificationAck?: string;
  /**
   * Gives up a payment still waiting for the buyer (its step's deadline passed). Resolves to the
   * provider's final word: `canceled`, or how it ended if it ended first (captured: refund it).
   */
  cancelPayment(idempotencyKey: string): Promise<CancelResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
  close(): Promise<void>;
}
