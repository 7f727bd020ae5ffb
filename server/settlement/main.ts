/**
 * Settlement worker process: `flashcast worker`, or `node dist/server/settlement/main.js`.
 * Reads the one config schema (common/config.ts): REDIS_URL or REDIS_CLUSTER_NODES, DATABASE_URL (PGlite under
 * FLASHCAST_DATA_DIR otherwise), DATABASE_SCHEMA, FLASHCAST_REDIS_PREFIX, FLASHCAST_JWT_SECRET
 * (or FLASHCAST_DEV=1), FLASHCAST_HISTORY_SIZE / _TTL_S (the rooms it publishes to), and
 * SETTLEMENT_CONCURRENCY, SETTLEMENT_DB_POOL, SETTLEMENT_LOCK_MS, SETTLEMENT_STALLED_MS,
 * SETTLEMENT_RETURN_WINDOW_MS, SANDBOX_* (the sandbox payment provider's knobs), FLASHCAST_WEBHOOK_*
 * (merchant webhook delivery, which runs here).
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, devSecretBanner, loadConfig, type Config } from '../../common/config.js';
import { GracefulShutdown } from '../../common/GracefulShutdown.js';
import { RedisKeys } from '../../common/keys.js';
import { RedisConnections } from '../../common/RedisConnections.js';
import { openDatabase } from '../db/openDatabase.js';
import { RoomPublisher } from '../realtime/RoomPublisher.js';
import { RedisOrderNotifier } from '../realtime/RedisOrderNotifier.js';
import { RoomStore } from '../realtime/RoomStore.js';
import { SandboxPaymentProvider } from './SandboxPaymentProvider.js';
import { SettlementService } from './SettlementService.js';
import { logger } from '../../common/logger.js';

const log = logger('settlement-main');

/**
 * Starts the settlement workers of one process; each part is added to the process's shutdown
 * (SIGINT/SIGTERM: jobs finish, then their broadcasts, then the database pool and Redis).
 */
export async function runSettlementWorker(config: Config, shutdown: GracefulShutdown): Promise<void> {
  const redisUrl = config.redisUrl ?? 'redis://127.0.0.1:6379';
  try {
    const redis = RedisConnections.command(redisUrl, `fc-worker-${config.nodeId}`, { maxRetriesPerRequest: null });
    shutdown.add('redis', () => redis.disconnect());
    // On a cluster the queues and workers share one connection, closed after them (shutdown runs steps in reverse).
    const queue = RedisConnections.queue(redisUrl, `fc-worker-bull-${config.nodeId}`);
    shutdown.add('queue connection', () => queue.close());
    const keys = new RedisKeys(config.redisPrefix);
    // Jobs do not hold a connection each: their SQL is batched (status lookups, captures, order writes, at most
    // two batches of each in flight), so a small pool serves hundreds of concurrent jobs.
    const db = await openDatabase({
      databaseUrl: config.databaseUrl, dataDir: config.dataDir, schema: config.databaseSchema, max: config.settlementDbPool,
    });
    shutdown.add('database', () => db.close());
    const provider = new SandboxPaymentProvider(db, { ...config.sandbox, secret: config.payments.sandboxSecret, pageUrl: config.publicUrl ?? '' });
    shutdown.add('payment provider', () => provider.close());
    // The same room stream settings as the gateways: a worker's publish trims a room's history too.
    const publisher = new RoomPublisher(new RoomStore(redis, {
      prefix: config.redisPrefix, historySize: config.historySize, historyTtlSeconds: config.historyTtlSeconds,
    }));
    shutdown.add('publisher', () => publisher.close());
    const service = await SettlementService.create({
      redis, connection: queue.connection, keys, db, provider, broadcaster: publisher,
      // Buyers hear "paid" / "declined" on their own sockets, on whichever gateway they are.
      notifier: new RedisOrderNotifier(redis, keys),
      worker: {
        concurrency: config.settlementConcurrency,
        lockDurationMs: config.settlementLockMs,
        stalledIntervalMs: config.settlementStalledMs,
        returnWindowMs: config.settlementReturnWindowMs,
      },
      webhooks: config.webhooks,
    });
    shutdown.add('settlement', () => service.close());
    log.info({ prefix: keys.prefix, db: db.kind }, 'settlement worker ready');
    process.send?.('ready');
  } catch (error) {
    // Stop what was started (Redis, the pool) before the process exits.
    await shutdown.close();
    throw error;
  }
}

// Run directly (`node dist/server/settlement/main.js`, tests through tsx), not when `flashcast worker` imports it.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  (async () => {
    const shutdown = GracefulShutdown.install(log);
    const config = loadConfig();
    if (config.usingDevSecret) process.stderr.write(devSecretBanner());
    await runSettlementWorker(config, shutdown);
  })().catch((err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`flashcast worker: ${err.message}\n`);
    else log.fatal({ err }, 'settlement worker failed to start');
    process.exit(1);
  });
}
