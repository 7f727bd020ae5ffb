import type { flashcast } from '../../protocol/index.js';
import { NextStepCode } from '../../protocol/codes.js';
import { INSTALMENT_COUNTS, InstalmentPlan } from './InstalmentPlan.js';
import { PAYMENT_METHOD_TYPES } from './PaymentProvider.js';
import type { PaymentAttempt } from './PaymentAttempts.js';

/** English fallbacks of the next-step codes (clients render their own text from code and parameters). */
const FALLBACK: Record<string, string> = {
  [NextStepCode.ConfirmPayment]: 'Choose how to pay to complete your purchase.',
  [NextStepCode.CompletePayment]: 'Finish paying on the payment page.',
  [NextStepCode.ApprovePayment]: 'Approve the payment in your payment app.',
};

/**
 * The `nextStep` of a BuyResult, built in one place: a stable code with its parameters (the
 * shopper's text is the client's, localised), the legacy fields kept for older clients, and an
 * English fallback message that names no API path and no raw timestamp.
 */
export const NextSteps = {
  /**
   * CONFIRM_PAYMENT: the units are held until `expiresAt`; choose a method and confirm. Each
   * BNPL option lists its instalments (InstalmentPlan.split, due from `now`, as recorded when paid).
   */
  confirmPayment(o: { dealId: string; orderId: string; total: number; currency: string; expiresAt: number; now?: number }): flashcast.INextStep {
    const firstDue = o.now ?? Date.now();
    return {
      code: NextStepCode.ConfirmPayment,
      orderId: o.orderId,
      dealId: o.dealId,
      expiresAt: o.expiresAt,
      methods: [...PAYMENT_METHOD_TYPES],
      instalments: [...INSTALMENT_COUNTS],
      instalmentOptions: INSTALMENT_COUNTS.map((count) => ({
        count,
        instalments: InstalmentPlan.split(o.total, o.currency, count, firstDue).map((i) => ({
          seq: i.seq, amount: { amount: i.amount, currency: i.currency }, dueAt: i.dueAt,
        })),
      })),
      // Legacy machine fields: where the HTTP API takes the confirmation (not shopper text).
      action: 'confirm_payment',
      method: 'POST',
      path: `/v1/deals/${o.dealId}/orders/${o.orderId}/confirm`,
      message: FALLBACK[NextStepCode.ConfirmPayment],
    };
  },

  /** COMPLETE_PAYMENT (redirect) or APPROVE_PAYMENT (approval) for an attempt waiting for the buyer. */
  forAttempt(attempt: PaymentAttempt, dealId: string): flashcast.INextStep {
    const code = attempt.action === 'approval' ? NextStepCode.ApprovePayment : NextStepCode.CompletePayment;
    return {
      code,
      orderId: attempt.orderId,
      dealId,
      expiresAt: attempt.expiresAt,
      url: attempt.url ?? '',
      provider: attempt.provider,
      methods: [attempt.method],
      instalments: attempt.instalments ? [attempt.instalments] : [],
      action: code.toLowerCase(),
      message: FALLBACK[code],
    };
  },
} as const;
