/**
 * `<fc-shop-setup>`: a host without a shop opens one (name, currency, country) and adds its
 * first products; `setup-done` fires with the shop when the host continues to the studio.
 */
import { LitElement, html, nothing } from 'lit';
import { CURRENCY_EXPONENTS } from '../../../protocol/currency.js';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { i18n, productTitle } from './messages.js';
import { panel } from '../shared/panel.js';
import type { Product, Shop, StudioApi } from './StudioApi.js';
import './ProductForm.js';

const CURRENCIES = Object.keys(CURRENCY_EXPONENTS).sort();

export class ShopSetup extends LitElement {
  static override properties = {
    api: { attribute: false },
    _shop: { state: true },
    _products: { state: true },
    _error: { state: true },
    _busy: { state: true },
  };
  declare api: StudioApi;
  declare _shop: Shop | null;
  declare _products: Product[];
  declare _error: string;
  declare _busy: boolean;

  static override styles = [theme, panel];

  constructor() {
    super();
    this._shop = null;
    this._products = [];
    this._error = '';
    this._busy = false;
  }

  override render() {
    const t = i18n.t.bind(i18n);
    if (!this._shop) {
      return html`<section class="panel" data-testid="shop-setup">
        <h2>${t('setup.title')}</h2>
        <p class="muted">${t('setup.intro')}</p>
        <form @submit=${this.#onShop}>
          <div class="grid">
            <label style="grid-column: 1 / -1">${t('setup.name')}<input name="name" required maxlength="120" data-testid="shop-name"></label>
            <label>${t('setup.currency')}<select name="currency" data-testid="shop-currency">${CURRENCIES.map((c) => html`<option ?selected=${c === 'USD'}>${c}</option>`)}</select></label>
            <label>${t('setup.country')}<input name="country" required pattern="[A-Za-z]{2}" maxlength="2" value="US" data-testid="shop-country"></label>
          </div>
          <p class="row"><button class="primary" ?disabled=${this._busy} data-testid="shop-create">${t('setup.create')}</button></p>
        </form>
        ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      </section>`;
    }
    return html`<section class="panel" data-testid="shop-products">
      <h2>${t('setup.products', { shop: this._shop.name })}</h2>
      <p class="muted">${t('setup.productsIntro')}</p>
      <fc-product-form .api=${this.api} .shop=${this._shop} @product-created=${(e: CustomEvent<Product>) => (this._products = [...this._products, e.detail])}></fc-product-form>
      ${this._products.length > 0
        ? html`<h3>${t('setup.added')}</h3>
            <ul class="list">${this._products.map((p) => html`<li data-testid="product-row" data-product-id=${p.id}>
              ${p.images[0] ? html`<img class="thumb" src=${p.images[0]} alt="">` : html`<span class="thumb"></span>`}
              <span class="grow">${productTitle(p)}</span><span>${i18n.money(p.price)}</span><span class="muted">${t('product.inStock', { count: p.stock })}</span></li>`)}</ul>`
        : nothing}
      <p class="row"><button class="primary" data-testid="setup-done" @click=${this.#done}>${t('setup.done')}</button></p>
    </section>`;
  }

  async #onShop(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    this._busy = true;
    this._error = '';
    try {
      this._shop = await this.api.createShop({
        name: String(data.get('name') ?? '').trim(),
        currency: String(data.get('currency')),
        country: String(data.get('country') ?? '').trim().toUpperCase(),
      });
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = false;
    }
  }

  #done(): void {
    this.dispatchEvent(new CustomEvent<Shop>('setup-done', { detail: this._shop!, bubbles: true, composed: true }));
  }
}

if (!customElements.get('fc-shop-setup')) customElements.define('fc-shop-setup', ShopSetup);
