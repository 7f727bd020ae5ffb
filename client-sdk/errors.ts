/** An error the server answered a request with; switch on `code` (see docs/protocol.md). */
export class FlashcastRequestError extends Error {
  readonly code: string;
  readonly retryAfterMs: number;
  readonly room: string;
  /** The full answer, when the server sent one (e.g. a BuyResult with `available`). */
  readonly details: unknown;

  constructor(code: string, message: string, retryAfterMs = 0, room = '', details: unknown = undefined) {
    super(message || code);
    this.name = 'FlashcastRequestError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.room = room;
    this.details = details;
  }
}

/** The request got no answer in time (the connection may still recover). */
export class RequestTimeoutError extends Error {
  readonly code = 'TIMEOUT';
  constructor(message = 'request timed out') {
    super(message);
    this.name = 'RequestTimeoutError';
  }
}

/** The client was closed, or the server closed it for good (terminal close code). */
export class ConnectionClosedError extends Error {
  readonly code: string;
  readonly closeCode: number;
  constructor(closeCode: number, reason: string) {
    super(reason || `connection closed (${closeCode})`);
    this.name = 'ConnectionClosedError';
    this.code = 'CLOSED';
    this.closeCode = closeCode;
  }
}
