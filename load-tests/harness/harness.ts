/**
 * The CI load harness: runs the scenarios of the k6 scripts (load-tests/k6/) from
 * Node against a running gateway, or against one it starts itself.
 *
 *   node dist/load-tests/harness/harness.js                       # spawns a gateway
 *   node dist/load-tests/harness/harness.js --url ws://127.0.0.1:8080 --secret $FLASHCAST_JWT_SECRET
 *
 * Prints a report per scenario and, last, one JSON line. Exits 1 if a correctness
 * check failed (a join, a lost or duplicated critical message, an unexpected
 * disconnect, refused legal chat); latency is printed, never asserted.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ServerProcess, freePort } from '../bench/ServerProcess.js';
import { BroadcastScenario } from './BroadcastScenario.js';
import { ChatStormScenario } from './ChatStormScenario.js';
import { HarnessContext } from './HarnessContext.js';
import type { ScenarioReport } from './ScenarioReport.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    secret: { type: 'string', default: process.env.FLASHCAST_JWT_SECRET },
    scenarios: { type: 'string', default: 'broadcast,chat-storm' },
    viewers: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    duration: { type: 'string', default: '5' },
    chatters: { type: 'string', default: '50' },
    'chat-rate': { type: 'string', default: '2' },
    'flooder-rate': { type: 'string', default: '20' },
    'announce-rate': { type: 'string', default: '2' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL },
    help: { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new TypeError(`--${name} must be a number in [0, ${max}]`);
  return n;
}

/** Starts `flashcast gateway` on a free port with a fresh secret and key prefix. */
async function spawnGateway(redisUrl: string | undefined): Promise<{ url: string; secret: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const secret = randomBytes(24).toString('base64url');
  const prefix = `fcharness-${randomBytes(4).toString('hex')}`;
  // The embedded Redis (when no REDIS_URL) keeps its files here; removed on stop.
  const dataDir = join(tmpdir(), prefix);
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    FLASHCAST_JWT_SECRET: secret,
    FLASHCAST_REDIS_PREFIX: prefix,
    FLASHCAST_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  if (redisUrl) env.REDIS_URL = redisUrl;
  const server = await ServerProcess.start({
    name: 'gateway',
    script: fileURLToPath(new URL('../../server/cli.js', import.meta.url)),
    args: ['gateway'],
    env,
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    readyTimeoutMs: 30_000,
  });
  log(`harness: started gateway pid ${server.pid} on port ${port} (prefix ${prefix})`);
  return {
    url: `ws://127.0.0.1:${port}`,
    secret,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (!redisUrl) return;
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
    },
  };
}

async function main(): Promise<number> {
  if (values.help) {
    process.stdout.write(
      'usage: harness [--url ws://host:port --secret S] [--scenarios broadcast,chat-storm] [--viewers 200] [--rate 10] [--duration 5]\n' +
        '               [--chatters 50] [--chat-rate 2] [--flooder-rate 20] [--announce-rate 2] [--redis-url URL]\n',
    );
    return 0;
  }
  const scenarios = values.scenarios.split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (s !== BroadcastScenario.scenarioName && s !== ChatStormScenario.scenarioName) throw new TypeError(`unknown scenario ${s}`);
  }
  const viewers = positive('viewers', values.viewers, 20_000);
  const seconds = positive('duration', values.duration, 3600);
  let gateway: Awaited<ReturnType<typeof spawnGateway>> | null = null;
  let url = values.url;
  let secret = values.secret;
  if (!url) {
    gateway = await spawnGateway(values['redis-url']);
    url = gateway.url;
    secret = gateway.secret;
  }
  if (!secret) throw new TypeError('--secret (or FLASHCAST_JWT_SECRET) is required with --url');
  const context = new HarnessContext(url, secret, log);
  const run = randomBytes(3).toString('hex');
  const reports: ScenarioReport[] = [];
  try {
    for (const scenario of scenarios) {
      log(`harness: ${scenario}`);
      if (scenario === BroadcastScenario.scenarioName) {
        reports.push(await BroadcastScenario.run(context, { room: `hb-${run}`, viewers, rate: positive('rate', values.rate, 1000), seconds }));
      } else {
        reports.push(
          await ChatStormScenario.run(context, {
            room: `hc-${run}`,
            viewers,
            chatters: Math.min(viewers, positive('chatters', values.chatters, 20_000)),
            chatRate: positive('chat-rate', values['chat-rate'], 100),
            flooderRate: positive('flooder-rate', values['flooder-rate'], 1000),
            announceRate: positive('announce-rate', values['announce-rate'], 100),
            seconds,
          }),
        );
      }
    }
  } finally {
    await gateway?.stop();
  }
  for (const report of reports) process.stdout.write(`${report.render()}\n`);
  const ok = reports.every((r) => r.ok);
  process.stdout.write(`${JSON.stringify({ ok, scenarios: reports.map((r) => r.toJSON()) })}\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`harness failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
