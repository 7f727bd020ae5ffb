import { flashcast } from '../../protocol/index.js';
import { HarnessContext } from './HarnessContext.js';
import { RequestError, type FlashcastClient } from './FlashcastClient.js';
import type { ScenarioReport } from './ScenarioReport.js';

/** How a flash sale runs (k6: BUYERS, STOCK, TAP_SPREAD, PAID_WAIT, AUDIT_WAIT). */
export interface FlashSaleOptions {
  room: string;
  buyers: number;
  stock: number;
  /** The deal goes live this long after it is created (at least 10 s: the API's minimum countdown). */
  countdownS: number;
  /** Taps are spread over this many seconds after the deal goes live. */
  tapSpreadS: number;
  /** How long a winner waits for PAID on its socket. */
  paidWaitS: number;
  /** User ids start with this (one run's buyers never meet another's). */
  idPrefix: string;
}

/** Tap answers that are a failure of the service, not an outcome of the sale (SLO tap_unavailable). */
const UNAVAILABLE_CODES = ['UNAVAILABLE', 'PAYMENT_UNAVAILABLE', 'SHIPPING_UNAVAILABLE', 'INTERNAL'];

/**
 * A flash sale over the real API, as the k6 scripts drive it (flashcast.js setupFlashSale,
 * buyer, auditFlashSale): the host opens a shop, a product, the showcase, the pin and a deal
 * over HTTP; buyers with a saved card join, tap once each while the deal is live and wait for
 * PAID on their socket; the audit reads every buyer's orders from the server. Records the
 * same counters as the k6 metrics (without `fc_`) and the same checks as their thresholds.
 */
export class FlashSale {
  readonly options: FlashSaleOptions;
  readonly dealId: string;
  readonly productId: string;
  /** When the deal goes live (server clock, ms). */
  readonly startsAt: number;
  readonly #hostToken: string;

  private constructor(options: FlashSaleOptions, hostToken: string, deal: { id: string; productId: string; startsAt: number }) {
    this.options = options;
    this.#hostToken = hostToken;
    this.dealId = deal.id;
    this.productId = deal.productId;
    this.startsAt = deal.startsAt;
  }

  /** Sets the sale up over HTTP as the room's host. Throws when a step fails. */
  static async open(context: HarnessContext, options: FlashSaleOptions): Promise<FlashSale> {
    const token = context.token({ sub: `${options.idPrefix}-host`, role: 'host', rooms: [options.room] });
    const must = async (method: string, path: string, body: unknown, status: number, what: string): Promise<Record<string, unknown>> => {
      const res = await context.api(method, path, token, body);
      if (res.status !== status) throw new Error(`flash-sale setup: ${what} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body as Record<string, unknown>;
    };
    const shop = await must('POST', '/v1/shops', { name: 'harness flash shop', currency: 'USD', country: 'US' }, 201, 'shop');
    const product = await must(
      'POST',
      `/v1/shops/${String(shop.id)}/products`,
      { titles: { en: 'harness flash item' }, images: [], price: { amount: 2999, currency: 'USD' }, stock: options.stock },
      201,
      'product',
    );
    const productId = String(product.id);
    await must('POST', `/v1/rooms/${options.room}/showcase`, { productId }, 204, 'showcase');
    await must('POST', `/v1/rooms/${options.room}/pin`, { productId }, 200, 'pin');
    const deal = await must(
      'POST',
      `/v1/rooms/${options.room}/deals`,
      {
        productId,
        price: { amount: 1999, currency: 'USD' },
        totalStock: options.stock,
        perBuyerLimit: 1,
        countdownSeconds: Math.max(10, Math.ceil(options.countdownS)),
        durationSeconds: 600,
      },
      201,
      'deal',
    );
    return new FlashSale(options, token, { id: String(deal.id), productId, startsAt: Number(deal.startsAt) });
  }

  /** Buyer `i`'s user id. */
  buyerId(i: number): string {
    return `${this.options.idPrefix}b${i}`;
  }

  /**
   * Every buyer saves a card, connects and joins (50 at a time), taps once at the deal's start
   * plus a random share of the spread, and, when it won, waits for PAID. Resolves when all are done.
   */
  async runBuyers(context: HarnessContext, report: ScenarioReport): Promise<void> {
    const { buyers, tapSpreadS } = this.options;
    const clients: (FlashcastClient | null)[] = new Array(buyers).fill(null);
    const paid = new Map<string, (status: number, code: string) => void>();
    // An update that came before its waiter (in the same read as the tap's answer).
    const early = new Map<string, [number, string]>();
    const onUpdate = (u: flashcast.OrderUpdate): void => {
      const waiter = paid.get(u.orderId);
      if (waiter) waiter(u.status, u.code);
      else early.set(u.orderId, [u.status, u.code]);
    };
    const closing = new Set<number>();
    const joins = await HarnessContext.pool(buyers, 50, async (i) => {
      const id = this.buyerId(i);
      const token = context.token({ sub: id, role: 'viewer', name: `Buyer ${i}`, region: 'US' });
      const saved = await context.api('PUT', '/v1/me/payment-method', token, { type: 'card', token: 'tok_visa' });
      if (saved.status !== 204) throw new Error(`payment method: ${saved.status}`);
      const client = await context.viewer(
        id,
        {
          onOrderUpdate: onUpdate,
          onClose: () => {
            if (!closing.has(i)) report.count('unexpected_close');
          },
        },
        { name: `Buyer ${i}`, region: 'US' },
      );
      clients[i] = client;
      await client.join(this.options.room);
    });
    const failed = joins.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    report.count('joined', buyers - failed.length);
    report.count('join_failed', failed.length);
    report.check('all buyers joined', failed.length === 0, failed.length ? `${failed.length} failed, first: ${String(failed[0].reason)}` : `${buyers}`);
    try {
      await Promise.all(
        clients.map((client, i) => (client ? this.#tap(client, i, this.startsAt + Math.random() * tapSpreadS * 1000, report, paid, early) : Promise.resolve())),
      );
    } finally {
      clients.forEach((client, i) => {
        closing.add(i);
        client?.close();
      });
    }
  }

  async #tap(
    client: FlashcastClient,
    i: number,
    tapAt: number,
    report: ScenarioReport,
    paid: Map<string, (status: number, code: string) => void>,
    early: Map<string, [number, string]>,
  ): Promise<void> {
    const skew = Number(client.connected?.serverTime ?? Date.now()) - Date.now();
    const wait = tapAt - skew - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (!client.isOpen) return;
    const sentAt = Date.now();
    report.count('buy_taps');
    let reply: flashcast.ServerFrame;
    try {
      reply = await client.request({
        buy: { room: this.options.room, productId: this.productId, dealId: this.dealId, quantity: 1, idempotencyKey: `${this.buyerId(i)}-tap` },
      });
    } catch (error) {
      if (!(error instanceof RequestError)) {
        report.count('buy_unanswered');
        return;
      }
      report.count('buy_answered');
      report.time('buy_ms', Date.now() - sentAt);
      report.count('buy_other');
      report.count(`buy_code_${error.code}`);
      if (UNAVAILABLE_CODES.includes(error.code)) report.count('buy_unavailable');
      return;
    }
    report.count('buy_answered');
    report.time('buy_ms', Date.now() - sentAt);
    const code = reply.buyResult?.code || 'OK';
    if (code === 'SOLD_OUT') report.count('buy_sold_out');
    if (code !== 'OK') {
      if (code !== 'SOLD_OUT') {
        report.count('buy_other');
        report.count(`buy_code_${code}`);
        if (UNAVAILABLE_CODES.includes(code)) report.count('buy_unavailable');
      }
      return;
    }
    report.count('buy_ok');
    const orderId = reply.buyResult?.orderId ?? '';
    // The winner waits for its order to settle, pushed on its socket.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        paid.delete(orderId);
        resolve();
      }, this.options.paidWaitS * 1000);
      paid.set(orderId, (status, failure) => {
        if (status === flashcast.CheckoutStatus.CHECKOUT_PAID) {
          report.count('orders_paid_pushed');
          report.time('paid_ms', Date.now() - sentAt);
        } else if (status === flashcast.CheckoutStatus.CHECKOUT_FAILED) {
          report.count('orders_failed_pushed');
          report.count(`order_failed_${failure || 'UNKNOWN'}`);
        } else {
          return;
        }
        clearTimeout(timer);
        paid.delete(orderId);
        resolve();
      });
      const before = early.get(orderId);
      if (before) paid.get(orderId)?.(...before);
    });
  }

  /**
   * The outcome from the server's authority over HTTP: once the host dashboard's paid units
   * stop moving (at most `waitS`), every buyer's orders on this deal (`GET /v1/me/orders`,
   * PostgreSQL). Adds orders_paid and units_sold, then ends the deal.
   */
  async audit(context: HarnessContext, report: ScenarioReport, waitS = 60): Promise<void> {
    const deadline = Date.now() + waitS * 1000;
    let last = -1;
    let stable = 0;
    while (Date.now() < deadline) {
      const res = await context.api('GET', `/v1/rooms/${this.options.room}/dashboard`, this.#hostToken);
      if (res.status !== 200) break;
      const products = (res.body as { products?: { dealId: string; units: number }[] }).products ?? [];
      const units = Number(products.find((p) => p.dealId === this.dealId)?.units ?? 0);
      stable = units === last ? stable + 1 : 0;
      last = units;
      if (stable >= 2) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    let orders = 0;
    let units = 0;
    const reads = await HarnessContext.pool(this.options.buyers, 20, async (i) => {
      const token = context.token({ sub: this.buyerId(i), role: 'viewer' });
      const res = await context.api('GET', '/v1/me/orders?limit=20', token);
      if (res.status !== 200) throw new Error(`orders of ${this.buyerId(i)}: ${res.status}`);
      for (const o of (res.body as { orders: { deal_id: string; status: string; lines: { quantity: number }[] }[] }).orders) {
        if (o.deal_id !== this.dealId || o.status !== 'paid') continue;
        orders++;
        for (const line of o.lines) units += line.quantity;
      }
    });
    const unread = reads.filter((r) => r.status === 'rejected').length;
    report.count('orders_paid', orders);
    report.count('units_sold', units);
    report.check('orders readable over HTTP', unread === 0, `${unread} buyers' orders not read`);
    await context.api('POST', `/v1/deals/${this.dealId}/end`, this.#hostToken).catch(() => undefined);
  }

  /** The sale's checks: the k6 thresholds of flash-sale.js. */
  check(report: ScenarioReport): void {
    const { buyers, stock } = this.options;
    const c = (name: string): number => report.counters[name] ?? 0;
    const sellable = Math.min(stock, buyers);
    report.check('every buyer tapped and every tap answered', c('buy_taps') >= buyers && c('buy_answered') >= buyers, `${c('buy_taps')} taps, ${c('buy_answered')} answered of ${buyers}`);
    report.check('the stock sold, no more', c('buy_ok') >= sellable && c('buy_ok') <= stock, `${c('buy_ok')} won, ${sellable} expected, stock ${stock}`);
    report.check('every other answer SOLD_OUT', c('buy_other') === 0, `${c('buy_other')} other answers`);
    report.check('every winner told PAID', c('orders_paid_pushed') >= sellable, `${c('orders_paid_pushed')}/${sellable}`);
    report.check('paid orders in PostgreSQL', c('orders_paid') >= sellable && c('orders_paid') <= stock && c('units_sold') >= sellable, `${c('orders_paid')} orders, ${c('units_sold')} units, ${sellable} expected`);
  }
}
