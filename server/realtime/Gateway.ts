import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import {
  flashcast,
  CloseCode,
  ErrorCode,
  LeftReason,
  PROTOCOL_VERSION,
  ROLE_BY_NAME,
  RoomPhase,
  encodeServerFrame,
} from '../../protocol/index.js';
import { Policy } from '../../common/auth/Policy.js';
import type { Principal, TokenService } from '../../common/auth/TokenService.js';
import { runCloseSteps } from '../../common/closeSteps.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import type { Config } from '../../common/config.js';
import { FlashcastError, InvalidArgumentError, UnauthorizedError } from '../../common/errors.js';
import { errorResponse } from '../../common/http/HttpErrors.js';
import type { ApiResponse, HttpRouter } from '../../common/http/HttpRouter.js';
import { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import { isValidId } from '../../common/keys.js';
import type { LocalRoom } from './LocalRoom.js';
import { CHAT_BUCKETS } from './LocalRoom.js';
import { frameAction, frameRoom } from './framePolicy.js';
import { RoomControl, cleanText } from './RoomControl.js';
import { RoomHub } from './RoomHub.js';
import { RoomPublisher } from './RoomPublisher.js';
import { MessageClass, RoomStore } from './RoomStore.js';
import { StreamCursor } from '../../protocol/StreamCursor.js';
import type { Membership, SocketData } from './SocketData.js';
import { UserChannels } from './UserChannels.js';
import { TokenBucket } from '../../common/TokenBucket.js';

const log = logger('Gateway');
/** Roles whose sockets get the staff chat rate (a room's host, its moderators, ops). */
const STAFF_ROLES: ReadonlySet<string> = new Set(['host', 'moderator', 'ops']);

/** Frames with a request id that a handler in another part answers (e.g. `buy`). */
export type FrameHandler = (
  principal: Principal,
  frame: flashcast.ClientFrame,
  session: { sessionId: string; rooms: ReadonlyMap<string, Membership> },
) => Promise<flashcast.IServerFrame>;

export interface GatewayOptions {
  config: Config;
  /** Connection for commands and scripts. */
  redis: Redis;
  /** Dedicated connection for (sharded) pub/sub. */
  subscriber: Redis;
  tokens: TokenService;
  router: HttpRouter;
}

export type GatewayEvents = {
  listening: [number];
  /** A socket joined a room (after its join reply). */
  memberjoined: [string, Principal];
  /** A socket left a room (leave, ban, close). */
  memberleft: [string, Principal];
  /** A session (socket) ended; parts holding per-session resources release them. */
  sessionclosed: [string, Principal];
  draining: [];
  close: [];
};

const MAX_BODY_BYTES = 64 * 1024;
const BAD_FRAMES_BEFORE_CLOSE = 5;
const FLOOD_VIOLATIONS = 50;
const FLOOD_WINDOW_MS = 10_000;
const SWEEP_MS = 200;
const FULL_SWEEP_EVERY = 2;

/**
 * One gateway node: the uWebSockets.js server for the socket protocol and the
 * HTTP API. Authenticates at upgrade, keeps per-socket state in user data, fans
 * rooms out through uWS topics (fed by the RoomHub from Redis) and enforces
 * rate limits and the slow-consumer policy.
 */
export class Gateway extends EnhancedEventEmitter<GatewayEvents> {
  readonly nodeId: string;
  readonly metrics = new GatewayMetrics();
  readonly store: RoomStore;
  readonly publisher: RoomPublisher;
  readonly control: RoomControl;
  readonly hub: RoomHub;
  readonly users: UserChannels;

  readonly #config: Config;
  readonly #redis: Redis;
  readonly #tokens: TokenService;
  readonly #router: HttpRouter;
  readonly #app: TemplatedApp;
  readonly #sockets = new Set<WebSocket<SocketData>>();
  readonly #sessions = new Map<string, WebSocket<SocketData>>();
  /** Open sockets per user on this node (for the per-user connection cap). */
  readonly #userSockets = new Map<string, number>();
  readonly #handlers = new Map<string, FrameHandler>();
  readonly #sweepTimer: NodeJS.Timeout;
  /** Sockets with a backed-up send buffer, checked every sweep (the rest every other one). */
  readonly #suspects = new Set<WebSocket<SocketData>>();
  #sweeps = 0;
  #listenSocket: us_listen_socket | null = null;
  #port = 0;
  #draining = false;
  #closed = false;
  #closePromise: Promise<void> | null = null;

  private constructor(options: GatewayOptions) {
    super();
    this.#config = options.config;
    this.#redis = options.redis;
    this.#tokens = options.tokens;
    this.#router = options.router;
    this.nodeId = options.config.nodeId;
    this.store = new RoomStore(options.redis, {
      prefix: options.config.redisPrefix,
      historySize: options.config.historySize,
      historyTtlSeconds: options.config.historyTtlSeconds,
    });
    this.publisher = new RoomPublisher(this.store);
    this.control = new RoomControl(this.store, this.publisher);
    this.#app = uWS.App();
    this.hub = new RoomHub(this.#app, options.subscriber, this.store, this.metrics, {
      nodeId: this.nodeId,
      chatPerViewerPerSecond: options.config.chatPerViewerPerSecond,
      liteChatPerSecond: options.config.liteChatPerSecond,
    });
    this.users = new UserChannels(this.#app, options.subscriber, this.store.keys);
    this.hub.on('memberremoved', (ws, roomId, reason) => this.#removeFromRoom(ws, roomId, reason));
    this.#setupRoutes();
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweepTimer.unref();
  }

  /** Creates the gateway and starts listening on config.host:config.port (0 = any free port). */
  static async create(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    try {
      await gateway.#listen();
    } catch (error) {
      await gateway.close();
      throw error;
    }
    return gateway;
  }

  /** The port listened on. */
  get port(): number {
    return this.#port;
  }

  get connections(): number {
    return this.#sockets.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Lets another part answer a client frame kind (the oneof name, e.g. 'buy').
   * The handler's reply is sent with the frame's request id.
   */
  handle(kind: string, handler: FrameHandler): void {
    this.#handlers.set(kind, handler);
  }

  /**
   * Graceful drain: stop accepting, tell every client to reconnect elsewhere
   * (close code 4000), spread over `drainMs` so they do not all come back at once.
   */
  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.safeEmit('draining');
    if (this.#listenSocket) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = null;
    }
    const sockets = [...this.#sockets];
    const batches = Math.max(1, Math.min(20, Math.ceil(sockets.length / 500)));
    const perBatch = Math.ceil(sockets.length / batches);
    for (let b = 0; b < batches; b++) {
      for (const ws of sockets.slice(b * perBatch, (b + 1) * perBatch)) {
        this.#disconnect(ws, CloseCode.Draining, 'node draining, reconnect', true);
      }
      if (b < batches - 1) await sleep(this.#config.drainMs / batches);
    }
    await this.publisher.flush();
  }

  /** Drains (if not yet), then stops everything this gateway owns. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    const failed = await runCloseSteps(log, [
      ['drain', () => this.drain()],
      [
        'sockets',
        () => {
          this.#closed = true;
          clearInterval(this.#sweepTimer);
          for (const ws of [...this.#sockets]) ws.close();
        },
      ],
      ['publisher', () => this.publisher.close()],
      ['hub', () => this.hub.close()],
    ]);
    this.safeEmit('close');
    if (failed > 0) log.warn({ failed }, 'gateway closed with failures');
  }

  /**
   * Listens with an exclusive port: uWS otherwise sets SO_REUSEPORT, and a second
   * gateway started on the same port would silently share (and take) its traffic.
   */
  #listen(): Promise<void> {
    const { host, port } = this.#config;
    return new Promise((resolve, reject) => {
      listenExclusive(this.#app, host, port, (token) => {
        if (!token) {
          reject(new Error(`could not listen on ${host}:${port}: the port is in use (another gateway?) or not allowed`));
          return;
        }
        this.#listenSocket = token;
        this.#port = uWS.us_socket_local_port(token as unknown as uWS.us_socket);
        log.info({ port: this.#port, nodeId: this.nodeId }, 'gateway listening');
        this.safeEmit('listening', this.#port);
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------------------
  // WebSocket
  // ---------------------------------------------------------------------------

  #setupRoutes(): void {
    const config = this.#config;
    this.#app.ws<SocketData>('/ws', {
      compression: uWS.DISABLED,
      maxPayloadLength: config.maxFrameBytes,
      idleTimeout: config.idleTimeoutSeconds,
      // uWS skips publications to sockets above this; the sweep closes slow
      // consumers at half of it, before anything critical is skipped.
      maxBackpressure: config.maxBackpressure * 2,
      closeOnBackpressureLimit: false as unknown as number,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#onUpgrade(res, req, context),
      open: (ws) => this.#onOpen(ws),
      message: (ws, message, isBinary) => this.#onMessage(ws, message, isBinary),
      drain: (ws) => this.#onDrain(ws),
      close: (ws) => this.#onClose(ws),
    });
    this.#app.any('/*', (res, req) => this.#onHttp(res, req));
  }

  #onUpgrade(res: HttpResponse, req: HttpRequest, context: uWS.us_socket_context_t): void {
    // The whole upgrade is synchronous (the HS256 check needs no await), so req and
    // res are valid throughout and no onAborted handler is needed.
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const authorization = req.getHeader('authorization');
    const query = new URLSearchParams(req.getQuery() ?? '');
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    if (this.#draining) {
      res.writeStatus('503 Service Unavailable').end('draining');
      return;
    }
    const token = query.get('token') ?? (authorization.startsWith('Bearer ') ? authorization.slice(7) : '');
    let principal: Principal | null = null;
    let authError: SocketData['authError'] = null;
    try {
      principal = this.#tokens.verifySync(token);
    } catch (error) {
      const e = error instanceof FlashcastError ? error : new UnauthorizedError();
      authError = { code: e.code, message: e.message };
    }
    const data: SocketData = {
      sessionId: randomBytes(9).toString('base64url'),
      principal,
      authError,
      remoteAddress,
      rooms: new Map(),
      joining: new Set(),
      frames: new TokenBucket(50, 100),
      chat: principal && STAFF_ROLES.has(principal.role) ? new TokenBucket(20, 40) : new TokenBucket(3, 6),
      reactions: new TokenBucket(20, 40),
      joins: new TokenBucket(5, 10),
      violations: 0,
      violationWindowStart: 0,
      badFrames: 0,
      lagging: false,
      closed: false,
      recentChat: new Map(),
      followsUser: false,
    };
    res.upgrade(data, key, protocol, extensions, context);
  }

  #onOpen(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    if (!data.principal) {
      // Refused credentials: a clear, terminal close the browser can see (an HTTP 401
      // at upgrade would only show up as 1006).
      const expired = data.authError?.code === ErrorCode.TokenExpired;
      this.#send(ws, { error: { code: data.authError?.code ?? ErrorCode.Unauthorized, message: data.authError?.message ?? '' } });
      this.#disconnect(ws, expired ? CloseCode.TokenExpired : CloseCode.Unauthorized, data.authError?.message ?? 'unauthorized', false);
      return;
    }
    const userId = data.principal.userId;
    const open = this.#userSockets.get(userId) ?? 0;
    if (open >= this.#config.maxConnectionsPerUser) {
      // Terminal: another connection would be refused too until one of the user's closes.
      const message = `at most ${this.#config.maxConnectionsPerUser} connections per user on this node`;
      this.#sendError(ws, 0, ErrorCode.TooManyConnections, message);
      this.#disconnect(ws, CloseCode.TooManyConnections, message, false);
      return;
    }
    this.#userSockets.set(userId, open + 1);
    this.#sockets.add(ws);
    this.#sessions.set(data.sessionId, ws);
    this.metrics.connections.set(this.#sockets.size);
    this.#send(ws, {
      connected: {
        sessionId: data.sessionId,
        userId: data.principal.userId,
        role: ROLE_BY_NAME[data.principal.role],
        nodeId: this.nodeId,
        serverTime: Date.now(),
        pingIntervalMs: Math.max(4000, (this.#config.idleTimeoutSeconds * 1000) / 3),
        maxFrameBytes: this.#config.maxFrameBytes,
      },
    });
  }

  #onClose(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    data.closed = true;
    if (!this.#sockets.delete(ws)) return;
    const userId = data.principal!.userId;
    const open = (this.#userSockets.get(userId) ?? 1) - 1;
    if (open > 0) this.#userSockets.set(userId, open);
    else this.#userSockets.delete(userId);
    this.metrics.connections.set(this.#sockets.size);
    if (data.lagging) this.metrics.laggingConnections.dec();
    for (const roomId of data.rooms.keys()) {
      this.hub.get(roomId)?.removeMember(ws, userId);
      this.safeEmit('memberleft', roomId, data.principal!);
    }
    data.rooms.clear();
    this.users.drop(ws);
    this.#sessions.delete(data.sessionId);
    this.#suspects.delete(ws);
    this.safeEmit('sessionclosed', data.sessionId, data.principal!);
  }

  #onDrain(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    if (data.lagging && ws.getBufferedAmount() < this.#config.laggingBytes / 4) this.#setLagging(ws, false);
  }

  #onMessage(ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (!data.principal || data.closed) return;
    if (!data.frames.take()) {
      this.#violation(ws, 0, data.frames.retryAfterMs());
      return;
    }
    if (!isBinary) {
      this.#badFrame(ws, 'text frames are not part of the protocol; send binary protobuf');
      return;
    }
    let frame: flashcast.ClientFrame;
    try {
      // decode copies what it needs; the ArrayBuffer is neutered after this callback.
      frame = flashcast.ClientFrame.decode(new Uint8Array(message));
    } catch {
      this.#badFrame(ws, 'frame is not a valid ClientFrame');
      return;
    }
    const kind = frame.msg ?? 'unknown';
    this.metrics.framesIn.inc({ type: kind });
    const rid = frame.rid >>> 0;
    if (frame.v !== PROTOCOL_VERSION) {
      this.#sendError(ws, rid, ErrorCode.UnsupportedVersion, `protocol version ${frame.v} is not supported; use ${PROTOCOL_VERSION}`);
      this.#disconnect(ws, CloseCode.UnsupportedVersion, 'unsupported protocol version', false);
      return;
    }
    const action = frameAction(frame.msg ?? undefined);
    if (!action) {
      this.#sendError(ws, rid, ErrorCode.UnknownMessage, 'unknown message type');
      return;
    }
    try {
      // Every frame asks the policy for its action (realtime/framePolicy.ts) before dispatch.
      const roomId = frameRoom(frame);
      if (action !== 'session') {
        if (!isValidId(roomId)) throw new InvalidArgumentError('invalid room id');
        const principal = data.principal;
        Policy.authorize(principal, action, {
          roomId,
          member: data.rooms.has(roomId),
          banned: this.hub.get(roomId)?.isBanned(principal.userId) ?? false,
        });
      }
      switch (frame.msg) {
        case 'ping':
          this.#send(ws, { rid, pong: { clientTime: frame.ping!.clientTime, serverTime: Date.now() } });
          return;
        case 'join':
          this.#reply(ws, rid, this.#join(ws, rid, frame.join!));
          return;
        case 'leave':
          this.#leave(ws, rid, frame.leave!.room ?? '');
          return;
        case 'chat':
          this.#reply(ws, rid, this.#chat(ws, rid, frame.chat!));
          return;
        case 'react':
          this.#react(ws, rid, frame.react!);
          return;
        case 'moderate': {
          const m = frame.moderate!;
          this.#command(ws, rid, m.room ?? '', (p) => this.control.moderate(p, m.room ?? '', m));
          return;
        }
        case 'pin': {
          const m = frame.pin!;
          // Only product.productId is read: the card comes from the catalog.
          this.#command(ws, rid, m.room ?? '', (p) => this.control.pin(p, m.room ?? '', m.product?.productId ?? '', m.locale ?? ''));
          return;
        }
        case 'unpin': {
          const m = frame.unpin!;
          this.#command(ws, rid, m.room ?? '', (p) => this.control.unpin(p, m.room ?? '', m.productId ?? ''));
          return;
        }
        case 'roomState': {
          const m = frame.roomState!;
          this.#command(ws, rid, m.room ?? '', (p) => this.control.setState(p, m.room ?? '', m.phase ?? 0, m.title ?? ''));
          return;
        }
        case 'announce': {
          const m = frame.announce!;
          this.#command(ws, rid, m.room ?? '', (p) => this.control.announce(p, m.room ?? '', m.text ?? ''));
          return;
        }
        default: {
          const handler = frame.msg ? this.#handlers.get(frame.msg) : undefined;
          if (handler) {
            this.#reply(ws, rid, this.#delegate(ws, frame, handler));
            return;
          }
          this.#sendError(ws, rid, ErrorCode.UnknownMessage, 'unknown message type');
        }
      }
    } catch (error) {
      this.#sendFailure(ws, rid, error);
    }
  }

  async #delegate(ws: WebSocket<SocketData>, frame: flashcast.ClientFrame, handler: FrameHandler): Promise<void> {
    const data = ws.getUserData();
    // A buyer hears about its orders on its private channel; follow it before the
    // order exists so no update can be missed.
    if (frame.msg === 'buy') await this.users.follow(ws);
    const reply = await handler(data.principal!, frame, { sessionId: data.sessionId, rooms: data.rooms });
    this.#send(ws, { ...reply, rid: frame.rid >>> 0 });
  }

  /** Sends a frame to one session on this node; false if it is not (or no longer) here. */
  pushToSession(sessionId: string, frame: flashcast.IServerFrame): boolean {
    const ws = this.#sessions.get(sessionId);
    if (!ws || ws.getUserData().closed) return false;
    this.#send(ws, frame);
    return true;
  }

  /** Closes one session with a reconnect code (e.g. its media worker died). */
  reconnectSession(sessionId: string, reason: string): boolean {
    const ws = this.#sessions.get(sessionId);
    if (!ws) return false;
    this.#disconnect(ws, CloseCode.InternalError, reason, true);
    return true;
  }

  /** Publishes a frame to the privileged members (host, moderators, ops) of a room on this node. */
  publishToHosts(roomId: string, frame: Uint8Array): void {
    this.#app.publish(`h/${roomId}`, frame, true);
  }

  async #join(ws: WebSocket<SocketData>, rid: number, join: flashcast.IJoin): Promise<void> {
    const data = ws.getUserData();
    const principal = data.principal!;
    const roomId = join.room ?? '';
    if (!isValidId(roomId)) throw new InvalidArgumentError('invalid room id');
    Policy.authorize(principal, 'room.join', { roomId });
    if (!data.joins.take()) throw new FlashcastError(ErrorCode.RateLimited, 'joining too fast', 429, data.joins.retryAfterMs());
    if (data.joining.has(roomId)) throw new InvalidArgumentError('a join of this room is in progress');
    if (data.rooms.has(roomId)) this.#unsubscribe(ws, roomId);
    if (data.rooms.size + data.joining.size >= this.#config.maxRoomsPerConnection) {
      throw new FlashcastError(ErrorCode.TooManyRooms, `at most ${this.#config.maxRoomsPerConnection} rooms per connection`);
    }
    const recover = join.recover && typeof join.epoch === 'string' && join.epoch.length > 0;
    data.joining.add(roomId);
    try {
      for (let attempt = 0; ; attempt++) {
        const room = await this.hub.acquire(roomId);
        Policy.authorize(principal, 'room.join', { roomId, banned: room.isBanned(principal.userId) });
        const position = recover ? { epoch: join.epoch ?? '', offset: Number(join.offset) } : null;
        // Served from this node's memory when it can (no Redis round trip: a
        // reconnect storm of a whole room costs the room's node nothing but CPU).
        let answer = room.answer(position) ?? (await this.store.recover(roomId, position));
        // Where the client stands after the answer: at its own position with the missed
        // frames following (recovered), or at the answer's snapshot (resync).
        const client = new StreamCursor(position);
        const recovered = client.recover(answer);
        if (!recovered && answer.recovered) answer = await this.store.snapshot(roomId); // (a store bug: no snapshot came)
        if (data.closed) return;
        if (this.hub.get(roomId) !== room) {
          if (attempt < 3) continue; // the room was closed meanwhile; open it again
          throw new FlashcastError(ErrorCode.Unavailable, 'room is reopening, retry', 503);
        }
        const membership: Membership = { lite: join.lite === true, bucket: randomBucket() };
        const result = answer;
        ws.cork(() => {
          const joined: flashcast.IJoined = {
            room: roomId,
            epoch: result.epoch,
            recovered,
            offset: client.offset,
            role: ROLE_BY_NAME[principal.role],
            stats: room.stats,
          };
          if (!result.recovered) joined.snapshot = result.snapshot;
          this.#send(ws, { rid, joined });
          if (result.recovered) for (const frame of result.frames) ws.send(frame, true);
          // Events this node delivered after the answer are in the ring; later ones reach
          // the socket through the topic it subscribes to now. An answer of "no stream
          // yet" ('' at 0) continues with the stream's first events.
          if (StreamCursor.continues(result, room.epoch)) {
            for (const frame of room.framesAfter(result.offset) ?? []) ws.send(frame, true);
          }
          data.rooms.set(roomId, membership);
          this.#subscribe(ws, room, membership);
        });
        room.addMember(ws, principal.userId);
        this.safeEmit('memberjoined', roomId, principal);
        return;
      }
    } finally {
      data.joining.delete(roomId);
    }
  }

  #leave(ws: WebSocket<SocketData>, rid: number, roomId: string): void {
    const data = ws.getUserData();
    if (!data.rooms.has(roomId)) {
      this.#sendError(ws, rid, ErrorCode.NotJoined, 'not in this room', roomId);
      return;
    }
    this.#removeFromRoom(ws, roomId, LeftReason.LEFT_BY_CLIENT, rid);
  }

  #removeFromRoom(ws: WebSocket<SocketData>, roomId: string, reason: flashcast.LeftReason, rid = 0): void {
    const data = ws.getUserData();
    if (data.closed || !data.rooms.has(roomId)) return;
    this.#unsubscribe(ws, roomId);
    this.#send(ws, { rid, left: { room: roomId, reason } });
  }

  async #chat(ws: WebSocket<SocketData>, rid: number, chat: flashcast.ISendChat): Promise<void> {
    const data = ws.getUserData();
    const principal = data.principal!;
    const roomId = chat.room ?? '';
    const room = this.#memberRoom(ws, roomId);
    if (!data.chat.take()) throw new FlashcastError(ErrorCode.RateLimited, 'sending chat too fast', 429, data.chat.retryAfterMs());
    const text = cleanText(chat.text);
    if (!text) throw new InvalidArgumentError('text must be 1-500 characters');
    const clientMsgId = chat.clientMsgId ?? '';
    if (clientMsgId.length > 64) throw new InvalidArgumentError('clientMsgId is at most 64 characters');
    // Room staff (its host and moderators, ops) are exempt from mutes, slow mode and blocked words.
    const privileged = Policy.decide(principal, 'room.moderate', { roomId }).allow;
    if (room.phase === RoomPhase.ROOM_ENDED && !privileged) throw new FlashcastError(ErrorCode.RoomEnded, 'the live has ended');
    if (room.isBanned(principal.userId)) throw new FlashcastError(ErrorCode.Banned, 'banned from this room', 403);
    if (!privileged) {
      if (room.isMuted(principal.userId)) throw new FlashcastError(ErrorCode.Muted, 'you are muted in this room', 403);
      if (room.blockedWordIn(text)) throw new FlashcastError(ErrorCode.BlockedWord, 'message contains a blocked word');
    }
    const message: flashcast.IChatMessage = {
      id: chatId(),
      userId: principal.userId,
      name: principal.name,
      role: ROLE_BY_NAME[principal.role],
      text,
      clientMsgId,
    };
    const previous = clientMsgId ? data.recentChat.get(clientMsgId) : undefined;
    if (previous) {
      this.#send(ws, { rid, chatAccepted: { room: roomId, message: { ...message, id: previous } } });
      return;
    }
    if (!privileged && !room.admitChat()) {
      // The room's chat already outruns what any viewer can read: the sender sees
      // its message, nobody else would have been shown it.
      this.metrics.dropped.inc({ reason: 'ingress' });
      this.#send(ws, { rid, chatAccepted: { room: roomId, message } });
      return;
    }
    const frame = encodeServerFrame({ event: { room: roomId, ts: Date.now(), chat: message } });
    const payload = Buffer.allocUnsafe(frame.length + 1);
    payload[0] = privileged ? MessageClass.PriorityChat : MessageClass.Chat;
    payload.set(frame, 1);
    const admission = await this.store.publishChat(roomId, payload, {
      userId: principal.userId,
      clientMsgId,
      messageId: message.id!,
      slowModeMs: privileged ? 0 : room.slowModeSeconds * 1000,
    });
    if (admission.result === 'slow') {
      throw new FlashcastError(ErrorCode.SlowMode, 'slow mode is on', 429, admission.retryAfterMs);
    }
    if (admission.result === 'dup') message.id = admission.originalId;
    if (clientMsgId) {
      data.recentChat.set(clientMsgId, message.id!);
      if (data.recentChat.size > 64) data.recentChat.delete(data.recentChat.keys().next().value!);
    }
    this.#send(ws, { rid, chatAccepted: { room: roomId, message } });
  }

  #react(ws: WebSocket<SocketData>, rid: number, react: flashcast.IReact): void {
    const data = ws.getUserData();
    const room = this.#memberRoom(ws, react.room ?? '');
    const count = react.count || 1;
    const kind = react.kind ?? 0;
    if (!Number.isInteger(count) || count < 1 || count > 50) throw new InvalidArgumentError('count must be 1-50');
    if (!(kind in flashcast.ReactionKind) || kind === 0) throw new InvalidArgumentError('unknown reaction kind');
    if (!data.reactions.take()) throw new FlashcastError(ErrorCode.RateLimited, 'reacting too fast', 429, data.reactions.retryAfterMs());
    room.addReactions(kind, count);
    if (rid) this.#send(ws, { rid, ok: {} });
  }

  #command(ws: WebSocket<SocketData>, rid: number, roomId: string, run: (p: Principal) => Promise<number>): void {
    const principal = ws.getUserData().principal!;
    this.#reply(
      ws,
      rid,
      run(principal).then((offset) => this.#send(ws, { rid, ok: { offset } })),
      roomId,
    );
  }

  #memberRoom(ws: WebSocket<SocketData>, roomId: string): LocalRoom {
    const room = ws.getUserData().rooms.has(roomId) ? this.hub.get(roomId) : undefined;
    if (!room) throw new FlashcastError(ErrorCode.NotJoined, 'join the room first');
    return room;
  }

  #subscribe(ws: WebSocket<SocketData>, room: LocalRoom, membership: Membership): void {
    ws.subscribe(room.topic);
    // The live dashboard (GMV, orders) goes to the room's host and ops only.
    if (Policy.decide(ws.getUserData().principal, 'room.dashboard', { roomId: room.id }).allow) ws.subscribe(`h/${room.id}`);
    if (membership.lite) {
      ws.subscribe(room.liteTopic);
    } else if (!ws.getUserData().lagging) {
      ws.subscribe(room.chatTopic);
      ws.subscribe(room.bucketTopics[membership.bucket]);
    }
  }

  #unsubscribe(ws: WebSocket<SocketData>, roomId: string): void {
    const data = ws.getUserData();
    const membership = data.rooms.get(roomId);
    data.rooms.delete(roomId);
    const room = this.hub.get(roomId);
    if (!room || !membership) return;
    room.removeMember(ws, data.principal!.userId);
    this.safeEmit('memberleft', roomId, data.principal!);
    if (data.closed) return;
    ws.unsubscribe(room.topic);
    ws.unsubscribe(`h/${room.id}`);
    ws.unsubscribe(room.liteTopic);
    ws.unsubscribe(room.chatTopic);
    ws.unsubscribe(room.bucketTopics[membership.bucket]);
  }

  /** Lagging sockets leave the droppable (chat) topics until their buffer drains. */
  #setLagging(ws: WebSocket<SocketData>, lagging: boolean): void {
    const data = ws.getUserData();
    if (data.lagging === lagging || data.closed) return;
    data.lagging = lagging;
    this.metrics.laggingConnections.inc(lagging ? 1 : -1);
    for (const [roomId, membership] of data.rooms) {
      const room = this.hub.get(roomId);
      if (!room || membership.lite) continue;
      if (lagging) {
        ws.unsubscribe(room.chatTopic);
        ws.unsubscribe(room.bucketTopics[membership.bucket]);
        this.metrics.dropped.inc({ reason: 'lagging' });
      } else {
        ws.subscribe(room.chatTopic);
        ws.subscribe(room.bucketTopics[membership.bucket]);
      }
    }
  }

  /**
   * Slow-consumer policy. Every SWEEP_MS it checks the sockets already backed up;
   * every FULL_SWEEP_EVERY sweeps it checks every socket to find new ones. A socket over
   * `laggingBytes` stops getting chat; over `maxBackpressure` it is closed (4001)
   * and resumes from its offset.
   */
  #sweep(): void {
    const full = this.#sweeps++ % FULL_SWEEP_EVERY === 0;
    const closeAt = this.#config.maxBackpressure;
    const lagAt = this.#config.laggingBytes;
    for (const ws of full ? this.#sockets : this.#suspects) {
      if (ws.getUserData().closed) {
        this.#suspects.delete(ws);
        continue;
      }
      const buffered = ws.getBufferedAmount();
      if (buffered > closeAt) {
        this.#suspects.delete(ws);
        this.metrics.backpressureCloses.inc();
        log.debug({ sessionId: ws.getUserData().sessionId, buffered }, 'closing slow consumer');
        this.#disconnect(ws, CloseCode.SlowConsumer, 'too slow for critical messages, reconnect and resume', true);
        continue;
      }
      if (buffered > lagAt) this.#setLagging(ws, true);
      else if (buffered < lagAt / 4) this.#setLagging(ws, false);
      if (buffered > lagAt / 8 || ws.getUserData().lagging) this.#suspects.add(ws);
      else this.#suspects.delete(ws);
    }
  }

  #violation(ws: WebSocket<SocketData>, rid: number, retryAfterMs: number): void {
    const data = ws.getUserData();
    const now = Date.now();
    if (now - data.violationWindowStart > FLOOD_WINDOW_MS) {
      data.violationWindowStart = now;
      data.violations = 0;
    }
    if (++data.violations > FLOOD_VIOLATIONS) {
      this.#disconnect(ws, CloseCode.Flood, 'flooding: sustained rate-limit violations', true);
      return;
    }
    this.#sendError(ws, rid, ErrorCode.RateLimited, 'too many frames', '', retryAfterMs);
  }

  #badFrame(ws: WebSocket<SocketData>, message: string): void {
    const data = ws.getUserData();
    this.metrics.framesIn.inc({ type: 'invalid' });
    if (++data.badFrames > BAD_FRAMES_BEFORE_CLOSE) {
      this.#disconnect(ws, CloseCode.ProtocolViolation, 'too many invalid frames', false);
      return;
    }
    this.#sendError(ws, 0, ErrorCode.BadFrame, message);
  }

  /** Sends a Disconnect frame, then closes with the code. */
  #disconnect(ws: WebSocket<SocketData>, code: number, reason: string, reconnect: boolean): void {
    const data = ws.getUserData();
    if (data.closed) return;
    ws.cork(() => {
      this.#send(ws, { disconnect: { code, reason, reconnect } });
      ws.end(code, reason);
    });
  }

  #reply(ws: WebSocket<SocketData>, rid: number, work: Promise<void>, room = ''): void {
    work.catch((error: unknown) => this.#sendFailure(ws, rid, error, room));
  }

  #sendFailure(ws: WebSocket<SocketData>, rid: number, error: unknown, room = ''): void {
    if (error instanceof FlashcastError) {
      this.#sendError(ws, rid, error.code, error.message, room, error.retryAfterMs);
      return;
    }
    log.error({ err: error, sessionId: ws.getUserData().sessionId }, 'request failed');
    this.#sendError(ws, rid, ErrorCode.Internal, 'internal error', room);
  }

  #sendError(ws: WebSocket<SocketData>, rid: number, code: string, message: string, room = '', retryAfterMs = 0): void {
    this.metrics.errors.inc({ code });
    this.#send(ws, { rid, error: { code, message, room, retryAfterMs } });
  }

  #send(ws: WebSocket<SocketData>, frame: flashcast.IServerFrame): void {
    if (ws.getUserData().closed) return;
    ws.cork(() => ws.send(encodeServerFrame(frame), true));
  }

  // ---------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------

  #onHttp(res: HttpResponse, req: HttpRequest): void {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const path = req.getUrl();
    const query = new URLSearchParams(req.getQuery() ?? '');
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    const respond = (response: ApiResponse) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(statusLine(response.status));
        for (const [k, v] of Object.entries(response.headers ?? {})) res.writeHeader(k, v);
        if (response.raw !== undefined) {
          res.end(response.raw);
        } else {
          res.writeHeader('content-type', 'application/json');
          res.end(response.body === undefined ? '' : JSON.stringify(response.body));
        }
      });
    };

    if (path === '/healthz') return respond({ status: 200, body: { ok: true, nodeId: this.nodeId } });
    if (path === '/readyz') {
      const ready = !this.#draining && !this.#closed && this.#redis.status === 'ready';
      return respond({ status: ready ? 200 : 503, body: { ready } });
    }
    if (path === '/metrics') {
      this.metrics.registry.metrics().then(
        (text) => respond({ status: 200, raw: text, headers: { 'content-type': this.metrics.registry.contentType } }),
        (error: unknown) => respond(errorResponse(error, { path })),
      );
      return;
    }
    // Everything else is the router's: ids, the policy and the one error shape live there.
    const run = (text: string) => {
      const auth = headers.authorization ?? '';
      void this.#router
        .dispatch({
          method,
          path,
          query,
          headers,
          text,
          remoteAddress,
          principal: () => (auth.startsWith('Bearer ') ? this.#tokens.verifySync(auth.slice(7)) : null),
        })
        .then(respond);
    };
    const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      run('');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        respond(errorResponse(new FlashcastError(ErrorCode.FrameTooLarge, `body over ${MAX_BODY_BYTES} bytes`, 413)));
        return;
      }
      // The chunk is neutered after this callback: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) run(Buffer.concat(chunks).toString('utf8'));
    });
  }
}

function statusLine(status: number): string {
  const text: Record<number, string> = {
    200: 'OK',
    201: 'Created',
    202: 'Accepted',
    204: 'No Content',
    400: 'Bad Request',
    401: 'Unauthorized',
    402: 'Payment Required',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    410: 'Gone',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Entity',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return `${status} ${text[status] ?? 'Status'}`;
}

/** uWS's LIBUS_LISTEN_EXCLUSIVE_PORT listen option (no SO_REUSEPORT). */
const LISTEN_EXCLUSIVE_PORT: number = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;

/**
 * `app.listen(host, port, options, cb)`: the native binding takes the host, the port and
 * listen options (the typings only declare the host-less form with options).
 */
function listenExclusive(app: TemplatedApp, host: string, port: number, cb: (token: us_listen_socket | false) => void): void {
  const listen = app.listen as unknown as (h: string, p: number, o: number, c: (token: us_listen_socket | false) => void) => TemplatedApp;
  listen.call(app, host, port, LISTEN_EXCLUSIVE_PORT, cb);
}

function randomBucket(): number {
  return Math.floor(Math.random() * CHAT_BUCKETS);
}

let chatCounter = 0;
const chatPrefix = randomBytes(4).toString('base64url');

/** Unique chat message id: node-random prefix, time, counter. */
function chatId(): string {
  chatCounter = (chatCounter + 1) % 1_000_000;
  return `${chatPrefix}${Date.now().toString(36)}${chatCounter.toString(36)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
