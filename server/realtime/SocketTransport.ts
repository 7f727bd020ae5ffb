/**
 * The WebSocket transport: the uWebSockets.js `/ws` handlers (upgrade with the Origin and token checks and
 * per-socket user data, open with the per-user connection cap, message, drain, close), the
 * listen socket on an exclusive port, the session registry, and the graceful drain.
 */
import { randomBytes } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import { CloseCode, ErrorCode, ROLE_BY_NAME, type flashcast } from '../../protocol/index.js';
import { Policy } from '../../common/auth/Policy.js';
import type { Principal, TokenService } from '../../common/auth/TokenService.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { FlashcastError, ForbiddenError, UnauthorizedError, UnavailableError } from '../../common/errors.js';
import { errorResponse } from '../../common/http/HttpErrors.js';
import { logger } from '../../common/logger.js';
import type { CorsPolicy } from '../http/CorsPolicy.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import type { FloodGuard } from './FloodGuard.js';
import type { FrameDispatcher } from './FrameDispatcher.js';
import { writeResponse } from './HttpAdapter.js';
import type { RoomMembership } from './RoomMembership.js';
import type { SlowConsumerPolicy } from './SlowConsumerPolicy.js';
import type { SocketData } from './SocketData.js';
import type { SocketSender } from './SocketSender.js';
import type { UserChannels } from './UserChannels.js';

const log = logger('SocketTransport');

export interface SocketTransportOptions {
  app: TemplatedApp;
  host: string;
  port: number;
  nodeId: string;
  maxFrameBytes: number;
  idleTimeoutSeconds: number;
  /** The slow-consumer closing point; uWS itself skips publications at twice this. */
  maxBackpressure: number;
  maxConnectionsPerUser: number;
  /** Clients are told to reconnect spread over this window on drain. */
  drainMs: number;
  /** How long the node may hold a frame to pack it with others, for clients that take batches. */
  batchWindowMs: number;
  tokens: TokenService;
  /** Which pages' origins may open sockets (checked at upgrade). */
  cors: CorsPolicy;
  /** The port speaks TLS (the gateway's own origin is then https://). */
  secure: boolean;
  frames: FrameDispatcher;
  membership: RoomMembership;
  slowConsumers: SlowConsumerPolicy;
  users: UserChannels;
  guard: FloodGuard;
  sender: SocketSender;
  metrics: GatewayMetrics;
}

export type SocketTransportEvents = {
  /** A session (socket) ended; parts holding per-session resources release them. */
  sessionclosed: [string, Principal];
};

/** Accepts, tracks and closes the node's WebSocket sessions. */
export class SocketTransport extends EnhancedEventEmitter<SocketTransportEvents> {
  readonly #options: SocketTransportOptions;
  readonly #sockets = new Set<WebSocket<SocketData>>();
  readonly #sessions = new Map<string, WebSocket<SocketData>>();
  /** Open sockets per user on this node (for the per-user connection cap). */
  readonly #userSockets = new Map<string, number>();
  #listenSocket: us_listen_socket | null = null;
  #port = 0;
  #draining = false;
  #closed = false;

  /** Registers the `/ws` handlers on the app; `listen` then opens the port. */
  constructor(options: SocketTransportOptions) {
    super();
    this.#options = options;
    options.app.ws<SocketData>('/ws', {
      compression: uWS.DISABLED,
      maxPayloadLength: options.maxFrameBytes,
      idleTimeout: options.idleTimeoutSeconds,
      // uWS skips publications to sockets above this; the slow-consumer policy closes them
      // at half of it, before anything critical is skipped.
      maxBackpressure: options.maxBackpressure * 2,
      closeOnBackpressureLimit: false as unknown as number,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#onUpgrade(res, req, context),
      open: (ws) => this.#onOpen(ws),
      message: (ws, message, isBinary) => options.frames.dispatch(ws, message, isBinary),
      drain: (ws) => options.slowConsumers.drained(ws),
      close: (ws) => this.#onClose(ws),
    });
  }

  /** The port listened on. */
  get port(): number {
    return this.#port;
  }

  /** Open sessions. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** True while new sessions are accepted (not draining or closed). */
  get accepting(): boolean {
    return !this.#draining && !this.#closed;
  }

  /**
   * Listens on host:port (0 = any free port) with an exclusive port: uWS otherwise sets
   * SO_REUSEPORT, and a second gateway started on the same port would silently share (and
   * take) its traffic.
   */
  listen(): Promise<void> {
    const { app, host, port, nodeId } = this.#options;
    return new Promise((resolve, reject) => {
      listenExclusive(app, host, port, (token) => {
        if (!token) {
          reject(new Error(`could not listen on ${host}:${port}: the port is in use (another gateway?) or not allowed`));
          return;
        }
        this.#listenSocket = token;
        this.#port = uWS.us_socket_local_port(token as unknown as uWS.us_socket);
        log.info({ port: this.#port, nodeId }, 'gateway listening');
        resolve();
      });
    });
  }

  /** Sends a frame to one session on this node; false if it is not (or no longer) here. */
  pushToSession(sessionId: string, frame: flashcast.IServerFrame): boolean {
    const ws = this.#sessions.get(sessionId);
    if (!ws || ws.getUserData().closed) return false;
    this.#options.sender.send(ws, frame);
    return true;
  }

  /** Closes one session with a reconnect code (e.g. its media worker died). */
  reconnectSession(sessionId: string, reason: string): boolean {
    const ws = this.#sessions.get(sessionId);
    if (!ws) return false;
    this.#options.sender.disconnect(ws, CloseCode.InternalError, reason, true);
    return true;
  }

  /**
   * Graceful drain: stop accepting, tell every client to reconnect elsewhere (close code
   * 4000), spread over `drainMs` so they do not all come back at once. Idempotent.
   */
  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    if (this.#listenSocket) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = null;
    }
    const sockets = [...this.#sockets];
    const batches = Math.max(1, Math.min(20, Math.ceil(sockets.length / 500)));
    const perBatch = Math.ceil(sockets.length / batches);
    for (let b = 0; b < batches; b++) {
      for (const ws of sockets.slice(b * perBatch, (b + 1) * perBatch)) {
        this.#options.sender.disconnect(ws, CloseCode.Draining, 'node draining, reconnect', true);
      }
      if (b < batches - 1) await sleep(this.#options.drainMs / batches);
    }
  }

  /** Closes every socket still open (after `drain`). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#listenSocket) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = null;
    }
    for (const ws of [...this.#sockets]) ws.close();
  }

  #onUpgrade(res: HttpResponse, req: HttpRequest, context: uWS.us_socket_context_t): void {
    // The whole upgrade is synchronous (the HS256 check needs no await), so req and
    // res are valid throughout and no onAborted handler is needed.
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const authorization = req.getHeader('authorization');
    const query = new URLSearchParams(req.getQuery() ?? '');
    const origin = req.getHeader('origin');
    if (this.#draining) {
      writeResponse(res, errorResponse(new UnavailableError('node draining, reconnect to another node')));
      return;
    }
    if (!this.#options.cors.allowsSocket(origin, req.getHeader('host'), this.#options.secure)) {
      // A page of another origin that FLASHCAST_CORS_ORIGINS does not list (docs/security.md).
      writeResponse(res, errorResponse(new ForbiddenError('this page\'s origin may not open sockets here')));
      return;
    }
    const token = query.get('token') ?? (authorization.startsWith('Bearer ') ? authorization.slice(7) : '');
    let principal: Principal | null = null;
    let authError: SocketData['authError'] = null;
    try {
      const verified = this.#options.tokens.verifySync(token);
      // A token the policy refuses a session (a stream key) never opens one.
      const session = Policy.decide(verified, 'session');
      if (!session.allow) throw session.error;
      principal = verified;
    } catch (error) {
      const e = error instanceof FlashcastError ? error : new UnauthorizedError();
      authError = { code: e.code, message: e.message };
    }
    const data: SocketData = {
      sessionId: randomBytes(9).toString('base64url'),
      principal,
      authError,
      batching: query.get('batch') === '1',
      closed: false,
      rooms: new Map(),
      joining: new Set(),
      limits: this.#options.guard.limitsFor(principal),
      lagging: false,
      recentChat: new Map(),
    };
    res.upgrade(data, key, protocol, extensions, context);
  }

  #onOpen(ws: WebSocket<SocketData>): void {
    const { sender, maxConnectionsPerUser } = this.#options;
    const data = ws.getUserData();
    if (!data.principal) {
      // Refused credentials: a clear, terminal close the browser can see (an HTTP 401
      // at upgrade would only show up as 1006).
      const expired = data.authError?.code === ErrorCode.TokenExpired;
      sender.send(ws, { error: { code: data.authError?.code ?? ErrorCode.Unauthorized, message: data.authError?.message ?? '' } });
      sender.disconnect(ws, expired ? CloseCode.TokenExpired : CloseCode.Unauthorized, data.authError?.message ?? 'unauthorized', false);
      return;
    }
    const userId = data.principal.userId;
    const open = this.#userSockets.get(userId) ?? 0;
    if (open >= maxConnectionsPerUser) {
      // Terminal: another connection would be refused too until one of the user's closes.
      const message = `at most ${maxConnectionsPerUser} connections per user on this node`;
      sender.sendError(ws, 0, ErrorCode.TooManyConnections, message);
      sender.disconnect(ws, CloseCode.TooManyConnections, message, false);
      return;
    }
    this.#userSockets.set(userId, open + 1);
    this.#sockets.add(ws);
    this.#sessions.set(data.sessionId, ws);
    this.#options.slowConsumers.watch(ws);
    this.#options.metrics.connections.set(this.#sockets.size);
    sender.send(ws, {
      connected: {
        sessionId: data.sessionId,
        userId: data.principal.userId,
        role: ROLE_BY_NAME[data.principal.role],
        nodeId: this.#options.nodeId,
        serverTime: Date.now(),
        pingIntervalMs: Math.max(4000, (this.#options.idleTimeoutSeconds * 1000) / 3),
        maxFrameBytes: this.#options.maxFrameBytes,
        batchWindowMs: data.batching ? this.#options.batchWindowMs : 0,
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
    this.#options.metrics.connections.set(this.#sockets.size);
    this.#options.slowConsumers.forget(ws);
    this.#options.membership.leaveAll(ws);
    this.#options.users.drop(ws);
    this.#sessions.delete(data.sessionId);
    this.safeEmit('sessionclosed', data.sessionId, data.principal!);
  }
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
