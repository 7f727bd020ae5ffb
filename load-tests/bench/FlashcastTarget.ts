import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BenchTarget, TargetContext } from './BenchTarget.js';
import type { Publisher } from './Publisher.js';
import { ServerProcess, freePort } from './ServerProcess.js';
import { FlashcastPublisher } from './FlashcastPublisher.js';
import { TokenService } from '../../common/auth/TokenService.js';

const CLI = fileURLToPath(new URL('../../server/cli.js', import.meta.url));

/** Flashcast's gateway (`flashcast gateway`), publishing through Redis. */
export class FlashcastTarget implements BenchTarget {
  readonly kind = 'flashcast' as const;
  readonly label = 'Flashcast gateway';
  readonly #context: TargetContext;
  readonly #secret = randomBytes(24).toString('base64url');
  readonly #tokens = new TokenService(this.#secret);
  readonly #prefix: string;
  #server: ServerProcess | null = null;
  port = 0;

  constructor(context: TargetContext) {
    this.#context = context;
    this.#prefix = `${context.redisPrefix}fc`;
  }

  async start(): Promise<ServerProcess> {
    this.port = await freePort();
    this.#server = await ServerProcess.start({
      name: this.label,
      script: CLI,
      args: ['gateway'],
      // e.g. BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway.
      nodeArgs: (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
      env: {
        PORT: String(this.port),
        HOST: '127.0.0.1',
        REDIS_URL: this.#context.redisUrl,
        FLASHCAST_JWT_SECRET: this.#secret,
        FLASHCAST_REDIS_PREFIX: this.#prefix,
        // The benchmark's publisher is one host socket sending hundreds of announcements a
        // second: its frame-rate limit (50/s by default) must not be what is measured.
        FLASHCAST_FRAME_RATE: '1000000/1000000',
        ...(this.#context.batchWindowMs === null ? {} : { FLASHCAST_BATCH_WINDOW_MS: String(this.#context.batchWindowMs) }),
        LOG_LEVEL: 'warn',
      },
      cpus: this.#context.serverCpus,
      readyUrl: `http://127.0.0.1:${this.port}/readyz`,
      readyTimeoutMs: 30_000,
    });
    return this.#server;
  }

  async viewerPaths(count: number): Promise<string[]> {
    const paths: string[] = [];
    for (let i = 0; i < count; i++) {
      paths.push(`/ws?token=${await this.#tokens.mint({ sub: `v${i}`, role: 'viewer', ttlSeconds: 3600 })}&batch=1`);
    }
    return paths;
  }

  async openPublisher(): Promise<Publisher> {
    const token = await this.#tokens.mint({ sub: 'h1', role: 'host', rooms: [this.#context.room], ttlSeconds: 3600 });
    return FlashcastPublisher.create(`ws://127.0.0.1:${this.port}/ws?token=${token}&batch=1`, this.#context.room, this.#context.textBytes);
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
    await deleteKeys(this.#context.redisUrl, `${this.#prefix}:*`);
  }
}

/** Deletes the keys a run left behind (SCAN, bounded). */
async function deleteKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
}
