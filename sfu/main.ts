/**
 * A standalone SFU process (`flashcast sfu`, or `node dist/sfu/main.js`): a
 * worker pool, joined to the media network over Redis (SfuNode), with WHIP
 * ingest and /metrics on HTTP. Gateways reach it through RemoteSfu.
 *
 * Env: REDIS_URL, FLASHCAST_REDIS_PREFIX, FLASHCAST_JWT_SECRET, FLASHCAST_SFU_NODE_ID,
 * FLASHCAST_SFU_HTTP_HOST / _PORT, FLASHCAST_SFU_PIPE_IP, and the FLASHCAST_SFU_* of SfuConfig.
 */
import { hostname } from 'node:os';
import { TokenService } from '../server/auth/TokenService.js';
import { logger } from '../server/common/logger.js';
import { sfuConfigFromEnv } from './SfuConfig.js';
import { SfuHttpServer } from './SfuHttpServer.js';
import { SfuNode } from './SfuNode.js';
import { SfuService } from './SfuService.js';

const log = logger('sfu-main');

export async function runSfuProcess(env: NodeJS.ProcessEnv = process.env): Promise<() => Promise<void>> {
  const secret = env.FLASHCAST_JWT_SECRET;
  if (!secret) throw new Error('FLASHCAST_JWT_SECRET is required');
  const nodeId = env.FLASHCAST_SFU_NODE_ID ?? `sfu-${hostname().slice(0, 40)}-${process.pid}`;
  const sfu = await SfuService.create(sfuConfigFromEnv(env));
  const node = await SfuNode.create(sfu, {
    nodeId,
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: env.FLASHCAST_REDIS_PREFIX ?? 'fc',
    pipeIp: env.FLASHCAST_SFU_PIPE_IP,
  });
  const http = await SfuHttpServer.create(sfu, new TokenService(secret), env.FLASHCAST_SFU_HTTP_HOST ?? '127.0.0.1', Number(env.FLASHCAST_SFU_HTTP_PORT ?? 8090));
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
  runSfuProcess().then(
    (close) => {
      process.stdout.write('SFU_READY\n');
      const shutdown = () => void close().then(() => process.exit(0));
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (error) => {
      log.error({ err: error }, 'SFU failed to start');
      process.exit(1);
    },
  );
}
