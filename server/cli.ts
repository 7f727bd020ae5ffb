#!/usr/bin/env node
/**
 * The `flashcast` command: start (everything on one machine), gateway (one
 * gateway process), token (mint a JWT for trying things out), doctor (check
 * the machine).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { TokenService } from '../common/auth/TokenService.js';
import { GracefulShutdown } from '../common/GracefulShutdown.js';
import { logger } from '../common/logger.js';
import { devSecretBanner, loadConfig, type Config } from '../common/config.js';
import { RedisConnections } from '../common/RedisConnections.js';
import { runDoctor } from './Doctor.js';
import { GatewayNode, type GatewayNodeOptions } from './GatewayNode.js';
import { RedisServer } from './redis/RedisServer.js';

const log = logger('cli');

const USAGE = `usage: flashcast <command> [options]

commands:
  start      run the whole system on this machine (embedded Redis when REDIS_URL is unset)
  gateway    run one gateway node (REDIS_URL or REDIS_CLUSTER_NODES, or an embedded Redis when unset); with
             DATABASE_URL set it also serves the commerce API (catalog, deals, checkout)
  worker     run settlement workers (payments, orders, commissions, refunds, merchant webhooks)
  settlement failed [queue]           list poison jobs (queues: settle, commission, refund)
  settlement replay <jobId> [queue]   move a failed job back to the queue (idempotent)
  token      mint a token:  flashcast token --user u1 --role host --room r1 [--name Ana] [--region US] [--ttl 3600]
  doctor     check Redis, PostgreSQL, the uWebSockets.js binary and the media worker

configuration is read from the environment; see README.md "Configuration".`;

async function redisFor(config: Config, shutdown: GracefulShutdown): Promise<string> {
  if (config.redisUrl) return config.redisUrl;
  const server = await RedisServer.create({ dir: join(config.dataDir, 'redis') });
  shutdown.add('redis-server', () => server.close());
  log.info({ url: server.url }, 'REDIS_URL unset: started a private redis-server');
  return server.url;
}

async function startGateway(config: Config, shutdown: GracefulShutdown, options: GatewayNodeOptions): Promise<GatewayNode> {
  try {
    const redisUrl = await redisFor(config, shutdown);
    const node = await GatewayNode.create(config, redisUrl, options);
    shutdown.add('gateway', () => node.close());
    return node;
  } catch (error) {
    // E.g. the port is taken: stop what was started (the embedded Redis) before exiting.
    await shutdown.close();
    throw error;
  }
}

/** Prints the development-secret banner when a process runs on it (dev mode only). */
function warnIfDevSecret(config: Config): void {
  if (config.usingDevSecret) process.stderr.write(devSecretBanner());
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      // The quick start: without a secret it runs in dev mode (public development
      // secret, loud banner). Every other command refuses to run without one.
      const config = loadConfig(process.env.FLASHCAST_JWT_SECRET ? process.env : { ...process.env, FLASHCAST_DEV: '1' });
      const shutdown = GracefulShutdown.install(log);
      warnIfDevSecret(config);
      // Everything in one process: gateway, commerce on embedded PGlite unless
      // DATABASE_URL is set, and the settlement workers.
      const { workerBin } = await import('../sfu/workerBin.js');
      const prebuilt = fileURLToPath(new URL('../../node_modules/mediasoup/worker/out/Release/mediasoup-worker', import.meta.url));
      const mediaWorker = workerBin !== undefined ? existsSync(workerBin) : existsSync(prebuilt);
      if (!mediaWorker) {
        log.warn('no mediasoup worker binary: live video is off (build it once with `bash scripts/mediasoup-worker.sh`)');
      }
      const node = await startGateway(config, shutdown, { commerce: true, settlement: true, sfu: mediaWorker ? 'in-process' : false });
      const host = await new TokenService(config.jwtSecret).mint({ sub: 'host1', role: 'host', rooms: ['demo'], name: 'Host' });
      const more = config.usingDevSecret ? 'FLASHCAST_DEV=1 npx flashcast token' : 'npx flashcast token';
      process.stdout.write(
        `\nFlashcast is running.\n  WebSocket: ws://127.0.0.1:${node.port}/ws?token=<jwt>\n  HTTP API:  http://127.0.0.1:${node.port}/v1/...\n  Health:    http://127.0.0.1:${node.port}/readyz\n  A host token for room "demo": ${host}\n  More tokens: ${more} --user u1 --role viewer\n\n`,
      );
      return -1;
    }
    case 'gateway': {
      const config = loadConfig();
      const shutdown = GracefulShutdown.install(log);
      warnIfDevSecret(config);
      const commerce = Boolean(config.databaseUrl) && config.commerce;
      const node = await startGateway(config, shutdown, { commerce, sfu: config.sfu });
      process.stdout.write(`${JSON.stringify({ event: 'listening', port: node.port, nodeId: node.nodeId })}\n`);
      return -1;
    }
    case 'sfu': {
      // A media node: mediasoup workers, WHIP and /metrics; gateways reach it through Redis.
      const shutdown = GracefulShutdown.install(log);
      const config = loadConfig();
      warnIfDevSecret(config);
      const { runSfuProcess } = await import('../sfu/main.js');
      await runSfuProcess(config, shutdown);
      process.stdout.write(`${JSON.stringify({ event: 'sfu-ready', nodeId: config.sfuNodeId })}\n`);
      return -1;
    }
    case 'token': {
      const { values } = parseArgs({
        args: rest,
        options: {
          user: { type: 'string' },
          role: { type: 'string', default: 'viewer' },
          room: { type: 'string', multiple: true },
          name: { type: 'string' },
          region: { type: 'string' },
          ttl: { type: 'string', default: '86400' },
        },
      });
      if (!values.user) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      // Refuses the development secret unless FLASHCAST_DEV=1, like every process.
      const config = loadConfig();
      const token = await new TokenService(config.jwtSecret).mint({
        sub: values.user,
        role: values.role as 'viewer',
        rooms: values.room,
        name: values.name,
        region: values.region,
        ttlSeconds: Number(values.ttl),
      });
      process.stdout.write(`${token}\n`);
      return 0;
    }
    case 'worker': {
      const shutdown = GracefulShutdown.install(log);
      const config = loadConfig();
      warnIfDevSecret(config);
      const { runSettlementWorker } = await import('./settlement/main.js');
      await runSettlementWorker(config, shutdown);
      return -1;
    }
    case 'settlement': {
      const config = loadConfig();
      const queue = RedisConnections.queue(config.redisUrl ?? 'redis://127.0.0.1:6379', 'fc-cli');
      const prefix = `${config.redisPrefix}:bull`;
      const [sub, ...args] = rest;
      const { listFailedJobs, replayFailedJob } = await import('./settlement/ops.js');
      type QueueName = Parameters<typeof listFailedJobs>[2];
      try {
        if (sub === 'failed') {
          const jobs = await listFailedJobs(queue.connection, prefix, (args[0] ?? 'settle') as QueueName);
          process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
          return 0;
        }
        if (sub === 'replay' && args[0]) {
          await replayFailedJob(queue.connection, prefix, args[0], (args[1] ?? 'settle') as QueueName);
          process.stdout.write(`replayed ${args[0]}\n`);
          return 0;
        }
      } finally {
        await queue.close();
      }
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    case 'doctor':
      // The doctor reports a missing secret as a finding instead of refusing to look.
      return runDoctor(loadConfig({ ...process.env, FLASHCAST_DEV: '1' }));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`flashcast: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
