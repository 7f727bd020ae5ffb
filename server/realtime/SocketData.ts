import type { Principal } from '../../common/auth/TokenService.js';
import type { TokenBucket } from '../../common/TokenBucket.js';

/** A client's membership of one room on this connection. */
export interface Membership {
  lite: boolean;
  /** Chat bucket topic index (sampling in busy rooms). */
  bucket: number;
}

/** Per-socket state, kept in the uWS upgrade's user data. */
export interface SocketData {
  sessionId: string;
  principal: Principal | null;
  /** Why the token was refused (set instead of principal). */
  authError: { code: string; message: string } | null;
  remoteAddress: string;
  rooms: Map<string, Membership>;
  /** Rooms being joined (awaiting Redis). */
  joining: Set<string>;
  frames: TokenBucket;
  chat: TokenBucket;
  reactions: TokenBucket;
  joins: TokenBucket;
  /** Rate-limit violations in the current flood window. */
  violations: number;
  violationWindowStart: number;
  badFrames: number;
  /** Excluded from droppable topics because its send buffer is backed up. */
  lagging: boolean;
  /** Set in the close handler: the socket must not be touched any more. */
  closed: boolean;
  /** Subscribed to the user's private channel (order updates). */
  followsUser: boolean;
  /** Recent client message ids -> accepted message id (dedup within the connection). */
  recentChat: Map<string, string>;
}
