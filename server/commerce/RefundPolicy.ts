import { Currency } from './Currency.js';
import type { FxTable } from './FxTable.js';
import { CommerceErrorCode, StateError } from './errors.js';

/** Why a buyer asks for a refund. */
export type RefundReason = 'doesnt_fit' | 'unwanted' | 'quality' | 'logistics';
export const REFUND_REASONS: readonly RefundReason[] = ['doesnt_fit', 'unwanted', 'quality', 'logistics'];

/** Thresholds, in USD minor units, converted into the order's currency through the FX table. */
export interface RefundPolicyOptions {
  /** Items worth less than this are refunded without a return (default $20). */
  keepItemBelowUsd: number;
  /** Cap on return shipping for quality or logistics problems (default $10). */
  qualityCapUsd: number;
  /** Cap on any return shipping reimbursed, whatever the shop's rate table says (default $15). */
  returnShippingCapUsd: number;
}

/** An amount in minor units of an ISO 4217 currency. */
export interface Money {
  amount: number;
  currency: string;
}

/** Everything the decision depends on, read by the server (never sent by the buyer). */
export interface RefundRequest {
  /** Value of the returned line(s), minor units of `currency` (the order currency). */
  itemAmount: number;
  currency: string;
  reason: RefundReason;
  /** The shop's return-shipping rate for the buyer's region (or its default); null when the shop set none. */
  shippingRate: Money | null;
  /** What the payment captured, minor units of `currency`. */
  captured: number;
  /** What earlier refunds of this payment took or promised, minor units of `currency`. */
  alreadyRefunded: number;
}

/** The decision, all amounts in the order's currency. */
export interface RefundDecision {
  /** Whether the buyer must send the item back before the refund is paid. */
  returnRequired: boolean;
  /** Item value refunded. */
  itemRefund: number;
  /** Return shipping reimbursed to the buyer. */
  shippingReimbursed: number;
  /** itemRefund + shippingReimbursed, never more than captured − already refunded. */
  total: number;
  currency: string;
  /** Stable name of the rule applied. */
  rule: 'low_value_keep' | 'fit_or_unwanted_full_shipping' | 'quality_capped_shipping';
  /** True when what is left on the payment (captured − already refunded) lowered the refund. */
  capped: boolean;
}

/**
 * Default returns and refunds policy, a pure decision over server-read amounts:
 * - an item under $20 (or its value in the order currency) is refunded without a return;
 * - "doesn't fit / unwanted": return required, the shop's return-shipping rate reimbursed up to $15;
 * - quality or logistics problems: return required, the rate reimbursed up to $10 (and $15).
 * The total is then capped at captured − already refunded: the item first, then shipping.
 * Nothing left to refund is a StateError `NOTHING_TO_REFUND`.
 */
export class RefundPolicy {
  readonly #fx: () => FxTable;
  readonly #options: RefundPolicyOptions;

  /** `fx`: the table, or a getter for the table in force. */
  constructor(fx: FxTable | (() => FxTable), options: Partial<RefundPolicyOptions> = {}) {
    this.#fx = typeof fx === 'function' ? fx : () => fx;
    this.#options = { keepItemBelowUsd: 2_000, qualityCapUsd: 1_000, returnShippingCapUsd: 1_500, ...options };
    for (const v of Object.values(this.#options)) Currency.assertAmount(v);
  }

  /** Decides how a refund is handled. Throws on bad amounts, unknown currency or reason, or nothing refundable. */
  decide(request: RefundRequest): RefundDecision {
    const { currency, reason } = request;
    Currency.assert(currency);
    if (!REFUND_REASONS.includes(reason)) throw new TypeError('unknown refund reason');
    const item = Currency.assertAmount(request.itemAmount);
    const captured = Currency.assertAmount(request.captured);
    const refunded = Currency.assertAmount(request.alreadyRefunded);
    const rate = request.shippingRate === null ? 0 : this.#toOrderCurrency(request.shippingRate, currency);
    // Both are safe non-negative integers, so the difference is a safe integer too.
    const refundable = captured - refunded;
    if (refundable <= 0) throw new StateError(CommerceErrorCode.NothingToRefund, 'nothing left to refund on this payment');

    let rule: RefundDecision['rule'];
    let shipping: number;
    if (item < this.#usd(this.#options.keepItemBelowUsd, currency)) {
      rule = 'low_value_keep';
      shipping = 0;
    } else if (reason === 'doesnt_fit' || reason === 'unwanted') {
      rule = 'fit_or_unwanted_full_shipping';
      shipping = Math.min(rate, this.#usd(this.#options.returnShippingCapUsd, currency));
    } else {
      rule = 'quality_capped_shipping';
      shipping = Math.min(rate, this.#usd(this.#options.returnShippingCapUsd, currency), this.#usd(this.#options.qualityCapUsd, currency));
    }
    const itemRefund = Math.min(item, refundable);
    const shippingReimbursed = Math.min(shipping, refundable - itemRefund);
    const total = itemRefund + shippingReimbursed; // ≤ refundable: no overflow
    if (total === 0) throw new StateError(CommerceErrorCode.NothingToRefund, 'nothing to refund');
    return {
      returnRequired: rule !== 'low_value_keep', itemRefund, shippingReimbursed, total, currency, rule,
      capped: itemRefund < item || shippingReimbursed < shipping,
    };
  }

  #usd(amountUsd: number, currency: string): number {
    return this.#fx().convert(amountUsd, 'USD', currency).amount;
  }

  #toOrderCurrency(money: Money, currency: string): number {
    Currency.assert(money.currency);
    Currency.assertAmount(money.amount);
    return this.#fx().convert(money.amount, money.currency, currency).amount;
  }
}
