/** What a buyer is told about an order after the tap (settled, declined, lapsed). */
export interface OrderUpdate {
  orderId: string;
  dealId: string;
  roomId: string;
  status: 'paid' | 'declined' | 'expired';
  /** Stable code when not paid: PAYMENT_DECLINED, HOLD_EXPIRED. */
  code?: string;
  message?: string;
}

/** Delivers order updates to a buyer (the gateway implements it over the socket). */
export interface OrderNotifier {
  notify(userId: string, update: OrderUpdate): void | Promise<void>;
}
