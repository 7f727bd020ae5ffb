import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

/** Room every viewer joins. */
export const SOCKETIO_ROOM = 'bench';

/** Options of the Socket.IO baseline. */
export interface SocketIoBaselineOptions {
  host: string;
  port: number;
  redisUrl: string;
  /** Prefix of the adapter's Redis channels (unique per run). */
  redisPrefix: string;
}

/**
 * What users pick today: Socket.IO 4 with `@socket.io/redis-adapter`, websocket
 * transport only (no polling upgrade dance). Viewers join one room; each binary
 * `pub` event from the publisher is re-emitted to the room with
 * `io.to(room).emit('m', payload)`, which the adapter also publishes to Redis for
 * the other nodes of a cluster, exactly as a multi-node deployment would.
 */
export class SocketIoBaselineServer {
  readonly #http: HttpServer;
  readonly #io: Server;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly port: number;
  #closePromise: Promise<void> | null = null;

  private constructor(http: HttpServer, io: Server, pub: Redis, sub: Redis, port: number) {
    this.#http = http;
    this.#io = io;
    this.#pub = pub;
    this.#sub = sub;
    this.port = port;
  }

  /** Connects to Redis and listens. */
  static async create(options: SocketIoBaselineOptions): Promise<SocketIoBaselineServer> {
    const pub = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    const http = createServer((req, res) => {
      if (req.url === '/readyz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      } else if (!req.url?.startsWith('/socket.io/')) {
        res.writeHead(404).end();
      }
    });
    const io = new Server(http, {
      transports: ['websocket'],
      serveClient: false,
      perMessageDeflate: false,
      maxHttpBufferSize: 64 * 1024,
    });
    io.adapter(createAdapter(pub, sub, { key: `${options.redisPrefix}socket.io` }));
    io.on('connection', (socket) => {
      if (socket.handshake.query.role === 'pub') {
        socket.on('pub', (payload: Buffer) => {
          io.to(SOCKETIO_ROOM).emit('m', payload);
        });
      } else {
        void socket.join(SOCKETIO_ROOM);
        socket.emit('ready');
      }
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => resolve());
    });
    const address = http.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    return new SocketIoBaselineServer(http, io, pub, sub, port);
  }

  /** Disconnects every client, stops listening and closes Redis. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      const steps: [string, () => Promise<unknown>][] = [
        ['io', () => new Promise<void>((resolve) => this.#io.close(() => resolve()))],
        ['pub', () => this.#pub.quit()],
        ['sub', () => this.#sub.quit()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          process.stderr.write(`socket.io baseline: closing ${name} failed: ${(error as Error).message}\n`);
        }
      }
      this.#http.closeAllConnections();
    })();
    return this.#closePromise;
  }
}
