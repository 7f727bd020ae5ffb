/**
 * `<fc-deals-panel>`: flash deals on showcased products with the parameters sellers know: a
 * countdown of 10-300 s before the sale opens, 1-20 minutes of sale, total stock, a per-buyer
 * limit, the regions that may buy and the deal price. Lists the room's deals with their live
 * phase, countdown and stock (from the room's inventory pushes), and ends one on demand.
 */
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import type { flashcast } from '../../../protocol/gen/flashcast.js';
import { RoomEvent } from '../../../client-sdk/Room.js';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { fromMinorUnits, toMinorUnits } from '../shared/moneyInput.js';
import { clock, dealView } from './dealPhase.js';
import { i18n, productTitle } from './messages.js';
import { panel } from '../shared/panel.js';
import type { Deal, Product } from './StudioApi.js';
import type { StudioSession } from './StudioSession.js';

const REGION = /^[A-Z]{2}$/;

export class DealsPanel extends LitElement {
  static override properties = {
    session: { attribute: false },
    products: { attribute: false },
    _deals: { state: true },
    _productId: { state: true },
    _sold: { state: true },
    _tick: { state: true },
    _busy: { state: true },
    _error: { state: true },
  };
  declare session: StudioSession;
  /** The room's showcase: deals are made on these. */
  declare products: Product[];
  declare _deals: Deal[];
  declare _productId: string;
  /** Units sold per deal, from the dashboard. */
  declare _sold: Map<string, number>;
  declare _tick: number;
  declare _busy: string;
  declare _error: string;

  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #onInventory = (inv: flashcast.IInventoryUpdate) => {
    if (inv.dealId && !this._deals.some((d) => d.id === inv.dealId)) void this.reload();
    else this.requestUpdate();
  };
  readonly #onSnapshot = () => this.requestUpdate();
  readonly #onDashboard = (stats: flashcast.IDashboardStats) => {
    this._sold = new Map((stats.products ?? []).map((p) => [p.dealId ?? '', Number(p.units ?? 0)]));
  };

  static override styles = [theme, panel];

  constructor() {
    super();
    this.products = [];
    this._deals = [];
    this._productId = '';
    this._sold = new Map();
    this._tick = 0;
    this._busy = '';
    this._error = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#timer = setInterval(() => {
      if (this._deals.some((d) => d.status === 'active')) this._tick++;
    }, 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#listen(this.session, false);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('session')) {
      this.#listen(changed.get('session'), false);
      this.#listen(this.session, true);
      void this.reload();
    }
    if (changed.has('products') && !this.products.some((p) => p.id === this._productId)) this._productId = this.products[0]?.id ?? '';
  }

  #listen(session: StudioSession | undefined, on: boolean): void {
    if (!session) return;
    const room = session.room;
    if (on) room.on(RoomEvent.Inventory, this.#onInventory).on(RoomEvent.Snapshot, this.#onSnapshot).on(RoomEvent.Dashboard, this.#onDashboard);
    else room.off(RoomEvent.Inventory, this.#onInventory).off(RoomEvent.Snapshot, this.#onSnapshot).off(RoomEvent.Dashboard, this.#onDashboard);
  }

  /** The room's deals, newest first. */
  async reload(): Promise<void> {
    try {
      const deals = await this.session.api.deals();
      this._deals = deals.filter((d) => d.kind === 'flash').sort((a, b) => b.startsAt - a.startsAt);
    } catch (error) {
      this._error = errorMessage(i18n, error);
    }
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const product = this.products.find((p) => p.id === this._productId);
    const now = this.session.clock.now();
    const titles = new Map(this.products.map((p) => [p.id, productTitle(p)]));
    return html`<section class="panel">
      <h2>${t('deals.title')}</h2>
      ${this.products.length === 0
        ? html`<p class="muted">${t('deals.needShowcase')}</p>`
        : html`<form @submit=${this.#onCreate} data-testid="deal-form">
            <div class="grid">
              <label style="grid-column: 1 / -1">${t('deals.product')}<select name="product" data-testid="deal-product" @change=${(e: Event) => (this._productId = (e.target as HTMLSelectElement).value)}>
                ${this.products.map((p) => html`<option value=${p.id} ?selected=${p.id === this._productId}>${productTitle(p)} · ${i18n.money(p.price)}</option>`)}
              </select></label>
              <label>${t('deals.price', { currency: product?.price.currency ?? '' })}<input name="price" required inputmode="decimal" data-testid="deal-price"
                placeholder=${product ? fromMinorUnits(product.price.amount, product.price.currency) : ''}></label>
              <label>${t('deals.stock')}<input name="stock" type="number" min="1" max="1000000" required value=${Math.max(1, Math.min(20, product?.stock ?? 20))} data-testid="deal-stock"></label>
              <label>${t('deals.limit')}<input name="limit" type="number" min="1" max="100" required value="1" data-testid="deal-limit"></label>
              <label>${t('deals.countdown')}<input name="countdown" type="number" min="10" max="300" required value="30" data-testid="deal-countdown"></label>
              <label>${t('deals.duration')}<input name="duration" type="number" min="1" max="20" required value="5" data-testid="deal-duration"></label>
              <label>${t('deals.regions')}<input name="regions" placeholder=${t('deals.regionsHint')} data-testid="deal-regions"></label>
            </div>
            <p class="row"><button class="primary" ?disabled=${this._busy === 'create'} data-testid="deal-create">${t('deals.create')}</button></p>
          </form>`}
      ${this._error ? html`<p class="error" role="alert" data-testid="deal-error">${this._error}</p>` : nothing}
      ${this._deals.length > 0 ? html`<h3>${t('deals.list')}</h3>` : nothing}
      <ul class="list">${this._deals.map((deal) => {
        const v = dealView(deal, this.session.room.state.inventory.get(deal.id), now);
        const badge = v.phase === 'LIVE' ? 'live' : v.phase === 'SCHEDULED' ? 'warn' : '';
        return html`<li data-testid="deal-row" data-deal-id=${deal.id} data-phase=${v.phase}>
          <span class="grow">${titles.get(deal.productId) ?? deal.productId} · ${i18n.money(deal.price)}<br>
            <span class="muted">${v.available === null ? t('deals.total', { count: v.total }) : t('deals.left', { available: v.available, total: v.total })}
            · ${t('deals.sold', { count: this._sold.get(deal.id) ?? deal.soldUnits ?? 0 })} · ${t('deals.perBuyer', { count: deal.perBuyerLimit })}${deal.allowedRegions.length ? ` · ${deal.allowedRegions.join(' ')}` : ''}</span></span>
          <span class="badge ${badge}" data-testid="deal-phase">${t(`deals.phase.${v.phase}`)}${v.until ? html` <span data-testid="deal-clock">${clock(v.until - now)}</span>` : nothing}</span>
          ${v.phase === 'ENDED'
            ? nothing
            : html`<button class="small danger" ?disabled=${this._busy === deal.id} @click=${() => void this.#end(deal.id)} data-testid="deal-end">${t('deals.end')}</button>`}
        </li>`;
      })}</ul>
    </section>`;
  }

  async #onCreate(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    // (event.target is reset once the event has been dispatched: keep the form)
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const product = this.products.find((p) => p.id === String(data.get('product')));
    if (!product) return;
    const currency = product.price.currency;
    const price = toMinorUnits(String(data.get('price') ?? ''), currency);
    if ('error' in price) {
      this._error = i18n.t(`money.${price.error}`, { currency });
      return;
    }
    const regions = String(data.get('regions') ?? '').toUpperCase().split(/[\s,;]+/).filter(Boolean);
    if (regions.some((r) => !REGION.test(r))) {
      this._error = i18n.t('deals.badRegions');
      return;
    }
    const int = (name: string) => Number(data.get(name));
    this._busy = 'create';
    this._error = '';
    try {
      await this.session.api.createDeal({
        productId: product.id,
        price: { amount: price.amount, currency },
        totalStock: int('stock'),
        perBuyerLimit: int('limit'),
        countdownSeconds: int('countdown'),
        durationSeconds: int('duration') * 60,
        ...(regions.length ? { allowedRegions: [...new Set(regions)] } : {}),
      });
      form.querySelector<HTMLInputElement>('[name="price"]')!.value = '';
      await this.reload();
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = '';
    }
  }

  async #end(dealId: string): Promise<void> {
    this._busy = dealId;
    this._error = '';
    try {
      await this.session.api.endDeal(dealId);
      await this.reload();
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = '';
    }
  }
}

if (!customElements.get('fc-deals-panel')) customElements.define('fc-deals-panel', DealsPanel);
