/**
 * The per-socket state kept in a uWS upgrade's user data: one slot per owner. SocketTransport
 * creates it at upgrade; after that each field is changed by the one class named on it (the
 * others may read it).
 */
import type { Principal } from '../../common/auth/TokenService.js';
import type { TokenBucket } from '../../common/TokenBucket.js';

/** A client's membership of one room on this connection. */
export interface Membership {
  lite: boolean;
  /** Chat bucket topic index (sampling in busy rooms). */
  bucket: number;
}

/** FloodGuard's per-socket state: token buckets and violation counts. */
export interface SocketLimits {
  readonly frames: TokenBucket;
  readonly chat: TokenBucket;
  readonly react: TokenBucket;
  readonly join: TokenBucket;
  /** Frame rate-limit violations in the current flood window. */
  violations: number;
  violationWindowStart: number;
  badFrames: number;
}

/** Per-socket state, kept in the uWS upgrade's user data. */
export interface SocketData {
  /** SocketTransport, at upgrade: the session's id. */
  readonly sessionId: string;
  /** SocketTransport, at upgrade: who the token says the socket is (null: refused, closed on open). */
  readonly principal: Principal | null;
  /** SocketTransport, at upgrade: why the token was refused (set instead of principal). */
  readonly authError: { code: string; message: string } | null;
  /** SocketTransport, at upgrade: the client takes batches (`batch=1`: several frames in one message). */
  readonly batching: boolean;
  /** SocketTransport, in the close handler: the socket must not be touched any more. */
  closed: boolean;
  /** RoomMembership: the rooms joined on this connection. */
  readonly rooms: Map<string, Membership>;
  /** RoomMembership: rooms being joined (awaiting Redis). */
  readonly joining: Set<string>;
  /** FloodGuard. */
  readonly limits: SocketLimits;
  /** SlowConsumerPolicy: excluded from droppable topics because its send buffer is backed up. */
  lagging: boolean;
  /** ChatIngress: recent client message ids -> accepted message id (dedup within the connection). */
  readonly recentChat: Map<string, string>;
}
