import type { Principal } from '../../common/auth/TokenService.js';
import { inRoomScope } from '../../common/auth/Policy.js';
import { flashcast } from '../../protocol/index.js';
import { ErrorCode } from '../../protocol/codes.js';
import { FlashcastError } from '../../common/errors.js';
import { isValidId } from '../../common/keys.js';
import type { RoomBroadcaster } from './RoomBroadcaster.js';
import type { Reservation, ReserveReply } from './Reservation.js';
import type { FlashDeals, Deal } from './FlashDeals.js';
import type { FxTable, FxConversion } from './FxTable.js';
import type { PaymentMethods, SavedPaymentMethod } from './PaymentMethods.js';
import type { SettlementQueue, SettleJob } from './SettlementQueue.js';
import type { OutboxMover } from './OutboxMover.js';
import type { PaymentAvailability } from './PaymentAvailability.js';
import type { OrderStore } from './OrderStore.js';
import type { PaymentSteps, StepOutcome } from './PaymentSteps.js';
import { INSTALMENT_COUNTS } from './InstalmentPlan.js';
import { NextSteps } from './NextSteps.js';
import { httpUrl } from '../../common/text.js';
import { Currency } from './Currency.js';
import { OrderIds } from './OrderIds.js';
import { RandomPool } from '../../common/RandomPool.js';
import { CommerceErrorCode } from './errors.js';
import { logger } from '../../common/logger.js';
import { PAYMENT_METHOD_TYPES, type PaymentMethodType } from './PaymentProvider.js';
import { CheckoutShipping, type ShippingPlan } from './CheckoutShipping.js';

const log = logger('Checkout');
const { CheckoutStatus, DealPhase } = flashcast;

/** Input of one tap (socket `Buy` or `POST /v1/checkout`). */
export interface BuyInput {
  roomId: string;
  productId: string;
  quantity: number;
  idempotencyKey: string;
  dealId?: string;
  displayCurrency?: string;
  /** Must be the caller when given: buying as someone else is refused. */
  buyerId?: string;
  /** Where to ship: an id of the buyer's address book; the default address otherwise. */
  addressId?: string;
}

/** A first-time buyer's confirmation. */
export interface ConfirmInput {
  dealId: string;
  orderId: string;
  method: PaymentMethodType;
  /**
   * A provider token (a tokenised card, a linked account), when the buyer has one. Without it
   * the provider collects the method on its hosted step (needs payment steps configured).
   */
  token?: string | null;
  instalments?: number | null;
  /** Save the method for one-tap buys next time. */
  save?: boolean;
  /** Where to ship: an id of the buyer's address book; the default address otherwise. */
  addressId?: string;
  /** Where the provider's hosted step sends the buyer back when done (http(s)). */
  returnUrl?: string | null;
}

const returnUrlSchema = httpUrl(2048);

export interface CheckoutOptions {
  /** Hold TTL (default 5 min). */
  holdMs: number;
  /** Largest quantity one tap may ask for. */
  maxQuantity: number;
}

const randomIds = new RandomPool();

/** How long a listing's hold remembers its room after the hold's expiry (a confirmation may come late). */
const ROOM_NOTE_MARGIN_MS = 3_600_000;

const MESSAGES: Record<string, string> = {
  SOLD_OUT: 'sold out',
  INSUFFICIENT_STOCK: 'not enough units left',
  LIMIT_REACHED: 'per-buyer limit reached',
  NOT_STARTED: 'the deal has not started yet',
  ENDED: 'the deal has ended',
  REGION_BLOCKED: 'not available in your region',
  IDEMPOTENCY_CONFLICT: 'idempotency key already used for a different quantity',
  NOT_FOUND: 'no such deal',
};

/**
 * One-tap checkout: validates the tap, picks what it buys (the flash deal on the product in the
 * room, else the product's regular-price listing if the room's showcase holds it), reserves
 * units atomically in Redis, and either
 * hands the order to settlement (buyer with a saved payment method) or answers with the
 * next step a first-time buyer must take. `reserve` never throws for business errors:
 * it answers a BuyResult with a stable code.
 */
export class Checkout {
  readonly #deals: FlashDeals;
  readonly #reservation: Reservation;
  readonly #methods: PaymentMethods;
  readonly #queue: SettlementQueue;
  readonly #outbox: OutboxMover;
  readonly #payments: PaymentAvailability | null;
  /** Deals this node last saw sold out: their taps skip the saved-method lookup before reserving. */
  readonly #soldOut = new Set<string>();
  readonly #broadcaster: RoomBroadcaster;
  readonly #fx: () => FxTable;
  readonly #options: CheckoutOptions;
  /** Address and shipping of each tap (null: nothing ships, as before shipping existed). */
  readonly #shipping: CheckoutShipping | null;
  /** The asynchronous payment step (null: confirmations go to settlement's synchronous capture). */
  readonly #steps: PaymentSteps | null;
  readonly #orders: OrderStore | null;

  constructor(params: {
    deals: FlashDeals; reservation: Reservation; methods: PaymentMethods; queue: SettlementQueue; outbox: OutboxMover;
    payments?: PaymentAvailability | null; broadcaster: RoomBroadcaster; fx: () => FxTable; options?: Partial<CheckoutOptions>;
    shipping?: CheckoutShipping | null;
    /** Payment steps and the order store they claim units in (both or neither). */
    steps?: { steps: PaymentSteps; orders: OrderStore } | null;
  }) {
    this.#deals = params.deals;
    this.#reservation = params.reservation;
    this.#methods = params.methods;
    this.#queue = params.queue;
    this.#outbox = params.outbox;
    this.#payments = params.payments ?? null;
    this.#broadcaster = params.broadcaster;
    this.#fx = params.fx;
    this.#shipping = params.shipping ?? null;
    this.#options = { holdMs: 5 * 60_000, maxQuantity: 100, ...params.options };
    this.#steps = params.steps?.steps ?? null;
    this.#orders = params.steps?.orders ?? null;
  }

  /** Reserves units for the caller. Resolves to a BuyResult; `code` is empty on success. */
  async reserve(principal: Principal, input: BuyInput): Promise<flashcast.IBuyResult> {
    try {
      return await this.#reserve(principal, input);
    } catch (error) {
      if (error instanceof FlashcastError) return fail(error.code, error.message, error.retryAfterMs);
      log.error({ err: error, roomId: input?.roomId }, 'checkout failed');
      return fail(ErrorCode.Unavailable, 'checkout temporarily unavailable, retry with the same idempotency key', 500);
    }
  }

  async #reserve(principal: Principal, input: BuyInput): Promise<flashcast.IBuyResult> {
    if (input === null || typeof input !== 'object') return fail(ErrorCode.InvalidArgument, 'missing input');
    const { roomId, productId, quantity, idempotencyKey } = input;
    if (!isValidId(roomId)) return fail(ErrorCode.InvalidArgument, 'roomId is invalid');
    if (!isValidId(productId)) return fail(ErrorCode.InvalidArgument, 'productId is invalid');
    if (!isValidId(idempotencyKey)) {
      return fail(ErrorCode.InvalidArgument, 'idempotencyKey must be a valid id (1-64 of A-Z a-z 0-9 _ . : -)');
    }
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > this.#options.maxQuantity) {
      return fail(CommerceErrorCode.InvalidQuantity, `quantity must be an integer from 1 to ${this.#options.maxQuantity}`);
    }
    if (input.displayCurrency && !Currency.isKnown(input.displayCurrency)) {
      return fail(CommerceErrorCode.InvalidCurrency, 'unknown display currency');
    }
    if (input.buyerId !== undefined && input.buyerId !== principal.userId) {
      return fail(ErrorCode.Forbidden, 'cannot buy on behalf of another user');
    }
    if (!inRoomScope(principal, roomId)) return fail(ErrorCode.RoomNotAllowed, 'not allowed in this room');
    if (input.dealId !== undefined && input.dealId !== '' && !isValidId(input.dealId)) return fail(ErrorCode.InvalidArgument, 'dealId is invalid');
    if (input.addressId !== undefined && !isValidId(input.addressId)) return fail(ErrorCode.InvalidArgument, 'addressId is invalid');

    // A flash deal on the product in this room wins; else its listing, if the room's showcase holds it.
    // Redis answers (no PostgreSQL read before the hold, unless Redis lost the room's showcase mirror).
    const dealId = input.dealId || (await this.#deals.dealForTap(roomId, productId));
    if (!dealId) return fail(CommerceErrorCode.NotOnSale, 'not on sale in this room: no deal on this product and not in the showcase');
    let deal: Deal;
    try {
      deal = await this.#deals.get(dealId);
    } catch (error) {
      if (error instanceof FlashcastError && error.code === CommerceErrorCode.DealNotFound) return fail(CommerceErrorCode.NotOnSale, 'no such deal');
      throw error;
    }
    if (deal.productId !== productId) return fail(CommerceErrorCode.NotOnSale, 'the deal is not on this product');
    if (deal.kind === 'flash' && deal.roomId !== roomId) return fail(CommerceErrorCode.NotOnSale, 'the deal is not on this product in this room');
    // A listing named by the client sells only in a room whose showcase holds the product.
    if (deal.kind === 'regular' && input.dealId && (await this.#deals.listingFor(roomId, productId)) !== deal.id) {
      return fail(CommerceErrorCode.NotOnSale, 'the product is not in this room\'s showcase');
    }

    // The total is computed (and an overflow refused) before anything is held.
    const total = Currency.multiply(deal.price.amount, quantity);
    // While the payment provider is down, nothing is held for a payment that cannot happen.
    let paymentsBackIn = this.#payments?.retryAfterMs() ?? 0;
    if (typeof paymentsBackIn !== 'number') paymentsBackIn = await paymentsBackIn;
    if (paymentsBackIn > 0) {
      return fail(CommerceErrorCode.PaymentUnavailable, 'payments are unavailable right now; nothing was held or charged, tap again shortly', paymentsBackIn);
    }
    // The order id derives from (deal, buyer, key): a retry names the same order whatever Redis remembers.
    const orderId = OrderIds.forPurchase(dealId, principal.userId, idempotencyKey, deal.buckets);
    // While the deal may have stock, the saved method is looked up before the reservation, so a
    // winner's settle job is recorded with its hold in the same script (transactional outbox) and
    // the tap is answered at once; the OutboxMover moves the job to BullMQ. Once this node has seen
    // the deal sold out, losers are spared the lookup, and a tap that still wins (stock came back)
    // records its job in a second step before its answer. The lookup before the hold reads the
    // Redis mirror only (`peek`): a buyer it does not know is looked up in PostgreSQL after the
    // hold, so a first tap reaches the reservation as fast as a returning buyer's.
    // Shipping reads Redis only here (the buyer's cached address book, the shop's rates): a blocked
    // or unserved destination is refused before any hold; a book Redis does not have is read after it.
    // Once this node has seen the deal sold out, a tap (most likely a loser) looks nothing up: the
    // rare winner (stock came back) decides its shipping and payment method after its hold.
    const [prefetched, planned] = this.#soldOut.has(dealId)
      ? [undefined, this.#shipping ? DECIDE_AFTER_HOLD : NO_SHIPPING]
      : await Promise.all([
        this.#methods.peek(principal.userId),
        this.#shipping ? this.#shipping.beforeHold(principal.userId, deal, total, input.addressId) : NO_SHIPPING,
      ]);
    let plan: ShippingPlan = planned;
    if (plan.kind === 'refused') return fail(plan.code, plan.message);
    let job: SettleJob | null = null;
    if (prefetched && CheckoutShipping.payable(plan)) {
      const grand = CheckoutShipping.total(plan, total);
      job = this.#job(principal, deal, roomId, orderId, quantity, idempotencyKey, grand, this.#display(grand, deal, input.displayCurrency), prefetched, plan);
    }
    const tap = {
      dealId, userId: principal.userId, idempotencyKey, quantity, region: principal.region,
      orderId, holdMs: this.#options.holdMs, settleJob: job ? JSON.stringify(job) : undefined, buckets: deal.buckets,
    };
    let reply = await this.#reservation.reserve(tap);
    // Redis does not know the deal PostgreSQL has: it lost it (or a rebuild elsewhere fenced it). Rebuild
    // it from PostgreSQL (or wait for that rebuild: the deal's row lock), then tap again.
    if (reply.code === 'NOT_FOUND' && deal.status !== 'closed') {
      await this.#deals.recover(dealId);
      reply = await this.#reservation.reserve(tap);
    }
    // The room sees the stock before anything else is awaited, with the version the script gave it.
    if (reply.code === 'OK') this.#showStock(deal, roomId, reply);
    if (reply.code !== 'NOT_FOUND') this.#noteStock(dealId, reply.available);
    if (reply.code === 'OK' && job) {
      this.#outbox.hand(job);
      return this.#answer(principal, input, deal, reply, prefetched!, true, plan);
    }
    // After the hold: the address book Redis did not have is read from PostgreSQL; a destination
    // refused then gives the units back at once.
    if (plan.kind === 'unknown' && reply.state === 'H' && this.#shipping) {
      plan = await this.#shipping.afterHold(principal.userId, deal, total, input.addressId);
      if (plan.kind === 'refused') {
        const released = await this.#reservation.release(dealId, reply.orderId, 'H', true);
        if (released.released) this.#broadcaster.publishInventory(deal.roomId, await this.#deals.inventory(deal, released));
        return { ...fail(plan.code, plan.message), dealId: deal.id, productId: deal.productId, available: released.available };
      }
    }
    // Only a held order needs the saved method: losers after the sell-out cost one round trip.
    const method = reply.state !== 'H' ? null : prefetched !== undefined ? prefetched : await this.#methods.get(principal.userId);
    return this.#answer(principal, input, deal, reply, method, false, plan);
  }

  /** Remembers whether a deal looked sold out to this node (bounded; a hint, never a decision). */
  #noteStock(dealId: string, available: number): void {
    if (available > 0) {
      this.#soldOut.delete(dealId);
    } else if (!this.#soldOut.has(dealId)) {
      if (this.#soldOut.size >= 10_000) this.#soldOut.clear();
      this.#soldOut.add(dealId);
    }
  }

  #display(total: number, deal: Deal, currency: string | undefined): FxConversion | null {
    if (!currency || currency === deal.price.currency) return null;
    try {
      return this.#fx().convert(total, deal.price.currency, currency);
    } catch {
      return null; // No rate: the buyer sees the seller's currency only.
    }
  }

  /**
   * Shows the room the stock a reservation left. Versioned, so an update computed earlier that
   * arrives later (another request, another node) never replaces it. Only for OK: the script
   * saw the deal live at that version (a DUP's version may be newer than the deal's end).
   */
  #showStock(deal: Deal, roomId: string, reply: ReserveReply): void {
    this.#broadcaster.publishInventory(roomId, {
      productId: deal.productId, dealId: deal.id, available: reply.available, total: deal.totalStock, version: reply.version,
      phase: reply.available > 0 ? DealPhase.DEAL_LIVE : DealPhase.DEAL_SOLD_OUT, phaseEndsAt: deal.kind === 'regular' ? 0 : deal.endsAt,
    });
    // Only the reservation that took the last unit sees available 0 after OK.
    if (reply.available === 0) void this.#deals.announceStock(deal, reply, roomId).catch((err) => log.warn({ err }, 'sold-out broadcast failed'));
  }

  /** `recorded`: the settle job was recorded with the hold (and handed to the mover). */
  async #answer(principal: Principal, input: BuyInput, deal: Deal, reply: ReserveReply, method: SavedPaymentMethod | null, recorded: boolean,
    plan: ShippingPlan): Promise<flashcast.IBuyResult> {
    if (reply.code !== 'OK' && reply.code !== 'DUP') {
      const code = reply.code === 'NOT_FOUND' ? CommerceErrorCode.NotOnSale : reply.code;
      const r = fail(code, MESSAGES[reply.code] ?? reply.code);
      r.available = reply.available;
      r.dealId = deal.id;
      r.productId = deal.productId;
      if (reply.code === 'NOT_STARTED') r.retryAfterMs = Math.max(0, Math.min(reply.at - Date.now(), 2 ** 31 - 1));
      return r;
    }
    const items = Currency.multiply(deal.price.amount, reply.quantity);
    const total = CheckoutShipping.total(plan, items);
    const result: flashcast.IBuyResult = {
      code: '', message: '', orderId: reply.orderId, holdExpiresAt: reply.at, dealId: deal.id, productId: deal.productId,
      quantity: reply.quantity, unitPrice: { ...deal.price }, total: { amount: total, currency: deal.price.currency },
      available: reply.available, ...CheckoutShipping.fields(plan, items, deal.price.currency),
    };
    const display = this.#display(total, deal, input.displayCurrency);
    if (display) {
      result.displayTotal = { amount: display.amount, currency: display.currency };
      result.fxAsOf = display.asOf;
    }
    let state = reply.state;
    if (state === 'H' && method && CheckoutShipping.payable(plan)) {
      if (recorded) return { ...result, status: CheckoutStatus.CHECKOUT_SETTLING };
      // A hold made without its job (a retry, or the method looked up after the hold): record it now, if still held.
      const job = this.#job(principal, deal, input.roomId, reply.orderId, reply.quantity, input.idempotencyKey, total, display, method, plan);
      state = (await this.#reservation.recordSettleJob(deal.id, reply.orderId, JSON.stringify(job))) || 'R';
      if (state === 'H') {
        this.#outbox.hand(job);
        return { ...result, status: CheckoutStatus.CHECKOUT_SETTLING };
      }
    }
    if (state === 'S') return { ...result, status: CheckoutStatus.CHECKOUT_PAID };
    if (state === 'R') {
      return { ...result, code: CommerceErrorCode.HoldExpired, message: 'the hold was released (expired or payment failed); tap again', status: CheckoutStatus.CHECKOUT_FAILED };
    }
    if (state === 'P') return { ...result, status: CheckoutStatus.CHECKOUT_SETTLING };
    // A listing has no room: its buyer's confirmation finds the room of the tap here.
    if (deal.kind === 'regular') await this.#reservation.noteRoom(deal.id, reply.orderId, input.roomId, Math.max(0, reply.at - Date.now()) + ROOM_NOTE_MARGIN_MS);
    return {
      ...result,
      status: CheckoutStatus.CHECKOUT_RESERVED,
      nextStep: NextSteps.confirmPayment({ dealId: deal.id, orderId: reply.orderId, total, currency: deal.price.currency, expiresAt: reply.at }),
    };
  }

  /** `roomId`: the room of the tap (a flash deal's own; for a listing, the room whose showcase sold it). */
  #job(principal: Principal, deal: Deal, roomId: string, orderId: string, quantity: number, key: string, total: number, display: FxConversion | null,
    method: SavedPaymentMethod, plan: ShippingPlan, instalments: number | null = method.type === 'bnpl' ? 3 : null): SettleJob {
    return {
      shipping: CheckoutShipping.charge(plan),
      orderId, paymentKey: OrderIds.paymentKey(orderId), attempt: randomIds.hex(6), dealId: deal.id, roomId, productId: deal.productId, shopId: deal.shopId,
      buyerId: principal.userId, buyerName: principal.name, buyerRegion: principal.region ?? '', idempotencyKey: key,
      quantity, unitAmount: deal.price.amount, totalAmount: total, currency: deal.price.currency,
      display: display ? { amount: display.amount, currency: display.currency, rate: display.rate, asOf: display.asOf } : null,
      method: { type: method.type, token: method.token }, instalments, enqueuedAt: Date.now(),
    };
  }

  /**
   * A first-time buyer confirms a held order with a payment method. With payment steps: the
   * hold is committed (it no longer lapses on its own), the units are claimed in PostgreSQL, and
   * the provider is asked for the payment: the answer is RESERVED with the step the buyer takes
   * (COMPLETE_PAYMENT / APPROVE_PAYMENT, until its deadline), SETTLING when it was captured at
   * once, or PAYMENT_DECLINED. Without: the hold is committed and settlement captures the token.
   * Idempotent: confirming again answers the same step.
   */
  async confirm(principal: Principal, input: ConfirmInput & { displayCurrency?: string }): Promise<flashcast.IBuyResult> {
    try {
      if (input === null || typeof input !== 'object') return fail(ErrorCode.InvalidArgument, 'missing input');
      if (!isValidId(input.dealId) || !isValidId(input.orderId)) return fail(ErrorCode.InvalidArgument, 'invalid ids');
      if (!PAYMENT_METHOD_TYPES.includes(input.method)) return fail(ErrorCode.InvalidArgument, 'method must be card, wallet or bnpl');
      const token = input.token ?? null;
      if (token !== null && (typeof token !== 'string' || token.length < 1 || token.length > 128)) return fail(ErrorCode.InvalidArgument, 'token is invalid');
      if (token === null && !this.#steps) return fail(ErrorCode.InvalidArgument, 'token is required');
      if (input.returnUrl != null && !returnUrlSchema.safeParse(input.returnUrl).success) return fail(ErrorCode.InvalidArgument, 'returnUrl must be an http(s) URL');
      const instalments = input.method === 'bnpl' ? (input.instalments ?? 3) : null;
      if (instalments !== null && !(INSTALMENT_COUNTS as readonly number[]).includes(instalments)) {
        return fail(ErrorCode.InvalidArgument, 'instalments must be 3 or 6');
      }
      if (input.addressId !== undefined && !isValidId(input.addressId)) return fail(ErrorCode.InvalidArgument, 'addressId is invalid');
      const hold = await this.#reservation.order(input.dealId, input.orderId);
      if (!hold || hold.userId !== principal.userId) return fail(CommerceErrorCode.OrderNotFound, 'no such order');
      const deal = await this.#deals.get(input.dealId);
      const items = Currency.multiply(deal.price.amount, hold.quantity);
      // Shipping is decided before the hold is committed: without an address (or to a refused one) it stays held.
      const plan: ShippingPlan = hold.state === 'S' || hold.state === 'R' || !this.#shipping ? NO_SHIPPING
        : await this.#shipping.afterHold(principal.userId, deal, items, input.addressId);
      if (plan.kind === 'refused') return fail(plan.code, plan.message);
      if (plan.kind === 'address_required') return fail(CommerceErrorCode.AddressRequired, 'add a shipping address, then confirm');
      const roomId = deal.kind === 'regular' ? (await this.#reservation.roomOf(deal.id, input.orderId)) ?? '' : deal.roomId;
      const total = CheckoutShipping.total(plan, items);
      let display: FxConversion | null = null;
      if (input.displayCurrency && Currency.isKnown(input.displayCurrency) && input.displayCurrency !== deal.price.currency) {
        try {
          display = this.#fx().convert(total, deal.price.currency, input.displayCurrency);
        } catch {
          display = null;
        }
      }
      const base: flashcast.IBuyResult = {
        orderId: input.orderId, dealId: deal.id, productId: deal.productId, quantity: hold.quantity,
        unitPrice: { ...deal.price }, total: { amount: total, currency: deal.price.currency }, holdExpiresAt: hold.expiresAt,
        displayTotal: display ? { amount: display.amount, currency: display.currency } : null, fxAsOf: display?.asOf ?? 0,
        ...(hold.state === 'S' ? {} : CheckoutShipping.fields(plan, items, deal.price.currency)),
      };
      const method = { type: input.method, token: token ?? '' };
      const job = () => this.#job(principal, deal, roomId, input.orderId, hold.quantity, hold.idempotencyKey, total, display, method, plan, instalments);
      if (this.#steps && this.#orders) return await this.#confirmStep(input, deal, hold.state, job(), base, this.#steps, this.#orders);

      if (hold.state === 'H') {
        const c = await this.#reservation.commit(input.dealId, input.orderId);
        if (c.code === 'EXPIRED') {
          if (roomId) this.#broadcaster.publishInventory(roomId, await this.#deals.inventory(deal, c));
          return fail(CommerceErrorCode.HoldExpired, 'the hold expired before confirmation');
        }
        if (c.code === 'RELEASED') return fail(CommerceErrorCode.HoldExpired, 'the hold was released');
      } else if (hold.state === 'R') {
        return fail(CommerceErrorCode.HoldExpired, 'the hold was released');
      }
      if (input.save) await this.#methods.save(principal.userId, method);
      if (hold.state !== 'S') await this.#queue.enqueueSettle(job());
      return { code: '', message: '', ...base, status: hold.state === 'S' ? CheckoutStatus.CHECKOUT_PAID : CheckoutStatus.CHECKOUT_SETTLING };
    } catch (error) {
      if (error instanceof FlashcastError) return fail(error.code, error.message);
      log.error({ err: error }, 'confirm failed');
      return fail(ErrorCode.Unavailable, 'temporarily unavailable, retry', 500);
    }
  }

  /**
   * The asynchronous confirmation: the attempt is opened first (its deadline scheduled), then the
   * hold is committed (H -> P: it no longer lapses; the step's deadline releases it instead), the
   * units are claimed in PostgreSQL (a step may take minutes), and the provider is asked.
   */
  async #confirmStep(input: ConfirmInput, deal: Deal, state: string, job: SettleJob, base: flashcast.IBuyResult,
    steps: PaymentSteps, orders: OrderStore): Promise<flashcast.IBuyResult> {
    if (state === 'S') return { code: '', message: '', ...base, status: CheckoutStatus.CHECKOUT_PAID };
    const prior = await steps.attempt(input.orderId);
    // Asked again: the same step, or how it ended (a hold that lapsed before any step: HOLD_EXPIRED).
    if (prior && (prior.action !== null || prior.status !== 'pending')) {
      if (prior.status === 'expired' && prior.action === null) return fail(CommerceErrorCode.HoldExpired, 'the hold was released', 0, base);
      return this.#stepAnswer(await steps.again(prior, job), base, deal.id);
    }
    if (state === 'R') return fail(CommerceErrorCode.HoldExpired, 'the hold was released', 0, base);
    // Held for payment with no step of ours: the saved method's one-tap payment is under way.
    if (state === 'P' && !prior) return { code: '', message: '', ...base, status: CheckoutStatus.CHECKOUT_SETTLING };
    const opened = await steps.open(job, { save: input.save });
    if (opened.kind === 'in_progress') return this.#stepAnswer(opened, base, deal.id);
    if (state === 'H') {
      const c = await this.#reservation.commit(deal.id, input.orderId);
      if (c.code === 'EXPIRED' || c.code === 'RELEASED') {
        await steps.abandon(input.orderId, 'hold_lapsed');
        if (c.code === 'EXPIRED') this.#broadcaster.publishInventory(deal.roomId, await this.#deals.inventory(deal, c));
        return fail(CommerceErrorCode.HoldExpired, 'the hold expired before confirmation', 0, base);
      }
    }
    const claim = await orders.claim(job);
    if (claim === 'paid' || claim === 'refunded') return { code: '', message: '', ...base, status: CheckoutStatus.CHECKOUT_PAID };
    if (claim !== 'claimed' && claim !== 'pending') {
      await steps.abandon(input.orderId, claim);
      if (claim === 'sold_out' || claim === 'deal_closed' || claim === 'no_deal') {
        await orders.recordFailed(job, 'failed', claim === 'sold_out' ? 'SOLD_OUT' : 'DEAL_ENDED');
        const r = await this.#reservation.release(deal.id, input.orderId, 'HP');
        if (r.released) this.#broadcaster.publishInventory(deal.roomId, await this.#deals.inventory(deal, r));
        return fail(claim === 'sold_out' ? CommerceErrorCode.SoldOut : CommerceErrorCode.Ended, claim === 'sold_out' ? 'sold out' : 'the deal has ended', 0, base);
      }
      return fail(CommerceErrorCode.HoldExpired, `the order is ${claim}`, 0, base);
    }
    if (input.save && input.token) await this.#methods.save(job.buyerId, job.method);
    return this.#stepAnswer(await steps.start(opened.attempt, { token: input.token, returnUrl: input.returnUrl }), base, deal.id);
  }

  /** The BuyResult of a payment step's outcome. */
  #stepAnswer(outcome: StepOutcome, base: flashcast.IBuyResult, dealId: string): flashcast.IBuyResult {
    switch (outcome.kind) {
      case 'step':
        return {
          code: '', message: '', ...base, status: CheckoutStatus.CHECKOUT_RESERVED, holdExpiresAt: outcome.attempt.expiresAt,
          nextStep: NextSteps.forAttempt(outcome.attempt, dealId),
        };
      case 'settling':
        return { code: '', message: '', ...base, status: CheckoutStatus.CHECKOUT_SETTLING, holdExpiresAt: outcome.attempt.expiresAt };
      case 'declined':
        return fail(CommerceErrorCode.PaymentDeclined, 'the payment was declined', 0, base);
      case 'expired':
        return fail(CommerceErrorCode.PaymentExpired, 'the payment step was not finished in time; the units were released', 0, base);
      case 'in_progress':
        return {
          ...fail(CommerceErrorCode.PaymentInProgress, 'a payment with another method is under way for this order', 0, base),
          nextStep: outcome.attempt.action === 'redirect' || outcome.attempt.action === 'approval' ? NextSteps.forAttempt(outcome.attempt, dealId) : null,
        };
      default:
        return fail(CommerceErrorCode.PaymentUnavailable, 'payments are unavailable right now; nothing was charged, confirm again shortly', outcome.retryAfterMs, base);
    }
  }
}

/** The plan when nothing ships (no shipping step wired), or when shipping no longer matters (an order sold or released). */
const NO_SHIPPING: ShippingPlan = { kind: 'none' };
/** The plan of a tap that decides its shipping after the hold (from PostgreSQL's address book). */
const DECIDE_AFTER_HOLD: ShippingPlan = { kind: 'unknown' };

function fail(code: string, message: string, retryAfterMs = 0, context: flashcast.IBuyResult = {}): flashcast.IBuyResult {
  return { ...context, code, message, status: CheckoutStatus.CHECKOUT_FAILED, retryAfterMs };
}
