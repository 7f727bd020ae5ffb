/**
 * The CI load harness: runs the scenarios of the k6 scripts (load-tests/k6/) from Node, with
 * the same thresholds, against a running system or one it starts itself.
 *
 *   node dist/load-tests/harness/harness.js                       # spawns a gateway (+ worker)
 *   node dist/load-tests/harness/harness.js --url ws://127.0.0.1:8080 --secret $FLASHCAST_JWT_SECRET
 *
 * Prints a report per scenario and, last, one JSON line. Exits 1 if a check or an enforced
 * SLO bound failed (a join, a lost or duplicated critical message, an unexpected disconnect,
 * refused legal chat, an unanswered tap, an oversell, ...); latency SLO bounds are printed
 * and decide the exit code only with --enforce-latency.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BroadcastScenario } from './BroadcastScenario.js';
import { ChatStormScenario } from './ChatStormScenario.js';
import { FlashSaleScenario } from './FlashSaleScenario.js';
import { HarnessContext } from './HarnessContext.js';
import { HarnessSystem } from './HarnessSystem.js';
import { RehearsalScenario } from './RehearsalScenario.js';
import type { ScenarioReport } from './ScenarioReport.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const SCENARIOS = [BroadcastScenario.scenarioName, ChatStormScenario.scenarioName, FlashSaleScenario.scenarioName, RehearsalScenario.scenarioName];
const COMMERCE = [FlashSaleScenario.scenarioName, RehearsalScenario.scenarioName];

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    secret: { type: 'string', default: process.env.FLASHCAST_JWT_SECRET },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    viewers: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    duration: { type: 'string', default: '5' },
    chatters: { type: 'string', default: '50' },
    'chat-rate': { type: 'string', default: '2' },
    'flooder-rate': { type: 'string', default: '20' },
    'announce-rate': { type: 'string', default: '2' },
    buyers: { type: 'string', default: '100' },
    stock: { type: 'string', default: '30' },
    'tap-spread': { type: 'string', default: '2' },
    'paid-wait': { type: 'string', default: '30' },
    'sale-at': { type: 'string', default: '10' },
    'enforce-latency': { type: 'boolean', default: false },
    'redis-url': { type: 'string', default: process.env.REDIS_URL },
    'database-url': { type: 'string', default: process.env.DATABASE_URL },
    help: { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new TypeError(`--${name} must be a number in [0, ${max}]`);
  return n;
}

async function main(): Promise<number> {
  if (values.help) {
    process.stdout.write(
      `usage: harness [--url ws://host:port --secret S] [--scenarios ${SCENARIOS.join(',')}] [--viewers 200] [--rate 10] [--duration 5]\n` +
        '               [--chatters 50] [--chat-rate 2] [--flooder-rate 20] [--announce-rate 2]\n' +
        '               [--buyers 100] [--stock 30] [--tap-spread 2] [--paid-wait 30] [--sale-at 10] [--enforce-latency]\n' +
        '               [--redis-url URL] [--database-url URL]   (the flash sale needs both, or --url)\n',
    );
    return 0;
  }
  const scenarios = values.scenarios.split(',').map((s) => s.trim());
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new TypeError(`unknown scenario ${s}`);
  const viewers = positive('viewers', values.viewers, 20_000);
  const seconds = positive('duration', values.duration, 3600);
  const chatters = Math.min(viewers, positive('chatters', values.chatters, 20_000));
  const chatRate = positive('chat-rate', values['chat-rate'], 100);
  const flooderRate = positive('flooder-rate', values['flooder-rate'], 1000);
  const buyers = positive('buyers', values.buyers, 20_000);
  const stock = positive('stock', values.stock, 1_000_000);
  const tapSpreadS = positive('tap-spread', values['tap-spread'], 600);
  const paidWaitS = positive('paid-wait', values['paid-wait'], 600);
  const enforceLatency = values['enforce-latency'];
  let system: HarnessSystem | null = null;
  let url = values.url;
  let secret = values.secret;
  if (!url) {
    system = await HarnessSystem.start({
      redisUrl: values['redis-url'],
      databaseUrl: values['database-url'],
      commerce: scenarios.some((s) => COMMERCE.includes(s)),
      log,
    });
    url = system.url;
    secret = system.secret;
  }
  if (!secret) throw new TypeError('--secret (or FLASHCAST_JWT_SECRET) is required with --url');
  const context = new HarnessContext(url, secret, log);
  const run = randomBytes(3).toString('hex');
  const reports: ScenarioReport[] = [];
  try {
    for (const scenario of scenarios) {
      log(`harness: ${scenario}`);
      if (scenario === BroadcastScenario.scenarioName) {
        reports.push(await BroadcastScenario.run(context, { room: `hb-${run}`, viewers, rate: positive('rate', values.rate, 1000), seconds, enforceLatency }));
      } else if (scenario === ChatStormScenario.scenarioName) {
        reports.push(
          await ChatStormScenario.run(context, {
            room: `hc-${run}`,
            viewers,
            chatters,
            chatRate,
            flooderRate,
            announceRate: positive('announce-rate', values['announce-rate'], 100),
            seconds,
            enforceLatency,
          }),
        );
      } else if (scenario === FlashSaleScenario.scenarioName) {
        reports.push(await FlashSaleScenario.run(context, { room: `hf-${run}`, buyers, stock, tapSpreadS, paidWaitS, idPrefix: `hf${run}`, enforceLatency }));
      } else {
        reports.push(
          await RehearsalScenario.run(context, {
            room: `hr-${run}`,
            viewers,
            chatters,
            chatRate,
            flooderRate,
            rate: positive('rate', values.rate, 1000),
            seconds,
            buyers,
            stock,
            saleAtS: positive('sale-at', values['sale-at'], 3600),
            tapSpreadS,
            paidWaitS,
            idPrefix: `hr${run}`,
            enforceLatency,
          }),
        );
      }
    }
  } finally {
    await system?.stop();
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
