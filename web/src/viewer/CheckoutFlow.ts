/**
 * A viewer's purchase, step by step, without any UI: the tap (units held), the address when
 * the shop ships and the buyer has none, the way to pay (a saved method settles at once; a
 * first-time buyer chooses card, wallet or BNPL in 3 or 6, and may save it), the provider's
 * hosted step, then the order's outcome from the buyer's order updates (re-read from
 * `GET /v1/me/orders` after a reconnect, when an update may have been missed).
 */
import type { Room } from '../../../client-sdk/Room.js';
import type { FlashcastClient } from '../../../client-sdk/FlashcastClient.js';
import { TypedEmitter } from '../../../client-sdk/TypedEmitter.js';
import type { BuyResult, ConfirmPaymentStep, Order, PaymentMethod } from '../../../client-sdk/checkout.js';
import { nextStepOf } from '../../../client-sdk/checkout.js';
import type { AddressFault, AddressInput } from '../../../protocol/shipping.js';
import { CommerceErrorCode, NextStepCode } from '../../../protocol/codes.js';
import { flashcast } from '../../../protocol/gen/flashcast.js';

export type CheckoutStage =
  /** Nothing under way. */
  | 'idle'
  /** The tap is on its way. */
  | 'holding'
  /** Units held; the shop ships and the buyer has no address yet. */
  | 'address'
  /** Units held; choose how to pay. */
  | 'method'
  /** The confirmation is on its way. */
  | 'confirming'
  /** The provider's page or app has the buyer: `providerUrl`. */
  | 'provider'
  /** Paid with a saved method, or the provider said yes: waiting for the order to be recorded. */
  | 'settling'
  | 'paid'
  /** Refused or lapsed: `code` says why. */
  | 'failed';

export interface PaymentChoice {
  method: PaymentMethod;
  /** BNPL: 3 or 6. */
  instalments?: 3 | 6;
  /** Save the method for one-tap buys next time. */
  save: boolean;
}

export interface CheckoutState {
  stage: CheckoutStage;
  productId: string;
  dealId: string;
  orderId: string;
  /** The tap's answer: totals (items, shipping, total, display total) and the hold. */
  result: BuyResult | null;
  /** CONFIRM_PAYMENT's parameters: methods, BNPL plans with each instalment, the deadline. */
  step: ConfirmPaymentStep | null;
  /** The provider's page or app (COMPLETE_PAYMENT / APPROVE_PAYMENT). */
  providerUrl: string;
  providerAction: 'redirect' | 'approval' | '';
  /** When the held units go back (server clock, ms; 0 unknown). */
  expiresAt: number;
  /** The stable code of a refusal or failure ('' otherwise). */
  code: string;
  retryAfterMs: number;
  /** Why the address was refused, field by field. */
  addressFaults: AddressFault[];
  addressId: string;
  choice: PaymentChoice | null;
  /**
   * The order as recorded (`GET /v1/me/orders`), once it exists: after the confirmation, with its
   * final total (shipping included) and BNPL instalments; after the outcome.
   */
  order: Order | null;
}

export type CheckoutEvents = { change: [CheckoutState] };

const IDLE: CheckoutState = {
  stage: 'idle', productId: '', dealId: '', orderId: '', result: null, step: null, providerUrl: '', providerAction: '',
  expiresAt: 0, code: '', retryAfterMs: 0, addressFaults: [], addressId: '', choice: null, order: null,
};

/** Codes that end a purchase attempt for good (the units are not held for this buyer). */
const FINAL_FAILURES = new Set<string>([
  CommerceErrorCode.PaymentDeclined, CommerceErrorCode.HoldExpired, CommerceErrorCode.PaymentExpired, CommerceErrorCode.SoldOut,
]);

/** Failures where the server's answer never arrived. */
const NO_ANSWER = new Set(['TIMEOUT', 'CLOSED', 'UNAVAILABLE']);

const errorCode = (error: unknown): string => (error as { code?: string })?.code ?? 'UNAVAILABLE';

export class CheckoutFlow extends TypedEmitter<CheckoutEvents> {
  readonly #client: FlashcastClient;
  readonly #room: Room;
  readonly #displayCurrency: () => string;
  #state: CheckoutState = IDLE;
  /** One key per purchase attempt: a retried tap never buys twice. */
  #key = '';
  /** Order updates that arrived before the tap's answer named the order. */
  readonly #early = new Map<string, flashcast.IOrderUpdate>();

  constructor(client: FlashcastClient, room: Room, options: { displayCurrency: () => string }) {
    super();
    this.#client = client;
    this.#room = room;
    this.#displayCurrency = options.displayCurrency;
  }

  get state(): CheckoutState {
    return this.#state;
  }

  /** A purchase is under way (the units may be held). */
  get busy(): boolean {
    return !['idle', 'paid', 'failed'].includes(this.#state.stage);
  }

  /** Taps buy: holds the units, then says what comes next. */
  async buy(productId: string, dealId: string): Promise<void> {
    if (this.#state.stage === 'holding' || this.#state.stage === 'confirming') return;
    // A tap that got no answer (timeout, connection lost) is retried with its key: the same order, never a second one.
    const unanswered = this.#state.stage === 'failed' && this.#state.productId === productId && !this.#state.orderId && NO_ANSWER.has(this.#state.code);
    if (!unanswered || !this.#key) this.#key = randomKey();
    this.#set({ ...IDLE, stage: 'holding', productId, dealId });
    try {
      const currency = this.#displayCurrency();
      const result = await this.#room.buy({ productId, dealId: dealId || undefined, quantity: 1, idempotencyKey: this.#key, displayCurrency: currency || undefined });
      this.#onResult(result);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Saves the buyer's address (the default from now on), then asks how to pay. */
  async addAddress(input: AddressInput): Promise<void> {
    try {
      const saved = await this.#client.addresses().add({ ...input, default: true });
      this.#set({ ...this.#state, addressId: saved.id, addressFaults: [], code: '', stage: this.#state.step ? 'method' : this.#state.stage });
    } catch (error) {
      const code = errorCode(error);
      const details = (error as { details?: { faults?: AddressFault[] } }).details;
      this.#set({ ...this.#state, code, addressFaults: code === CommerceErrorCode.AddressInvalid ? (details?.faults ?? []) : [] });
    }
  }

  /** Confirms the held order with a way to pay; a hosted step comes back as `provider`. */
  async pay(choice: PaymentChoice): Promise<void> {
    const s = this.#state;
    if (s.stage !== 'method' && !(s.stage === 'failed' && s.step && !FINAL_FAILURES.has(s.code))) return;
    this.#set({ ...s, stage: 'confirming', choice, code: '' });
    try {
      const action = await this.#client.confirmPayment({
        dealId: s.dealId, orderId: s.orderId, method: choice.method, instalments: choice.method === 'bnpl' ? (choice.instalments ?? 3) : undefined,
        save: choice.save, addressId: s.addressId || undefined, displayCurrency: this.#displayCurrency() || undefined,
      });
      if (action.type === 'done') {
        if (this.#state.stage === 'confirming') this.#set({ ...this.#state, stage: action.status === 'paid' ? 'paid' : 'settling' });
      } else if (this.#state.stage === 'confirming') {
        this.#set({ ...this.#state, stage: 'provider', providerUrl: action.url, providerAction: action.type, expiresAt: action.expiresAt || this.#state.expiresAt });
      }
      void this.refresh();
    } catch (error) {
      const code = errorCode(error);
      if (code === CommerceErrorCode.AddressRequired) {
        this.#set({ ...this.#state, stage: 'address', code: '' });
        return;
      }
      const step = nextStepOf((error as { details?: { nextStep?: flashcast.INextStep } }).details?.nextStep ?? null, {}, this.#client.httpUrl);
      if (code === CommerceErrorCode.PaymentInProgress && step && step.code !== 'UNKNOWN' && step.code !== NextStepCode.ConfirmPayment) {
        this.#set({ ...this.#state, stage: 'provider', providerUrl: step.url, providerAction: step.code === NextStepCode.ApprovePayment ? 'approval' : 'redirect' });
        return;
      }
      this.#fail(error);
    }
  }

  /** An order update from the buyer's socket. */
  orderUpdate(update: flashcast.IOrderUpdate): void {
    const orderId = update.orderId ?? '';
    if (!this.#state.orderId) {
      if (orderId) this.#early.set(orderId, update);
      return;
    }
    if (orderId !== this.#state.orderId) return;
    if (update.status === flashcast.CheckoutStatus.CHECKOUT_PAID) this.#set({ ...this.#state, stage: 'paid', code: '' });
    else if (update.status === flashcast.CheckoutStatus.CHECKOUT_FAILED) {
      this.#set({ ...this.#state, stage: 'failed', code: update.code || 'FAILED', retryAfterMs: update.retryAfterMs ?? 0 });
    } else return;
    void this.refresh();
  }

  /** Re-reads the order (an update may have been missed while offline, or the buyer comes back from the provider). */
  async refresh(): Promise<void> {
    const { orderId, stage } = this.#state;
    if (!orderId || !['provider', 'settling', 'confirming', 'paid', 'failed'].includes(stage)) return;
    const orders = await this.#client.orders({ limit: 20 }).catch(() => []);
    const order = orders.find((o) => o.id === orderId);
    if (!order || this.#state.orderId !== orderId) return;
    const current = this.#state.stage;
    if (order.status === 'paid') this.#set({ ...this.#state, order, stage: 'paid', code: '' });
    else if (order.status !== 'pending' && current !== 'failed') this.#set({ ...this.#state, order, stage: 'failed', code: order.fail_code ?? order.status.toUpperCase() });
    else this.#set({ ...this.#state, order });
  }

  /** Closes the flow (what is held lapses by itself if not paid). */
  dismiss(): void {
    if (this.#state.stage === 'holding' || this.#state.stage === 'confirming') return;
    this.#early.clear();
    this.#set(IDLE);
  }

  #onResult(result: BuyResult): void {
    const orderId = result.orderId ?? '';
    const base: CheckoutState = {
      ...this.#state, result, orderId, dealId: result.dealId || this.#state.dealId, addressId: result.addressId ?? '',
      expiresAt: Number(result.holdExpiresAt ?? 0),
    };
    const step = result.nextStep;
    if (result.status === flashcast.CheckoutStatus.CHECKOUT_PAID) this.#set({ ...base, stage: 'paid' });
    else if (result.status === flashcast.CheckoutStatus.CHECKOUT_SETTLING) this.#set({ ...base, stage: 'settling' });
    else if (step?.code === NextStepCode.ConfirmPayment) {
      const needsAddress = result.shippingCode === CommerceErrorCode.AddressRequired;
      this.#set({ ...base, step, expiresAt: step.expiresAt || base.expiresAt, stage: needsAddress ? 'address' : 'method' });
    } else if (step && step.code !== 'UNKNOWN') {
      this.#set({ ...base, stage: 'provider', providerUrl: step.url, providerAction: step.code === NextStepCode.ApprovePayment ? 'approval' : 'redirect', expiresAt: step.expiresAt });
    } else this.#set({ ...base, stage: 'settling' });
    const early = this.#early.get(orderId);
    this.#early.clear();
    if (early) this.orderUpdate(early);
  }

  #fail(error: unknown): void {
    const code = errorCode(error);
    this.#set({ ...this.#state, stage: 'failed', code, retryAfterMs: (error as { retryAfterMs?: number }).retryAfterMs ?? 0 });
  }

  #set(state: CheckoutState): void {
    this.#state = state;
    this.emit('change', state);
  }
}

function randomKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}
