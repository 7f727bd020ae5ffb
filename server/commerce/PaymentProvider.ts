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

/**
 * A payment service provider. Every call carries an idempotency key; a retried call with
 * the same key returns the first call's result and never moves money twice.
 * Transient failures throw PaymentTimeoutError / ProviderUnavailableError (retried with
 * backoff); a decline is a result, not an error.
 */
export interface PaymentProvider {
  readonly name: string;
  capture(request: CaptureRequest): Promise<CaptureResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
  close(): Promise<void>;
}
