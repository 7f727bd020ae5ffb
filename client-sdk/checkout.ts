/**
 * Typed checkout answers: what `room.buy()` resolves to, the next step a buyer takes (a
 * discriminated union on `code`, to render in the app's own words and language), what
 * `client.confirmPayment()` resolves to, and the buyer's orders (`client.orders()`).
 */
import { flashcast } from '../protocol/gen/flashcast.js';
import { NextStepCode } from '../protocol/codes.js';

/** How a buyer pays. */
export type PaymentMethod = 'card' | 'wallet' | 'bnpl';

/** An amount in minor units of an ISO 4217 currency. */
export interface Money {
  amount: number;
  currency: string;
}

/** One instalment of a buy-now-pay-later plan. */
export interface InstalmentDue {
  seq: number;
  amount: Money;
  /** Due date (server clock, ms since the epoch). */
  dueAt: number;
}

/** A buy-now-pay-later plan for the order's total: its instalments sum to the total exactly. */
export interface InstalmentOption {
  count: number;
  instalments: InstalmentDue[];
}

/** Fields of the legacy NextStep kept for older apps (not shopper text). */
interface LegacyStepFields {
  action?: string;
  method?: string;
  path?: string;
  /** English fallback text; render your own from `code` and the parameters. */
  message?: string;
}

/** CONFIRM_PAYMENT: the units are held until `expiresAt`; choose a method and call `client.confirmPayment`. */
export interface ConfirmPaymentStep extends LegacyStepFields {
  code: typeof NextStepCode.ConfirmPayment;
  orderId: string;
  dealId: string;
  expiresAt: number;
  methods: PaymentMethod[];
  /** Each BNPL plan offered, with its instalments' amounts and due dates. */
  instalmentOptions: InstalmentOption[];
}

/** COMPLETE_PAYMENT (a page: card entry, 3-D Secure) or APPROVE_PAYMENT (the provider's app: BNPL), before `expiresAt`. */
export interface ProviderStep extends LegacyStepFields {
  code: typeof NextStepCode.CompletePayment | typeof NextStepCode.ApprovePayment;
  orderId: string;
  dealId: string;
  expiresAt: number;
  /** Absolute (resolved against the API's origin). */
  url: string;
  provider: string;
}

/** A step this SDK does not know (a newer server): `raw` holds what was sent. */
export interface UnknownStep {
  code: 'UNKNOWN';
  raw: flashcast.INextStep;
}

/** What the buyer does next. Switch on `code`. */
export type NextStep = ConfirmPaymentStep | ProviderStep | UnknownStep;

/** A BuyResult whose `nextStep` is typed (null when there is nothing to do: settling, paid). */
export type BuyResult = Omit<flashcast.IBuyResult, 'nextStep'> & { nextStep: NextStep | null };

/** What to confirm: the order (from the BuyResult), the method, and optionally a provider token. */
export interface ConfirmPaymentRequest {
  dealId: string;
  orderId: string;
  method: PaymentMethod;
  /** BNPL: 3 or 6 (default 3). */
  instalments?: 3 | 6;
  /** A token from the provider's own client-side collection; without one, the provider's hosted step collects the method. */
  token?: string;
  /** Save the method for one-tap buys next time. */
  save?: boolean;
  /** Where the provider's page sends the buyer back when done. */
  returnUrl?: string;
  displayCurrency?: string;
  /** Where to ship (an id from `client.addresses()`): after a tap answered `shippingCode` ADDRESS_REQUIRED, the address just added. */
  addressId?: string;
}

/**
 * What `confirmPayment` resolved to:
 * - `redirect`: open `url` (the provider's page) and let the buyer finish there;
 * - `approval`: the buyer approves in the provider's app; `url` opens it (or show it as a QR code);
 * - `done`: nothing more to do; `settling` (the outcome arrives as ClientEvent.OrderUpdate) or `paid`.
 * A declined payment rejects with FlashcastRequestError `PAYMENT_DECLINED`.
 */
export type PaymentAction =
  | { type: 'redirect' | 'approval'; orderId: string; dealId: string; url: string; provider: string; expiresAt: number; step: ProviderStep }
  | { type: 'done'; orderId: string; dealId: string; status: 'settling' | 'paid' };

/** An order's payment step, as `orders()` lists it. */
export interface OrderPaymentStep {
  provider: string;
  status: 'pending' | 'captured' | 'declined' | 'expired';
  action: 'none' | 'redirect' | 'approval' | null;
  /** While pending: where to finish the step. */
  url: string | null;
  expires_at: string;
}

/** One of the buyer's orders, in the HTTP API's shape (`GET /v1/me/orders`). */
export interface Order {
  id: string;
  deal_id: string;
  room_id: string;
  shop_id: string;
  status: 'pending' | 'paid' | 'declined' | 'expired' | 'failed' | 'refunded';
  fail_code: string | null;
  total_amount: number;
  currency: string;
  display_amount: number | null;
  display_currency: string | null;
  payment_method: PaymentMethod | null;
  instalment_count: number | null;
  created_at: string;
  paid_at: string | null;
  lines: { line_no: number; product_id: string; quantity: number; unit_amount: number; currency: string }[];
  instalments: { seq: number; amount: number; currency: string; due_at: string; status: string }[];
  payment_step: OrderPaymentStep | null;
  [field: string]: unknown;
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0));

/** `url` resolved against the API's origin (servers may send paths). */
function absolute(url: string, base: string | undefined): string {
  if (!base) return url;
  try {
    return new URL(url, base).href;
  } catch {
    return url;
  }
}

/**
 * The typed step of a NextStep (from the socket or JSON). `context` gives the order and deal of
 * the BuyResult (servers before `code` did not repeat them in the step); `httpUrl` resolves urls.
 */
export function nextStepOf(step: flashcast.INextStep | null | undefined, context: { orderId?: string | null; dealId?: string | null } = {}, httpUrl?: string): NextStep | null {
  if (!step) return null;
  const code = step.code || (step.action === 'confirm_payment' ? NextStepCode.ConfirmPayment : '');
  const legacy: LegacyStepFields = { action: step.action ?? '', method: step.method ?? '', path: step.path ?? '', message: step.message ?? '' };
  const orderId = step.orderId || context.orderId || '';
  const dealId = step.dealId || context.dealId || '';
  switch (code) {
    case NextStepCode.ConfirmPayment:
      return {
        ...legacy, code, orderId, dealId, expiresAt: num(step.expiresAt), methods: (step.methods ?? []) as PaymentMethod[],
        instalmentOptions: (step.instalmentOptions ?? []).map((o) => ({
          count: num(o.count),
          instalments: (o.instalments ?? []).map((i) => ({
            seq: num(i.seq), amount: { amount: num(i.amount?.amount), currency: i.amount?.currency ?? '' }, dueAt: num(i.dueAt),
          })),
        })),
      };
    case NextStepCode.CompletePayment:
    case NextStepCode.ApprovePayment:
      return { ...legacy, code, orderId, dealId, expiresAt: num(step.expiresAt), url: absolute(step.url ?? '', httpUrl), provider: step.provider ?? '' };
    default:
      return { code: 'UNKNOWN', raw: step };
  }
}

/** A BuyResult (socket reply or HTTP JSON) with its `nextStep` typed; the message object itself is kept. */
export function buyResultOf(result: flashcast.IBuyResult, httpUrl?: string): BuyResult {
  const typed = nextStepOf(result.nextStep, result, httpUrl);
  return Object.assign(result, { nextStep: typed }) as BuyResult;
}

/** The action of a confirmation's answer (HTTP JSON of a BuyResult, enums as names). */
export function paymentActionOf(json: Record<string, unknown>, httpUrl?: string): PaymentAction {
  const result = flashcast.BuyResult.fromObject(json);
  const step = nextStepOf(result.nextStep, result, httpUrl);
  const orderId = result.orderId ?? '';
  const dealId = result.dealId ?? '';
  if (step && (step.code === NextStepCode.CompletePayment || step.code === NextStepCode.ApprovePayment)) {
    return {
      type: step.code === NextStepCode.ApprovePayment ? 'approval' : 'redirect', orderId, dealId, url: step.url, provider: step.provider,
      expiresAt: step.expiresAt, step,
    };
  }
  return { type: 'done', orderId, dealId, status: result.status === flashcast.CheckoutStatus.CHECKOUT_PAID ? 'paid' : 'settling' };
}
