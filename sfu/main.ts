/**
 * A standalone SFU process (`flashcast sfu`, or `node dist/sfu/main.js`): a
 * worker pool, joined to the media network over Redis (SfuNode), with WHIP
 * ingest and /metrics on HTTP. Gateways reach it through RemoteSfu.
 *
 * Reads the one config schema (common/config.ts): REDIS_URL, FLASHCAST_REDIS_PREFIX,
 * FLASHCAST_JWT_SECRET (or FLASHCAST_DEV=1), FLASHCAST_SFU_NODE_ID, FLASHCAST_SFU_HTTP_HOST / _PORT,
 * FLASHCAST_SFU_PIPE_IP, and the media settings FLASHCAST_SFU_* (SfuConfig is built from them).
 */
import { TokenService } from '../common/auth/TokenService.js';
import { logger } from '../common/logger.js';
import { ConfigError, devSecretBanner, loadConfig, type Config } from '../common/config.js';
import { GracefulShutdown } from '../common/GracefulShutdown.js';
import { sfuConfigFrom } from './SfuConfig.js';
import { SfuHttpServer } from './SfuHttpServer.js';
import { SfuNode } from './SfuNode.js';
import { SfuService } from './SfuService.js';

const log = logger('sfu-main');

/**
 * Starts an SFU node from the loaded config, adding each part to the process's shutdown
 * (SIGINT/SIGTERM: HTTP first, then the node's Redis links, then the workers).
 */
export async function runSfuProcess(config: Config, shutdown: GracefulShutdown): Promise<void> {
  try {
    const sfu = await SfuService.create(sfuConfigFrom(config));
    shutdown.add('sfu', () => sfu.close());
    const node = await SfuNode.create(sfu, {
      nodeId: config.sfuNodeId,
      redisUrl: config.redisUrl ?? 'redis://127.0.0.1:6379',
      prefix: config.redisPrefix,
      pipeIp: config.sfuPipeIp,
    });
    shutdown.add('node', () => node.close());
    // A plain node:http server: it never shares its port (no SO_REUSEPORT), so a second SFU on
    // the same port fails to start with EADDRINUSE.
    const http = await SfuHttpServer.create(sfu, new TokenService(config.jwtSecret), config.sfuHttpHost, config.sfuHttpPort);
    shutdown.add('http', () => http.close());
    log.info({ nodeId: config.sfuNodeId, http: http.port, workers: sfu.pool.workers.length }, 'SFU node ready');
  } catch (error) {
    // Stop what was started (workers, the node's Redis links) before the process exits.
    await shutdown.close();
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('sfu/main.ts') || process.argv[1]?.endsWith('sfu/main.js')) {
  const shutdown = GracefulShutdown.install(log);
  (async () => {
    const config = loadConfig();
    if (config.usingDevSecret) process.stderr.write(devSecretBanner());
    await runSfuProcess(config, shutdown);
  })().then(
    () => process.stdout.write('SFU_READY\n'),
    (error: unknown) => {
      if (error instanceof ConfigError) process.stderr.write(`flashcast sfu: ${error.message}\n`);
      else log.error({ err: error }, 'SFU failed to start');
      process.exit(1);
    },
  );
}
