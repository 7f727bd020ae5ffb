import { flashcast } from '../protocol/gen/flashcast.js';
import { decodeServerFrames } from '../protocol/batch.js';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, isReconnectCode } from '../protocol/codes.js';
import { Addresses } from './Addresses.js';
import { DefaultReconnectPolicy } from './DefaultReconnectPolicy.js';
import { HttpChannel, httpBaseUrl, type FetchLike } from './HttpChannel.js';
import { paymentActionOf, type ConfirmPaymentRequest, type Order, type PaymentAction } from './checkout.js';
import { ConnectionClosedError, FlashcastRequestError, RequestTimeoutError } from './errors.js';
import type { ReconnectPolicy } from './ReconnectPolicy.js';
import { Room, type JoinOptions } from './Room.js';
import { ServerClock } from './ServerClock.js';
import type { RequestOptions, SessionChannel } from './SessionChannel.js';
import { TypedEmitter } from './TypedEmitter.js';

export type { RequestOptions } from './SessionChannel.js';

/** The subset of the WebSocket API the SDK uses (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Client-level events. */
export enum ClientEvent {
  /** A session is established (first connect or after a reconnect). */
  Connected = 'connected',
  /**
   * The connection dropped; `willReconnect` says whether the client retries
   * (false after a terminal close code, or when the reconnect policy said stop:
   * the client is then closed for good).
   */
  Disconnected = 'disconnected',
  /** A reconnect attempt is scheduled in `delayMs` (`attempt` counts from 1). */
  Reconnecting = 'reconnecting',
  StateChanged = 'statechanged',
  /** An error frame not tied to a request (e.g. BAD_FRAME, RATE_LIMITED). */
  Error = 'error',
  /** One of this user's orders settled: paid, declined or lapsed. */
  OrderUpdate = 'orderupdate',
  /** A media event for a watched room (producer added/closed, consumer layers changed). */
  MediaEvent = 'mediaevent',
}

export type ClientEvents = {
  [ClientEvent.Connected]: [{ sessionId: string; nodeId: string; reconnected: boolean }];
  [ClientEvent.Disconnected]: [{ code: number; reason: string; willReconnect: boolean }];
  [ClientEvent.Reconnecting]: [{ attempt: number; delayMs: number }];
  [ClientEvent.StateChanged]: [ConnectionState];
  [ClientEvent.Error]: [FlashcastRequestError];
  [ClientEvent.OrderUpdate]: [flashcast.IOrderUpdate];
  [ClientEvent.MediaEvent]: [flashcast.IMediaEvent];
};

export interface ClientOptions {
  /** Gateway URL, e.g. `wss://live.example.com/ws`. */
  url?: string;
  /** Several gateway URLs: reconnects rotate through them. */
  urls?: string[];
  /** A token, or a function returning a fresh one (called on every connect). */
  token: string | (() => string | Promise<string>);
  /** WebSocket implementation; defaults to the global one, else the `ws` package (Node). */
  WebSocket?: WebSocketConstructor;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * When and whether to retry after a connection that may reconnect was lost:
   * `nextRetryDelay({ retryCount, elapsedMs, closeCode, reason })` returns the
   * delay in ms, or `null` to stop (the client closes and emits Disconnected with
   * `willReconnect: false`). Each retry goes to the next URL of `urls`. Default:
   * `new DefaultReconnectPolicy(backoff)`, full-jitter backoff for ever.
   */
  reconnectPolicy?: ReconnectPolicy;
  /** Bounds of the default reconnect policy (ignored with `reconnectPolicy`). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Requests kept while disconnected (default 500); beyond that they fail at once. */
  maxQueue?: number;
  /**
   * The HTTP API's origin (confirmPayment, orders), e.g. `https://live.example.com`; default:
   * the first gateway URL's origin (`wss://` -> `https://`). Next-step URLs are resolved against it.
   */
  httpUrl?: string;
  /** `fetch` implementation (default: the global one). */
  fetch?: FetchLike;
}

interface Pending {
  frame: flashcast.IClientFrame;
  resolve: (frame: flashcast.ServerFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** Safe to send again after a reconnect (the server deduplicates it). */
  idempotent: boolean;
  sent: boolean;
  /** Runs synchronously on the reply, before any later frame is handled. */
  onReply?: (frame: flashcast.ServerFrame) => void;
}

/**
 * A connection to Flashcast: connects, authenticates, keeps the session alive
 * (ping timeout), reconnects across gateway URLs as its ReconnectPolicy says
 * (full-jitter backoff by default), queues requests while reconnecting, and
 * resumes every joined room from its stream offset so the app sees each
 * critical event exactly once, in order. Keeps an estimate of the server's clock
 * (`clock`) for countdowns. Builds the rooms; they see it only as a SessionChannel.
 */
export class FlashcastClient extends TypedEmitter<ClientEvents> {
  readonly #urls: string[];
  readonly #token: ClientOptions['token'];
  readonly #requestTimeoutMs: number;
  readonly #maxQueue: number;
  readonly #reconnectPolicy: ReconnectPolicy;
  readonly #rooms = new Map<string, Room>();
  readonly #pending = new Map<number, Pending>();
  readonly #queue: number[] = [];
  #WebSocket: WebSocketConstructor | undefined;
  #ws: WebSocketLike | null = null;
  #state: ConnectionState = 'idle';
  #rid = 0;
  #urlIndex = 0;
  #everConnected = false;
  #lastReceived = 0;
  #pingTimer: ReturnType<typeof setInterval> | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #serverDisconnect: flashcast.IDisconnect | null = null;
  #connectWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #session: flashcast.IConnected | null = null;
  #rttMs = 0;
  /** Retries made since the connection was lost, and when it was lost. */
  #retryCount = 0;
  #lostAt = 0;
  /** What rooms and media see of this client. */
  readonly #channel: SessionChannel = this.#makeChannel();
  /** The HTTP API, with the same token: the address book, payments, orders. */
  readonly #http: HttpChannel;
  #addresses: Addresses | null = null;
  /** The server's clock, estimated from its timestamps (connected, events, pongs). */
  readonly #clock = new ServerClock();
  /** The last ping sent: its clientTime (wall clock, echoed by the pong) and local monotonic time. */
  #pingSent = { wall: 0, local: 0 };

  constructor(options: ClientOptions) {
    super();
    const urls = options.urls ?? (options.url ? [options.url] : []);
    if (urls.length === 0) throw new TypeError('url or urls is required');
    if (!options.token) throw new TypeError('token is required');
    this.#urls = urls;
    this.#token = options.token;
    this.#WebSocket = options.WebSocket;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#maxQueue = options.maxQueue ?? 500;
    this.#reconnectPolicy = options.reconnectPolicy ?? new DefaultReconnectPolicy(options.backoff);
    const token = options.token;
    this.#http = new HttpChannel({
      baseUrl: options.httpUrl ?? httpBaseUrl(urls[0]),
      token: () => (typeof token === 'function' ? token() : token),
      fetch: options.fetch,
      timeoutMs: this.#requestTimeoutMs,
    });
  }

  /** The buyer's address book over HTTP (list, add, remove): where orders ship. Needs no connection. */
  addresses(): Addresses {
    this.#addresses ??= new Addresses(this.#http);
    return this.#addresses;
  }

  /** The HTTP API's origin this client calls (and resolves next-step URLs against). */
  get httpUrl(): string {
    return this.#http.baseUrl;
  }

  /**
   * Confirms a held order (the BuyResult's `nextStep` CONFIRM_PAYMENT) with a payment method.
   * Resolves to what the buyer does next: `redirect` (open the provider's page at `url`),
   * `approval` (approve in the provider's app: `url` opens it), or `done` (settling or paid;
   * the outcome arrives as ClientEvent.OrderUpdate). Asking again answers the same step.
   * Rejects with FlashcastRequestError: PAYMENT_DECLINED, HOLD_EXPIRED, PAYMENT_EXPIRED,
   * PAYMENT_IN_PROGRESS (another method's step is under way: `details.nextStep`), ...
   */
  async confirmPayment(request: ConfirmPaymentRequest): Promise<PaymentAction> {
    const { dealId, orderId, ...rest } = request;
    if (!dealId || !orderId) throw new TypeError('dealId and orderId are required');
    const body = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const json = await this.#http.request<Record<string, unknown>>(
      'POST', `/v1/deals/${encodeURIComponent(dealId)}/orders/${encodeURIComponent(orderId)}/confirm`, body);
    return paymentActionOf(json, this.#http.baseUrl);
  }

  /** The buyer's orders, newest first (`limit` 1-100, default 20; `before`: the last order id of the previous page). */
  async orders(options: { limit?: number; before?: string } = {}): Promise<Order[]> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined) query.set('before', options.before);
    const q = query.toString();
    const json = await this.#http.request<{ orders: Order[] }>('GET', `/v1/me/orders${q ? `?${q}` : ''}`);
    return json.orders;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The current session (user, role, node), once connected. */
  get session(): Readonly<flashcast.IConnected> | null {
    return this.#session;
  }

  /**
   * The server's clock as estimated from its timestamps: `clock.now()` (server ms),
   * `clock.until(phaseEndsAt)` for a countdown, `clock.offsetMs`. See ServerClock.
   */
  get clock(): ServerClock {
    return this.#clock;
  }

  /** Round-trip time of the last ping, ms. */
  get rttMs(): number {
    return this.#rttMs;
  }

  /** Joined rooms by id. */
  get rooms(): ReadonlyMap<string, Room> {
    return this.#rooms;
  }

  /** Connects; resolves once the server accepted the session. Rejects on a terminal refusal. */
  connect(): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new ConnectionClosedError(1000, 'client closed'));
    const promise = new Promise<void>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#state === 'idle') {
      this.#setState('connecting');
      this.#lostAt = Date.now();
      void this.#open();
    }
    return promise;
  }

  /**
   * Joins a room. Resolves with the Room once the server replied; its `state`
   * holds the snapshot (pin, inventory, phase) and events flow from then on.
   */
  async join(roomId: string, options: JoinOptions = {}): Promise<Room> {
    let room = this.#rooms.get(roomId);
    if (!room) {
      const created: Room = new Room(this.#channel, roomId, options, () => this.#forget(created));
      this.#rooms.set(roomId, (room = created));
    }
    try {
      await room._join();
    } catch (error) {
      if (!room.joined) this.#forget(room);
      throw error;
    }
    return room;
  }

  /** Closes the connection for good; pending requests fail. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#stopTimers();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000, 'client closed');
      } catch {
        /* already closed */
      }
    }
    this.#failAll(new ConnectionClosedError(1000, 'client closed'));
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(new ConnectionClosedError(1000, 'client closed'));
    for (const room of this.#rooms.values()) room._detach();
    this.#rooms.clear();
  }

  /**
   * Sends a request and resolves with the reply frame (error replies reject with
   * FlashcastRequestError). While reconnecting, requests wait in a queue.
   */
  request(frame: flashcast.IClientFrame, options: RequestOptions = {}): Promise<flashcast.ServerFrame> {
    if (this.#state === 'closed') return Promise.reject(new ConnectionClosedError(1000, 'client closed'));
    const rid = (this.#rid = (this.#rid % 0x7fffffff) + 1);
    frame.v = PROTOCOL_VERSION;
    frame.rid = rid;
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        frame,
        resolve,
        reject,
        idempotent: options.idempotent ?? false,
        sent: false,
        onReply: options.onReply,
        timer: setTimeout(() => {
          this.#pending.delete(rid);
          reject(new RequestTimeoutError());
        }, this.#requestTimeoutMs),
      };
      this.#pending.set(rid, pending);
      if (this.#state === 'connected' && this.#ws) {
        this.#transmit(rid, pending);
      } else if (options.noQueue) {
        this.#settle(rid, new ConnectionClosedError(CloseCode.Draining, 'not connected'));
      } else if (this.#queue.length >= this.#maxQueue) {
        this.#settle(rid, new FlashcastRequestError(ErrorCode.Unavailable, 'offline queue full'));
      } else {
        this.#queue.push(rid);
      }
    });
  }

  /** Sends a frame that needs no reply (dropped when not connected). */
  send(frame: flashcast.IClientFrame): void {
    if (this.#state !== 'connected' || !this.#ws) return;
    frame.v = PROTOCOL_VERSION;
    this.#ws.send(flashcast.ClientFrame.encode(frame).finish());
  }

  /** A room left (by the app or the server): events for its id no longer reach it. */
  #forget(room: Room): void {
    if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
  }

  // ---------------------------------------------------------------------------

  #makeChannel(): SessionChannel {
    return {
      request: (frame, options) => this.request(frame, options),
      send: (frame) => this.send(frame),
      userId: () => this.#session?.userId ?? '',
      onSession: (listener) => {
        this.on(ClientEvent.Connected, listener);
        return () => this.off(ClientEvent.Connected, listener);
      },
      onMediaEvent: (listener) => {
        this.on(ClientEvent.MediaEvent, listener);
        return () => this.off(ClientEvent.MediaEvent, listener);
      },
    };
  }

  async #open(): Promise<void> {
    let token: string;
    try {
      token = typeof this.#token === 'function' ? await this.#token() : this.#token;
      this.#WebSocket ??= await defaultWebSocket();
    } catch (error) {
      this.#retryOrStop(CloseCode.InternalError, (error as Error).message);
      return;
    }
    if (this.#state === 'closed') return;
    const url = this.#urls[this.#urlIndex % this.#urls.length];
    const sep = url.includes('?') ? '&' : '?';
    let ws: WebSocketLike;
    try {
      // batch=1: the server may pack several frames into one message (decodeServerFrames).
      ws = new this.#WebSocket(`${url}${sep}token=${encodeURIComponent(token)}&batch=1`);
    } catch (error) {
      this.#retryOrStop(CloseCode.InternalError, (error as Error).message);
      return;
    }
    this.#ws = ws;
    this.#serverDisconnect = null;
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (ev) => this.#onMessage(ev.data);
    ws.onclose = (ev) => this.#onClose(ws, ev.code, ev.reason);
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  #onMessage(data: unknown): void {
    this.#lastReceived = Date.now();
    const receivedAt = this.#clock.localNow();
    let frames: flashcast.ServerFrame[];
    try {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
      frames = decodeServerFrames(bytes);
    } catch {
      return;
    }
    // The frames of a batch, in order, each as if it had come alone.
    for (const frame of frames) this.#onFrame(frame, receivedAt);
  }

  #onFrame(frame: flashcast.ServerFrame, receivedAt: number): void {
    switch (frame.msg) {
      case 'connected':
        this.#clock.stamped(Number(frame.connected!.serverTime ?? 0), receivedAt);
        this.#onConnected(frame.connected!);
        return;
      case 'event': {
        this.#clock.stamped(Number(frame.event!.ts ?? 0), receivedAt);
        const room = this.#rooms.get(frame.event!.room ?? '');
        room?._onEvent(frame.event as flashcast.RoomEvent);
        return;
      }
      case 'resync':
        this.#rooms.get(frame.resync!.room ?? '')?._resync();
        return;
      case 'left':
        if (!frame.rid) this.#rooms.get(frame.left!.room ?? '')?._onLeft(frame.left!.reason ?? 0);
        break;
      case 'disconnect':
        this.#serverDisconnect = frame.disconnect!;
        return;
      case 'orderUpdate':
        this.emit(ClientEvent.OrderUpdate, frame.orderUpdate!);
        return;
      case 'mediaEvent':
        this.emit(ClientEvent.MediaEvent, frame.mediaEvent!);
        return;
      case 'pong': {
        const clientTime = Number(frame.pong!.clientTime);
        this.#rttMs = Date.now() - clientTime;
        if (clientTime === this.#pingSent.wall) this.#clock.roundTrip(this.#pingSent.local, Number(frame.pong!.serverTime ?? 0), receivedAt);
        return;
      }
      default:
        break;
    }
    if (frame.rid) {
      const pending = this.#pending.get(frame.rid);
      if (!pending) return;
      if (frame.msg === 'error') {
        const e = frame.error!;
        this.#settle(frame.rid, new FlashcastRequestError(e.code ?? '', e.message ?? '', e.retryAfterMs ?? 0, e.room ?? ''));
      } else {
        pending.onReply?.(frame);
        this.#settle(frame.rid, frame);
      }
    } else if (frame.msg === 'error') {
      const e = frame.error!;
      this.emit(ClientEvent.Error, new FlashcastRequestError(e.code ?? '', e.message ?? '', e.retryAfterMs ?? 0, e.room ?? ''));
    }
  }

  #onConnected(connected: flashcast.IConnected): void {
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#session = connected;
    this.#retryCount = 0;
    this.#setState('connected');
    this.#startPing(connected.pingIntervalMs || 20_000);
    // Rooms first (resume from their offsets), then whatever was queued.
    const rejoins = [...this.#rooms.values()].map((room) => room._rejoin());
    void Promise.allSettled(rejoins).then(() => this.#flushQueue());
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
    this.emit(ClientEvent.Connected, { sessionId: connected.sessionId ?? '', nodeId: connected.nodeId ?? '', reconnected });
  }

  #flushQueue(): void {
    while (this.#queue.length > 0 && this.#state === 'connected' && this.#ws) {
      const rid = this.#queue.shift()!;
      const pending = this.#pending.get(rid);
      if (pending) this.#transmit(rid, pending);
    }
  }

  #transmit(rid: number, pending: Pending): void {
    pending.sent = true;
    try {
      this.#ws!.send(flashcast.ClientFrame.encode(pending.frame).finish());
    } catch {
      pending.sent = false;
      this.#queue.push(rid);
    }
  }

  #onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    detach(ws);
    this.#ws = null;
    this.#stopTimers();
    if (this.#state === 'closed') return;
    const told = this.#serverDisconnect;
    const finalCode = told?.code ?? code;
    const finalReason = told?.reason ?? reason;
    const refreshable = finalCode === CloseCode.TokenExpired && typeof this.#token === 'function';
    const reconnect = refreshable || (told ? told.reconnect === true : isReconnectCode(finalCode));
    // In-flight requests the server may have applied are retried only if idempotent.
    for (const [rid, pending] of this.#pending) {
      if (!pending.sent) continue;
      if (reconnect && pending.idempotent) {
        pending.sent = false;
        this.#queue.unshift(rid);
      } else {
        this.#settle(rid, new ConnectionClosedError(finalCode, 'connection lost before the reply; the request may have been applied'));
      }
    }
    if (!reconnect) {
      this.emit(ClientEvent.Disconnected, { code: finalCode, reason: finalReason, willReconnect: false });
      this.#terminate(finalCode, finalReason);
      return;
    }
    if (this.#state === 'connected') this.#lostAt = Date.now();
    this.#retryOrStop(finalCode, finalReason, true);
  }

  /**
   * Asks the reconnect policy: schedules the next attempt (next URL), or closes
   * for good when it says stop. A lost socket emits Disconnected either way; an
   * attempt that failed before it had a socket (token, constructor) only when
   * the client stops.
   */
  #retryOrStop(code: number, reason: string, hadSocket = false): void {
    if (this.#closed) return;
    const delayMs = this.#nextDelay(code, reason);
    if (hadSocket || delayMs === null) this.emit(ClientEvent.Disconnected, { code, reason, willReconnect: delayMs !== null });
    if (delayMs === null) {
      this.#terminate(code, reason);
      return;
    }
    if (this.#closed) return; // a Disconnected listener closed the client
    this.#setState('reconnecting');
    this.#urlIndex++;
    this.#retryCount++;
    this.emit(ClientEvent.Reconnecting, { attempt: this.#retryCount, delayMs });
    if (this.#closed) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      void this.#open();
    }, delayMs);
  }

  /** The policy's delay; a policy that throws or answers a non-number stops reconnecting. */
  #nextDelay(closeCode: number, reason: string): number | null {
    let delay: number | null;
    try {
      delay = this.#reconnectPolicy.nextRetryDelay({ retryCount: this.#retryCount, elapsedMs: Date.now() - this.#lostAt, closeCode, reason });
    } catch (error) {
      this.onListenerError(error, 'reconnectPolicy');
      return null;
    }
    if (typeof delay !== 'number' || Number.isNaN(delay)) return null;
    return Math.max(0, delay);
  }

  /** Closed for good by the server or the policy: everything pending fails with the reason. */
  #terminate(code: number, reason: string): void {
    const error = new ConnectionClosedError(code, reason);
    this.#setState('closed');
    this.#stopTimers();
    this.#failAll(error);
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    for (const room of this.#rooms.values()) room._detach();
    this.#rooms.clear();
  }

  #startPing(intervalMs: number): void {
    this.#lastReceived = Date.now();
    this.#pingTimer = setInterval(() => {
      const ws = this.#ws;
      if (!ws) return;
      if (Date.now() - this.#lastReceived > intervalMs * 2 + 5_000) {
        // No frame, not even a pong: the path is dead even if TCP has not noticed.
        this.#onClose(ws, CloseCode.IdleTimeout, 'ping timeout');
        try {
          ws.close();
        } catch {
          /* ignore */
        }
        return;
      }
      this.#pingSent = { wall: Date.now(), local: this.#clock.localNow() };
      this.send({ ping: { clientTime: this.#pingSent.wall } });
    }, intervalMs);
  }

  #stopTimers(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#pingTimer = null;
    this.#reconnectTimer = null;
  }

  #settle(rid: number, result: flashcast.ServerFrame | Error): void {
    const pending = this.#pending.get(rid);
    if (!pending) return;
    this.#pending.delete(rid);
    clearTimeout(pending.timer);
    if (result instanceof Error) pending.reject(result);
    else pending.resolve(result);
  }

  #failAll(error: Error): void {
    for (const rid of [...this.#pending.keys()]) this.#settle(rid, error);
    this.#queue.length = 0;
  }

  get #closed(): boolean {
    return this.#state === 'closed';
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit(ClientEvent.StateChanged, state);
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

/** The global WebSocket (browsers, Node 22+) or the `ws` package (Node 20). */
async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  const specifier = 'ws';
  const mod = (await import(/* @vite-ignore */ specifier)) as { default: WebSocketConstructor };
  return mod.default;
}
