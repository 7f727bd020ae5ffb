import type { CaptureResult, NextAction, PaymentNotification, PaymentProvider } from './PaymentProvider.js';
import type { PaymentAttempt, PaymentAttempts } from './PaymentAttempts.js';
import type { SettleJob, SettlementQueue } from './SettlementQueue.js';
import { NotFoundError } from '../../common/errors.js';
import { logger } from '../../common/logger.js';

const log = logger('PaymentSteps');

/** How long payment steps hold units, and how fresh a notification must be. */
export interface PaymentStepOptions {
  /** The units are held this long after the confirmation, and again after each `pending` notification (ms). */
  stepHoldMs: number;
  /** ...but never longer than this after the confirmation (ms); then they are released (PAYMENT_EXPIRED). */
  maxStepHoldMs: number;
  /** Accepted age of a notification's timestamp, either way (ms). */
  notificationToleranceMs: number;
}

/** What starting (or asking again about) an order's payment step came to. */
export type StepOutcome =
  /** The buyer must act: `attempt.action` (redirect / approval) at `attempt.url` before `attempt.expiresAt`. */
  | { kind: 'step'; attempt: PaymentAttempt }
  /** Captured: settlement records it (the buyer hears PAID on the socket). */
  | { kind: 'settling'; attempt: PaymentAttempt }
  | { kind: 'declined'; attempt: PaymentAttempt; reason: string }
  /** The step ran out of time and the units went back. */
  | { kind: 'expired'; attempt: PaymentAttempt }
  /** A step with another method is under way for this order. */
  | { kind: 'in_progress'; attempt: PaymentAttempt }
  /** The provider could not be reached: nothing was charged; confirm again later (same answer, same payment). */
  | { kind: 'unavailable'; retryAfterMs: number };

/** What a notification's event did: replayed (nothing applied), applied, and the attempt's status after. */
export interface EventOutcome {
  duplicate: boolean;
  applied: boolean;
  orderId: string;
  status: PaymentAttempt['status'];
}

/** What a notification did, event by event, and the body its provider expects in answer (if any). */
export interface ReceiveOutcome {
  events: EventOutcome[];
  ack: string | undefined;
}

/**
 * The asynchronous payment step (docs/payments.md), on the gateway side: `open` opens the
 * order's attempt with its deadline scheduled with settlement (before anything is held for it),
 * `start` asks the provider to create the payment (once the caller has claimed the units in
 * PostgreSQL) and answers the next action; `receive` verifies a provider notification (the
 * provider's signature check), applies it once and hands final outcomes to settlement, which
 * records them (paid, declined) exactly as it records one-tap captures.
 */
export class PaymentSteps {
  readonly #attempts: PaymentAttempts;
  readonly #queue: SettlementQueue;
  readonly #providers: ReadonlyMap<string, PaymentProvider>;
  readonly #checkout: PaymentProvider;
  readonly #options: PaymentStepOptions;

  constructor(params: {
    attempts: PaymentAttempts; queue: SettlementQueue; providers: readonly PaymentProvider[];
    /** The provider first confirmations go to (default: the first). */
    checkoutProvider?: string; options: PaymentStepOptions;
  }) {
    if (params.providers.length === 0) throw new TypeError('at least one payment provider is required');
    this.#attempts = params.attempts;
    this.#queue = params.queue;
    this.#providers = new Map(params.providers.map((p) => [p.name, p]));
    const checkout = this.#providers.get(params.checkoutProvider ?? params.providers[0].name);
    if (!checkout) throw new TypeError(`unknown checkout provider ${String(params.checkoutProvider)}`);
    this.#checkout = checkout;
    if (!(params.options.stepHoldMs > 0 && params.options.stepHoldMs <= params.options.maxStepHoldMs)) {
      throw new TypeError('stepHoldMs must be positive and at most maxStepHoldMs');
    }
    this.#options = params.options;
  }

  /** The attempts' store (the buyer's order list shows each order's step). */
  get attempts(): PaymentAttempts {
    return this.#attempts;
  }

  /**
   * Opens the order's attempt before anything is held for it, with its deadline scheduled with
   * settlement: whatever happens next (the process gone between the commit and the claim, the
   * provider down), the units come back when the step runs out. An attempt already there is
   * returned (`in_progress` when it was opened for another method).
   */
  async open(job: SettleJob, opts: { save?: boolean }): Promise<{ kind: 'opened'; attempt: PaymentAttempt } | { kind: 'in_progress'; attempt: PaymentAttempt }> {
    const now = Date.now();
    const { attempt, created } = await this.#attempts.open({
      orderId: job.orderId, paymentKey: job.paymentKey, provider: this.#checkout.name, buyerId: job.buyerId, method: job.method.type,
      instalments: job.instalments, saveMethod: opts.save === true, expiresAt: now + this.#options.stepHoldMs,
      limitAt: now + this.#options.maxStepHoldMs, job: { ...job, provider: this.#checkout.name },
    });
    if (!created && PaymentSteps.#otherMethod(attempt, job)) return { kind: 'in_progress', attempt };
    if (attempt.status === 'pending') await this.#queue.schedulePaymentExpiry(attempt.job, attempt.expiresAt);
    return { kind: 'opened', attempt };
  }

  /**
   * Asks the provider for the payment of an open attempt whose units are claimed, and answers
   * the next action. Once per attempt: an attempt the provider answered already answers the same
   * again (same page, no second payment: the key is the order's).
   */
  async start(attempt: PaymentAttempt, opts: { token?: string | null; returnUrl?: string | null }): Promise<StepOutcome> {
    if (attempt.status !== 'pending' || attempt.action !== null) return this.#outcome(attempt);
    const provider = this.#providers.get(attempt.provider) ?? this.#checkout;
    const job = attempt.job;
    let action: NextAction;
    try {
      action = await provider.createPayment({
        idempotencyKey: attempt.paymentKey, orderId: attempt.orderId, amount: job.totalAmount, currency: job.currency, method: attempt.method,
        token: opts.token || null, instalments: attempt.instalments, buyerId: attempt.buyerId, returnUrl: opts.returnUrl ?? null,
        expiresAt: attempt.expiresAt,
      });
    } catch (err) {
      log.warn({ err, orderId: attempt.orderId, provider: provider.name }, 'createPayment failed');
      return { kind: 'unavailable', retryAfterMs: 2_000 };
    }
    return this.#outcome(await this.#attempts.setAction(attempt.orderId, action));
  }

  /** The answer for an attempt asked again: its step or outcome; `in_progress` when asked with another method. */
  again(attempt: PaymentAttempt, job: SettleJob): Promise<StepOutcome> {
    if (PaymentSteps.#otherMethod(attempt, job)) return Promise.resolve({ kind: 'in_progress', attempt });
    return this.#outcome(attempt);
  }

  /** The order's attempt, or null. */
  attempt(orderId: string): Promise<PaymentAttempt | null> {
    return this.#attempts.get(orderId);
  }

  /** An attempt that will never start (the hold lapsed, the units were not there): closed, so nothing waits for it. */
  async abandon(orderId: string, reason: string): Promise<void> {
    await this.#attempts.abandon(orderId, reason);
  }

  static #otherMethod(attempt: PaymentAttempt, job: SettleJob): boolean {
    return attempt.method !== job.method.type || (attempt.instalments ?? null) !== (job.instalments ?? null);
  }

  /**
   * A provider notification: verified by the provider (signature over the raw body, timestamp
   * within the tolerance; PaymentNotificationError otherwise), applied once by its id, final
   * outcomes handed to settlement. A replay answers `duplicate` and changes nothing, but hands
   * a final outcome on again (idempotent), so a crash between the commit and the hand-off loses
   * nothing when the provider retries.
   */
  async receive(providerName: string, input: { rawBody: string; headers: Record<string, string> }): Promise<ReceiveOutcome> {
    const provider = this.#providers.get(providerName);
    if (!provider) throw new NotFoundError('no such payment provider');
    const events = provider.verifyNotification({ ...input, now: Date.now(), toleranceMs: this.#options.notificationToleranceMs });
    const outcomes: EventOutcome[] = [];
    for (const n of events) outcomes.push(await this.#apply(provider, n));
    return { events: outcomes, ack: provider.notificationAck };
  }

  /** One verified event: applied once, a final outcome handed to settlement. */
  async #apply(provider: PaymentProvider, n: PaymentNotification): Promise<EventOutcome> {
    const { duplicate, applied, attempt } = await this.#attempts.applyNotification(provider.name, n, this.#options.stepHoldMs);
    log.info({ orderId: attempt.orderId, provider: provider.name, type: n.type, id: n.id, duplicate, applied, status: attempt.status }, 'payment notification');
    if (n.type === 'captured' && attempt.reference && (attempt.status === 'captured' || attempt.status === 'expired')) {
      // Captured: recorded as paid, or (the step had expired first) refunded by settlement.
      const save = attempt.saveMethod && n.methodToken ? { type: attempt.method, token: n.methodToken } : null;
      await this.#queue.recordPayment(attempt.job, { status: 'captured', reference: attempt.reference }, save);
    } else if ((n.type === 'declined' || n.type === 'canceled') && attempt.status === 'declined') {
      await this.#queue.recordPayment(attempt.job, { status: 'declined', reason: attempt.reason ?? n.type });
    }
    return { duplicate, applied, orderId: attempt.orderId, status: attempt.status };
  }

  /** The answer for an attempt; a final one is handed to settlement (again: idempotent). */
  async #outcome(attempt: PaymentAttempt): Promise<StepOutcome> {
    switch (attempt.status) {
      case 'pending':
        if (attempt.action === 'redirect' || attempt.action === 'approval') return { kind: 'step', attempt };
        // Being created by a concurrent confirmation: ask again shortly.
        return { kind: 'unavailable', retryAfterMs: 500 };
      case 'captured':
        await this.#queue.recordPayment(attempt.job, { status: 'captured', reference: attempt.reference! } satisfies CaptureResult);
        return { kind: 'settling', attempt };
      case 'declined':
        await this.#queue.recordPayment(attempt.job, { status: 'declined', reason: attempt.reason ?? 'declined' });
        return { kind: 'declined', attempt, reason: attempt.reason ?? 'declined' };
      default:
        return { kind: 'expired', attempt };
    }
  }
}
