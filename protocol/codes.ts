/**
 * Stable close codes and error codes of the Flashcast protocol.
 *
 * Close codes are split in two ranges (see docs/protocol.md):
 * - 4000-4499 "reconnect": the client reconnects with backoff (possibly to another
 *   node) and resumes its rooms from their offsets.
 * - 4500-4999 "terminal": reconnecting with the same credentials will fail again; the
 *   client stops and surfaces the reason to the app.
 * Standard codes used by the transport itself: 1000 normal, 1001 going away,
 * 1006 abnormal (no close frame: network loss), 1009 frame too big.
 */
export const CloseCode = {
  /** The node is draining (deploy, scale-in): reconnect, to another node. */
  Draining: 4000,
  /** The client fell too far behind on critical messages; reconnect and resume. */
  SlowConsumer: 4001,
  /** No frame (not even a ping) within the idle timeout. */
  IdleTimeout: 4002,
  /** The node hit an internal error for this connection. */
  InternalError: 4003,
  /** Sustained flooding beyond the rate limits; reconnect after a backoff. */
  Flood: 4004,
  /** Credentials missing or invalid (forged, wrong algorithm, malformed). */
  Unauthorized: 4500,
  /** The token expired; reconnect only with a fresh token. */
  TokenExpired: 4501,
  /** The user is banned. */
  Banned: 4502,
  /** Repeated undecodable frames: the client speaks something else. */
  ProtocolViolation: 4503,
  /** The client speaks a protocol version this server does not. */
  UnsupportedVersion: 4504,
  /**
   * The user already holds FLASHCAST_MAX_CONNS_PER_USER sockets on this node: close
   * one (another tab or device) before connecting again.
   */
  TooManyConnections: 4505,
  /** Frame larger than the limit (uWebSockets.js closes these with 1009). */
  FrameTooBig: 1009,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** True for close codes after which a client should reconnect and resume. */
export function isReconnectCode(code: number): boolean {
  if (code >= 4000 && code < 4500) return true;
  if (code >= 4500 && code < 5000) return false;
  // Transport-level closes (network loss, 1001 going away, 1011 server error) are retried.
  return code !== 1000 && code !== 1002 && code !== 1003 && code !== 1007 && code !== 1008 && code !== 1009;
}

/** Stable error codes carried in Error frames and HTTP error bodies. Clients switch on these. */
export const ErrorCode = {
  BadFrame: 'BAD_FRAME',
  UnknownMessage: 'UNKNOWN_MESSAGE',
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  FrameTooLarge: 'FRAME_TOO_LARGE',
  InvalidArgument: 'INVALID_ARGUMENT',
  RateLimited: 'RATE_LIMITED',
  Unauthorized: 'UNAUTHORIZED',
  TokenExpired: 'TOKEN_EXPIRED',
  Forbidden: 'FORBIDDEN',
  RoomNotAllowed: 'ROOM_NOT_ALLOWED',
  NotJoined: 'NOT_JOINED',
  TooManyRooms: 'TOO_MANY_ROOMS',
  /** The user already holds the most sockets allowed on this node (closed with 4505). */
  TooManyConnections: 'TOO_MANY_CONNECTIONS',
  Banned: 'BANNED',
  Muted: 'MUTED',
  SlowMode: 'SLOW_MODE',
  BlockedWord: 'BLOCKED_WORD',
  RoomEnded: 'ROOM_ENDED',
  NotFound: 'NOT_FOUND',
  /** The room has no stream: nobody ever published to it, or it expired. */
  RoomNotFound: 'ROOM_NOT_FOUND',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Current protocol version, carried in every frame's `v`. */
export const PROTOCOL_VERSION = 1;
