/**
 * The broadcast benchmark (`npm run bench:broadcast`): N viewers in one room and one
 * publisher, measured against Flashcast's gateway (through Redis), a bare uWebSockets.js
 * server (one `app.publish` per message) and Socket.IO 4 with the Redis adapter, in the same
 * run and the same scenario. Each server runs in its own child process, pinned to its own CPU
 * (taskset); viewers run in worker threads on the others.
 *
 * Saturation (default): the offered rate rises step by step (the same rates for every server)
 * until the probe p99 passes --p99-limit or anything is lost; each server's result is the
 * highest rate it held, with its CPU per delivery. Fixed (--mode fixed): --rate for --duration.
 * Prints tables, then one JSON line.
 *
 *   node dist/load-tests/bench/broadcast.js --viewers 2000 --start-rate 50 --step-seconds 4
 *   node dist/load-tests/bench/broadcast.js --mode fixed --viewers 5000 --rate 20 --duration 10
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { BenchOptions } from './BenchOptions.js';
import { pinText } from './Flags.js';
import type { BenchTarget, TargetContext } from './BenchTarget.js';
import { BaselinePayload } from './BaselinePayload.js';
import { FlashcastTarget } from './FlashcastTarget.js';
import { ResultTable, saturationSummary } from './ResultTable.js';
import { ScenarioRunner, median, stepFailures, type SaturationPlan, type SaturationResult, type ScenarioResult } from './ScenarioRunner.js';
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

/** Pins this process (every thread, and the workers it starts later) to `cpus`. */
function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const options = BenchOptions.parse(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${BenchOptions.usage()}\n`);
    return;
  }
  checkFdLimit(options.viewers);
  const cores = availableParallelism();
  if (options.pin) pinSelf(options.pin.client);
  const loadStart = loadavg()[0];
  const pid = await redisPid(options.redisUrl).catch((error: Error) => {
    throw new Error(`Redis at ${options.redisUrl} is not reachable: ${error.message}`);
  });
  const context: TargetContext = {
    room: options.room,
    redisUrl: options.redisUrl,
    redisPrefix: `fcbench-${randomBytes(4).toString('hex')}:`,
    textBytes: options.textBytes,
    serverCpus: options.pin?.server ?? null,
    batchWindowMs: options.batchWindowMs,
  };
  const payload = new BaselinePayload(options.room, options.textBytes);
  const makeTarget = (kind: ServerKind): BenchTarget =>
    kind === 'flashcast' ? new FlashcastTarget(context) : kind === 'uws' ? new UwsTarget(context, payload) : new SocketIoTarget(context, payload);

  log(
    `broadcast bench (${options.mode}): ${options.viewers} viewers, ` +
      (options.mode === 'fixed' ? `${options.rate} msg/s, ${options.duration} s, ` : `steps of ${options.stepSeconds} s or ${options.minMessages} messages from ${options.startRate} msg/s (x${options.coarseFactor}, then x${options.fineFactor}), `) +
      `${options.rounds} round(s), ${options.workers} bulk viewer worker(s) + ${options.probes} probe viewers in their own thread, ` +
      `${cores} cores, pinned servers:generator ${pinText(options.pin)}, servers ${options.servers.join(',')}, ` +
      `load average ${loadStart.toFixed(1)}, prefix ${context.redisPrefix}`,
  );
  const runner = new ScenarioRunner(options, pid, log);
  const summary: Record<string, unknown> = {
    mode: options.mode,
    viewers: options.viewers,
    probe_viewers: options.probes,
    bulk_workers: options.workers,
    rounds: options.rounds,
    cores,
    pin: pinText(options.pin),
    batch_window_ms: options.batchWindowMs ?? 'default',
    loadavg_1m_start: round(loadStart, 2),
  };
  if (options.mode === 'fixed') await fixed(options, runner, makeTarget, payload, summary);
  else await saturate(options, runner, makeTarget, payload, summary);
  summary.loadavg_1m_end = round(loadavg()[0], 2);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** One rate for every server, K rounds; medians. */
async function fixed(
  options: BenchOptions,
  runner: ScenarioRunner,
  makeTarget: (kind: ServerKind) => BenchTarget,
  payload: BaselinePayload,
  summary: Record<string, unknown>,
): Promise<void> {
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
  Object.assign(summary, { rate: options.rate, duration: options.duration, offered_deliveries_per_s: options.viewers * options.rate });
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
    summary[`${kind}_frames_per_message`] = round(pick(kind, 'framesPerMessage'), 2);
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
}

/** Every server through the same rising rates until it fails a step, K rounds; ratios within each round, medians over rounds. */
async function saturate(
  options: BenchOptions,
  runner: ScenarioRunner,
  makeTarget: (kind: ServerKind) => BenchTarget,
  payload: BaselinePayload,
  summary: Record<string, unknown>,
): Promise<void> {
  const plan: SaturationPlan = {
    startRate: options.startRate,
    maxRate: options.maxRate,
    stepSeconds: options.stepSeconds,
    minMessages: options.minMessages,
    p99LimitMs: options.p99LimitMs,
    coarseFactor: options.coarseFactor,
    fineFactor: options.fineFactor,
    retries: options.retries,
  };
  const rounds: Map<ServerKind, SaturationResult>[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const results = new Map<ServerKind, SaturationResult>();
    const order = options.servers.map((_, i) => options.servers[(i + r) % options.servers.length]);
    for (const kind of order) {
      log(`round ${r + 1}/${options.rounds}: ${kind}`);
      const run = await runner.saturate(makeTarget(kind), plan);
      // Baselines send frames as large as Flashcast's (measured in the same run).
      const frameBytes = run.steps.find((s) => Number.isFinite(s.frameBytes))?.frameBytes;
      if (kind === 'flashcast' && frameBytes !== undefined) payload.matchFrameSize(frameBytes);
      results.set(kind, run);
    }
    rounds.push(results);
    const runs = [...results.values()];
    const common = commonRate(runs);
    for (const run of runs) {
      const table = new ResultTable();
      for (const step of run.steps) table.add(step);
      process.stdout.write(`\n${run.label}, round ${r + 1}: steps of ${plan.stepSeconds} s or ${plan.minMessages} messages\n${table.render()}\n`);
    }
    process.stdout.write(`\nround ${r + 1}: the highest rate each server held (probe p99 <= ${plan.p99LimitMs} ms, nothing lost)\n${saturationSummary(runs, common)}\n`);
  }

  /** Per round: Flashcast's figure over the baseline's (or any function of both); median over rounds. */
  const perRound = (kind: ServerKind, of: (fc: SaturationResult, base: SaturationResult, common: number | null) => number): number =>
    median(
      rounds.map((m) => {
        const fc = m.get('flashcast');
        const base = m.get(kind);
        return fc && base && !fc.error && !base.error ? of(fc, base, commonRate([...m.values()])) : NaN;
      }),
    );
  const atRate = (run: SaturationResult, rate: number | null): ScenarioResult | undefined => finalStep(run, rate);
  const pickRun = (kind: ServerKind, of: (run: SaturationResult, common: number | null) => number): number =>
    median(
      rounds.map((m) => {
        const run = m.get(kind);
        return run && !run.error ? of(run, commonRate([...m.values()])) : NaN;
      }),
    );

  Object.assign(summary, {
    step_seconds: plan.stepSeconds,
    min_messages: plan.minMessages,
    start_rate: plan.startRate,
    coarse_factor: plan.coarseFactor,
    fine_factor: plan.fineFactor,
    retries: plan.retries,
    p99_limit_ms: plan.p99LimitMs,
    common_rate: median(rounds.map((m) => commonRate([...m.values()]) ?? NaN)),
  });
  for (const kind of ['flashcast', 'uws', 'socketio'] as const) {
    if (!options.servers.includes(kind)) continue;
    summary[`${kind}_held_deliveries_per_s`] = round(pickRun(kind, (run) => run.held?.deliveriesPerS ?? NaN), 0);
    summary[`${kind}_held_rate`] = round(pickRun(kind, (run) => run.held?.rate ?? NaN), 1);
    summary[`${kind}_held_p99_ms`] = round(pickRun(kind, (run) => run.held?.p99Ms ?? NaN), 2);
    summary[`${kind}_cpu_s_per_million_at_held`] = round(pickRun(kind, (run) => run.held?.cpuUsPerDelivery ?? NaN), 3);
    summary[`${kind}_frames_per_message_at_held`] = round(pickRun(kind, (run) => run.held?.framesPerMessage ?? NaN), 2);
    summary[`${kind}_gen_elu_pct_at_held`] = round(pickRun(kind, (run) => run.held?.bulkEluPct ?? NaN), 0);
    summary[`${kind}_cpu_s_per_million_at_common`] = round(pickRun(kind, (run, common) => atRate(run, common)?.cpuUsPerDelivery ?? NaN), 3);
    summary[`${kind}_p99_ms_at_common`] = round(pickRun(kind, (run, common) => atRate(run, common)?.p99Ms ?? NaN), 2);
    summary[`${kind}_stopped_by`] = rounds.map((m) => m.get(kind)?.stoppedBy ?? null);
  }
  const heldRatio = (fc: SaturationResult, base: SaturationResult): number => (fc.held?.deliveriesPerS ?? NaN) / (base.held?.deliveriesPerS ?? NaN);
  /** > 1: Flashcast spends less server CPU per delivery than the baseline. */
  const cpuAt = (pick: (run: SaturationResult) => ScenarioResult | undefined) => (fc: SaturationResult, base: SaturationResult): number =>
    (pick(base)?.cpuUsPerDelivery ?? NaN) / (pick(fc)?.cpuUsPerDelivery ?? NaN);
  for (const kind of ['uws', 'socketio'] as const) {
    if (!options.servers.includes(kind) || !options.servers.includes('flashcast')) continue;
    summary[`saturation_ratio_vs_${kind}`] = round(perRound(kind, heldRatio), 3);
    summary[`cpu_ratio_vs_${kind}_at_held`] = round(perRound(kind, cpuAt((run) => run.held ?? undefined)), 3);
    summary[`cpu_ratio_vs_${kind}_at_common`] = round(
      perRound(kind, (fc, base, common) => (atRate(base, common)?.cpuUsPerDelivery ?? NaN) / (atRate(fc, common)?.cpuUsPerDelivery ?? NaN)),
      3,
    );
    summary[`p99_ratio_vs_${kind}_at_common`] = round(perRound(kind, (fc, base, common) => (atRate(fc, common)?.p99Ms ?? NaN) / (atRate(base, common)?.p99Ms ?? NaN)), 3);
  }
  const fcRuns = rounds.map((m) => m.get('flashcast')).filter((run): run is SaturationResult => !!run);
  summary.lost_in_held_steps = fcRuns.reduce((a, run) => a + run.steps.filter((s) => s.rate <= (run.held?.rate ?? 0)).reduce((b, s) => b + s.lost, 0), 0);
  summary.duplicates = fcRuns.reduce((a, run) => a + run.steps.reduce((b, s) => b + s.duplicates, 0), 0);
  const errors = rounds.flatMap((m) => [...m.values()].filter((run) => run.error).map((run) => `${run.kind}: ${run.error}`));
  if (errors.length > 0) summary.errors = errors;
  process.stdout.write(
    `(saturation_ratio_vs_* = Flashcast's held deliveries/s ÷ the baseline's; cpu_ratio_vs_* = baseline CPU per delivery ÷ Flashcast's, ` +
      `> 1 = Flashcast cheaper; "at common" = at the highest rate every server delivered without loss, however late; ratios within a round, medians over rounds)\n`,
  );
}

/** The last run of `rate` in a saturation run (a retried rate was run more than once). */
function finalStep(run: SaturationResult, rate: number | null): ScenarioResult | undefined {
  return [...run.steps].reverse().find((s) => s.rate === rate);
}

/**
 * The highest rate every run delivered completely (its last run of that rate lost nothing, however
 * late), or null: where the servers did the same work, so that their CPU per delivery compares.
 */
function commonRate(runs: SaturationResult[]): number | null {
  if (runs.length === 0) return null;
  const held = (run: SaturationResult, rate: number): boolean => {
    const step = finalStep(run, rate);
    return !!step && stepFailures(step, Infinity).length === 0;
  };
  const rates = runs[0].steps.map((s) => s.rate).filter((rate) => runs.every((run) => held(run, rate)));
  return rates.length > 0 ? Math.max(...rates) : null;
}

try {
  await main();
  process.exit(0);
} catch (error) {
  log(`broadcast bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
