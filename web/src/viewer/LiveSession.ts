/**
 * One viewer's live connection to a room, without any UI: the SDK client and its room, the
 * video (room.watch), chat, reactions, the "just bought" ticker and the server clock. The
 * element renders it and listens to `change`; the checkout listens to `order` and
 * `reconnected`. `create()` resolves once the room is joined; `close()` ends it all.
 */
import { ClientEvent, FlashcastClient, type ConnectionState } from '../../../client-sdk/FlashcastClient.js';
import { RoomEvent, type Room } from '../../../client-sdk/Room.js';
import { TypedEmitter } from '../../../client-sdk/TypedEmitter.js';
import type { Viewer, WatchQuality } from '../../../client-sdk/media/Viewer.js';
import { flashcast } from '../../../protocol/gen/flashcast.js';
import { socketUrl } from '../shared/ServerInfo.js';
import { ChatLog, type ChatLine } from './ChatLog.js';
import { PurchaseTicker, type TickerEntry } from './PurchaseTicker.js';

export interface LiveSessionOptions {
  /** The gateway's HTTP origin. */
  origin: string;
  wsPath: string;
  room: string;
  /** The bearer token, asked on every (re)connect (so an expired guest token is renewed). */
  token: () => Promise<string>;
  /** Lite room membership (sampled chat) for weak networks. */
  lite: boolean;
  quality: WatchQuality;
  /** Where the video plays; null when the server has no video. */
  video: HTMLVideoElement | null;
}

/** The video as the viewer sees it. */
export type VideoState = 'off' | 'starting' | 'live' | 'recovering' | 'unavailable';

export type LiveSessionEvents = {
  /** Something shown changed: re-render from the session's fields. */
  change: [];
  chat: [ChatLine];
  purchase: [TickerEntry];
  /** One of this viewer's orders settled (paid, declined, lapsed). */
  order: [flashcast.IOrderUpdate];
  /** The connection came back after a loss (rooms resumed). */
  reconnected: [];
  /** Removed from the room (banned) or the room ended. */
  left: [flashcast.LeftReason];
  /** Closed for good by the server (terminal close code). */
  closed: [{ code: number; reason: string }];
};

export class LiveSession extends TypedEmitter<LiveSessionEvents> {
  readonly client: FlashcastClient;
  readonly chat = new ChatLog();
  readonly ticker = new PurchaseTicker();
  readonly #options: LiveSessionOptions;
  #room: Room | null = null;
  #viewer: Viewer | null = null;
  #videoState: VideoState = 'off';
  #quality: WatchQuality;
  #hasVideo = false;
  #hasAudio = false;
  #mutedUntil = 0;
  #mediaTimer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  private constructor(options: LiveSessionOptions) {
    super();
    this.#options = options;
    this.#quality = options.quality;
    this.client = new FlashcastClient({
      url: socketUrl(options.origin, options.wsPath),
      token: options.token,
      httpUrl: options.origin,
      backoff: { baseMs: 400, maxMs: 8000 },
    });
  }

  /** Connects, joins the room and starts the video; rejects if the room cannot be joined. */
  static async create(options: LiveSessionOptions): Promise<LiveSession> {
    const session = new LiveSession(options);
    try {
      await session.#start();
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  get room(): Room | null {
    return this.#room;
  }

  get connection(): ConnectionState {
    return this.client.state;
  }

  get userId(): string {
    return this.client.session?.userId ?? '';
  }

  get viewer(): Viewer | null {
    return this.#viewer;
  }

  get videoState(): VideoState {
    return this.#videoState;
  }

  get quality(): WatchQuality {
    return this.#quality;
  }

  /** The host's video is being received. */
  get hasVideo(): boolean {
    return this.#hasVideo;
  }

  /** The host's audio is being received. */
  get hasAudio(): boolean {
    return this.#hasAudio;
  }

  /** A moderator muted this viewer: until when (server ms; Infinity: until lifted), else 0. */
  get mutedUntil(): number {
    return this.#mutedUntil > 0 && this.#mutedUntil !== Infinity && this.client.clock.now() > this.#mutedUntil ? 0 : this.#mutedUntil;
  }

  /** Switches the video quality live (auto, lite, audio). */
  async setQuality(quality: WatchQuality): Promise<void> {
    this.#quality = quality;
    this.emit('change');
    await this.#viewer?.setQuality(quality);
    this.#checkMedia();
  }

  /** Sends a chat line (rejects with the server's code: SIGN_IN_REQUIRED, MUTED, SLOW_MODE, ...). */
  async sendChat(text: string): Promise<void> {
    if (!this.#room) throw new Error('not joined');
    await this.#room.sendChat(text);
  }

  /** Sends a reaction (aggregated by the server). */
  react(kind: keyof typeof flashcast.ReactionKind = 'HEART'): void {
    this.#room?.react(kind, 1);
  }

  /** Inbound video statistics of the watched stream (for tests and the bench): frames decoded and size. */
  async videoStats(): Promise<{ framesDecoded: number; frameWidth: number; frameHeight: number } | null> {
    const viewer = this.#viewer;
    const consumer = viewer?.videoConsumer;
    if (!viewer?.transport || !consumer) return null;
    const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
    const report = await viewer.transport.getStats();
    let found: { framesDecoded: number; frameWidth: number; frameHeight: number } | null = null;
    report.forEach((s: { type: string; kind?: string; ssrc?: number; framesDecoded?: number; frameWidth?: number; frameHeight?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.ssrc === ssrc) {
        found = { framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0 };
      }
    });
    return found;
  }

  /** Stops the video, closes the connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#mediaTimer) clearInterval(this.#mediaTimer);
    void this.#viewer?.stop().catch(() => undefined);
    this.#viewer = null;
    this.client.close();
    this.removeAllListeners();
  }

  async #start(): Promise<void> {
    const client = this.client;
    client.on(ClientEvent.StateChanged, () => this.emit('change'));
    client.on(ClientEvent.Connected, ({ reconnected }) => reconnected && this.emit('reconnected'));
    client.on(ClientEvent.OrderUpdate, (update) => this.emit('order', update));
    client.on(ClientEvent.Disconnected, ({ code, reason, willReconnect }) => {
      if (!willReconnect) this.emit('closed', { code, reason });
    });
    client.on(ClientEvent.MediaEvent, () => setTimeout(() => this.#checkMedia(), 300));
    await client.connect();
    performance.mark('flashcast:connected');
    const room = await client.join(this.#options.room, { lite: this.#options.lite });
    performance.mark('flashcast:joined');
    this.#room = room;
    const changed = () => this.emit('change');
    for (const event of [RoomEvent.Snapshot, RoomEvent.Pin, RoomEvent.Unpin, RoomEvent.Inventory, RoomEvent.State, RoomEvent.Stats, RoomEvent.Announcement] as const) {
      room.on(event, changed);
    }
    room.on(RoomEvent.Chat, (message, { own }) => {
      const line = this.chat.add(message, own);
      if (line) this.emit('chat', line);
      this.emit('change');
    });
    room.on(RoomEvent.Purchase, (purchase) => {
      // The room's offset is this event's: the SDK applies a critical event right after accepting its position.
      this.emit('purchase', this.ticker.add(purchase, room.offset));
      this.emit('change');
    });
    room.on(RoomEvent.Moderation, (event) => this.#onModeration(event));
    room.on(RoomEvent.Left, (reason) => this.emit('left', reason));
    this.#mediaTimer = setInterval(() => this.#checkMedia(), 1000);
    if (this.#options.video) void this.#watch(this.#options.video);
  }

  async #watch(video: HTMLVideoElement): Promise<void> {
    this.#setVideo('starting');
    try {
      const viewer = await this.#room!.watch(video, { quality: this.#quality });
      performance.mark('flashcast:watching');
      if (this.#closed) {
        void viewer.stop();
        return;
      }
      this.#viewer = viewer;
      viewer.on('state', (state) => this.#setVideo(state === 'stopped' ? 'off' : state));
      this.#setVideo(viewer.state === 'stopped' ? 'off' : viewer.state);
      this.#checkMedia();
    } catch {
      // No SFU on this gateway (or the room refuses media): the page works without video.
      this.#setVideo('unavailable');
    }
  }

  #onModeration(event: flashcast.IModerationEvent): void {
    const me = this.userId;
    switch (event.action) {
      case flashcast.ModerationAction.DELETE_MESSAGE:
        this.chat.remove(event.messageId ?? '');
        break;
      case flashcast.ModerationAction.MUTE:
        if (event.userId === me) this.#mutedUntil = event.seconds ? this.client.clock.now() + event.seconds * 1000 : Infinity;
        break;
      case flashcast.ModerationAction.UNMUTE:
        if (event.userId === me) this.#mutedUntil = 0;
        break;
      default:
        break;
    }
    this.emit('change');
  }

  #checkMedia(): void {
    const consumers = [...(this.#viewer?.consumers.values() ?? [])].filter((c) => !c.closed);
    const hasVideo = consumers.some((c) => c.kind === 'video');
    const hasAudio = consumers.some((c) => c.kind === 'audio');
    if (hasVideo === this.#hasVideo && hasAudio === this.#hasAudio) return;
    this.#hasVideo = hasVideo;
    this.#hasAudio = hasAudio;
    this.emit('change');
  }

  #setVideo(state: VideoState): void {
    if (this.#videoState === state) return;
    this.#videoState = state;
    this.emit('change');
  }
}
