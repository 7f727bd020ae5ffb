/**
 * `<flashcast-live room="…">`: the embeddable viewer. Video (auto, Lite, audio only), chat and
 * reactions, the pinned product in the buyer's currency, the deal countdown on the server's
 * clock, the stock bar, "just bought", one large buy button that stays in view during a deal,
 * the first-purchase flow (address, method, BNPL, the provider's hosted step) and the order's
 * status, a reconnecting indicator, six languages. Attributes, events, CSS properties and
 * parts: docs/web.md.
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { WatchQuality } from '../../../client-sdk/media/Viewer.js';
import { CloseCode, ErrorCode } from '../../../protocol/codes.js';
import { flashcast } from '../../../protocol/gen/flashcast.js';
import { convertMinor, fxLookup, type FxLookup, type FxRate } from '../../../protocol/fx.js';
import type { AddressInput } from '../../../protocol/shipping.js';
import { I18n } from '../shared/I18n.js';
import { publicHttp, serverOrigin, webConfig, type WebConfig } from '../shared/ServerInfo.js';
import { devToken, forgetToken, rememberToken, rememberedToken, shopToken, tokenClaims, viewerToken, type PageToken } from '../shared/TokenSource.js';
import { theme } from '../shared/theme.js';
import { CheckoutFlow, type CheckoutState, type PaymentChoice } from './CheckoutFlow.js';
import { LiveSession } from './LiveSession.js';
import { currentOffer, type DealInfo, type Money, type Offer } from './Offer.js';
import { clockIcon, gearIcon, heartIcon, soundOffIcon, soundOnIcon } from './icons.js';
import { checkoutPanel, signInPanel, type SheetContext } from './sheets.js';
import { catalogs } from './messages/index.js';
import { browserConnection, prefersLite, startQuality } from './networkQuality.js';
import { viewerStyles } from './styles.js';

const SCRIPT_URL = import.meta.url;

/** A User Timing mark (`flashcast:<stage>`), so a page's timeline shows where the time to first frame goes. */
function mark(stage: string): void {
  try {
    performance.mark(`flashcast:${stage}`);
  } catch {
    // No User Timing: nothing to mark.
  }
}

/** Used when the gateway does not answer GET /v1/web/config (an older server). */
const FALLBACK_CONFIG: WebConfig = { dev: false, guests: false, tokenEndpoint: null, video: true, wsPath: '/ws', whipPath: '/whip' };

/** What a guest's chat and buy are answered (sign in first). */
const SIGN_IN_REQUIRED = ErrorCode.SignInRequired;

/** The element's status, as `state.status` and `flashcast-state` report it. */
export type LiveStatus = 'idle' | 'starting' | 'signin' | 'connecting' | 'live' | 'reconnecting' | 'closed' | 'error';

/** What `el.state` and the `flashcast-state` event's `detail` hold (docs/web.md). */
export interface FlashcastLiveState {
  room: string;
  status: LiveStatus;
  /** A stable code when status is `error` or `closed`. */
  error: string;
  userId: string;
  guest: boolean;
  locale: string;
  roomPhase: 'unknown' | 'scheduled' | 'live' | 'paused' | 'ended';
  viewers: number;
  video: { state: string; quality: WatchQuality; hasVideo: boolean; firstFrameMs: number | null };
  product: null | {
    productId: string;
    price: Money;
    /** The price in the buyer's currency (`currency` attribute), when a rate is known. */
    displayPrice: Money | null;
    deal: null | { id: string; phase: 'scheduled' | 'live' | 'soldOut'; price: Money | null; available: number; total: number; endsAt: number; remainingMs: number };
  };
  buy: { visible: boolean; enabled: boolean; dealId: string };
  ticker: { buyers: number; units: number; offsets: number[] };
  checkout: { stage: string; orderId: string; code: string };
  /** Server clock minus local clock (ms), as estimated. */
  clockOffsetMs: number;
}

type Sheet = 'none' | 'signin' | 'checkout';

const PHASES: Record<number, FlashcastLiveState['roomPhase']> = {
  [flashcast.RoomPhase.ROOM_SCHEDULED]: 'scheduled',
  [flashcast.RoomPhase.ROOM_LIVE]: 'live',
  [flashcast.RoomPhase.ROOM_PAUSED]: 'paused',
  [flashcast.RoomPhase.ROOM_ENDED]: 'ended',
};

export class FlashcastLive extends LitElement {
  static override styles = [theme, viewerStyles];
  static override properties = {
    room: { type: String, reflect: true },
    server: { type: String },
    lang: { type: String },
    quality: { type: String },
    token: { type: String },
    currency: { type: String },
  };

  declare room: string;
  declare server: string;
  declare lang: string;
  declare quality: string;
  declare token: string;
  declare currency: string;

  readonly #i18n = new I18n(catalogs);
  #origin = '';
  #config: WebConfig = FALLBACK_CONFIG;
  #pageToken: PageToken | null = null;
  #session: LiveSession | null = null;
  #checkout: CheckoutFlow | null = null;
  #status: LiveStatus = 'idle';
  #error = '';
  #generation = 0;
  #sheet: Sheet = 'none';
  #signInFor: 'chat' | 'buy' | '' = '';
  #signInError = '';
  #signingIn = false;
  #menuOpen = false;
  #muted = true;
  #chatError = '';
  #chatText = '';
  #firstFrameMs: number | null = null;
  #videoPlaying = false;
  #choice: PaymentChoice = { method: 'card', save: true };
  #popup: Window | null = null;
  #deals = new Map<string, DealInfo>();
  #dealLookups = new Set<string>();
  #fx: FxLookup | null = null;
  #fxCurrency = '';
  #tick: ReturnType<typeof setInterval> | null = null;
  #lastSecond = -1;
  #lastState = '';
  #announce = '';
  #lastChatId = '';
  #retries = 0;
  #qualityChosen = false;
  #focusedSheet = '';
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #unsubscribe: (() => void)[] = [];

  constructor() {
    super();
    this.room = '';
    this.server = '';
    this.lang = '';
    this.quality = '';
    this.token = '';
    this.currency = '';
  }

  /** The element's state (the same object `flashcast-state` carries). */
  get state(): FlashcastLiveState {
    return this.#snapshot();
  }

  /** The watched video's inbound statistics: frames decoded and their size (null while no video). */
  videoStats(): Promise<{ framesDecoded: number; frameWidth: number; frameHeight: number } | null> {
    return this.#session?.videoStats() ?? Promise.resolve(null);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#unsubscribe.push(this.#i18n.onChange(() => this.requestUpdate()));
    const onVisible = () => {
      if (document.visibilityState === 'visible') void this.#checkout?.refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', onVisible);
    this.#unsubscribe.push(() => document.removeEventListener('visibilitychange', onVisible), () => window.removeEventListener('focus', onVisible));
    // A connection that turns slow (or data saver switched on) moves an automatic viewer to Lite.
    const connection = browserConnection();
    const onConnection = () => {
      if (!this.#qualityChosen && (!this.quality || this.quality === 'auto') && prefersLite(connection) && this.#session?.quality === 'auto') {
        void this.#session.setQuality('lite');
      }
    };
    connection?.addEventListener('change', onConnection);
    this.#unsubscribe.push(() => connection?.removeEventListener('change', onConnection));
    this.#tick = setInterval(() => this.#onTick(), 250);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = null;
    this.#stop();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('lang') && this.lang) this.#i18n.setLocale(this.lang);
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('room') || changed.has('server') || changed.has('token')) {
      if (this.room) void this.#start();
      else this.#stop();
    } else if (changed.has('quality') && this.#session) {
      void this.#session.setQuality(startQuality(this.quality, browserConnection()));
    }
    if (changed.has('currency')) void this.#loadFx();
    this.#scrollChat();
    this.#focusSheet();
    this.#emitState();
  }

  // --- lifecycle ------------------------------------------------------------------------

  async #start(): Promise<void> {
    const generation = ++this.#generation;
    this.#stop(false);
    this.#setStatus('starting');
    mark('start');
    // The video code (mediasoup-client) loads while the page asks for its config and token.
    void import('../../../client-sdk/media/Viewer.js').catch(() => undefined);
    try {
      this.#origin = serverOrigin(this.server || null, SCRIPT_URL);
      // An older gateway without the route: its defaults. Unreachable (offline, or an origin it does not list): an error, retried.
      this.#config = await webConfig(this.#origin).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'NOT_FOUND') return FALLBACK_CONFIG;
        throw error;
      });
      if (generation !== this.#generation) return;
      mark('config');
      void this.#loadFx();
      const token = await viewerToken(this.#origin, this.room, this.#config, this.token || null);
      mark('token');
      if (generation !== this.#generation) return;
      if (!token) {
        this.#setStatus('signin');
        this.#sheet = 'signin';
        return;
      }
      await this.#connect(token, generation);
    } catch (error) {
      if (generation !== this.#generation) return;
      const closeCode = (error as { closeCode?: number }).closeCode;
      if ((closeCode === CloseCode.Unauthorized || closeCode === CloseCode.TokenExpired) && !this.token && rememberedToken(this.#origin, `viewer:${this.room}`)) {
        // This tab's remembered sign-in no longer works (expired, or the server's secret changed): forget it, start afresh.
        forgetToken(this.#origin, `viewer:${this.room}`);
        void this.#start();
        return;
      }
      this.#error = (error as { code?: string }).code ?? 'UNAVAILABLE';
      this.#setStatus('error');
      // Try again later (2 s, 4 s, … up to a minute): the network may come back.
      const delay = Math.min(60_000, 2000 * 2 ** this.#retries++);
      this.#retryTimer = setTimeout(() => {
        if (generation === this.#generation && this.isConnected) void this.#start();
      }, delay);
    }
  }

  async #connect(token: PageToken, generation: number): Promise<void> {
    this.#pageToken = token;
    this.#setStatus('connecting');
    const connection = browserConnection();
    const quality = startQuality(this.quality, connection);
    const video = this.#config.video ? (this.renderRoot.querySelector('video') ?? null) : null;
    const session = await LiveSession.create({
      origin: this.#origin,
      wsPath: this.#config.wsPath,
      room: this.room,
      token: () => this.#freshToken(),
      lite: quality === 'lite' || prefersLite(connection),
      quality,
      video,
    });
    if (generation !== this.#generation) {
      session.close();
      return;
    }
    this.#session = session;
    const checkout = new CheckoutFlow(session.client, session.room!, { displayCurrency: () => this.#displayCurrency() });
    this.#checkout = checkout;
    checkout.on('change', (state) => this.#onCheckout(state));
    session.on('change', () => this.#onSessionChange());
    session.on('order', (update) => {
      checkout.orderUpdate(update);
      this.#dispatch('flashcast-order', {
        orderId: update.orderId ?? '', status: update.status === flashcast.CheckoutStatus.CHECKOUT_PAID ? 'paid' : 'failed', code: update.code ?? '',
      });
    });
    session.on('reconnected', () => void checkout.refresh());
    session.on('left', (reason) => {
      this.#error = reason === flashcast.LeftReason.LEFT_BANNED ? 'BANNED' : 'ROOM_ENDED';
      this.#setStatus('closed');
    });
    session.on('closed', ({ code }) => {
      this.#error = `CLOSED_${code}`;
      this.#setStatus('closed');
    });
    this.#onSessionChange();
  }

  /** The token for the next (re)connect: an expired guest or shop token is renewed. */
  async #freshToken(): Promise<string> {
    const current = this.#pageToken;
    if (!current) throw new Error('no token');
    const exp = tokenClaims(current.token).exp;
    if (exp === undefined || exp * 1000 > Date.now() + 30_000) return current.token;
    let renewed: PageToken | null = null;
    if (current.guest && this.#config.guests) renewed = await viewerToken(this.#origin, this.room, { ...this.#config, tokenEndpoint: null }, null);
    else if (this.#config.tokenEndpoint && !this.token) renewed = await shopToken(this.#config.tokenEndpoint).catch(() => null);
    if (renewed) this.#pageToken = renewed;
    return (renewed ?? current).token;
  }

  #stop(reset = true): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#session?.close();
    this.#session = null;
    this.#checkout = null;
    this.#closePopup();
    this.#firstFrameMs = null;
    this.#videoPlaying = false;
    if (reset) {
      this.#generation++;
      this.#setStatus('idle');
    }
  }

  #onSessionChange(): void {
    const session = this.#session;
    if (!session) return;
    const connection = session.connection;
    if (this.#status !== 'closed') this.#setStatus(connection === 'reconnecting' || connection === 'connecting' ? 'reconnecting' : connection === 'connected' ? 'live' : this.#status);
    if (this.#status === 'live') this.#retries = 0;
    this.#lookUpDeals();
    this.requestUpdate();
  }

  #setStatus(status: LiveStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.requestUpdate();
  }

  // --- money ------------------------------------------------------------------------------

  /** The buyer's display currency (the `currency` attribute), '' for the seller's own. */
  #displayCurrency(): string {
    return /^[A-Z]{3}$/.test(this.currency ?? '') ? this.currency : '';
  }

  async #loadFx(): Promise<void> {
    const currency = this.#displayCurrency();
    if (!currency || !this.#origin || this.#fxCurrency === `${this.#origin}|${currency}`) return;
    this.#fxCurrency = `${this.#origin}|${currency}`;
    try {
      const body = await publicHttp(this.#origin).request<{ rates: FxRate[] }>('GET', '/v1/fx');
      this.#fx = fxLookup(body.rates);
      this.requestUpdate();
    } catch {
      this.#fxCurrency = '';
    }
  }

  /** `money` in the buyer's currency by the server's rule (protocol/fx.ts), or null without a rate. */
  #inDisplayCurrency(money: Money): Money | null {
    const to = this.#displayCurrency();
    if (!to || to === money.currency || !this.#fx) return null;
    const converted = convertMinor(this.#fx, money.amount, money.currency, to);
    return converted && Number.isSafeInteger(converted.amount) ? { amount: converted.amount, currency: to } : null;
  }

  #money(money: Money): string {
    return this.#i18n.money(money);
  }

  /** The buyer's price for `money`: converted when a rate is known, else as is. */
  #shown(money: Money): string {
    return this.#money(this.#inDisplayCurrency(money) ?? money);
  }

  /** Deal prices the card does not carry (a deal created after the pin), read once from GET /v1/deals/{id}. */
  #lookUpDeals(): void {
    const room = this.#session?.room;
    const pinned = room?.state.pinned;
    if (!room || !pinned?.productId) return;
    for (const inv of room.state.inventory.values()) {
      const id = inv.dealId ?? '';
      if (!id || inv.productId !== pinned.productId || this.#deals.has(id) || this.#dealLookups.has(id)) continue;
      this.#dealLookups.add(id);
      publicHttp(this.#origin)
        .request<{ price: Money; kind: 'flash' | 'regular'; endsAt: number }>('GET', `/v1/deals/${encodeURIComponent(id)}`)
        .then((deal) => {
          this.#deals.set(id, { price: { amount: Number(deal.price.amount), currency: deal.price.currency }, kind: deal.kind, endsAt: Number(deal.endsAt) });
          this.requestUpdate();
        }, () => this.#dealLookups.delete(id));
    }
  }

  #offer(): Offer | null {
    const room = this.#session?.room;
    return room ? currentOffer(room.state.pinned, room.state.inventory, this.#deals, this.#session!.client.clock.now()) : null;
  }

  // --- ticking ------------------------------------------------------------------------------

  /** Redraws once a second while something counts down (deal, hold), on the server's clock. */
  #onTick(): void {
    const clock = this.#session?.client.clock;
    if (!clock) return;
    const second = Math.floor(clock.now() / 1000);
    if (second === this.#lastSecond) return;
    this.#lastSecond = second;
    const offer = this.#offer();
    const holding = this.#checkout?.busy ?? false;
    if (offer?.deal || holding) this.requestUpdate();
  }

  #remaining(serverInstant: number): number {
    return this.#session ? this.#session.client.clock.until(serverInstant) : 0;
  }

  // --- events out ---------------------------------------------------------------------------

  #dispatch(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #emitState(): void {
    const state = this.#snapshot();
    // What changes by itself (the time left, the clock estimate) is current in `el.state` but fires no event.
    const key = JSON.stringify({ ...state, clockOffsetMs: 0, product: state.product && { ...state.product, deal: state.product.deal && { ...state.product.deal, remainingMs: 0 } } });
    if (key === this.#lastState) return;
    this.#lastState = key;
    this.#dispatch('flashcast-state', state);
  }

  #snapshot(): FlashcastLiveState {
    const session = this.#session;
    const room = session?.room;
    const offer = this.#offer();
    const checkout = this.#checkout?.state;
    const dealPhase = (p: flashcast.DealPhase) => (p === flashcast.DealPhase.DEAL_SCHEDULED ? 'scheduled' : p === flashcast.DealPhase.DEAL_SOLD_OUT ? 'soldOut' : 'live') as 'scheduled' | 'live' | 'soldOut';
    const buy = this.#buyButton(offer);
    return {
      room: this.room,
      status: this.#status,
      error: this.#error,
      userId: session?.userId ?? this.#pageToken?.userId ?? '',
      guest: this.#pageToken?.guest ?? true,
      locale: this.#i18n.locale,
      roomPhase: PHASES[room?.state.phase ?? 0] ?? 'unknown',
      viewers: room?.state.viewers ?? 0,
      video: { state: session?.videoState ?? 'off', quality: session?.quality ?? 'auto', hasVideo: session?.hasVideo ?? false, firstFrameMs: this.#firstFrameMs },
      product: offer && {
        productId: offer.productId,
        price: offer.price,
        displayPrice: this.#inDisplayCurrency(offer.price),
        deal: offer.deal && {
          id: offer.deal.id, phase: dealPhase(offer.deal.phase), price: offer.deal.price, available: offer.deal.available, total: offer.deal.total,
          endsAt: offer.deal.endsAt, remainingMs: this.#remaining(offer.deal.endsAt),
        },
      },
      buy: { visible: buy !== null, enabled: buy?.enabled ?? false, dealId: offer?.buy?.dealId ?? '' },
      ticker: { buyers: session?.ticker.buyers ?? 0, units: session?.ticker.units ?? 0, offsets: session?.ticker.entries.map((e) => e.offset) ?? [] },
      checkout: { stage: checkout?.stage ?? 'idle', orderId: checkout?.orderId ?? '', code: checkout?.code ?? '' },
      clockOffsetMs: session?.client.clock.offsetMs ?? 0,
    };
  }

  // --- actions ------------------------------------------------------------------------------

  async #sendChat(event: Event): Promise<void> {
    event.preventDefault();
    const text = this.#chatText.trim();
    if (!text || !this.#session) return;
    if (this.#pageToken?.guest) {
      this.#askSignIn('chat');
      return;
    }
    try {
      await this.#session.sendChat(text);
      this.#chatText = '';
      this.#chatError = '';
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'UNAVAILABLE';
      if (code === SIGN_IN_REQUIRED) this.#askSignIn('chat');
      this.#chatError = code;
      if (code === 'SLOW_MODE' || code === 'RATE_LIMITED') {
        const wait = (error as { retryAfterMs?: number }).retryAfterMs ?? 0;
        this.#chatError = `${code}:${Math.ceil(wait / 1000)}`;
      }
    }
    this.requestUpdate();
  }

  #askSignIn(reason: 'chat' | 'buy'): void {
    this.#signInFor = reason;
    this.#signInError = '';
    this.#sheet = 'signin';
    this.#dispatch('flashcast-signin-required', { reason, tokenEndpoint: this.#config.tokenEndpoint, dev: this.#config.dev });
    this.requestUpdate();
  }

  async #signIn(event: Event): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    this.#signingIn = true;
    this.#signInError = '';
    this.requestUpdate();
    try {
      let token: PageToken | null;
      if (this.#config.dev) {
        const name = String(data.get('name') ?? '').trim();
        if (!name) throw Object.assign(new Error('name'), { code: 'NAME_REQUIRED' });
        const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'viewer';
        const user = `${slug}-${Math.random().toString(36).slice(2, 6)}`;
        const region = String(data.get('region') ?? '') || undefined;
        token = await devToken(this.#origin, { user, role: 'viewer', name, region });
      } else if (this.#config.tokenEndpoint) {
        token = await shopToken(this.#config.tokenEndpoint).catch(() => null);
        if (!token) throw Object.assign(new Error('shop'), { code: 'SHOP_SIGN_IN' });
      } else {
        throw Object.assign(new Error('none'), { code: 'SIGN_IN_UNAVAILABLE' });
      }
      rememberToken(this.#origin, `viewer:${this.room}`, token.token);
      this.#sheet = 'none';
      this.#signingIn = false;
      const generation = ++this.#generation;
      this.#stop(false);
      await this.#connect(token, generation);
    } catch (error) {
      this.#signingIn = false;
      this.#signInError = (error as { code?: string }).code ?? 'UNAVAILABLE';
      this.requestUpdate();
    }
  }

  #signOut(): void {
    forgetToken(this.#origin, `viewer:${this.room}`);
    this.#menuOpen = false;
    void this.#start();
  }

  /** The big button: buys, or drives the purchase under way (address, pay, back to the provider). */
  async #onBuy(): Promise<void> {
    const checkout = this.#checkout;
    const offer = this.#offer();
    if (!checkout) return;
    const stage = checkout.state.stage;
    if (stage === 'address') return; // the button submits the address form (its `form` attribute)
    if (stage === 'method' || (stage === 'failed' && checkout.state.step && checkout.state.code === 'PAYMENT_UNAVAILABLE')) {
      await this.#pay();
      return;
    }
    if (stage === 'provider') {
      this.#openProvider(checkout.state.providerUrl);
      return;
    }
    if (!offer?.buy) return;
    if (this.#pageToken?.guest) {
      this.#askSignIn('buy');
      return;
    }
    this.#sheet = 'checkout';
    await checkout.buy(offer.productId, offer.buy.dealId);
    if (checkout.state.code === SIGN_IN_REQUIRED) this.#askSignIn('buy');
  }

  async #pay(): Promise<void> {
    const checkout = this.#checkout!;
    // Opened now, inside the tap, so no popup blocker stops it; it is sent to the provider once the confirmation answers.
    const popup = window.open('', 'flashcast-payment', 'popup=yes,width=440,height=760');
    this.#popup = popup;
    await checkout.pay({ ...this.#choice });
    const state = checkout.state;
    if (state.stage === 'provider' && state.providerUrl) this.#openProvider(state.providerUrl);
    else this.#closePopup();
  }

  #openProvider(url: string): void {
    if (!url) return;
    if (this.#popup && !this.#popup.closed) {
      this.#popup.location.href = url;
      this.#popup.focus();
      return;
    }
    this.#popup = window.open(url, 'flashcast-payment', 'popup=yes,width=440,height=760');
  }

  #closePopup(): void {
    try {
      this.#popup?.close();
    } catch {
      // Already gone.
    }
    this.#popup = null;
  }

  async #saveAddress(event: Event): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const field = (name: string) => String(data.get(name) ?? '').trim() || undefined;
    const input: AddressInput = {
      name: field('name') ?? '', phone: field('phone') ?? '', line1: field('line1') ?? '', line2: field('line2'), district: field('district'),
      city: field('city'), state: field('state'), postalCode: field('postalCode'), country: field('country') ?? '',
    };
    await this.#checkout?.addAddress(input);
  }

  #onCheckout(state: CheckoutState): void {
    if (state.stage === 'paid' || state.stage === 'failed') this.#closePopup();
    if (state.stage !== 'idle') this.#sheet = this.#sheet === 'signin' ? 'signin' : 'checkout';
    this.requestUpdate();
  }

  #closeSheet(): void {
    if (this.#sheet === 'checkout') this.#checkout?.dismiss();
    this.#sheet = 'none';
    this.requestUpdate();
  }

  #toggleMute(): void {
    const video = this.renderRoot.querySelector('video');
    this.#muted = !this.#muted;
    if (video) {
      video.muted = this.#muted;
      if (!this.#muted) void video.play().catch(() => undefined);
    }
    this.requestUpdate();
  }

  #setQuality(quality: WatchQuality): void {
    this.#qualityChosen = true;
    void this.#session?.setQuality(quality);
  }

  /** Escape closes the menu, then the sheet (unless a request is under way). */
  #onKey(event: KeyboardEvent): void {
    if (event.key !== 'Escape') return;
    if (this.#menuOpen) {
      this.#menuOpen = false;
      this.requestUpdate();
    } else if (this.#sheet !== 'none') {
      this.#closeSheet();
    }
  }

  /** A sheet that just opened takes the focus (its title), so keyboards and screen readers land in it. */
  #focusSheet(): void {
    const open = this.#sheet !== 'none' ? this.#sheet : '';
    if (open === this.#focusedSheet) return;
    this.#focusedSheet = open;
    if (open) this.renderRoot.querySelector<HTMLElement>('.panel h2')?.focus({ preventScroll: true });
  }

  #onVideoFrame = (): void => {
    const video = this.renderRoot.querySelector('video');
    if (!video) return;
    if (!this.#videoPlaying) {
      this.#videoPlaying = true;
      this.requestUpdate();
    }
    if (this.#firstFrameMs === null) {
      if ('requestVideoFrameCallback' in video) {
        video.requestVideoFrameCallback((now) => {
          if (this.#firstFrameMs === null) {
            this.#firstFrameMs = Math.round(now);
            mark('first-frame');
            this.requestUpdate();
          }
        });
      } else {
        this.#firstFrameMs = Math.round(performance.now());
      }
    }
  };

  /** Keeps the newest chat line in view, unless the viewer scrolled up to read. */
  #scrollChat(): void {
    const list = this.renderRoot.querySelector('.chat');
    if (!list) return;
    const last = list.lastElementChild?.getAttribute('data-id') ?? '';
    if (last === this.#lastChatId) return;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80 || this.#lastChatId === '';
    this.#lastChatId = last;
    if (nearBottom) list.scrollTop = list.scrollHeight;
  }

  // --- rendering ------------------------------------------------------------------------

  #t(key: string, params?: Record<string, string | number>): string {
    return this.#i18n.t(key, params);
  }

  /** What the big button says and does now; null when there is nothing to buy. */
  #buyButton(offer: Offer | null): { label: string; enabled: boolean; deal: boolean } | null {
    const checkout = this.#checkout?.state;
    const stage = checkout?.stage ?? 'idle';
    const t = (k: string, p?: Record<string, string | number>) => this.#t(k, p);
    switch (stage) {
      case 'holding':
        return { label: t('buy.holding'), enabled: false, deal: true };
      case 'address':
        return { label: t('buy.saveAddress'), enabled: true, deal: true };
      case 'method': {
        // Before an address the total has no shipping yet: the payment page shows the final one.
        const total = checkout!.result?.total;
        const known = total?.currency && checkout!.result?.shippingCode !== 'ADDRESS_REQUIRED';
        return { label: known ? t('buy.pay', { price: this.#money({ amount: Number(total.amount), currency: total.currency! }) }) : t('buy.continueToPay'), enabled: true, deal: true };
      }
      case 'confirming':
        return { label: t('buy.confirming'), enabled: false, deal: true };
      case 'provider':
        return { label: t('buy.continuePayment'), enabled: true, deal: true };
      case 'settling':
        return { label: t('buy.settling'), enabled: false, deal: true };
      default:
        break;
    }
    if (stage === 'failed' && checkout?.step && checkout.code === 'PAYMENT_UNAVAILABLE') return { label: t('buy.payAgain'), enabled: true, deal: true };
    if (!offer) return null;
    const flash = offer.deal !== null;
    if (offer.buy) {
      const label = stage === 'paid' ? t('buy.again', { price: this.#shown(offer.buy.price) }) : t('buy.now', { price: this.#shown(offer.buy.price) });
      return { label, enabled: this.#status === 'live' || this.#status === 'reconnecting', deal: flash };
    }
    if (offer.blocked === 'starts') return { label: t('buy.startsIn', { time: this.#i18n.duration(this.#remaining(offer.deal!.endsAt)) }), enabled: false, deal: true };
    if (offer.blocked === 'soldOut') return { label: t('deal.soldOut'), enabled: false, deal: flash };
    return { label: t('deal.ended'), enabled: false, deal: false };
  }

  override render(): TemplateResult {
    const session = this.#session;
    const room = session?.room;
    const offer = this.#offer();
    const live = room?.state.phase === flashcast.RoomPhase.ROOM_LIVE;
    const showVideo = (session?.hasVideo ?? false) && this.#videoPlaying && session?.quality !== 'audio';
    const buy = this.#buyButton(offer);
    const checkoutState = this.#checkout?.state;
    const sheetOpen = this.#sheet !== 'none';
    return html`
      <div class="stage" part="stage" lang=${this.#i18n.locale} @keydown=${(e: KeyboardEvent) => this.#onKey(e)}>
        <video part="video" data-testid="video" .muted=${this.#muted} playsinline autoplay @playing=${this.#onVideoFrame} @resize=${this.#onVideoFrame}
          aria-label=${this.#t('video.label')}></video>
        ${showVideo ? nothing : this.#renderPoster(live, offer)}
        ${this.#renderHeader(live)}
        ${this.#renderBanner()}
        ${this.#menuOpen ? this.#renderMenu() : nothing}
        <div class="main">
          <div class="overlay" part="overlay" ?inert=${sheetOpen} aria-hidden=${sheetOpen ? 'true' : 'false'}>
            ${room?.state.announcement?.text ? html`<p class="announcement" role="status" data-testid="announcement">${room.state.announcement.text}</p>` : nothing}
            ${this.#renderTicker()}
            ${this.#renderChat()}
            ${offer ? this.#renderCard(offer) : nothing}
          </div>
          ${sheetOpen ? this.#renderSheet(checkoutState) : nothing}
        </div>
        <footer class="bar" part="bar">
          ${sheetOpen ? nothing : this.#renderChatForm()}
          ${buy ? html`<button class="buy primary ${buy.deal ? 'deal' : ''}" part="buy-button" data-testid="buy" ?disabled=${!buy.enabled}
            type=${checkoutState?.stage === 'address' ? 'submit' : 'button'} form=${checkoutState?.stage === 'address' ? 'address-form' : nothing}
            aria-busy=${buy.enabled ? 'false' : 'true'} @click=${() => void this.#onBuy()}>${buy.label}</button>` : nothing}
        </footer>
        <p class="sr-only" aria-live="polite" data-testid="deal-announcer">${this.#dealAnnouncement(offer)}</p>
      </div>
    `;
  }

  #renderPoster(live: boolean, offer: Offer | null): TemplateResult {
    const state = this.#session?.videoState ?? 'off';
    const audioOnly = this.#session?.quality === 'audio' && (this.#session?.hasAudio ?? false);
    const phase = this.#session?.room?.state.phase ?? 0;
    let text: string;
    if (this.#status === 'starting' || this.#status === 'connecting') text = this.#t('status.connecting');
    else if (this.#status === 'signin') text = this.#t('status.signInToWatch');
    else if (this.#status === 'error') text = this.#t('status.error', { code: this.#error });
    else if (this.#status === 'closed') text = this.#error === 'BANNED' ? this.#t('status.banned') : this.#t('status.closed');
    else if (audioOnly) text = this.#t('video.audioOnly');
    else if (phase === flashcast.RoomPhase.ROOM_ENDED) text = this.#t('video.ended');
    else if (live && (state === 'starting' || this.#session?.hasVideo)) text = this.#t('video.starting');
    else if (state === 'unavailable') text = this.#t('video.unavailable');
    else text = this.#t('video.offline');
    const image = offer?.imageUrl ? `background-image: linear-gradient(rgba(0,0,0,.65), rgba(0,0,0,.65)), url("${offer.imageUrl.replace(/"/g, '%22')}")` : '';
    return html`<div class="poster" part="poster" data-testid="offline" data-state=${live ? 'live' : 'offline'} style=${image}>
      <div>
        <p class="title">${this.#session?.room?.state.title || this.room}</p>
        <p>${text}</p>
      </div>
    </div>`;
  }

  #renderHeader(live: boolean): TemplateResult {
    const viewers = this.#session?.room?.state.viewers ?? 0;
    const quality = this.#session?.quality ?? 'auto';
    return html`<header part="header">
      <span class="badge ${live ? 'live' : ''}" data-testid="live-badge">${live ? this.#t('header.live') : this.#t('header.offline')}</span>
      ${viewers > 0 ? html`<span class="pill" data-testid="viewers">${this.#t('header.viewers', { count: viewers })}</span>` : nothing}
      ${quality !== 'auto' ? html`<span class="pill" data-testid="quality-badge">${this.#t(`quality.${quality}`)}</span>` : nothing}
      <span class="spacer"></span>
      <button class="icon" data-testid="react" aria-label=${this.#t('react.heart')} @click=${() => this.#session?.react('HEART')} ?disabled=${!this.#session}>${heartIcon()}</button>
      <button class="icon" data-testid="unmute" aria-pressed=${this.#muted ? 'false' : 'true'} aria-label=${this.#muted ? this.#t('video.unmute') : this.#t('video.mute')}
        @click=${() => this.#toggleMute()}>${this.#muted ? soundOffIcon() : soundOnIcon()}</button>
      <button class="icon" data-testid="settings" aria-haspopup="true" aria-expanded=${this.#menuOpen ? 'true' : 'false'} aria-label=${this.#t('menu.open')}
        @click=${() => { this.#menuOpen = !this.#menuOpen; this.requestUpdate(); }}>${gearIcon()}</button>
    </header>`;
  }

  #renderBanner(): TemplateResult | typeof nothing {
    if (this.#status === 'reconnecting') return html`<p class="banner" role="status" data-testid="reconnecting">${this.#t('status.reconnecting')}</p>`;
    return nothing;
  }

  #renderMenu(): TemplateResult {
    const quality = this.#session?.quality ?? 'auto';
    const qualities: WatchQuality[] = ['auto', 'lite', 'audio'];
    return html`<div class="menu" data-testid="menu" role="group" aria-label=${this.#t('menu.title')}>
      <fieldset>
        <legend>${this.#t('quality.title')}</legend>
        ${qualities.map((q) => html`<button class="seg" data-testid=${`quality-${q}`} aria-pressed=${quality === q ? 'true' : 'false'}
          @click=${() => this.#setQuality(q)}>${this.#t(`quality.${q}`)}</button>`)}
      </fieldset>
      <label>${this.#t('menu.language')}
        <select data-testid="language" @change=${(e: Event) => this.#i18n.setLocale((e.target as HTMLSelectElement).value)}>
          ${this.#i18n.locales.map((tag) => html`<option value=${tag} ?selected=${tag === this.#i18n.locale}>${this.#i18n.languageName(tag)}</option>`)}
        </select>
      </label>
      ${this.#pageToken && !this.#pageToken.guest && !this.token
        ? html`<button data-testid="sign-out" @click=${() => this.#signOut()}>${this.#t('menu.signOut')}</button>`
        : nothing}
    </div>`;
  }

  #renderTicker(): TemplateResult | typeof nothing {
    const ticker = this.#session?.ticker;
    if (!ticker || ticker.buyers === 0) return nothing;
    return html`<ol class="ticker" data-testid="ticker" aria-label=${this.#t('ticker.label')}>
      ${ticker.latest(2).map((e) => {
        const others = e.buyers - 1;
        const who = e.name ? (e.region ? `${e.name} (${e.region})` : e.name) : this.#t('ticker.someone');
        const text = others > 0 ? this.#t('ticker.others', { name: who, count: others }) : this.#t('ticker.one', { name: who });
        return html`<li data-offset=${e.offset}>${text}</li>`;
      })}
      <li data-testid="ticker-total">${this.#t('ticker.total', { count: ticker.buyers })}</li>
    </ol>`;
  }

  #renderChat(): TemplateResult {
    const lines = this.#session?.chat.lines ?? [];
    return html`<ol class="chat" data-testid="chat-list" role="log" aria-label=${this.#t('chat.label')}>
      ${lines.map((l) => html`<li class=${l.own ? 'own' : ''} data-id=${l.id}>${l.staff ? html`<span class="staff">${this.#t(`chat.${l.staff}`)}</span>` : nothing}<span class="name">${l.name}</span>${l.text}</li>`)}
    </ol>`;
  }

  #renderCard(offer: Offer): TemplateResult {
    const deal = offer.deal;
    const price = deal?.price ?? offer.price;
    const converted = this.#inDisplayCurrency(price);
    const main = converted ?? price;
    return html`<section class="card" part="product" data-testid="product-card" aria-label=${this.#t('product.label')}>
      ${offer.imageUrl ? html`<img src=${offer.imageUrl} alt="" loading="lazy" />` : html`<span class="noimg"></span>`}
      <div>
        <h2 data-testid="product-title">${offer.title}</h2>
        <div class="prices">
          <span class="price-main" data-testid="price" data-amount=${main.amount} data-currency=${main.currency}>${this.#money(main)}</span>
          ${deal?.price ? html`<span class="price-was" data-testid="price-was"><span class="sr-only">${this.#t('product.was')}</span>${this.#shown(offer.price)}</span>` : nothing}
          ${converted ? html`<span class="price-seller" data-testid="price-seller">${this.#money(price)}</span>` : nothing}
        </div>
        ${deal ? this.#renderDeal(deal) : offer.listing ? html`<div class="deal-row" data-testid="stock">${this.#t('stock.left', { count: offer.listing.available })}</div>` : nothing}
      </div>
    </section>`;
  }

  #renderDeal(deal: NonNullable<Offer['deal']>): TemplateResult {
    const remaining = this.#remaining(deal.endsAt);
    let countdown: string;
    if (deal.phase === flashcast.DealPhase.DEAL_SCHEDULED) countdown = this.#t('deal.startsIn', { time: this.#i18n.duration(remaining) });
    else if (deal.phase === flashcast.DealPhase.DEAL_SOLD_OUT) countdown = this.#t('deal.soldOut');
    else countdown = deal.endsAt > 0 ? this.#t('deal.endsIn', { time: this.#i18n.duration(remaining) }) : this.#t('deal.live');
    const pct = deal.total > 0 ? Math.round((deal.available / deal.total) * 100) : 0;
    return html`<div class="deal-row">
        <span class="countdown" data-testid="countdown" data-remaining=${Math.ceil(remaining / 1000)} aria-hidden="true">${clockIcon()} ${countdown}</span>
      </div>
      <div class="deal-row">
        <span class="stockbar" data-testid="stock-bar" role="meter" aria-valuemin="0" aria-valuemax=${deal.total} aria-valuenow=${deal.available}
          aria-label=${this.#t('stock.label')}><span style="width:${pct}%"></span></span>
        <span data-testid="stock" data-available=${deal.available} data-total=${deal.total}>${this.#t('stock.ofTotal', { count: deal.available, total: deal.total })}</span>
      </div>`;
  }

  /** A polite, coarse announcement of the deal (phase, time to the minute or 10 s, stock) for screen readers. */
  #dealAnnouncement(offer: Offer | null): string {
    const deal = offer?.deal;
    if (!deal) return '';
    const remaining = this.#remaining(deal.endsAt);
    const step = remaining > 60_000 ? 60_000 : 10_000;
    const coarse = Math.ceil(remaining / step) * step;
    const stock = deal.available <= 10 ? deal.available : Math.ceil(deal.available / 10) * 10;
    const time = this.#i18n.duration(coarse);
    if (deal.phase === flashcast.DealPhase.DEAL_SCHEDULED) this.#announce = this.#t('deal.startsIn', { time });
    else if (deal.phase === flashcast.DealPhase.DEAL_SOLD_OUT) this.#announce = this.#t('deal.soldOut');
    else this.#announce = `${deal.endsAt > 0 ? this.#t('deal.endsIn', { time }) : this.#t('deal.live')}. ${this.#t('stock.left', { count: stock })}`;
    return this.#announce;
  }

  #renderChatForm(): TemplateResult {
    const guest = this.#pageToken?.guest ?? true;
    const session = this.#session;
    if (guest || !session) {
      return html`<div class="chat-form">
        <span class="chat-note">${this.#t('chat.guestNote')}</span>
        <button data-testid="sign-in" @click=${() => this.#askSignIn('chat')} ?disabled=${this.#status === 'starting'}>${this.#t('signIn.toChat')}</button>
      </div>`;
    }
    const muted = session.mutedUntil > 0;
    const slow = session.room?.state.slowModeSeconds ?? 0;
    const error = this.#chatError ? this.#chatErrorText(this.#chatError) : '';
    return html`<form class="chat-form" data-testid="chat-form" @submit=${(e: Event) => void this.#sendChat(e)}>
        <input data-testid="chat-input" name="text" maxlength="500" autocomplete="off" enterkeyhint="send"
          .value=${this.#chatText} @input=${(e: Event) => { this.#chatText = (e.target as HTMLInputElement).value; }}
          placeholder=${muted ? this.#t('chat.muted') : slow > 0 ? this.#t('chat.slowMode', { count: slow }) : this.#t('chat.placeholder')}
          aria-label=${this.#t('chat.input')} aria-describedby="chat-error" ?disabled=${muted} />
        <button type="submit" data-testid="chat-send" ?disabled=${muted}>${this.#t('chat.send')}</button>
      </form>
      ${error ? html`<p class="chat-note" id="chat-error" role="alert" data-testid="chat-error">${error}</p>` : nothing}`;
  }

  #chatErrorText(code: string): string {
    const [name, seconds] = code.split(':');
    switch (name) {
      case 'MUTED':
        return this.#t('chat.muted');
      case 'SLOW_MODE':
      case 'RATE_LIMITED':
        return this.#t('chat.wait', { count: Number(seconds) || 1 });
      case 'BLOCKED_WORD':
        return this.#t('chat.blockedWord');
      case 'BANNED':
        return this.#t('status.banned');
      case SIGN_IN_REQUIRED:
        return this.#t('signIn.toChat');
      default:
        return this.#t('chat.failed', { code: name });
    }
  }

  #renderSheet(checkout: CheckoutState | undefined): TemplateResult {
    const context: SheetContext = {
      t: (k, p) => this.#t(k, p),
      i18n: this.#i18n,
      money: (m) => this.#money(m),
      shown: (m) => this.#shown(m),
      remaining: (at) => this.#remaining(at),
      close: () => this.#closeSheet(),
      defaultCountry: this.#defaultCountry(),
    };
    if (this.#sheet === 'signin' || !checkout) {
      return signInPanel(context, {
        dev: this.#config.dev, shop: this.#config.tokenEndpoint !== null, reason: this.#signInFor, error: this.#signInError, busy: this.#signingIn,
        submit: (e) => void this.#signIn(e),
      });
    }
    return checkoutPanel(context, checkout, {
      choice: this.#choice,
      choose: (choice) => { this.#choice = choice; this.requestUpdate(); },
      saveAddress: (e) => void this.#saveAddress(e),
      openProvider: () => this.#openProvider(checkout.providerUrl),
      offerTitle: this.#offer()?.title ?? '',
    });
  }

  #defaultCountry(): string {
    const region = (tokenClaims(this.#pageToken?.token ?? '') as { region?: string }).region;
    if (region) return region;
    for (const tag of I18n.browserLanguages()) {
      try {
        const found = new Intl.Locale(tag).maximize().region;
        if (found) return found;
      } catch {
        // Not a locale tag.
      }
    }
    return 'ID';
  }
}

if (!customElements.get('flashcast-live')) customElements.define('flashcast-live', FlashcastLive);
