/**
 * `<flashcast-studio>`: the host studio page. Signs the host in (remembered for the tab),
 * opens a shop when the host has none, then shows the studio: camera and going live, the
 * live dashboard, OBS, the showcase and pins, flash deals, chat and moderation. Two columns
 * on a desktop, one on a phone. A room's moderator signs in here too and gets the chat and
 * moderation alone.
 */
import { LitElement, html, css, nothing } from 'lit';
import { ClientEvent, type ConnectionState } from '../../../client-sdk/FlashcastClient.js';
import { theme } from '../shared/theme.js';
import { pageHeader } from '../shared/panel.js';
import { serverOrigin, webConfig, type WebConfig } from '../shared/ServerInfo.js';
import { forgetToken, pageToken, rememberToken, rememberedToken, tokenClaims } from '../shared/TokenSource.js';
import { errorCode, errorMessage } from '../shared/errorMessage.js';
import type { SignedIn } from '../shared/SignInForm.js';
import { i18n } from './messages.js';
import { StudioSession } from './StudioSession.js';
import type { Product, Shop } from './StudioApi.js';
import '../shared/SignInForm.js';
import './ShopSetup.js';
import './CameraPanel.js';
import './ObsPanel.js';
import './ShowcasePanel.js';
import './DealsPanel.js';
import './DashboardPanel.js';
import './ModerationPanel.js';

type View = 'loading' | 'signin' | 'connecting' | 'setup' | 'studio' | 'moderator' | 'failed';

const TOKEN_SCOPE = 'studio';

export class FlashcastStudio extends LitElement {
  static override properties = {
    server: { type: String },
    room: { type: String },
    _view: { state: true },
    _config: { state: true },
    _session: { state: true },
    _shops: { state: true },
    _showcase: { state: true },
    _connection: { state: true },
    _error: { state: true },
  };
  /** The gateway's origin (default: this page's). */
  declare server: string;
  /** The room the sign-in form proposes (the page's `?room=`). */
  declare room: string;
  declare _view: View;
  declare _config: WebConfig | null;
  declare _session: StudioSession | null;
  declare _shops: Shop[];
  declare _showcase: Product[];
  declare _connection: ConnectionState;
  declare _error: string;

  readonly #onConnection = (state: ConnectionState) => (this._connection = state);
  /** The server closed the session for good (token expired or revoked, banned): sign in again. */
  readonly #onDisconnected = ({ willReconnect, reason }: { willReconnect: boolean; reason: string }) => {
    if (willReconnect) return;
    forgetToken(this.#origin, TOKEN_SCOPE);
    this.#closeSession();
    this._error = i18n.t('studio.ended', { reason: reason || '' });
    this._view = 'signin';
  };

  static override styles = [
    theme,
    pageHeader,
    css`
      header a {
        color: var(--fc-fg);
      }
      .conn {
        font-size: 0.8rem;
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
        color: var(--fc-muted);
      }
      .conn::before {
        content: '';
        width: 0.55rem;
        height: 0.55rem;
        border-radius: 50%;
        background: var(--fc-warn);
      }
      .conn[data-state='connected']::before {
        background: var(--fc-ok);
      }
      main {
        display: flex;
        flex-direction: column;
        gap: 1rem;
        padding: 1rem;
        max-width: 88rem;
        margin: 0 auto;
      }
      .col {
        display: contents;
      }
      /* One column on a phone: what a host needs first comes first. */
      fc-camera-panel { order: 1; }
      fc-showcase-panel { order: 2; }
      fc-deals-panel { order: 3; }
      fc-dashboard-panel { order: 4; }
      fc-moderation-panel { order: 5; }
      fc-obs-panel { order: 6; }
      @media (min-width: 900px) {
        header {
          position: sticky;
          top: 0;
          z-index: 2;
        }
        main {
          flex-direction: row;
          align-items: flex-start;
        }
        .col {
          display: flex;
          flex-direction: column;
          gap: 1rem;
          flex: 1 1 0;
          min-width: 0;
        }
      }
      main.narrow {
        max-width: 44rem;
      }
      main.narrow > * {
        flex: 1 1 auto;
        min-width: 0;
      }
      .center {
        max-width: 40rem;
        margin: 3rem auto;
        padding: 0 1rem;
        color: var(--fc-muted);
      }
      .error {
        color: #ff6b6b;
      }
      .muted {
        color: var(--fc-muted);
        font-size: 0.85rem;
      }
      button.small {
        padding: 0.25rem 0.6rem;
        font-size: 0.85rem;
      }
    `,
  ];

  constructor() {
    super();
    this.server = '';
    this.room = '';
    this._view = 'loading';
    this._config = null;
    this._session = null;
    this._shops = [];
    this._showcase = [];
    this._connection = 'idle';
    this._error = '';
  }

  get #origin(): string {
    return serverOrigin(this.server || null);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#closeSession();
  }

  async #start(): Promise<void> {
    this._view = 'loading';
    try {
      this._config = await webConfig(this.#origin);
    } catch (error) {
      return this.#fail(error);
    }
    const remembered = rememberedToken(this.#origin, TOKEN_SCOPE);
    const rooms = remembered ? tokenClaims(remembered).rooms ?? [] : [];
    if (remembered && rooms.length > 0) {
      await this.#open({ token: pageToken(remembered), room: rooms.includes(this.room) ? this.room : rooms[0] });
    } else {
      this._view = 'signin';
    }
  }

  async #open(signedIn: SignedIn): Promise<void> {
    this._view = 'connecting';
    this._error = '';
    this.#closeSession();
    try {
      const session = await StudioSession.create({ origin: this.#origin, config: this._config!, token: signedIn.token, roomId: signedIn.room! });
      rememberToken(this.#origin, TOKEN_SCOPE, signedIn.token.token);
      session.client.on(ClientEvent.StateChanged, this.#onConnection).on(ClientEvent.Disconnected, this.#onDisconnected);
      this._connection = session.client.state;
      this._session = session;
      if (session.role === 'moderator') {
        this._view = 'moderator';
        return;
      }
      this._shops = await session.api.myShops();
      this._view = this._shops.length === 0 ? 'setup' : 'studio';
    } catch (error) {
      // A token the server no longer takes: ask again rather than fail.
      const closeCode = (error as { closeCode?: number }).closeCode;
      if (errorCode(error) === 'UNAUTHORIZED' || errorCode(error) === 'TOKEN_EXPIRED' || closeCode === 4500 || closeCode === 4501) {
        forgetToken(this.#origin, TOKEN_SCOPE);
        this.#closeSession();
        this._error = errorMessage(i18n, error);
        this._view = 'signin';
        return;
      }
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this._error = i18n.t('studio.failed', { reason: errorMessage(i18n, error) });
    this._view = 'failed';
  }

  #closeSession(): void {
    this._session?.client.off(ClientEvent.StateChanged, this.#onConnection).off(ClientEvent.Disconnected, this.#onDisconnected);
    this._session?.close();
    this._session = null;
  }

  #signOut(): void {
    forgetToken(this.#origin, TOKEN_SCOPE);
    this.#closeSession();
    this._error = '';
    this._shops = [];
    this._showcase = [];
    this._view = 'signin';
  }

  override render() {
    const t = i18n.t.bind(i18n);
    const s = this._session;
    const header = html`<header>
      <h1>${t('studio.title')}</h1>
      ${s
        ? html`<span data-testid="studio-room">${t('studio.room', { room: s.roomId })}</span>
            <span class="conn" data-testid="connection-state" data-state=${this._connection}>${t(`conn.${this._connection}`)}</span>
            <span class="spacer"></span>
            <a href=${`/watch/?room=${encodeURIComponent(s.roomId)}`} target="_blank" rel="noopener" data-testid="watch-link">${t('studio.watch')}</a>
            <span class="muted" data-testid="studio-user" data-role=${s.role}>${s.role === 'moderator' ? t('studio.asModerator', { name: s.name }) : s.name}</span>
            <button class="small" @click=${this.#signOut} data-testid="signout">${t('studio.signOut')}</button>`
        : nothing}
    </header>`;
    switch (this._view) {
      case 'loading':
      case 'connecting':
        return html`${header}<p class="center">${t(this._view === 'loading' ? 'studio.loading' : 'studio.connecting')}</p>`;
      case 'failed':
        return html`${header}<div class="center"><p class="error" role="alert" data-testid="studio-error">${this._error}</p>
          <button @click=${() => void this.#start()}>${t('studio.retry')}</button>
          <button @click=${this.#signOut} data-testid="signin-again">${t('studio.signInAgain')}</button></div>`;
      case 'signin':
        return html`${header}<fc-sign-in .config=${this._config!} .origin=${this.#origin} .i18n=${i18n} .roles=${['host', 'moderator']} ask-room room=${this.room || 'demo'}
            @signed-in=${(e: CustomEvent<SignedIn>) => void this.#open(e.detail)}></fc-sign-in>
          ${this._error ? html`<p class="center error" role="alert">${this._error}</p>` : nothing}`;
      case 'moderator':
        return html`${header}<main class="narrow" data-testid="studio-moderator"><div class="col"><fc-moderation-panel .session=${s!}></fc-moderation-panel></div></main>`;
      case 'setup':
        return html`${header}<main class="narrow"><fc-shop-setup .api=${s!.api} @setup-done=${(e: CustomEvent<Shop>) => this.#setupDone(e.detail)}></fc-shop-setup></main>`;
      case 'studio':
        return html`${header}<main data-testid="studio">
          <div class="col">
            <fc-camera-panel .session=${s!}></fc-camera-panel>
            <fc-dashboard-panel .session=${s!}></fc-dashboard-panel>
            <fc-obs-panel .api=${s!.api}></fc-obs-panel>
          </div>
          <div class="col">
            <fc-showcase-panel .session=${s!} .shops=${this._shops} @showcase-changed=${(e: CustomEvent<Product[]>) => (this._showcase = e.detail)}></fc-showcase-panel>
            <fc-deals-panel .session=${s!} .products=${this._showcase}></fc-deals-panel>
            <fc-moderation-panel .session=${s!}></fc-moderation-panel>
          </div>
        </main>`;
    }
  }

  #setupDone(shop: Shop): void {
    this._shops = [...this._shops.filter((x) => x.id !== shop.id), shop];
    this._view = 'studio';
  }
}

if (!customElements.get('flashcast-studio')) customElements.define('flashcast-studio', FlashcastStudio);
