import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './env.js';

/** One request a receiver got, with what it answered. */
export interface ReceivedHook {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  json: any;
  answered: number;
}

/**
 * A merchant's webhook receiver for tests: a real node:http server on 127.0.0.1 that records
 * every request and answers what `answer` says (200 by default).
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  /** The status to answer a request with (it is recorded before the answer is sent). */
  answer: (hook: Omit<ReceivedHook, 'answered'>) => number = () => 200;
  readonly #server: http.Server;
  readonly #base: string;

  private constructor(server: http.Server, base: string) {
    this.#server = server;
    this.#base = base;
  }

  static async create(): Promise<WebhookReceiver> {
    let self: WebhookReceiver | null = null;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          /* recorded as is */
        }
        const hook = { path: req.url ?? '', headers: req.headers, body, json };
        const answered = self!.answer(hook);
        self!.received.push({ ...hook, answered });
        res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered < 300 ? 'ok' : 'receiver says no');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** The URL of `path` on this receiver. */
  url(path: string): string {
    return `${this.#base}${path}`;
  }

  /** The requests to `path` (of `type`, when given). */
  at(path: string, type?: string): ReceivedHook[] {
    return this.received.filter((h) => h.path === path && (type === undefined || h.json?.type === type));
  }

  /** Resolves to the first request matching `fn`, waiting for it. */
  next(fn: (h: ReceivedHook) => boolean, timeoutMs = 20_000): Promise<ReceivedHook> {
    return waitFor(() => this.received.find(fn), timeoutMs, 'webhook request');
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
