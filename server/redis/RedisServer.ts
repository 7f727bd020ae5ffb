import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { logger } from '../../common/logger.js';

const log = logger('RedisServer');

export interface RedisServerOptions {
  /** Folder for the append-only file; created if missing. */
  dir: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** Persist with AOF (fsync every write when 'always'). */
  appendfsync?: 'always' | 'everysec';
  binary?: string;
}

/**
 * A private redis-server child process: what `npm start` uses when REDIS_URL is
 * unset, and what tests use when they must restart Redis. Data persists in `dir`.
 */
export class RedisServer {
  readonly url: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #closePromise: Promise<void> | null = null;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  }

  /** Starts redis-server and waits until it answers PING. */
  static async create(options: RedisServerOptions): Promise<RedisServer> {
    const dir = resolve(options.dir);
    mkdirSync(dir, { recursive: true });
    const port = options.port || (await freePort());
    const child = spawn(
      options.binary ?? 'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--appendonly', 'yes',
        '--appendfsync', options.appendfsync ?? 'everysec',
        '--save', '',
        '--protected-mode', 'yes',
        '--loglevel', 'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const spawned = await new Promise<Error | null>((ok) => {
      child.once('spawn', () => ok(null));
      child.once('error', (error) => ok(error));
    });
    if (spawned) {
      throw new Error(`could not start redis-server (${spawned.message}); install it: apt-get install redis-server, or set REDIS_URL`);
    }
    const server = new RedisServer(child, port);
    const probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused while the server starts: retried below
    try {
      for (let i = 0; ; i++) {
        try {
          await probe.connect();
          await probe.ping();
          break;
        } catch (error) {
          if (i > 100 || child.exitCode !== null) {
            await server.close();
            throw new Error(`redis-server did not come up: ${stderr || (error as Error).message}`);
          }
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
    log.info({ port, dir }, 'embedded redis-server started');
    return server;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Stops the server (SIGTERM: it flushes its AOF) and waits for the exit. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.running) this.#child.kill('SIGTERM');
      await this.#exited;
    })();
    return this.#closePromise;
  }

  /** Kills the process without letting it save (a crash). */
  async kill(): Promise<void> {
    if (this.running) this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
