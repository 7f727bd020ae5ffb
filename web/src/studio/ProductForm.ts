/**
 * `<fc-product-form>`: adds a product to the host's shop: title (in one language), price typed
 * as a decimal and sent in the currency's minor units, stock and an image URL. Fires
 * `product-created` with the product.
 */
import { LitElement, html, nothing } from 'lit';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { toMinorUnits } from '../shared/moneyInput.js';
import { i18n } from './messages.js';
import { panel } from '../shared/panel.js';
import type { Product, Shop, StudioApi } from './StudioApi.js';

const TITLE_LANGUAGES = ['en', 'id', 'ms', 'th', 'vi', 'zh'];

export class ProductForm extends LitElement {
  static override properties = {
    api: { attribute: false },
    shop: { attribute: false },
    _error: { state: true },
    _busy: { state: true },
  };
  declare api: StudioApi;
  declare shop: Shop;
  declare _error: string;
  declare _busy: boolean;

  static override styles = [theme, panel];

  constructor() {
    super();
    this._error = '';
    this._busy = false;
  }

  override render() {
    const t = i18n.t.bind(i18n);
    return html`<form @submit=${this.#onSubmit} data-testid="product-form">
      <div class="grid">
        <label style="grid-column: 1 / -1">${t('product.title')}<input name="title" required maxlength="200" data-testid="product-title"></label>
        <label>${t('product.language')}<select name="lang">${TITLE_LANGUAGES.map((l) => html`<option value=${l}>${i18n.languageName(l)}</option>`)}</select></label>
        <label>${t('product.price', { currency: this.shop.currency })}<input name="price" required inputmode="decimal" placeholder="19.99" data-testid="product-price"></label>
        <label>${t('product.stock')}<input name="stock" type="number" min="0" max="10000000" step="1" required value="100" data-testid="product-stock"></label>
        <label style="grid-column: 1 / -1">${t('product.image')}<input name="image" type="url" placeholder="https://…" data-testid="product-image"></label>
      </div>
      <p class="row"><button class="primary" ?disabled=${this._busy} data-testid="product-add">${t('product.add')}</button></p>
      ${this._error ? html`<p class="error" role="alert" data-testid="product-error">${this._error}</p>` : nothing}
    </form>`;
  }

  async #onSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const price = toMinorUnits(String(data.get('price') ?? ''), this.shop.currency);
    if ('error' in price) {
      this._error = i18n.t(`money.${price.error}`, { currency: this.shop.currency });
      return;
    }
    const image = String(data.get('image') ?? '').trim();
    this._busy = true;
    this._error = '';
    try {
      const product = await this.api.createProduct(this.shop.id, {
        titles: { [String(data.get('lang') ?? 'en')]: String(data.get('title') ?? '').trim() },
        images: image ? [image] : [],
        price: { amount: price.amount, currency: this.shop.currency },
        stock: Number(data.get('stock')),
      });
      form.reset();
      this.dispatchEvent(new CustomEvent<Product>('product-created', { detail: product, bubbles: true, composed: true }));
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = false;
    }
  }
}

if (!customElements.get('fc-product-form')) customElements.define('fc-product-form', ProductForm);
