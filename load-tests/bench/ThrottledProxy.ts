/**
 * A TCP proxy that slows WebSocket connections like a mobile link: each chunk is delivered
 * `latencyMs` later, one way, at most `bytesPerSecond`, in both directions. Chromium's network
 * emulation (CDP `Network.emulateNetworkConditions`) slows the page's HTTP requests but not its
 * WebSocket frames (nor WebRTC media), so the slow-3G runs put this in front of the gateway for
 * the socket. Connections that do not start with `GET /ws` (plain HTTP, already slowed by the
 * browser) pass through untouched.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ThrottleOptions {
  /** One-way delay added to every chunk (a round trip costs twice this). */
  latencyMs: number;
  /** Throughput cap per direction and connection. */
  bytesPerSecond: number;
}

export class ThrottledProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly port: number;
  #closed = false;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /** Listens on 127.0.0.1 and forwards to `target` (host:port). */
  static async create(target: { host: string; port: number }, options: ThrottleOptions): Promise<ThrottledProxy> {
    let self: ThrottledProxy | null = null;
    const server = createServer((client) => self!.#accept(client, target, options));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    self = new ThrottledProxy(server, typeof address === 'object' && address ? address.port : 0);
    return self;
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops every connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#sockets) s.destroy();
    this.#server.close();
  }

  #accept(client: Socket, target: { host: string; port: number }, options: ThrottleOptions): void {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => {
        this.#sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => s.destroy());
    }
    client.once('data', (first: Buffer) => {
      const socket = first.toString('latin1', 0, 8).startsWith('GET /ws');
      if (!socket) {
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
        return;
      }
      const up = this.#lane(upstream, options);
      const down = this.#lane(client, options);
      up(first);
      client.on('data', up);
      upstream.on('data', down);
    });
  }

  /** A one-way lane: chunks written to `to` after the delay, in order, no faster than the cap. */
  #lane(to: Socket, options: ThrottleOptions): (chunk: Buffer) => void {
    let free = 0;
    return (chunk) => {
      const now = Date.now();
      free = Math.max(free, now) + (chunk.length / options.bytesPerSecond) * 1000;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (!to.destroyed) to.write(chunk);
      }, free - now + options.latencyMs);
      this.#timers.add(timer);
    };
  }
}
