/**
 * The broadcast benchmark (`npm run bench:broadcast`): N viewers in one room, a
 * publisher at R msg/s for D seconds, measured against Flashcast's gateway (through
 * Redis), a bare uWebSockets.js server (the ceiling) and Socket.IO 4 with the Redis
 * adapter, in the same run and the same scenario. Each server runs in its own child
 * process; viewers run in worker threads. Prints a table, then one JSON line.
 *
 *   node dist/load-tests/bench/broadcast.js --viewers 5000 --rate 20 --duration 10
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { BenchOptions } from './BenchOptions.js';
import type { BenchTarget, TargetContext } from './BenchTarget.js';
import { BaselinePayload } from './BaselinePayload.js';
import { FlashcastTarget } from './FlashcastTarget.js';
import { ResultTable } from './ResultTable.js';
import { ScenarioRunner, median, type ScenarioResult } from './ScenarioRunner.js';
import { SocketIoTarget } from './SocketIoTarget.js';
import { UwsTarget } from './UwsTarget.js';
import type { ServerKind } from './Viewer.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Every socket is a file descriptor: the client side needs one per viewer (plus slack). */
function checkFdLimit(viewers: number): void {
  let limit = Infinity;
  try {
    limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity;
  } catch {
    // unknown: try anyway
  }
  if (limit < viewers + 256) {
    throw new Error(`open-file limit is ${limit}, need at least ${viewers + 256}: run \`ulimit -n ${viewers * 2 + 1024}\` first`);
  }
}

/** pid of the Redis server (for its CPU time), if it runs on this machine. */
async function redisPid(url: string): Promise<number | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    return Number.isFinite(pid) && pid > 0 ? pid : null;
  } finally {
    redis.disconnect();
  }
}

const round = (n: number, digits: number): number | null =>
  Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null;

async function main(): Promise<void> {
  const options = BenchOptions.parse(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${BenchOptions.usage()}\n`);
    return;
  }
  checkFdLimit(options.viewers);
  const loadStart = loadavg()[0];
  const pid = await redisPid(options.redisUrl).catch((error: Error) => {
    throw new Error(`Redis at ${options.redisUrl} is not reachable: ${error.message}`);
  });
  const context: TargetContext = {
    room: options.room,
    redisUrl: options.redisUrl,
    redisPrefix: `fcbench-${randomBytes(4).toString('hex')}:`,
    textBytes: options.textBytes,
  };
  const payload = new BaselinePayload(options.room, options.textBytes);
  const makeTarget = (kind: ServerKind): BenchTarget =>
    kind === 'flashcast' ? new FlashcastTarget(context) : kind === 'uws' ? new UwsTarget(context, payload) : new SocketIoTarget(context, payload);

  log(
    `broadcast bench: ${options.viewers} viewers, ${options.rate} msg/s, ${options.duration} s, ` +
      `${options.rounds} round(s), ${options.workers} bulk viewer worker(s) + ${options.probes} probe viewers in their own thread, ` +
      `${availableParallelism()} cores, servers ${options.servers.join(',')}, prefix ${context.redisPrefix}`,
  );
  const runner = new ScenarioRunner(options, pid, log);
  const table = new ResultTable();
  const rounds: Map<ServerKind, ScenarioResult>[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const results = new Map<ServerKind, ScenarioResult>();
    // Rotate the order each round so that drift on a shared machine hits every server alike.
    const order = options.servers.map((_, i) => options.servers[(i + r) % options.servers.length]);
    for (const kind of order) {
      log(`round ${r + 1}/${options.rounds}: ${kind}`);
      const result = await runner.run(makeTarget(kind));
      // Baselines send frames as large as Flashcast's (measured in the same run).
      if (kind === 'flashcast' && Number.isFinite(result.frameBytes)) payload.matchFrameSize(result.frameBytes);
      results.set(kind, result);
      table.add(result);
    }
    rounds.push(results);
  }

  const pick = (kind: ServerKind, field: keyof ScenarioResult): number =>
    median(rounds.map((m) => m.get(kind)).filter((r): r is ScenarioResult => !!r && !r.error).map((r) => r[field] as number));
  /** Median over rounds of a Flashcast-vs-baseline ratio computed within each round. */
  const ratio = (kind: ServerKind, of: (fc: ScenarioResult, base: ScenarioResult) => number): number =>
    median(
      rounds.map((m) => {
        const fc = m.get('flashcast');
        const base = m.get(kind);
        return fc && base && !fc.error && !base.error ? of(fc, base) : NaN;
      }),
    );
  const deliveriesRatio = (fc: ScenarioResult, base: ScenarioResult): number => fc.deliveriesPerS / base.deliveriesPerS;
  /** > 1: Flashcast spends less server CPU per delivery than the baseline. */
  const cpuRatio = (fc: ScenarioResult, base: ScenarioResult): number => base.cpuUsPerDelivery / fc.cpuUsPerDelivery;
  const sum = (kind: ServerKind, field: 'lost' | 'duplicates'): number | null => {
    const rs = rounds.map((m) => m.get(kind)).filter((r): r is ScenarioResult => !!r && !r.error);
    return rs.length ? rs.reduce((a, r) => a + r[field], 0) : null;
  };

  process.stdout.write(`\n${table.render()}\n`);
  if (options.rounds > 1) process.stdout.write(`(JSON values are medians over ${options.rounds} rounds; lost and duplicates are sums)\n`);
  process.stdout.write(
    `(offered load ${(options.viewers * options.rate).toLocaleString('en-US')} deliveries/s caps every deliveries/s and ratio_vs_* ; ` +
      `cpu_ratio_vs_* = baseline CPU µs/deliv ÷ Flashcast's, > 1 = Flashcast cheaper)\n`,
  );
  const summary: Record<string, unknown> = {
    viewers: options.viewers,
    probe_viewers: options.probes,
    bulk_workers: options.workers,
    rate: options.rate,
    duration: options.duration,
    rounds: options.rounds,
    cores: availableParallelism(),
    loadavg_1m_start: round(loadStart, 2),
    loadavg_1m_end: round(loadavg()[0], 2),
    offered_deliveries_per_s: options.viewers * options.rate,
  };
  for (const kind of ['flashcast', 'uws', 'socketio'] as const) {
    if (!options.servers.includes(kind)) continue;
    summary[`${kind}_deliveries_per_s`] = round(pick(kind, 'deliveriesPerS'), 0);
    summary[`${kind}_p50_ms`] = round(pick(kind, 'p50Ms'), 2);
    summary[`${kind}_p99_ms`] = round(pick(kind, 'p99Ms'), 2);
    summary[`${kind}_bulk_p50_ms`] = round(pick(kind, 'bulkP50Ms'), 2);
    summary[`${kind}_bulk_p99_ms`] = round(pick(kind, 'bulkP99Ms'), 2);
    summary[`${kind}_server_cpu_pct`] = round(pick(kind, 'serverCpuPct'), 1);
    summary[`${kind}_pub_lag_max_ms`] = round(pick(kind, 'pubLagMaxMs'), 1);
    summary[`${kind}_cpu_us_per_delivery`] = round(pick(kind, 'cpuUsPerDelivery'), 3);
    summary[`${kind}_lost`] = sum(kind, 'lost');
  }
  summary.ratio_vs_uws = round(ratio('uws', deliveriesRatio), 3);
  summary.ratio_vs_socketio = round(ratio('socketio', deliveriesRatio), 3);
  summary.cpu_ratio_vs_uws = round(ratio('uws', cpuRatio), 3);
  summary.cpu_ratio_vs_socketio = round(ratio('socketio', cpuRatio), 3);
  summary.lost = sum('flashcast', 'lost');
  summary.duplicates = sum('flashcast', 'duplicates');
  const errors = rounds.flatMap((m) => [...m.values()].filter((r) => r.error).map((r) => `${r.kind}: ${r.error}`));
  if (errors.length > 0) summary.errors = errors;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  log(`broadcast bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
