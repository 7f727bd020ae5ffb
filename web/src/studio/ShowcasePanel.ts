/**
 * `<fc-showcase-panel>`: what the room sells. The showcase (pin, unpin, remove), the host's
 * own catalog (add to the showcase, add a product) and the affiliate plans open to the host
 * (other shops' products at a commission). Fires `showcase-changed` with the products.
 */
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { RoomEvent } from '../../../client-sdk/Room.js';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { i18n, productTitle } from './messages.js';
import { panel } from '../shared/panel.js';
import type { AffiliatePlan, Product, Shop } from './StudioApi.js';
import type { StudioSession } from './StudioSession.js';
import './ProductForm.js';

export class ShowcasePanel extends LitElement {
  static override properties = {
    session: { attribute: false },
    shops: { attribute: false },
    _showcase: { state: true },
    _catalog: { state: true },
    _plans: { state: true },
    _pinned: { state: true },
    _adding: { state: true },
    _busy: { state: true },
    _error: { state: true },
  };
  declare session: StudioSession;
  declare shops: Shop[];
  declare _showcase: Product[];
  declare _catalog: Product[];
  declare _plans: { plan: AffiliatePlan; product: Product | null }[];
  declare _pinned: string | null;
  declare _adding: boolean;
  declare _busy: string;
  declare _error: string;

  readonly #onPin = () => (this._pinned = this.session.room.state.pinned?.productId ?? null);

  static override styles = [theme, panel];

  constructor() {
    super();
    this.shops = [];
    this._showcase = [];
    this._catalog = [];
    this._plans = [];
    this._pinned = null;
    this._adding = false;
    this._busy = '';
    this._error = '';
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('session')) {
      const old = changed.get('session');
      for (const e of [RoomEvent.Pin, RoomEvent.Unpin, RoomEvent.Snapshot] as const) {
        old?.room.off(e, this.#onPin);
        this.session.room.on(e, this.#onPin);
      }
      this.#onPin();
    }
    if (changed.has('session') || changed.has('shops')) void this.reload();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const e of [RoomEvent.Pin, RoomEvent.Unpin, RoomEvent.Snapshot] as const) this.session?.room.off(e, this.#onPin);
  }

  /** Loads the showcase, the catalog of every shop of the host and its affiliate plans. */
  async reload(): Promise<void> {
    const api = this.session.api;
    await this.#act('', async () => {
      const [showcase, catalogs, plans] = await Promise.all([
        api.showcase(),
        Promise.all(this.shops.map((s) => api.products(s.id))),
        api.affiliatePlans(),
      ]);
      const own = new Set(this.shops.map((s) => s.id));
      const others = plans.filter((p) => !own.has(p.shopId));
      const products = await Promise.all(others.map((p) => api.product(p.productId).catch(() => null)));
      this._catalog = catalogs.flat();
      this._plans = others.map((plan, i) => ({ plan, product: products[i] }));
      this.#setShowcase(showcase);
    });
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const inShowcase = new Set(this._showcase.map((p) => p.id));
    const catalog = this._catalog.filter((p) => !inShowcase.has(p.id));
    const plans = this._plans.filter((x) => !inShowcase.has(x.plan.productId));
    return html`<section class="panel">
      <h2>${t('showcase.title')}</h2>
      ${this._showcase.length === 0 ? html`<p class="muted">${t('showcase.empty')}</p>` : nothing}
      <ul class="list">${this._showcase.map((p) => {
        const pinned = this._pinned === p.id;
        return html`<li data-testid="showcase-row" data-product-id=${p.id} data-pinned=${pinned}>
          ${p.images[0] ? html`<img class="thumb" src=${p.images[0]} alt="">` : html`<span class="thumb"></span>`}
          <span class="grow">${productTitle(p)}<br><span class="muted">${i18n.money(p.price)} · ${t('product.inStock', { count: p.stock })}</span></span>
          ${pinned
            ? html`<span class="badge live" data-testid="pinned">${t('showcase.pinned')}</span>
                <button class="small" ?disabled=${this._busy === p.id} @click=${() => void this.#unpin(p.id)} data-testid="unpin">${t('showcase.unpin')}</button>`
            : html`<button class="small primary" ?disabled=${this._busy === p.id} @click=${() => void this.#pin(p.id)} data-testid="pin">${t('showcase.pin')}</button>`}
          <button class="small" title=${t('showcase.remove')} aria-label=${t('showcase.remove')} ?disabled=${this._busy === p.id} @click=${() => void this.#remove(p.id)} data-testid="showcase-remove">✕</button>
        </li>`;
      })}</ul>

      <h3>${t('showcase.catalog')}</h3>
      ${catalog.length === 0 ? html`<p class="muted">${t('showcase.catalogEmpty')}</p>` : nothing}
      <ul class="list">${catalog.map((p) => html`<li data-testid="catalog-row" data-product-id=${p.id}>
        ${p.images[0] ? html`<img class="thumb" src=${p.images[0]} alt="">` : html`<span class="thumb"></span>`}
        <span class="grow">${productTitle(p)}<br><span class="muted">${i18n.money(p.price)} · ${t('product.inStock', { count: p.stock })}</span></span>
        <button class="small" ?disabled=${this._busy === p.id} @click=${() => void this.#add(p.id)} data-testid="showcase-add">${t('showcase.add')}</button>
      </li>`)}</ul>
      ${this.shops[0]
        ? this._adding
          ? html`<h3>${t('showcase.newProduct')}</h3><fc-product-form .api=${this.session.api} .shop=${this.shops[0]} @product-created=${this.#created}></fc-product-form>`
          : html`<p class="row"><button class="small" @click=${() => (this._adding = true)} data-testid="catalog-new">${t('showcase.newProduct')}</button></p>`
        : nothing}

      ${plans.length > 0
        ? html`<h3>${t('showcase.plans')}</h3>
            <ul class="list">${plans.map(({ plan, product }) => html`<li data-testid="plan-row" data-product-id=${plan.productId}>
              ${product?.images[0] ? html`<img class="thumb" src=${product.images[0]} alt="">` : html`<span class="thumb"></span>`}
              <span class="grow">${product ? productTitle(product) : plan.productId}<br><span class="muted">${t('showcase.planTerms', {
                commission: i18n.number(plan.commissionBps / 10_000, { style: 'percent', maximumFractionDigits: 2 }),
                floor: i18n.money(plan.minDealPrice),
              })}</span></span>
              <button class="small" ?disabled=${this._busy === plan.productId} @click=${() => void this.#add(plan.productId)} data-testid="plan-add">${t('showcase.add')}</button>
            </li>`)}</ul>`
        : nothing}
      ${this._error ? html`<p class="error" role="alert" data-testid="showcase-error">${this._error}</p>` : nothing}
    </section>`;
  }

  async #act(id: string, step: () => Promise<void>): Promise<void> {
    this._busy = id;
    this._error = '';
    try {
      await step();
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = '';
    }
  }

  #setShowcase(products: Product[]): void {
    this._showcase = products;
    this.dispatchEvent(new CustomEvent<Product[]>('showcase-changed', { detail: products, bubbles: true, composed: true }));
  }

  async #add(productId: string): Promise<void> {
    await this.#act(productId, async () => {
      await this.session.api.addToShowcase(productId);
      this.#setShowcase(await this.session.api.showcase());
    });
  }

  async #remove(productId: string): Promise<void> {
    await this.#act(productId, async () => {
      if (this._pinned === productId) await this.session.room.unpin(productId);
      await this.session.api.setShowcase(this._showcase.map((p) => p.id).filter((id) => id !== productId));
      this.#setShowcase(await this.session.api.showcase());
    });
  }

  async #pin(productId: string): Promise<void> {
    await this.#act(productId, async () => {
      const product = this._showcase.find((p) => p.id === productId);
      const locale = product && product.titles[i18n.locale] !== undefined ? i18n.locale : undefined;
      await this.session.room.pin(productId, locale);
    });
  }

  async #unpin(productId: string): Promise<void> {
    await this.#act(productId, () => this.session.room.unpin(productId).then(() => undefined));
  }

  #created(event: CustomEvent<Product>): void {
    this._catalog = [...this._catalog, event.detail];
    this._adding = false;
  }
}

if (!customElements.get('fc-showcase-panel')) customElements.define('fc-showcase-panel', ShowcasePanel);
