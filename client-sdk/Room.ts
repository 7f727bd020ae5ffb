import { flashcast } from '../protocol/gen/flashcast.js';
import { ErrorCode } from '../protocol/codes.js';
import { StreamCursor, StreamDecision } from '../protocol/StreamCursor.js';
import { FlashcastRequestError } from './errors.js';
import { buyResultOf, type BuyResult } from './checkout.js';
import type { SessionChannel } from './SessionChannel.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { Publisher, PublishOptions } from './media/Publisher.js';
import type { Viewer, WatchOptions } from './media/Viewer.js';

/** Room events an app listens to. Critical ones arrive exactly once, in order. */
export enum RoomEvent {
  /** A chat message (best-effort; sampled in very busy rooms). */
  Chat = 'chat',
  /** Viewer count and reaction totals (about twice a second). */
  Stats = 'stats',
  /** A product card was pinned. */
  Pin = 'pin',
  Unpin = 'unpin',
  /** Stock / deal phase of a product (latest wins). */
  Inventory = 'inventory',
  /** Someone bought ("just bought" ticker). */
  Purchase = 'purchase',
  /** Mute, ban, delete message, slow mode... */
  Moderation = 'moderation',
  /** Room lifecycle (scheduled, live, paused, ended). */
  State = 'state',
  Announcement = 'announcement',
  /**
   * The room's full state was (re)loaded: on first join, or after a gap the
   * server could not replay. Re-render from `room.state`.
   */
  Snapshot = 'snapshot',
  /** The client is no longer in the room (left, banned). */
  Left = 'left',
  /** Hosts, moderators, ops: live GMV, orders, units, conversion (about once a second). */
  Dashboard = 'dashboard',
}

export type RoomEvents = {
  [RoomEvent.Chat]: [flashcast.IChatMessage, { own: boolean }];
  [RoomEvent.Stats]: [flashcast.IRoomStats];
  [RoomEvent.Pin]: [flashcast.IProductPinned];
  [RoomEvent.Unpin]: [flashcast.IProductUnpinned];
  [RoomEvent.Inventory]: [flashcast.IInventoryUpdate];
  [RoomEvent.Purchase]: [flashcast.IPurchaseEvent];
  [RoomEvent.Moderation]: [flashcast.IModerationEvent];
  [RoomEvent.State]: [flashcast.IRoomState];
  [RoomEvent.Announcement]: [flashcast.IAnnouncement];
  [RoomEvent.Snapshot]: [RoomState];
  [RoomEvent.Left]: [flashcast.LeftReason];
  [RoomEvent.Dashboard]: [flashcast.IDashboardStats];
};

/** What a buyer taps: one product (its live deal when one runs), a quantity and an idempotency key. */
export interface BuyRequest {
  productId: string;
  quantity?: number;
  /** Same key = same order, however often the tap is retried (default: a new random key). */
  idempotencyKey?: string;
  dealId?: string;
  /** ISO 4217 currency the buyer sees totals in (converted from the seller's). */
  displayCurrency?: string;
  /** Where to ship: an id from `client.addresses()`; the buyer's default address otherwise. */
  addressId?: string;
}

export interface JoinOptions {
  /** Lite mode for weak networks: low-rate chat, fewer updates. */
  lite?: boolean;
}

/** What the room looks like now, kept current by the SDK. */
export interface RoomState {
  phase: flashcast.RoomPhase;
  title: string;
  pinned: flashcast.IProductCard | null;
  /** Latest stock by deal id (or product id when no deal). */
  inventory: Map<string, flashcast.IInventoryUpdate>;
  announcement: flashcast.IAnnouncement | null;
  slowModeSeconds: number;
  viewers: number;
  reactions: Map<flashcast.ReactionKind, number>;
}

const OWN_IDS_KEPT = 200;

/**
 * A joined room: typed events, the room's current state, and the actions a
 * viewer (chat, react) or host (pin, announce, moderate) can take. Tracks its
 * position {offset, epoch} in the room's critical stream; duplicates are
 * dropped and a gap triggers a resume, so the app sees each critical event once.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly lite: boolean;
  readonly state: RoomState = {
    phase: flashcast.RoomPhase.ROOM_PHASE_UNSPECIFIED,
    title: '',
    pinned: null,
    inventory: new Map(),
    announcement: null,
    slowModeSeconds: 0,
    viewers: 0,
    reactions: new Map(),
  };
  /** Where the room stands in its critical stream (the rule the gateway uses too). */
  readonly #cursor = new StreamCursor();

  readonly #channel: SessionChannel;
  /** Tells the owner (the client) this room is gone, so it stops routing frames here. */
  readonly #onGone: () => void;
  /** Ids of own chat messages already emitted, and client ids of own messages sent. */
  readonly #ownIds = new Set<string>();
  readonly #ownClientIds = new Set<string>();
  #joined = false;
  #joining: Promise<void> | null = null;
  /** A join answer could not be used: join afresh once the current join settled. */
  #resyncAfterJoin = false;
  #left = false;

  /** @internal Created by FlashcastClient.join. */
  constructor(channel: SessionChannel, id: string, options: JoinOptions, onGone: () => void) {
    super();
    this.#channel = channel;
    this.#onGone = onGone;
    this.id = id;
    this.lite = options.lite === true;
  }

  get joined(): boolean {
    return this.#joined;
  }

  /** Offset of the last critical event applied (0 before any). */
  get offset(): number {
    return this.#cursor.offset;
  }

  /** Epoch of the room's critical stream ('' while the room has none). */
  get epoch(): string {
    return this.#cursor.epoch;
  }

  /** Sends a chat message; resolves with the message as broadcast (also emitted as Chat with own=true). */
  async sendChat(text: string, options: { clientMsgId?: string } = {}): Promise<flashcast.IChatMessage> {
    const clientMsgId = options.clientMsgId ?? randomId();
    remember(this.#ownClientIds, clientMsgId);
    const reply = await this.#channel.request({ chat: { room: this.id, text, clientMsgId } }, { idempotent: true });
    const message = reply.chatAccepted?.message;
    if (!message) throw new FlashcastRequestError(ErrorCode.Internal, 'unexpected reply');
    // The broadcast copy may have arrived before this reply; emit once either way.
    if (message.id && !this.#ownIds.has(message.id)) {
      remember(this.#ownIds, message.id);
      this.emit(RoomEvent.Chat, message, { own: true });
    }
    return message;
  }

  /** Sends reactions (aggregated by the server; fire and forget). */
  react(kind: flashcast.ReactionKind | keyof typeof flashcast.ReactionKind = 'LIKE', count = 1): void {
    const k = typeof kind === 'string' ? flashcast.ReactionKind[kind] : kind;
    this.#channel.send({ react: { room: this.id, kind: k, count } });
  }

  /**
   * One-tap buy. Resolves when the units are held for the buyer: `status` is
   * SETTLING when a saved payment method is being charged, or RESERVED with a
   * typed `nextStep` for a first-time buyer (switch on `nextStep.code`:
   * CONFIRM_PAYMENT with the methods and BNPL plans, until `expiresAt`; then
   * `client.confirmPayment()`). The outcome arrives as ClientEvent.OrderUpdate.
   * The answer shows `itemsTotal`, `shipping` and `total`, and where it ships
   * (`addressId`, `shipToCountry`); `shippingCode` ADDRESS_REQUIRED means the
   * units are held but the buyer must add an address (`client.addresses().add`)
   * before confirming. Rejects with a FlashcastRequestError whose code is
   * SOLD_OUT, LIMIT_REACHED, NOT_STARTED, ENDED, REGION_BLOCKED (also for a
   * destination the sale may not ship to), SHIPPING_UNAVAILABLE,
   * ADDRESS_NOT_FOUND, ... (the full answer is in `error.details`).
   */
  async buy(request: BuyRequest): Promise<BuyResult> {
    const idempotencyKey = request.idempotencyKey ?? randomId();
    const reply = await this.#channel.request(
      {
        buy: {
          room: this.id,
          productId: request.productId,
          quantity: request.quantity ?? 1,
          idempotencyKey,
          dealId: request.dealId ?? '',
          displayCurrency: request.displayCurrency ?? '',
          addressId: request.addressId ?? '',
        },
      },
      { idempotent: true },
    );
    const result = reply.buyResult;
    if (!result) throw new FlashcastRequestError(ErrorCode.Internal, 'unexpected reply');
    if (result.code) {
      throw new FlashcastRequestError(result.code, result.message ?? '', result.retryAfterMs ?? 0, this.id, result);
    }
    return buyResultOf(result);
  }

  /**
   * Host: pins a showcase product for everyone. Only the product id is sent: the server builds
   * the card (title, image, price, current deal) from its catalog; other card fields are ignored.
   */
  async pin(product: string | Pick<flashcast.IProductCard, 'productId'>, locale?: string): Promise<number> {
    const productId = typeof product === 'string' ? product : (product.productId ?? '');
    return this.#offsetOf(this.#channel.request({ pin: { room: this.id, product: { productId }, ...(locale ? { locale } : {}) } }));
  }

  /** Host: unpins. */
  async unpin(productId: string): Promise<number> {
    return this.#offsetOf(this.#channel.request({ unpin: { room: this.id, productId } }));
  }

  /** Host: shows a banner to everyone. */
  async announce(text: string): Promise<number> {
    return this.#offsetOf(this.#channel.request({ announce: { room: this.id, text } }));
  }

  /** Host: room lifecycle. */
  async setPhase(phase: flashcast.RoomPhase, title?: string): Promise<number> {
    return this.#offsetOf(this.#channel.request({ roomState: { room: this.id, phase, title } }));
  }

  /** Host or moderator: mute, ban, delete a message, slow mode, blocked words. */
  async moderate(action: Omit<flashcast.IModerate, 'room'>): Promise<number> {
    return this.#offsetOf(this.#channel.request({ moderate: { ...action, room: this.id } }));
  }

  /**
   * Host (browser): publishes a camera/mic stream to the room, video as 3
   * simulcast layers. Resolves once the producers exist; `publisher.stop()` ends it.
   */
  async publish(stream: MediaStream, options: PublishOptions = {}): Promise<Publisher> {
    const { Publisher } = await import('./media/Publisher.js');
    return Publisher.create(this.#channel, this.id, stream, options);
  }

  /**
   * Viewer (browser): watches the room's host in a video element. `quality:
   * 'lite'` pins the lowest layer (2G/3G), `'audio'` receives audio only.
   */
  async watch(video: HTMLVideoElement | null, options: WatchOptions = {}): Promise<Viewer> {
    const { Viewer } = await import('./media/Viewer.js');
    return Viewer.create(this.#channel, this.id, video, options);
  }

  /** Leaves the room. */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    this.#onGone();
    if (this.#joined) {
      this.#joined = false;
      await this.#channel.request({ leave: { room: this.id } }).catch(() => undefined);
    }
    this.emit(RoomEvent.Left, flashcast.LeftReason.LEFT_BY_CLIENT);
  }

  /** @internal First join. */
  _join(): Promise<void> {
    if (this.#joined) return Promise.resolve();
    return this.#sendJoin(false);
  }

  /** @internal After a reconnect: resume from our position. */
  _rejoin(): Promise<void> {
    if (this.#left) return Promise.resolve();
    return this.#sendJoin(this.epoch !== '').catch(() => undefined);
  }

  /** @internal The server says the stream was reset. */
  _resync(): void {
    void this.#sendJoin(false).catch(() => undefined);
  }

  /** @internal Removed by the server (ban) or the room ended. */
  _onLeft(reason: flashcast.LeftReason): void {
    this.#joined = false;
    this.#left = true;
    this.#onGone();
    this.emit(RoomEvent.Left, reason);
  }

  /** @internal The client is closed for good. */
  _detach(): void {
    this.#joined = false;
  }

  /** @internal One room event from the server. */
  _onEvent(event: flashcast.RoomEvent): void {
    const offset = Number(event.offset);
    if (offset > 0) {
      const epoch = event.epoch ?? '';
      if (epoch === '') return; // not a position in any stream
      switch (this.#cursor.accept({ epoch, offset })) {
        case StreamDecision.Deliver:
          break;
        case StreamDecision.Duplicate:
          return; // replay overlap
        case StreamDecision.Gap:
          // Resume from our position; the server replays what is missing.
          if (!this.#joining) void this.#sendJoin(this.epoch !== '').catch(() => undefined);
          return;
        case StreamDecision.Resync:
          // A different stream (or none yet): only a (re)join settles where we are.
          if (!this.#joining) this._resync();
          return;
      }
    }
    this.#apply(event);
  }

  #apply(event: flashcast.RoomEvent): void {
    switch (event.kind) {
      case 'chat': {
        const chat = event.chat!;
        const id = chat.id ?? '';
        if (this.#ownIds.has(id)) return;
        const own = chat.userId === this.#channel.userId() && this.#ownClientIds.has(chat.clientMsgId ?? '');
        if (own) remember(this.#ownIds, id);
        this.emit(RoomEvent.Chat, chat, { own });
        return;
      }
      case 'stats':
        this.state.viewers = event.stats!.viewers ?? 0;
        for (const r of event.stats!.reactions ?? []) this.state.reactions.set(r.kind ?? 0, Number(r.total));
        this.emit(RoomEvent.Stats, event.stats!);
        return;
      case 'pin':
        this.state.pinned = event.pin!.product ?? null;
        this.emit(RoomEvent.Pin, event.pin!);
        return;
      case 'unpin':
        if (this.state.pinned?.productId === event.unpin!.productId) this.state.pinned = null;
        this.emit(RoomEvent.Unpin, event.unpin!);
        return;
      case 'inventory': {
        const inv = event.inventory!;
        this.state.inventory.set(inv.dealId || inv.productId || '', inv);
        this.emit(RoomEvent.Inventory, inv);
        return;
      }
      case 'purchase':
        this.emit(RoomEvent.Purchase, event.purchase!);
        return;
      case 'moderation':
        if (event.moderation!.action === flashcast.ModerationAction.SLOW_MODE) {
          this.state.slowModeSeconds = event.moderation!.seconds ?? 0;
        }
        this.emit(RoomEvent.Moderation, event.moderation!);
        return;
      case 'state':
        this.state.phase = event.state!.phase ?? 0;
        this.state.title = event.state!.title ?? '';
        this.emit(RoomEvent.State, event.state!);
        return;
      case 'announcement':
        this.state.announcement = event.announcement!;
        this.emit(RoomEvent.Announcement, event.announcement!);
        return;
      case 'dashboard':
        this.emit(RoomEvent.Dashboard, event.dashboard!);
        return;
      default:
        return; // a kind this SDK version does not know
    }
  }

  #sendJoin(recover: boolean): Promise<void> {
    if (this.#joining) return this.#joining;
    const join: flashcast.IJoin = { room: this.id, lite: this.lite };
    if (recover) {
      join.recover = true;
      join.offset = this.offset;
      join.epoch = this.epoch;
    }
    this.#joining = this.#channel
      .request({ join }, { noQueue: recover, onReply: (frame) => frame.joined && this.#onJoined(frame.joined) })
      .then(() => undefined)
      .finally(() => {
        this.#joining = null;
        if (this.#resyncAfterJoin) {
          this.#resyncAfterJoin = false;
          if (!this.#left) this._resync();
        }
      });
    return this.#joining;
  }

  /** Applied synchronously with the reply, before the replayed events that follow it. */
  #onJoined(joined: flashcast.IJoined): void {
    this.#joined = true;
    if (joined.stats) this.state.viewers = joined.stats.viewers ?? 0;
    const answer = { recovered: joined.recovered === true, epoch: joined.epoch ?? '', offset: Number(joined.offset) };
    let recovered: boolean;
    try {
      recovered = this.#cursor.recover(answer);
    } catch {
      this.#cursor.reset(null); // an impossible position: the next event asks for a fresh join
      return;
    }
    if (recovered) return; // the missed events follow as ordinary frames
    if (answer.recovered) {
      // Said recovered, but not from where we stand: there is no snapshot to show; ask for one.
      this.#resyncAfterJoin = true;
      return;
    }
    const s = joined.snapshot ?? {};
    this.state.phase = s.state?.phase ?? flashcast.RoomPhase.ROOM_PHASE_UNSPECIFIED;
    this.state.title = s.state?.title ?? '';
    this.state.pinned = s.pin?.product ?? null;
    this.state.inventory = new Map((s.inventory ?? []).map((i) => [i.dealId || i.productId || '', i]));
    this.state.announcement = s.announcement ?? null;
    this.state.slowModeSeconds = s.moderation?.slowModeSeconds ?? 0;
    this.emit(RoomEvent.Snapshot, this.state);
  }

  async #offsetOf(reply: Promise<flashcast.ServerFrame>): Promise<number> {
    return Number((await reply).ok?.offset ?? 0);
  }
}

/** Adds to a bounded set, forgetting the oldest entry. */
function remember(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > OWN_IDS_KEPT) set.delete(set.values().next().value!);
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}
