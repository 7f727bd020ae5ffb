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

/** A request body over the size limit (413). */
export class PayloadTooLargeError extends FlashcastError {
  constructor(message = 'body too large') {
    super(ErrorCode.FrameTooLarge, message, 413);
  }
}
