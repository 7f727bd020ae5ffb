/**
 * `<fc-obs-panel>`: streaming from OBS (or any WHIP encoder) instead of the browser: the
 * room's WHIP URL and a stream key (POST /v1/rooms/{room}/stream-keys), each with a copy
 * button. The key is a secret: hidden until shown, and a new one can be asked for.
 */
import { LitElement, html, nothing } from 'lit';
import { theme } from '../shared/theme.js';
import { errorMessage } from '../shared/errorMessage.js';
import { i18n } from './messages.js';
import { panel } from '../shared/panel.js';
import type { StreamKey, StudioApi } from './StudioApi.js';

export class ObsPanel extends LitElement {
  static override properties = {
    api: { attribute: false },
    _key: { state: true },
    _shown: { state: true },
    _copied: { state: true },
    _busy: { state: true },
    _error: { state: true },
  };
  declare api: StudioApi;
  declare _key: StreamKey | null;
  declare _shown: boolean;
  declare _copied: string;
  declare _busy: boolean;
  declare _error: string;

  static override styles = [theme, panel];

  constructor() {
    super();
    this._key = null;
    this._shown = false;
    this._copied = '';
    this._busy = false;
    this._error = '';
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const key = this._key;
    return html`<section class="panel">
      <h2>${t('obs.title')}</h2>
      <p class="muted">${t('obs.intro')}</p>
      ${key
        ? html`<div class="grid" style="grid-template-columns: 1fr">
            <label>${t('obs.server')}
              <span class="row"><input class="grow mono" readonly .value=${key.whipUrl} data-testid="obs-whip-url">
              <button class="small" @click=${() => void this.#copy('url', key.whipUrl)} data-testid="obs-copy-url">${this._copied === 'url' ? t('obs.copied') : t('obs.copy')}</button></span>
            </label>
            <label>${t('obs.key')}
              <span class="row"><input class="grow mono" readonly type=${this._shown ? 'text' : 'password'} .value=${key.streamKey} data-testid="obs-stream-key">
              <button class="small" @click=${() => (this._shown = !this._shown)} data-testid="obs-show-key">${this._shown ? t('obs.hide') : t('obs.show')}</button>
              <button class="small" @click=${() => void this.#copy('key', key.streamKey)} data-testid="obs-copy-key">${this._copied === 'key' ? t('obs.copied') : t('obs.copy')}</button></span>
            </label>
            <p class="muted" data-testid="obs-expires">${t('obs.expires', { when: i18n.date(key.expiresAt) })}</p>
          </div>`
        : nothing}
      <p class="row"><button ?disabled=${this._busy} @click=${() => void this.#fetch()} data-testid="obs-get-key">${key ? t('obs.newKey') : t('obs.getKey')}</button></p>
      ${this._error ? html`<p class="error" role="alert" data-testid="obs-error">${this._error}</p>` : nothing}
    </section>`;
  }

  async #fetch(): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      this._key = await this.api.streamKey();
      this._shown = false;
    } catch (error) {
      this._error = errorMessage(i18n, error);
    } finally {
      this._busy = false;
    }
  }

  /** The clipboard API needs a secure context; else the field is selected for a manual copy. */
  async #copy(which: 'url' | 'key', text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const input = this.renderRoot.querySelector<HTMLInputElement>(which === 'url' ? '[data-testid="obs-whip-url"]' : '[data-testid="obs-stream-key"]');
      input?.select();
      document.execCommand?.('copy');
    }
    this._copied = which;
    setTimeout(() => {
      if (this._copied === which) this._copied = '';
    }, 1500);
  }
}

if (!customElements.get('fc-obs-panel')) customElements.define('fc-obs-panel', ObsPanel);
