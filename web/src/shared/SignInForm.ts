/**
 * `<fc-sign-in>`: how the studio and the ops console get their token. In development (the
 * server's `dev` setting) a form mints one through POST /v1/dev/tokens; in production the
 * shop's own token endpoint signs the user in (with the shop's cookies); a token minted with
 * `flashcast token` can always be pasted. Fires `signed-in` with `{ token, room }` once a
 * token of an accepted role is in hand; the page remembers it for the tab.
 */
import { LitElement, html, css, nothing } from 'lit';
import type { WebConfig } from './ServerInfo.js';
import { devToken, pageToken, shopToken, tokenClaims, type PageToken } from './TokenSource.js';
import type { I18n } from './I18n.js';
import { errorMessage } from './errorMessage.js';
import { theme } from './theme.js';

/** The messages the form uses (spread into each page's catalog). */
export const signInMessages = {
  'signin.title': 'Sign in',
  'signin.dev': 'Development server: pick any user id, a token is minted for you.',
  'signin.user': 'User id',
  'signin.name': 'Display name',
  'signin.room': 'Room',
  'signin.role': 'Sign in as',
  'signin.role.host': 'Host',
  'signin.role.moderator': 'Moderator',
  'signin.role.ops': 'Ops',
  'signin.submit': 'Sign in',
  'signin.shop': 'Sign in with your shop account',
  'signin.shopFailed': 'Your shop did not sign you in: sign in on the shop first, then try again.',
  'signin.paste': 'Use a token',
  'signin.pasteHint': 'A token from `npx flashcast token --role {role} …` or your back office.',
  'signin.token': 'Token',
  'signin.useToken': 'Use this token',
  'signin.noMethod': 'This server has no sign-in page configured: paste a token.',
  'signin.wrongRole': 'This token is for the {actual} role; this page takes {role}.',
  'signin.noRoom': 'This token names no room.',
  'signin.badId': 'Ids are 1-64 letters, digits, _ . : or -',
} as const;

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export type SignInRole = 'host' | 'moderator' | 'ops';

export interface SignedIn {
  token: PageToken;
  /** The room to work in (studio): the one typed, else the token's first. */
  room: string | null;
}

export class SignInForm extends LitElement {
  static override properties = {
    config: { attribute: false },
    origin: { type: String },
    roles: { attribute: false },
    askRoom: { type: Boolean, attribute: 'ask-room' },
    room: { type: String },
    i18n: { attribute: false },
    _error: { state: true },
    _busy: { state: true },
  };
  declare config: WebConfig;
  declare origin: string;
  /** The roles the page takes, the first proposed: host and moderator (studio), ops (console). */
  declare roles: SignInRole[];
  declare askRoom: boolean;
  /** The room the form proposes. */
  declare room: string;
  declare i18n: I18n;
  declare _error: string;
  declare _busy: boolean;

  static override styles = [
    theme,
    css`
      :host {
        display: block;
        max-width: 26rem;
        margin: 3rem auto;
        padding: 0 1rem;
      }
      form {
        display: flex;
        flex-direction: column;
        gap: 0.7rem;
      }
      label {
        display: flex;
        flex-direction: column;
        gap: 0.2rem;
        font-size: 0.85rem;
        color: var(--fc-muted);
      }
      input, textarea {
        color: var(--fc-fg);
      }
      details {
        margin-top: 1.5rem;
      }
      summary {
        cursor: pointer;
        color: var(--fc-muted);
      }
      .error {
        color: #ff6b6b;
      }
      p {
        color: var(--fc-muted);
        font-size: 0.9rem;
      }
    `,
  ];

  constructor() {
    super();
    this.roles = ['host'];
    this.askRoom = false;
    this.room = 'demo';
    this.origin = location.origin;
    this._error = '';
    this._busy = false;
  }

  override render() {
    const t = (k: string, p?: Record<string, string | number>) => this.i18n.t(k, p);
    const devForm = this.config.dev
      ? html`<p>${t('signin.dev')}</p>
          <form @submit=${this.#onDev}>
            <label>${t('signin.user')}<input name="user" required autocomplete="username" value=${`${this.roles[0]}-1`} data-testid="signin-user"></label>
            <label>${t('signin.name')}<input name="name" maxlength="60" value=${t(`signin.role.${this.roles[0]}`)} data-testid="signin-name"></label>
            ${this.roles.length > 1
              ? html`<label>${t('signin.role')}<select name="role" data-testid="signin-role">${this.roles.map((r) => html`<option value=${r}>${t(`signin.role.${r}`)}</option>`)}</select></label>`
              : nothing}
            ${this.askRoom ? html`<label>${t('signin.room')}<input name="room" required value=${this.room} data-testid="signin-room"></label>` : nothing}
            <button class="primary" ?disabled=${this._busy} data-testid="signin-submit">${t('signin.submit')}</button>
          </form>`
      : nothing;
    const shop = !this.config.dev && this.config.tokenEndpoint
      ? html`<button class="primary" ?disabled=${this._busy} @click=${this.#onShop} data-testid="signin-shop">${t('signin.shop')}</button>`
      : nothing;
    const none = !this.config.dev && !this.config.tokenEndpoint ? html`<p>${t('signin.noMethod')}</p>` : nothing;
    return html`
      <h1>${t('signin.title')}</h1>
      ${devForm}${shop}${none}
      <details ?open=${!this.config.dev && !this.config.tokenEndpoint}>
        <summary>${t('signin.paste')}</summary>
        <form @submit=${this.#onPaste}>
          <p>${t('signin.pasteHint', { role: this.roles[0] })}</p>
          <label>${t('signin.token')}<textarea name="token" rows="3" required spellcheck="false" data-testid="signin-token"></textarea></label>
          <button ?disabled=${this._busy} data-testid="signin-token-submit">${t('signin.useToken')}</button>
        </form>
      </details>
      ${this._error ? html`<p class="error" role="alert" data-testid="signin-error">${this._error}</p>` : nothing}
    `;
  }

  async #onDev(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const user = String(form.get('user') ?? '').trim();
    const role = (String(form.get('role') ?? '') || this.roles[0]) as SignInRole;
    const room = String(form.get('room') ?? '').trim();
    if (!ID.test(user) || (this.askRoom && !ID.test(room))) {
      this._error = this.i18n.t('signin.badId');
      return;
    }
    await this.#attempt(async () => {
      const token = await devToken(this.origin, {
        user,
        role,
        name: String(form.get('name') ?? '').trim() || user,
        ...(this.askRoom ? { rooms: [room] } : {}),
      });
      return { token, room: this.askRoom ? room : null };
    });
  }

  async #onShop(): Promise<void> {
    await this.#attempt(async () => {
      const token = await shopToken(this.config.tokenEndpoint!);
      if (!token) throw new Error(this.i18n.t('signin.shopFailed'));
      return { token, room: null };
    });
  }

  async #onPaste(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const text = String(new FormData(event.target as HTMLFormElement).get('token') ?? '').trim();
    await this.#attempt(async () => ({ token: pageToken(text), room: null }));
  }

  /** Runs one way of signing in; checks the token's role and room before announcing it. */
  async #attempt(signIn: () => Promise<SignedIn>): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      const result = await signIn();
      const claims = tokenClaims(result.token.token);
      if (!this.roles.includes(claims.role as SignInRole)) {
        throw new Error(this.i18n.t('signin.wrongRole', { actual: claims.role ?? '?', role: this.roles.join(', ') }));
      }
      if (this.askRoom) {
        const rooms = claims.rooms ?? [];
        const wanted = result.room ?? (rooms.includes(this.room) ? this.room : rooms[0]);
        if (!wanted || !rooms.includes(wanted)) throw new Error(this.i18n.t('signin.noRoom'));
        result.room = wanted;
      }
      this.dispatchEvent(new CustomEvent<SignedIn>('signed-in', { detail: result, bubbles: true, composed: true }));
    } catch (error) {
      this._error = errorMessage(this.i18n, error);
    } finally {
      this._busy = false;
    }
  }
}

if (!customElements.get('fc-sign-in')) customElements.define('fc-sign-in', SignInForm);
