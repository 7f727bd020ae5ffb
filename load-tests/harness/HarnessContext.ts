import { TokenService } from '../../common/auth/TokenService.js';
import { FlashcastClient, type FlashcastClientHandlers } from './FlashcastClient.js';

/** Where the gateway is and how to get tokens for it. */
export class HarnessContext {
  /** `ws://host:port` (no path). */
  readonly baseUrl: string;
  readonly #tokens: TokenService;
  readonly log: (line: string) => void;

  constructor(baseUrl: string, secret: string, log: (line: string) => void) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#tokens = new TokenService(secret);
    this.log = log;
  }

  /** Connects a viewer. */
  async viewer(id: string, handlers: FlashcastClientHandlers = {}): Promise<FlashcastClient> {
    const token = await this.#tokens.mint({ sub: id, role: 'viewer', ttlSeconds: 3600 });
    return FlashcastClient.connect(this.baseUrl, token, handlers);
  }

  /** Connects a host of `room`. */
  async host(id: string, room: string, handlers: FlashcastClientHandlers = {}): Promise<FlashcastClient> {
    const token = await this.#tokens.mint({ sub: id, role: 'host', rooms: [room], ttlSeconds: 3600 });
    return FlashcastClient.connect(this.baseUrl, token, handlers);
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
