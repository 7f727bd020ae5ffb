import { ErrorCode } from '../protocol/codes.js';
import { FlashcastRequestError, RequestTimeoutError } from './errors.js';

/** The subset of `fetch` the SDK uses (the global one in browsers and Node 18+). */
export type FetchLike = (url: string, init: {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface HttpChannelOptions {
  /** Where the HTTP API is, e.g. `https://live.example.com` (see `httpBaseUrl`). */
  baseUrl: string;
  /**
   * The session's bearer token (called for every request, so a refreshed token is used). An
   * empty string sends no Authorization header (public routes such as /v1/web/config).
   */
  token: () => string | Promise<string>;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /** Per-request timeout (ms). */
  timeoutMs: number;
}

/**
 * The gateway's HTTP URL from its WebSocket URL: `wss://host/ws` → `https://host`,
 * `ws://host:8080/base/ws` → `http://host:8080/base`.
 */
export function httpBaseUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  const protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
  const path = url.pathname.replace(/\/ws\/?$/, '').replace(/\/$/, '');
  return `${protocol}//${url.host}${path}`;
}

/**
 * The SDK's HTTP side: JSON requests to the gateway's HTTP API with the session's token. A
 * refusal rejects with a FlashcastRequestError carrying the server's stable `code`, its
 * `details` and `retryAfterMs` (from Retry-After); no answer in time rejects with
 * RequestTimeoutError; an unreachable server with code UNAVAILABLE.
 */
export class HttpChannel {
  readonly #options: HttpChannelOptions;

  constructor(options: HttpChannelOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  /** The HTTP API's base URL (no trailing slash): next-step URLs are resolved against it. */
  get baseUrl(): string {
    return this.#options.baseUrl;
  }

  /**
   * Sends one request; resolves to the parsed JSON body (undefined for 204). `headers` adds
   * request headers, e.g. `{ 'idempotency-key': key }` on a create that must not run twice.
   */
  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const fetchImpl = this.#options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!fetchImpl) throw new TypeError('no fetch available: pass `fetch` in the client options');
    const token = await this.#options.token();
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#options.timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await fetchImpl(`${this.#options.baseUrl}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: abort.signal,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (error) {
      if (abort.signal.aborted) throw new RequestTimeoutError(`${method} ${path} timed out`);
      throw new FlashcastRequestError(ErrorCode.Unavailable, error instanceof Error ? error.message : 'request failed');
    } finally {
      clearTimeout(timer);
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 200 && status < 300) return parsed as T;
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const code = error?.code ?? (status >= 500 ? ErrorCode.Unavailable : ErrorCode.Internal);
    // The server's own hint (a BuyResult's retryAfterMs in details) first, else Retry-After.
    const hinted = Number((error?.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs ?? 0);
    const retryAfterMs = hinted > 0 ? hinted : retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    throw new FlashcastRequestError(code, error?.message ?? `HTTP ${status}`, retryAfterMs, '', error?.details);
  }
}
