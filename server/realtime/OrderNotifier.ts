/** The contract for telling a buyer about an order after the tap (implemented by RedisOrderNotifier). */

/** What a buyer is told about an order after the tap (settled, declined, lapsed, failed). */
export interface OrderUpdate {
  orderId: string;
  dealId: string;
  roomId: string;
  status: 'paid' | 'declined' | 'expired' | 'failed';
  /** Stable code when not paid: PAYMENT_DECLINED, HOLD_EXPIRED, SOLD_OUT, DEAL_ENDED, PAYMENT_UNAVAILABLE. */
  code?: string;
  message?: string;
  /** PAYMENT_UNAVAILABLE: when tapping again (same idempotency key) may succeed, ms. */
  retryAfterMs?: number;
}

/** Delivers order updates to a buyer (the gateway implements it over the socket). */
export interface OrderNotifier {
  notify(userId: string, update: OrderUpdate): void | Promise<void>;
}
