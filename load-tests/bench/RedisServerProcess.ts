import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './ServerProcess.js';

/**
 * A private, throw-away `redis-server` (no persistence) for a benchmark, so that `INFO
 * commandstats` counts only the benchmark's commands and not those of anything else sharing
 * the machine's Redis. Killed with the benchmark.
 */
export class RedisServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  #stopped: Promise<void> | null = null;

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.#child = child;
  }

  /** Starts `redis-server` (from the PATH) on a free port and waits until it answers PING. */
  static async start(): Promise<RedisServerProcess> {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    process.once('exit', () => child.kill('SIGKILL'));
    const server = new RedisServerProcess(`redis://127.0.0.1:${port}`, child);
    const probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until the server listens
    for (let i = 0; ; i++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return server;
      } catch (error) {
        probe.disconnect();
        if (i >= 50) {
          await server.stop();
          throw new Error(`redis-server did not start on port ${port}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Kills the server. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return resolve();
      this.#child.once('exit', () => resolve());
      this.#child.kill('SIGKILL');
    });
    return this.#stopped;
  }
}
