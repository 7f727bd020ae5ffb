import { ErrorCode } from '../protocol/codes.js';
import { FlashcastError } from '../server/errors.js';

/** Stable error codes of the media plane (in addition to the protocol's ErrorCode). */
export const SfuErrorCode = {
  /** The role may not do this: viewers never produce; hosts produce only in their rooms. */
  Forbidden: ErrorCode.Forbidden,
  InvalidArgument: ErrorCode.InvalidArgument,
  RateLimited: ErrorCode.RateLimited,
  Unavailable: ErrorCode.Unavailable,
  TransportNotFound: 'TRANSPORT_NOT_FOUND',
  ProducerNotFound: 'PRODUCER_NOT_FOUND',
  ConsumerNotFound: 'CONSUMER_NOT_FOUND',
  /** connect_transport was already called on this transport. */
  AlreadyConnected: 'ALREADY_CONNECTED',
  /** The viewer's RTP capabilities cannot receive the producer (or audio-only asked for video). */
  CannotConsume: 'CANNOT_CONSUME',
  /** Per-session transport / producer / consumer limit reached. */
  LimitReached: 'MEDIA_LIMIT_REACHED',
  /** The operation does not fit the transport (produce on a receive transport...). */
  WrongTransport: 'WRONG_TRANSPORT',
} as const;

export type SfuErrorCode = (typeof SfuErrorCode)[keyof typeof SfuErrorCode];

/** Base error of the SFU: a stable code and an HTTP status (WHIP). */
export class SfuError extends FlashcastError {
  constructor(code: SfuErrorCode, message: string, status = 400, retryAfterMs = 0) {
    super(code, message, status, retryAfterMs);
  }
}

export class MediaForbiddenError extends SfuError {
  constructor(message: string) {
    super(SfuErrorCode.Forbidden, message, 403);
  }
}

export class MediaNotFoundError extends SfuError {
  constructor(code: typeof SfuErrorCode.TransportNotFound | typeof SfuErrorCode.ProducerNotFound | typeof SfuErrorCode.ConsumerNotFound, message: string) {
    super(code, message, 404);
  }
}

export class MediaInvalidError extends SfuError {
  constructor(message: string) {
    super(SfuErrorCode.InvalidArgument, message, 400);
  }
}

export class MediaLimitError extends SfuError {
  constructor(message: string) {
    super(SfuErrorCode.LimitReached, message, 429);
  }
}

export class MediaRateLimitedError extends SfuError {
  constructor(retryAfterMs: number) {
    super(SfuErrorCode.RateLimited, 'creating transports too fast', 429, retryAfterMs);
  }
}

export class MediaUnavailableError extends SfuError {
  constructor(message = 'media server unavailable, retry') {
    super(SfuErrorCode.Unavailable, message, 503);
  }
}
