/**
 * The frame dispatcher: decodes a client frame, checks its rate, version and kind, asks the
 * policy for the kind's action (framePolicy.ts, common/auth/Policy) and hands it to the
 * handler registered for the kind. Built-in kinds (roomFrames.ts) and delegated ones
 * (`buy` from commerce, `media` from the SFU wiring) register the same way.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, flashcast } from '../../protocol/index.js';
import { Policy } from '../../common/auth/Policy.js';
import type { Principal } from '../../common/auth/TokenService.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { isValidId } from '../../common/keys.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import type { FloodGuard } from './FloodGuard.js';
import { frameAction, frameRoom, type ClientFrameKind } from './framePolicy.js';
import type { RoomHub } from './RoomHub.js';
import type { SocketData } from './SocketData.js';
import type { SocketSender } from './SocketSender.js';
import type { UserChannels } from './UserChannels.js';

/** The socket a frame came from, as its handler sees it. */
export interface FrameSession {
  readonly ws: WebSocket<SocketData>;
  readonly sessionId: string;
  readonly principal: Principal;
  /** The frame's request id (0: no reply expected). */
  readonly rid: number;
}

/** A handler's answer: the reply (sent with the frame's request id), or null when it sent its own or none is due. */
export type FrameReply = flashcast.IServerFrame | null;

/** Answers one kind of client frame. Throwing (or rejecting) answers with an Error frame. */
export type FrameHandler = (frame: flashcast.ClientFrame, session: FrameSession) => FrameReply | Promise<FrameReply>;

/** How a kind is handled besides its handler. */
export interface FrameRegistration {
  /**
   * Before the handler runs, the session starts following its user's private channel
   * (order updates): a buyer must hear about an order that does not exist yet.
   */
  followUser?: boolean;
  /** Error frames of this kind name the frame's room. */
  roomInErrors?: boolean;
}

interface Route {
  handler: FrameHandler;
  followUser: boolean;
  roomInErrors: boolean;
}

export interface FrameDispatcherOptions {
  hub: RoomHub;
  users: UserChannels;
  guard: FloodGuard;
  sender: SocketSender;
  metrics: GatewayMetrics;
}

/** Routes client frames to their handlers after the checks every frame gets. */
export class FrameDispatcher {
  readonly #hub: RoomHub;
  readonly #users: UserChannels;
  readonly #guard: FloodGuard;
  readonly #sender: SocketSender;
  readonly #metrics: GatewayMetrics;
  readonly #routes = new Map<string, Route>();

  constructor(options: FrameDispatcherOptions) {
    this.#hub = options.hub;
    this.#users = options.users;
    this.#guard = options.guard;
    this.#sender = options.sender;
    this.#metrics = options.metrics;
  }

  /**
   * Registers the handler of a client frame kind (the oneof name, e.g. 'chat', 'buy'). The
   * kind must have an action in framePolicy.ts; a kind registered twice is a bug (TypeError).
   * Returns the unregistration (the kind is then answered UNKNOWN_MESSAGE again).
   */
  register(kind: ClientFrameKind, handler: FrameHandler, registration: FrameRegistration = {}): () => void {
    if (!frameAction(kind)) throw new TypeError(`frame kind ${kind} has no policy action (framePolicy.ts)`);
    if (this.#routes.has(kind)) throw new TypeError(`frame kind ${kind} is already handled`);
    const route: Route = { handler, followUser: registration.followUser === true, roomInErrors: registration.roomInErrors === true };
    this.#routes.set(kind, route);
    return () => {
      if (this.#routes.get(kind) === route) this.#routes.delete(kind);
    };
  }

  /** One WebSocket message from an open, authenticated socket. */
  dispatch(ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (!data.principal || data.closed) return;
    if (!this.#guard.admitFrame(ws)) return;
    if (!isBinary) {
      this.#guard.badFrame(ws, 'text frames are not part of the protocol; send binary protobuf');
      return;
    }
    let frame: flashcast.ClientFrame;
    try {
      // decode copies what it needs; the ArrayBuffer is neutered after this callback.
      frame = flashcast.ClientFrame.decode(new Uint8Array(message));
    } catch {
      this.#guard.badFrame(ws, 'frame is not a valid ClientFrame');
      return;
    }
    const kind = frame.msg ?? 'unknown';
    this.#metrics.framesIn.inc({ type: kind });
    const rid = frame.rid >>> 0;
    if (frame.v !== PROTOCOL_VERSION) {
      this.#sender.sendError(ws, rid, ErrorCode.UnsupportedVersion, `protocol version ${frame.v} is not supported; use ${PROTOCOL_VERSION}`);
      this.#sender.disconnect(ws, CloseCode.UnsupportedVersion, 'unsupported protocol version', false);
      return;
    }
    const action = frameAction(frame.msg ?? undefined);
    if (!action) {
      this.#sender.sendError(ws, rid, ErrorCode.UnknownMessage, 'unknown message type');
      return;
    }
    const principal = data.principal;
    const roomId = frameRoom(frame);
    let route: Route | undefined;
    try {
      // Every frame asks the policy for its action before its handler runs.
      if (action !== 'session') {
        if (!isValidId(roomId)) throw new InvalidArgumentError('invalid room id');
        Policy.authorize(principal, action, {
          roomId,
          member: data.rooms.has(roomId),
          banned: this.#hub.isBanned(roomId, principal.userId),
        });
      }
      route = this.#routes.get(kind);
      if (!route) {
        // A kind this node does not serve (e.g. `buy` without commerce).
        this.#sender.sendError(ws, rid, ErrorCode.UnknownMessage, 'unknown message type');
        return;
      }
      const session: FrameSession = { ws, sessionId: data.sessionId, principal, rid };
      const reply = route.followUser ? this.#followThen(route.handler, frame, session) : route.handler(frame, session);
      if (reply instanceof Promise) {
        const errorRoom = route.roomInErrors ? roomId : '';
        reply.then(
          (answer) => answer && this.#sender.send(ws, { ...answer, rid }),
          (error: unknown) => this.#sender.sendFailure(ws, rid, error, errorRoom),
        );
      } else if (reply) {
        this.#sender.send(ws, { ...reply, rid });
      }
    } catch (error) {
      this.#sender.sendFailure(ws, rid, error, route?.roomInErrors ? roomId : '');
    }
  }

  async #followThen(handler: FrameHandler, frame: flashcast.ClientFrame, session: FrameSession): Promise<FrameReply> {
    await this.#users.follow(session.ws);
    return handler(frame, session);
  }
}
