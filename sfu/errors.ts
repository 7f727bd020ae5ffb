import { SfuErrorCode } from '../protocol/codes.js';
import { FlashcastError } from '../common/errors.js';

/** Stable error codes of the media plane (defined in protocol/codes.ts, exported by the SDK). */
export { SfuErrorCode };

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
