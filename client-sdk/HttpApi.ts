import { ErrorCode } from '../protocol/codes.js';
import { FlashcastRequestError } from './errors.js';

/** The subset of `fetch` the SDK uses (browsers and Node 18+ have it). */
export type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/**
 * The gateway's HTTP API as the SDK calls it: JSON in and out, the session's token as a bearer
 * token (asked for on every call, so a refreshing token function is honoured), and the one error
 * shape `{error: {code, message, details}}` turned into a FlashcastRequestError with its code.
 */
export class HttpApi {
  readonly baseUrl: string;
  readonly #token: () => string | Promise<string>;
  readonly #fetch: FetchLike | undefined;

  constructor(baseUrl: string, token: () => string | Promise<string>, fetchImpl?: FetchLike) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#token = token;
    this.#fetch = fetchImpl;
  }

  /** The HTTP origin of a gateway WebSocket URL: `wss://live.example.com/ws` -> `https://live.example.com`. */
  static originOf(wsUrl: string): string {
    const u = new URL(wsUrl);
    const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
    return `${scheme}//${u.host}`;
  }

  /** One request; resolves to the parsed JSON body (undefined when empty), rejects with FlashcastRequestError. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const fetchImpl = this.#fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!fetchImpl) throw new FlashcastRequestError(ErrorCode.Unavailable, 'no fetch in this environment: pass one in the client options');
    const token = await this.#token();
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new FlashcastRequestError(ErrorCode.Unavailable, `request failed: ${(error as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status >= 200 && res.status < 300) return parsed as T;
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const details = error?.details as { retryAfterMs?: number } | undefined;
    const retryAfter = Number(res.headers.get('retry-after') ?? 0) * 1000;
    throw new FlashcastRequestError(
      error?.code ?? (res.status >= 500 ? ErrorCode.Unavailable : ErrorCode.InvalidArgument),
      error?.message ?? `HTTP ${res.status}`,
      Number(details?.retryAfterMs ?? 0) || retryAfter,
      '',
      error?.details,
    );
  }
}
