import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../../server/redis/RedisServer.js';

/**
 * A private redis-server for fault tests, persisting only when told to: no AOF, no automatic
 * snapshots, its RDB file in a temporary folder. `save()` takes a snapshot; `kill()` crashes it;
 * `start()` brings it back on the same port from the last snapshot, or empty.
 */
export class SnapshotRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Starts an empty server on a free port. */
  static async create(): Promise<SnapshotRedis> {
    const server = new SnapshotRedis(await freePort(), mkdtempSync(join(tmpdir(), 'fc-faults-redis-')));
    await server.start();
    return server;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Starts the server (after `kill`), loading the last snapshot unless `empty`, and waits until
   * it answers PING (not LOADING).
   */
  async start(opts: { empty?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error('redis-server already running');
    if (opts.empty) rmSync(join(this.dir, 'dump.rdb'), { force: true });
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--dbfilename', 'dump.rdb',
      '--appendonly', 'no', '--save', '', '--protected-mode', 'no', '--loglevel', 'warning',
    ], { stdio: 'ignore' });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch (error) {
          if (i > 200 || !this.running) throw new Error(`redis-server did not come up: ${(error as Error).message}`);
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** Runs a command on a short-lived connection (SAVE, DBSIZE, ...). */
  async command(name: string, ...args: (string | number)[]): Promise<unknown> {
    const c = new Redis(this.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      return await c.call(name, ...args);
    } finally {
      c.disconnect();
    }
  }

  /** Takes a snapshot now (synchronous SAVE): what a later `start()` comes back with. */
  async save(): Promise<void> {
    const r = await this.command('SAVE');
    if (r !== 'OK') throw new Error(`SAVE answered ${String(r)}`);
  }

  /** Crashes the server (SIGKILL: nothing saved) and waits for the exit. */
  async kill(): Promise<void> {
    if (this.running) this.#child!.kill('SIGKILL');
    await this.#exited;
  }

  /** Kills the server and removes its folder. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
