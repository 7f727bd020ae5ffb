/**
 * A standalone SFU process (`flashcast sfu`, or `node dist/sfu/main.js`): a
 * worker pool, joined to the media network over Redis (SfuNode), with WHIP
 * ingest and /metrics on HTTP. Gateways reach it through RemoteSfu.
 *
 * Reads the one config schema (common/config.ts): REDIS_URL, FLASHCAST_REDIS_PREFIX,
 * FLASHCAST_JWT_SECRET (or FLASHCAST_DEV=1), FLASHCAST_SFU_NODE_ID, FLASHCAST_SFU_HTTP_HOST / _PORT,
 * FLASHCAST_SFU_PIPE_IP; and the media FLASHCAST_SFU_* of SfuConfig.
 */
import { TokenService } from '../common/auth/TokenService.js';
import { logger } from '../common/logger.js';
import { ConfigError, devSecretBanner, loadConfig, type Config } from '../common/config.js';
import { sfuConfigFromEnv } from './SfuConfig.js';
import { SfuHttpServer } from './SfuHttpServer.js';
import { SfuNode } from './SfuNode.js';
import { SfuService } from './SfuService.js';

const log = logger('sfu-main');

/** Starts an SFU node from the loaded config; resolves to its idempotent close. */
export async function runSfuProcess(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<() => Promise<void>> {
  const nodeId = config.sfuNodeId;
  const sfu = await SfuService.create(sfuConfigFromEnv(env));
  const node = await SfuNode.create(sfu, {
    nodeId,
    redisUrl: config.redisUrl ?? 'redis://127.0.0.1:6379',
    prefix: config.redisPrefix,
    pipeIp: config.sfuPipeIp,
  });
  // A plain node:http server: it never shares its port (no SO_REUSEPORT), so a second SFU on
  // the same port fails to start with EADDRINUSE.
  let http: SfuHttpServer;
  try {
    http = await SfuHttpServer.create(sfu, new TokenService(config.jwtSecret), config.sfuHttpHost, config.sfuHttpPort);
  } catch (error) {
    await node.close().catch(() => undefined);
    sfu.close();
    throw error;
  }
  log.info({ nodeId, http: http.port, workers: sfu.pool.workers.length }, 'SFU node ready');
  let closing: Promise<void> | null = null;
  return () =>
    (closing ??= (async () => {
      for (const [name, step] of [
        ['http', () => http.close()],
        ['node', () => node.close()],
        ['sfu', () => sfu.close()],
      ] as const) {
        try {
          await step();
        } catch (error) {
          log.error({ err: error, step: name }, 'close step failed');
        }
      }
    })());
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('sfu/main.ts') || process.argv[1]?.endsWith('sfu/main.js')) {
  (async () => {
    const config = loadConfig();
    if (config.usingDevSecret) process.stderr.write(devSecretBanner());
    return runSfuProcess(config);
  })().then(
    (close) => {
      process.stdout.write('SFU_READY\n');
      const shutdown = () => void close().then(() => process.exit(0));
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (error: unknown) => {
      if (error instanceof ConfigError) process.stderr.write(`flashcast sfu: ${error.message}\n`);
      else log.error({ err: error }, 'SFU failed to start');
      process.exit(1);
    },
  );
}
