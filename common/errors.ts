import { ErrorCode } from '../protocol/codes.js';

/** Base of every error that crosses the wire or HTTP: a stable `code` and an HTTP status. */
export class FlashcastError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryAfterMs: number;
  /** Structured detail sent with the error (HTTP `error.details`), e.g. a BuyResult. */
  readonly details: unknown;

  constructor(code: string, message: string, status = 400, retryAfterMs = 0, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }
}

export class InvalidArgumentError extends FlashcastError {
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message, 400);
  }
}

export class UnauthorizedError extends FlashcastError {
  constructor(message = 'missing or invalid token', code: string = ErrorCode.Unauthorized) {
    super(code, message, 401);
  }
}

export class ForbiddenError extends FlashcastError {
  constructor(message = 'not allowed for this role', code: string = ErrorCode.Forbidden) {
    super(code, message, 403);
  }
}

export class NotFoundError extends FlashcastError {
  constructor(message = 'not found') {
    super(ErrorCode.NotFound, message, 404);
  }
}

/** A room with no stream (never opened, or expired past FLASHCAST_HISTORY_TTL_S). */
export class RoomNotFoundError extends FlashcastError {
  constructor(message = 'no such room (never opened, or expired)') {
    super(ErrorCode.RoomNotFound, message, 404);
  }
}

export class UnavailableError extends FlashcastError {
  constructor(message = 'temporarily unavailable') {
    super(ErrorCode.Unavailable, message, 503);
  }
}

/** Something failed on our side; the message sent is generic (the cause is logged, not sent). */
export class InternalError extends FlashcastError {
  constructor() {
    super(ErrorCode.Internal, 'internal error', 500);
  }
}

/** An HTTP method the path does not serve (405). */
export class MethodNotAllowedError extends FlashcastError {
  constructor() {
    super(ErrorCode.InvalidArgument, 'method not allowed', 405);
  }
}

/** A request body in a content type the route does not take (415). */
export class UnsupportedMediaTypeError extends FlashcastError {
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message, 415);
  }
}

/** A request body over the size limit (413, code FRAME_TOO_LARGE). */
export class PayloadTooLargeError extends FlashcastError {
  constructor(limitBytes: number | string) {
    super(ErrorCode.FrameTooLarge, typeof limitBytes === 'number' ? `body over ${limitBytes} bytes` : limitBytes, 413);
  }
}

/** A room frame from a socket that has not joined the room. */
export class NotJoinedError extends FlashcastError {
  constructor(message = 'join the room first') {
    super(ErrorCode.NotJoined, message, 403);
  }
}

/** The connection already holds FLASHCAST_MAX_ROOMS_PER_CONN rooms. */
export class TooManyRoomsError extends FlashcastError {
  constructor(limit: number) {
    super(ErrorCode.TooManyRooms, `at most ${limit} rooms per connection`, 400);
  }
}

/** The room's slow mode: the viewer's next chat line is allowed after `retryAfterMs`. */
export class SlowModeError extends FlashcastError {
  constructor(retryAfterMs: number) {
    super(ErrorCode.SlowMode, 'slow mode is on', 429, retryAfterMs);
  }
}

/** The live has ended: viewers can no longer chat. */
export class RoomEndedError extends FlashcastError {
  constructor(message = 'the live has ended') {
    super(ErrorCode.RoomEnded, message, 400);
  }
}

/** The user is muted in the room. */
export class MutedError extends FlashcastError {
  constructor(message = 'you are muted in this room') {
    super(ErrorCode.Muted, message, 403);
  }
}

/** The chat line contains one of the room's blocked words. */
export class BlockedWordError extends FlashcastError {
  constructor(message = 'message contains a blocked word') {
    super(ErrorCode.BlockedWord, message, 400);
  }
}

/** Too many requests or frames: retry after `retryAfterMs` (429, code RATE_LIMITED unless given). */
export class RateLimitedError extends FlashcastError {
  constructor(retryAfterMs: number, code: string = ErrorCode.RateLimited, message = 'too many requests') {
    super(code, message, 429, retryAfterMs);
  }
}

/** The `Idempotency-Key` was already used by this caller for a different request (422). */
export class IdempotencyKeyReusedError extends FlashcastError {
  constructor(message = 'this Idempotency-Key was already used for a different request (another body or endpoint)') {
    super(ErrorCode.IdempotencyKeyReused, message, 422);
  }
}

/** A request with this `Idempotency-Key` is still running (409): retry after a moment for its answer. */
export class IdempotencyKeyInUseError extends FlashcastError {
  constructor(retryAfterMs = 1000) {
    super(ErrorCode.IdempotencyKeyInUse, 'a request with this Idempotency-Key is in progress', 409, retryAfterMs);
  }
}

/** A development-only route on a server that does not run on the public development secret (404, code DEV_ONLY). */
export class DevOnlyError extends FlashcastError {
  constructor() {
    super(ErrorCode.DevOnly, 'development tokens are minted only by a server on the public development secret (npm start without FLASHCAST_JWT_SECRET)', 404);
  }
}

/** Guest tokens are off on this server (403, code GUESTS_OFF). */
export class GuestsOffError extends FlashcastError {
  constructor() {
    super(ErrorCode.GuestsOff, 'guest viewing is off on this server: sign in to watch', 403);
  }
}
