import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ServerProcess, freePort } from '../bench/ServerProcess.js';

/** What the harness starts when it is given no --url. */
export interface HarnessSystemOptions {
  /** Shared Redis; unset: the gateway's embedded one (no commerce then). */
  redisUrl?: string;
  /** PostgreSQL for commerce (the flash sale); its schema is created and dropped here. */
  databaseUrl?: string;
  /** Also run commerce and a settlement worker (flash-sale and rehearsal scenarios). */
  commerce: boolean;
  log: (line: string) => void;
}

/**
 * The system under test, started by the harness: `flashcast gateway` on a free port with a
 * fresh secret, Redis key prefix and database schema, plus a `flashcast worker` (settlement)
 * when commerce is on, as production runs them. `stop()` stops both and removes the prefix's
 * keys, the schema and the data directory.
 */
export class HarnessSystem {
  readonly url: string;
  readonly secret: string;
  readonly #stops: (() => Promise<void>)[];
  #stopping: Promise<void> | null = null;

  private constructor(url: string, secret: string, stops: (() => Promise<void>)[]) {
    this.url = url;
    this.secret = secret;
    this.#stops = stops;
  }

  /** Starts the processes; throws (after stopping what started) when one fails. */
  static async start(options: HarnessSystemOptions): Promise<HarnessSystem> {
    if (options.commerce && (!options.redisUrl || !options.databaseUrl)) {
      throw new TypeError('the flash-sale and rehearsal scenarios need --redis-url (REDIS_URL) and --database-url (DATABASE_URL), or --url of a running system');
    }
    const port = await freePort();
    const secret = randomBytes(24).toString('base64url');
    const prefix = `fcharness-${randomBytes(4).toString('hex')}`;
    const schema = prefix.replace(/-/g, '_');
    // The embedded Redis (when no REDIS_URL) keeps its files here.
    const dataDir = join(tmpdir(), prefix);
    const env: Record<string, string> = {
      PORT: String(port),
      HOST: '127.0.0.1',
      FLASHCAST_JWT_SECRET: secret,
      FLASHCAST_REDIS_PREFIX: prefix,
      FLASHCAST_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    };
    if (options.redisUrl) env.REDIS_URL = options.redisUrl;
    if (options.commerce) Object.assign(env, { FLASHCAST_COMMERCE: '1', DATABASE_URL: options.databaseUrl!, DATABASE_SCHEMA: schema });
    const cli = fileURLToPath(new URL('../../server/cli.js', import.meta.url));
    const stops: (() => Promise<void>)[] = [];
    const system = new HarnessSystem(`ws://127.0.0.1:${port}`, secret, stops);
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    if (options.redisUrl) stops.push(() => HarnessSystem.#deleteKeys(options.redisUrl!, prefix));
    if (options.commerce) stops.push(() => HarnessSystem.#dropSchema(options.databaseUrl!, schema));
    try {
      const gateway = await ServerProcess.start({
        name: 'gateway',
        script: cli,
        args: ['gateway'],
        env,
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        readyTimeoutMs: 30_000,
      });
      stops.unshift(() => gateway.stop());
      options.log(`harness: started gateway pid ${gateway.pid} on port ${port} (prefix ${prefix}${options.commerce ? `, schema ${schema}` : ''})`);
      if (options.commerce) {
        const worker = await HarnessSystem.#startWorker(cli, env);
        stops.unshift(worker.stop);
        options.log(`harness: started settlement worker pid ${worker.pid}`);
      }
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  /** Stops everything; every step runs. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const step of this.#stops) await step().catch(() => undefined);
    })();
    return this.#stopping;
  }

  /** `flashcast worker` (no HTTP side): ready when it says so over IPC (settlement/main.ts). */
  static async #startWorker(cli: string, env: Record<string, string>): Promise<{ pid: number; stop: () => Promise<void> }> {
    const child = spawn(process.execPath, [cli, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', kill);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      process.removeListener('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`settlement worker not ready after 30 s:\n${stderr}`)), 30_000);
        child.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`settlement worker exited (code ${code}) before it was ready:\n${stderr}`));
        });
      });
    } catch (error) {
      await stop();
      throw error;
    }
    return { pid: child.pid ?? -1, stop };
  }

  static async #deleteKeys(redisUrl: string, prefix: string): Promise<void> {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        if (keys.length) await redis.unlink(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    } finally {
      redis.disconnect();
    }
  }

  static async #dropSchema(databaseUrl: string, schema: string): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
}
