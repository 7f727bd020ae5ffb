import WebSocket from 'ws';
import { FlashcastClient, type ClientOptions, type WebSocketConstructor } from '../../client-sdk/index.js';
import { TokenService, type MintOptions } from '../../common/auth/TokenService.js';
import { flashcast, encodeClientFrame, decodeServerFrames } from '../../protocol/index.js';
import { JWT_SECRET, waitFor } from './env.js';

export const tokens = new TokenService(JWT_SECRET);

/** An SDK client over the `ws` package. */
export function sdkClient(urls: string | string[], token: string, options: Partial<ClientOptions> = {}): FlashcastClient {
  return new FlashcastClient({
    urls: Array.isArray(urls) ? urls : [urls],
    token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    backoff: { baseMs: 50, maxMs: 500 },
    ...options,
  });
}

export async function mint(options: MintOptions): Promise<string> {
  return tokens.mint(options);
}

/**
 * A raw protocol client (no SDK) for bad-input tests: records every frame and
 * the close code.
 */
export class RawClient {
  readonly frames: flashcast.ServerFrame[] = [];
  /** WebSocket messages received, and how many of them were batches of frames. */
  messages = 0;
  batches = 0;
  closeCode: number | null = null;
  closeReason = '';
  readonly ws: WebSocket;
  readonly closed: Promise<number>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      this.messages++;
      try {
        if (flashcast.ServerFrame.decode(data).msg === 'batch') this.batches++;
        this.frames.push(...decodeServerFrames(data));
      } catch {
        /* not ours */
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
  }

  static async open(url: string, token: string | null, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const ws = new WebSocket(token === null ? url : `${url}?token=${encodeURIComponent(token)}`, options);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: flashcast.IClientFrame): void {
    this.ws.send(encodeClientFrame(frame));
  }

  sendRaw(data: Buffer | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  /** Waits for a frame matching the predicate (already received or future). */
  async next(predicate: (f: flashcast.ServerFrame) => boolean, timeoutMs = 5000): Promise<flashcast.ServerFrame> {
    return waitFor(() => this.frames.find(predicate), timeoutMs, 'frame');
  }

  reply(rid: number, timeoutMs = 5000): Promise<flashcast.ServerFrame> {
    return this.next((f) => f.rid === rid, timeoutMs);
  }

  close(): void {
    this.ws.terminate();
  }
}
