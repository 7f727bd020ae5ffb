/**
 * Settlement worker process: `node dist/server/settlement/main.js`.
 * Env: REDIS_URL, DATABASE_URL (PGlite under FLASHCAST_DATA_DIR otherwise), FLASHCAST_REDIS_PREFIX,
 * SETTLEMENT_CONCURRENCY (256), SETTLEMENT_DB_POOL (16), SETTLEMENT_LOCK_MS, SETTLEMENT_STALLED_MS, SETTLEMENT_RETURN_WINDOW_MS,
 * DATABASE_SCHEMA (tests), SANDBOX_* (see SandboxPaymentProvider.optionsFromEnv).
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../config.js';
import { RedisKeys } from '../redis/keys.js';
import { openDatabase } from '../db/openDatabase.js';
import { RoomPublisher } from '../realtime/RoomPublisher.js';
import { RedisOrderNotifier } from '../realtime/UserChannels.js';
import { RoomStore } from '../realtime/RoomStore.js';
import { SandboxPaymentProvider } from './SandboxPaymentProvider.js';
import { SettlementService } from './SettlementService.js';
import { logger } from '../common/logger.js';

const log = logger('settlement-main');

async function main(): Promise<void> {
  const config = loadConfig();
  const env = process.env;
  const num = (k: string) => (env[k] ? Number(env[k]) : undefined);
  const concurrency = num('SETTLEMENT_CONCURRENCY');
  const redisUrl = config.redisUrl ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  const keys = new RedisKeys(config.redisPrefix);
  // Jobs do not hold a connection each: their SQL is batched (status lookups, captures, order writes, at most
  // two batches of each in flight), so a small pool serves hundreds of concurrent jobs.
  const db = await openDatabase({
    databaseUrl: config.databaseUrl, dataDir: config.dataDir, schema: config.databaseSchema, max: num('SETTLEMENT_DB_POOL') ?? 16,
  });
  const provider = new SandboxPaymentProvider(db, SandboxPaymentProvider.optionsFromEnv(env));
  const publisher = new RoomPublisher(new RoomStore(redis, { prefix: config.redisPrefix, historySize: 2000, historyTtlSeconds: 86400 }));
  const service = await SettlementService.create({
    redis, connection: { url: redisUrl, maxRetriesPerRequest: null }, keys, db, provider, broadcaster: publisher,
    // Buyers hear "paid" / "declined" on their own sockets, on whichever gateway they are.
    notifier: new RedisOrderNotifier(redis, keys),
    worker: Object.fromEntries(Object.entries({
      concurrency, lockDurationMs: num('SETTLEMENT_LOCK_MS'),
      stalledIntervalMs: num('SETTLEMENT_STALLED_MS'), returnWindowMs: num('SETTLEMENT_RETURN_WINDOW_MS'),
    }).filter(([, v]) => v !== undefined && Number.isFinite(v))),
  });
  log.info({ prefix: keys.prefix, db: db.kind }, 'settlement worker ready');
  process.send?.('ready');

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (signal: string) => {
    shuttingDown ??= (async () => {
      log.info({ signal }, 'shutting down');
      // Every step runs even if one fails: jobs finish, then their broadcasts, then the connections.
      const steps: [string, () => Promise<void>][] = [
        ['settlement', () => service.close()],
        ['publisher', () => publisher.close()],
        ['database', () => db.close()],
      ];
      let failed = false;
      for (const [step, run] of steps) {
        try {
          await run();
        } catch (err) {
          failed = true;
          log.error({ err, step }, 'shutdown step failed');
        }
      }
      redis.disconnect();
      process.exit(failed ? 1 : 0);
    })();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  log.fatal({ err }, 'settlement worker failed to start');
  process.exit(1);
});
