import { TokenService, type MintOptions } from '../../common/auth/TokenService.js';
import { FlashcastClient, type FlashcastClientHandlers } from './FlashcastClient.js';

/** Where the gateway is and how to get tokens for it. */
export class HarnessContext {
  /** `ws://host:port` (no path). */
  readonly baseUrl: string;
  /** The HTTP API on the same host and port. */
  readonly httpUrl: string;
  readonly #tokens: TokenService;
  readonly log: (line: string) => void;

  constructor(baseUrl: string, secret: string, log: (line: string) => void) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.httpUrl = this.baseUrl.replace(/^ws/, 'http');
    this.#tokens = new TokenService(secret);
    this.log = log;
  }

  /** A token (one hour). */
  token(options: MintOptions): string {
    return this.#tokens.mintSync({ ttlSeconds: 3600, ...options });
  }

  /** Connects a viewer (`extra`: name, region of a buyer). */
  async viewer(id: string, handlers: FlashcastClientHandlers = {}, extra: Partial<MintOptions> = {}): Promise<FlashcastClient> {
    return FlashcastClient.connect(this.baseUrl, this.token({ ...extra, sub: id, role: 'viewer' }), handlers);
  }

  /** Connects a host of `room`. */
  async host(id: string, room: string, handlers: FlashcastClientHandlers = {}): Promise<FlashcastClient> {
    return FlashcastClient.connect(this.baseUrl, this.token({ sub: id, role: 'host', rooms: [room] }), handlers);
  }

  /**
   * An HTTP API call with a bearer token: `{status, body}` (body parsed when JSON). Throws
   * when the server does not answer.
   */
  async api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
  static async pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
    const results: PromiseSettledResult<T>[] = new Array(count);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        try {
          results[i] = { status: 'fulfilled', value: await task(i) };
        } catch (reason) {
          results[i] = { status: 'rejected', reason };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
    return results;
  }
}
