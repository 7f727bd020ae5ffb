import type { ConnectionOptions } from 'bullmq';
import type { Redis, Cluster } from 'ioredis';
import type { Database } from '../db/Database.js';
import type { RedisKeys } from '../../common/keys.js';
import type { RoomBroadcaster } from './RoomBroadcaster.js';
import type { flashcast } from '../../protocol/index.js';
import { Reservation } from './Reservation.js';
import { Catalog } from './Catalog.js';
import { AffiliatePlans } from './AffiliatePlans.js';
import { FlashDeals, type FlashDealsOptions } from './FlashDeals.js';
import { Listings, type ListingsOptions } from './Listings.js';
import { Checkout, type CheckoutOptions } from './Checkout.js';
import { PaymentMethods } from './PaymentMethods.js';
import { FxTable } from './FxTable.js';
import { RefundPolicy } from './RefundPolicy.js';
import { RefundService } from './RefundService.js';
import { ReturnShippingRates } from './ReturnShippingRates.js';
import { AddressBook } from './AddressBook.js';
import { CachedHash } from './CachedHash.js';
import { CheckoutShipping } from './CheckoutShipping.js';
import { ShippingRates, type ShippingRatesOptions } from './ShippingRates.js';
import { CommissionLedger } from './CommissionLedger.js';
import { DashboardStats, type ViewerCount } from './DashboardStats.js';
import { HoldSweeper } from './HoldSweeper.js';
import { PaymentAvailability } from './PaymentAvailability.js';
import { SettlementQueue } from './SettlementQueue.js';
import { OutboxMover, type OutboxMoverOptions } from './OutboxMover.js';
import { DealEvents } from './DealEvents.js';
import { WebhookOutbox } from '../webhooks/WebhookOutbox.js';
import { OrderStore } from './OrderStore.js';
import { PaymentAttempts } from './PaymentAttempts.js';
import { PaymentSteps, type PaymentStepOptions } from './PaymentSteps.js';
import type { PaymentProvider } from './PaymentProvider.js';
import { logger } from '../../common/logger.js';
import { runCloseSteps } from '../../common/closeSteps.js';

const log = logger('CommerceService');

export interface CommerceServiceParams {
  redis: Redis | Cluster;
  /** BullMQ connection for the queues this process produces to. */
  connection: ConnectionOptions;
  keys: RedisKeys;
  db: Database;
  broadcaster: RoomBroadcaster;
  /** Whether a user is banned in a room now (the room moderation data): bans apply to buying. */
  bans: BanLookup;
  viewerCount?: ViewerCount;
  deals?: Partial<FlashDealsOptions>;
  /** Regular-price listings (their cross-border bans default to the deals'). */
  listings?: Partial<ListingsOptions>;
  checkout?: Partial<CheckoutOptions>;
  /** The shops' shipping rates as this node reuses them (memo). */
  shipping?: Partial<ShippingRatesOptions>;
  /** Run the deal phase worker, the hold sweeper and the outbox sweep here (default true). */
  runWorkers?: boolean;
  /** The mover of settle jobs from the deals' outboxes to BullMQ (its sweep is off when `runWorkers` is false). */
  outbox?: Partial<OutboxMoverOptions>;
  dashboardIntervalMs?: number;
  /**
   * The asynchronous payment step (docs/payments.md): the providers whose notifications this
   * process takes, the one first confirmations go to, and the step's hold and tolerance. Absent:
   * confirmations go to settlement's synchronous capture and no notification route is served.
   */
  payments?: { providers: PaymentProvider[]; checkoutProvider?: string; options: PaymentStepOptions } | null;
}

/** Resolves to true when the user is banned in the room (RoomStore.isBanned). */
export type BanLookup = (roomId: string, userId: string) => Promise<boolean>;

/**
 * The commerce part of the gateway process: catalog, affiliate plans, flash deals, checkout,
 * refunds, commissions and dashboard (their HTTP routes are CommerceApi's). The gateway calls
 * `checkout.reserve(principal, input)` for socket `Buy` frames (after the policy allowed
 * checkout.buy), builds pin cards with `pinCard`, and forwards `dashboard` `stats` events to
 * the room's host and ops.
 */
export class CommerceService {
  readonly catalog: Catalog;
  readonly plans: AffiliatePlans;
  readonly deals: FlashDeals;
  readonly checkout: Checkout;
  readonly methods: PaymentMethods;
  readonly refunds: RefundService;
  /** The shops' return-shipping rates the refund policy reads (set by the shop owner). */
  readonly shippingRates: ReturnShippingRates;
  /** The buyers' address books (checkout ships to them). */
  readonly addresses: AddressBook;
  /** The shops' shipping rates, per destination (checkout adds them to the total). */
  readonly shipping: ShippingRates;
  readonly ledger: CommissionLedger;
  readonly dashboard: DashboardStats;
  readonly queue: SettlementQueue;
  /** Moves winners' settle jobs from the deals' outboxes to the settlement queue. */
  readonly outbox: OutboxMover;
  /** The asynchronous payment step and its notifications (null: not configured). */
  readonly steps: PaymentSteps | null;
  /** Claims units of confirmed orders in PostgreSQL (the asynchronous path), null without steps. */
  readonly #orders: OrderStore | null;
  readonly db: Database;
  readonly params: CommerceServiceParams;
  #fx: FxTable;
  readonly #sweeper: HoldSweeper | null;
  /** Where deal events for merchant webhooks are recorded. */
  readonly #webhooks: WebhookOutbox;
  readonly #fxTimer: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  private constructor(params: CommerceServiceParams, parts: {
    catalog: Catalog; plans: AffiliatePlans; deals: FlashDeals; checkout: Checkout; methods: PaymentMethods; refunds: RefundService; shippingRates: ReturnShippingRates;
    addresses: AddressBook; shipping: ShippingRates; ledger: CommissionLedger; dashboard: DashboardStats; queue: SettlementQueue; outbox: OutboxMover; fx: FxTable; sweeper: HoldSweeper | null;
    webhooks: WebhookOutbox; steps: PaymentSteps | null; orders: OrderStore | null;
  }) {
    this.params = params;
    this.db = params.db;
    this.catalog = parts.catalog;
    this.plans = parts.plans;
    this.deals = parts.deals;
    this.checkout = parts.checkout;
    this.methods = parts.methods;
    this.refunds = parts.refunds;
    this.shippingRates = parts.shippingRates;
    this.addresses = parts.addresses;
    this.shipping = parts.shipping;
    this.ledger = parts.ledger;
    this.dashboard = parts.dashboard;
    this.queue = parts.queue;
    this.outbox = parts.outbox;
    this.steps = parts.steps;
    this.#orders = parts.orders;
    this.#fx = parts.fx;
    this.#sweeper = parts.sweeper;
    this.#webhooks = parts.webhooks;
    this.#fxTimer = setInterval(() => void this.reloadFx().catch((err) => log.warn({ err }, 'fx reload failed')), 60_000);
    this.#fxTimer.unref();
  }

  static async create(p: CommerceServiceParams): Promise<CommerceService> {
    const reservation = await Reservation.create(p.redis, p.keys);
    const queue = await SettlementQueue.create(p.connection, `${p.keys.prefix}:bull`);
    const webhooks = new WebhookOutbox(p.db);
    // Listings and deals need each other: a deal takes its units from a listing; a listing's Redis
    // state is rebuilt from PostgreSQL as a deal's is (FlashDeals.recover).
    let built: FlashDeals | null = null;
    const listings = new Listings({
      db: p.db, redis: p.redis, keys: p.keys, reservation,
      options: { crossBorderBans: p.deals?.crossBorderBans ?? [], ...p.listings },
      recover: (dealId) => (built ? built.recover(dealId) : Promise.resolve(false)),
    });
    const deals = await FlashDeals.create({
      db: p.db, redis: p.redis, connection: p.connection, keys: p.keys, reservation, broadcaster: p.broadcaster,
      options: p.deals, runWorker: p.runWorkers !== false, listings, events: new DealEvents(webhooks),
    });
    built = deals;
    const fx = await FxTable.load(p.db);
    let self: CommerceService | null = null;
    const fxNow = () => self?.fx ?? fx;
    const methods = new PaymentMethods(p.db, p.redis, p.keys);
    const outbox = new OutboxMover(p.redis, p.keys, reservation, queue, { ...(p.runWorkers === false ? { sweepIntervalMs: 0 } : {}), ...p.outbox });
    const payments = new PaymentAvailability(p.redis, p.keys);
    const cache = await CachedHash.create(p.redis);
    const addresses = new AddressBook(p.db, p.redis, p.keys, cache);
    const shipping = new ShippingRates(p.db, p.redis, p.keys, cache, p.shipping);
    const orders = p.payments ? new OrderStore(p.db) : null;
    const steps = p.payments
      ? new PaymentSteps({ attempts: new PaymentAttempts(p.db), queue, providers: p.payments.providers, checkoutProvider: p.payments.checkoutProvider, options: p.payments.options })
      : null;
    const checkout = new Checkout({
      deals, reservation, methods, queue, outbox, payments, broadcaster: p.broadcaster, fx: fxNow, options: p.checkout,
      shipping: new CheckoutShipping(addresses, shipping),
      steps: steps && orders ? { steps, orders } : null,
    });
    const shippingRates = new ReturnShippingRates(p.db);
    const refunds = new RefundService(p.db, new RefundPolicy(fxNow), queue, shippingRates);
    const dashboard = new DashboardStats(p.redis, p.keys, deals, p.viewerCount ?? (() => 0), p.dashboardIntervalMs);
    const sweeper = p.runWorkers === false ? null : new HoldSweeper(p.redis, p.keys, reservation, p.broadcaster);
    self = new CommerceService(p, {
      catalog: new Catalog(p.db, listings), plans: new AffiliatePlans(p.db), deals, checkout, methods, refunds, shippingRates, addresses, shipping, ledger: new CommissionLedger(p.db),
      dashboard, queue, outbox, fx, sweeper, webhooks, steps, orders,
    });
    return self;
  }

  /** The FX table in force. */
  get fx(): FxTable {
    return this.#fx;
  }

  /** Reloads FX rates from the database. */
  async reloadFx(): Promise<void> {
    this.#fx = await FxTable.load(this.db);
  }

  /** Whether the user is banned in the room now. */
  isBanned(roomId: string, userId: string): Promise<boolean> {
    return this.params.bans(roomId, userId);
  }

  /**
   * The card a pin shows (RoomControl's card source): the catalog's product of the room's
   * showcase, with the deal that runs on it in that room now (looked up by the server).
   */
  async pinCard(roomId: string, productId: string, locale?: string): Promise<flashcast.IProductCard> {
    const dealId = await this.deals.currentDealId(roomId, productId);
    const deal = dealId ? await this.deals.get(dealId).catch(() => undefined) : undefined;
    const live = deal && deal.status === 'active' && deal.roomId === roomId && deal.productId === productId ? deal : undefined;
    return this.catalog.pinCard(roomId, productId, locale, live ? { id: live.id, price: live.price } : undefined);
  }

  /** Stops timers, workers and queues. Idempotent; every step runs. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#fxTimer);
      await runCloseSteps(log, [
        ['sweeper', () => this.#sweeper?.close()],
        ['dashboard', () => this.dashboard.close()],
        ['deals', () => this.deals.close()],
        ['webhook events', () => this.#webhooks.close()],
        ['outbox', () => this.outbox.close()],
        ['orders', () => this.#orders?.close()],
        ['queue', () => this.queue.close()],
      ]);
    })();
    return this.#closing;
  }
}
