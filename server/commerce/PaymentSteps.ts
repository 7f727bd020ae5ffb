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
 * The asynchronous payment step (docs/payments.md), on the gateway side: `begin` opens the
 * order's attempt (its deadline scheduled with settlement before the provider is asked), asks
 * the provider to create the payment and answers the next action; `receive` verifies a
 * provider notification (the provider's signature check), applies it once and hands final
 * outcomes to settlement, which records them (paid, declined) exactly as it records one-tap
 * captures. The units were claimed in PostgreSQL by the caller before `begin`.
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
   * Starts the payment step of a claimed order, or answers the step already started (a retried
   * confirmation gets the same page, never a second payment: the key is the order's).
   */
  async begin(job: SettleJob, opts: { token?: string | null; save?: boolean; returnUrl?: string | null }): Promise<StepOutcome> {
    const provider = this.#checkout;
    const now = Date.now();
    const { attempt: opened, created } = await this.#attempts.open({
      orderId: job.orderId, paymentKey: job.paymentKey, provider: provider.name, buyerId: job.buyerId, method: job.method.type,
      instalments: job.instalments, saveMethod: opts.save === true, expiresAt: now + this.#options.stepHoldMs,
      limitAt: now + this.#options.maxStepHoldMs, job: { ...job, provider: provider.name },
    });
    let attempt = opened;
    if (!created && (attempt.method !== job.method.type || (attempt.instalments ?? null) !== (job.instalments ?? null))) {
      return { kind: 'in_progress', attempt };
    }
    // The deadline is with settlement before the provider is asked: whatever happens next
    // (provider down, this process gone), the units come back when the step runs out.
    if (attempt.status === 'pending') await this.#queue.schedulePaymentExpiry(attempt.job, attempt.expiresAt);
    if (attempt.status === 'pending' && attempt.action === null) {
      let action: NextAction;
      try {
        action = await provider.createPayment({
          idempotencyKey: job.paymentKey, orderId: job.orderId, amount: job.totalAmount, currency: job.currency, method: job.method.type,
          token: opts.token || null, instalments: job.instalments, buyerId: job.buyerId, returnUrl: opts.returnUrl ?? null,
          expiresAt: attempt.expiresAt,
        });
      } catch (err) {
        log.warn({ err, orderId: job.orderId, provider: provider.name }, 'createPayment failed');
        return { kind: 'unavailable', retryAfterMs: 2_000 };
      }
      attempt = await this.#attempts.setAction(job.orderId, action);
    }
    return this.#outcome(attempt);
  }

  /** Where an order's step stands now (a confirmation asked again), or null if it has none. */
  async current(orderId: string): Promise<StepOutcome | null> {
    const attempt = await this.#attempts.get(orderId);
    return attempt ? this.#outcome(attempt) : null;
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
