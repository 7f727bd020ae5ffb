import { fileURLToPath } from 'node:url';
import type { BenchTarget, TargetContext } from './BenchTarget.js';
import type { Publisher } from './Publisher.js';
import { ServerProcess, freePort } from './ServerProcess.js';
import { SocketIoPublisher } from './SocketIoPublisher.js';
import type { BaselinePayload } from './BaselinePayload.js';

const SCRIPT = fileURLToPath(new URL('../baselines/socketio-server.js', import.meta.url));

/** Socket.IO 4 with @socket.io/redis-adapter (what users pick today). */
export class SocketIoTarget implements BenchTarget {
  readonly kind = 'socketio' as const;
  readonly label = 'Socket.IO 4 + redis-adapter';
  readonly #context: TargetContext;
  readonly #payload: BaselinePayload;
  #server: ServerProcess | null = null;
  port = 0;

  constructor(context: TargetContext, payload: BaselinePayload) {
    this.#context = context;
    this.#payload = payload;
  }

  async start(): Promise<ServerProcess> {
    this.port = await freePort();
    this.#server = await ServerProcess.start({
      name: this.label,
      script: SCRIPT,
      env: {
        PORT: String(this.port),
        HOST: '127.0.0.1',
        REDIS_URL: this.#context.redisUrl,
        FLASHCAST_REDIS_PREFIX: `${this.#context.redisPrefix}sio:`,
      },
      readyUrl: `http://127.0.0.1:${this.port}/readyz`,
      cpus: this.#context.serverCpus,
    });
    return this.#server;
  }

  async viewerPaths(count: number): Promise<string[]> {
    return new Array<string>(count).fill('/socket.io/?EIO=4&transport=websocket');
  }

  openPublisher(): Promise<Publisher> {
    return SocketIoPublisher.create(`ws://127.0.0.1:${this.port}`, this.#payload);
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
  }
}
