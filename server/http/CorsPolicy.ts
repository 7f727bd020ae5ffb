/**
 * Which browser origins may use the gateway from their pages (FLASHCAST_CORS_ORIGINS): the
 * CORS headers of API answers, the answer to preflights, and the Origin check on WebSocket
 * upgrades. Tokens are bearer tokens, never cookies, so no answer allows credentials.
 */
import type { ApiResponse } from '../../common/http/HttpRouter.js';

/** Methods and request headers a page may use (the API's; Idempotency-Key on creating POSTs). */
const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOW_HEADERS = 'authorization, content-type, idempotency-key';
/** Answer headers a page may read besides the simple ones. */
const EXPOSE_HEADERS = 'retry-after, location, etag, link, idempotent-replayed';
/** How long a browser may cache a preflight answer (Chromium caps it at 7200). */
const MAX_AGE_SECONDS = 600;

export interface CorsPolicyOptions {
  /** Allowed origins, exactly as browsers send `Origin`; `['*']`: any; empty: none (CORS off). */
  origins: readonly string[];
  /** The gateway's own public origins (FLASHCAST_PUBLIC_URL's), always allowed to open sockets. */
  ownOrigins?: readonly string[];
}

/** The one place that decides what a page on another origin may do. */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;
  readonly #any: boolean;
  readonly #own: ReadonlySet<string>;

  constructor(options: CorsPolicyOptions) {
    this.#any = options.origins.includes('*');
    this.#origins = new Set(options.origins.filter((o) => o !== '*'));
    this.#own = new Set(options.ownOrigins ?? []);
  }

  /** True when an allow-list is configured (otherwise no CORS headers, and sockets from anywhere). */
  get enabled(): boolean {
    return this.#any || this.#origins.size > 0;
  }

  /** True when pages of `origin` may call the API. */
  allows(origin: string | undefined): boolean {
    return origin !== undefined && origin !== '' && (this.#any || this.#origins.has(origin));
  }

  /** Headers added to an API answer for a request with this `Origin` (none for one not allowed). */
  responseHeaders(origin: string | undefined): Record<string, string> {
    if (!this.allows(origin)) return {};
    if (this.#any) return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSE_HEADERS };
    return { 'access-control-allow-origin': origin!, 'access-control-expose-headers': EXPOSE_HEADERS, vary: 'Origin' };
  }

  /**
   * The answer to a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
   * from an allowed origin: 204 with what may be sent. Null otherwise: the request is then
   * answered as any other (no CORS headers, so the browser blocks the call).
   */
  preflight(headers: Record<string, string>): ApiResponse | null {
    const origin = headers.origin;
    if (headers['access-control-request-method'] === undefined || !this.allows(origin)) return null;
    return {
      status: 204,
      headers: {
        'access-control-allow-origin': this.#any ? '*' : origin!,
        'access-control-allow-methods': ALLOW_METHODS,
        'access-control-allow-headers': ALLOW_HEADERS,
        'access-control-max-age': String(MAX_AGE_SECONDS),
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      },
    };
  }

  /**
   * May a WebSocket upgrade with this `Origin` open? Without an allow-list, yes (as before).
   * With one: a request without `Origin` (not a browser), the gateway's own origin (from the
   * `Host` it was reached at, or the public URL) and listed origins; no other page.
   */
  allowsSocket(origin: string | undefined, host: string | undefined, secure: boolean): boolean {
    if (!this.enabled || origin === undefined || origin === '' || this.allows(origin)) return true;
    if (this.#own.has(origin)) return true;
    return host !== undefined && host !== '' && origin === `${secure ? 'https' : 'http'}://${host.toLowerCase()}`;
  }
}
