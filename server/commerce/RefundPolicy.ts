import { Currency } from './Currency.js';
import type { FxTable } from './FxTable.js';

/** Why a buyer asks for a refund. */
export type RefundReason = 'doesnt_fit' | 'unwanted' | 'quality' | 'logistics';
export const REFUND_REASONS: readonly RefundReason[] = ['doesnt_fit', 'unwanted', 'quality', 'logistics'];

/** Thresholds, in USD minor units, converted into the order's currency through the FX table. */
export interface RefundPolicyOptions {
  /** Items worth less than this are refunded without a return (default $20). */
  keepItemBelowUsd: number;
  /** Cap on compensation for quality or logistics problems (default $10). */
  qualityCapUsd: number;
}

export interface RefundRequest {
  /** Value of the returned line(s), minor units of `currency`. */
  itemAmount: number;
  currency: string;
  reason: RefundReason;
  /** Return shipping the seller would pay, minor units of `currency`. */
  returnShipping: number;
}

/** The decision, all amounts in the order's currency. */
export interface RefundDecision {
  /** Whether the buyer must send the item back before the refund is paid. */
  returnRequired: boolean;
  /** Item value refunded. */
  itemRefund: number;
  /** Return shipping reimbursed to the buyer. */
  shippingReimbursed: number;
  /** itemRefund + shippingReimbursed. */
  total: number;
  currency: string;
  /** Stable name of the rule applied. */
  rule: 'low_value_keep' | 'fit_or_unwanted_full_shipping' | 'quality_capped_shipping';
}

/**
 * Default returns and refunds policy:
 * - an item under $20 (or its value in the order currency) is refunded without a return;
 * - "doesn't fit / unwanted": return required, the seller's return shipping reimbursed in full;
 * - quality or logistics problems: return required, shipping reimbursed up to $10.
 */
export class RefundPolicy {
  readonly #fx: () => FxTable;
  readonly #options: RefundPolicyOptions;

  /** `fx`: the table, or a getter for the table in force. */
  constructor(fx: FxTable | (() => FxTable), options: Partial<RefundPolicyOptions> = {}) {
    this.#fx = typeof fx === 'function' ? fx : () => fx;
    this.#options = { keepItemBelowUsd: 2_000, qualityCapUsd: 1_000, ...options };
  }

  /** Decides how a refund request is handled. Throws on bad amounts or unknown currency. */
  decide(request: RefundRequest): RefundDecision {
    const { currency, reason } = request;
    Currency.assert(currency);
    const item = Currency.assertAmount(request.itemAmount);
    const shipping = Currency.assertAmount(request.returnShipping);
    if (!REFUND_REASONS.includes(reason)) throw new TypeError('unknown refund reason');
    const keepBelow = this.#fx().convert(this.#options.keepItemBelowUsd, 'USD', currency).amount;
    if (item < keepBelow) {
      return { returnRequired: false, itemRefund: item, shippingReimbursed: 0, total: item, currency, rule: 'low_value_keep' };
    }
    if (reason === 'doesnt_fit' || reason === 'unwanted') {
      return { returnRequired: true, itemRefund: item, shippingReimbursed: shipping, total: item + shipping, currency, rule: 'fit_or_unwanted_full_shipping' };
    }
    const cap = this.#fx().convert(this.#options.qualityCapUsd, 'USD', currency).amount;
    const reimbursed = Math.min(shipping, cap);
    return { returnRequired: true, itemRefund: item, shippingReimbursed: reimbursed, total: item + reimbursed, currency, rule: 'quality_capped_shipping' };
  }
}
