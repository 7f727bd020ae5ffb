import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './BenchOptions.js';
import type { BenchTarget } from './BenchTarget.js';
import { LatencyHistogram } from './LatencyHistogram.js';
import type { Publisher } from './Publisher.js';
import { processCpuMs, type ServerProcess } from './ServerProcess.js';
import type { ServerKind } from './Viewer.js';
import { ViewerPool } from './ViewerPool.js';

/** What one server did in one round of the broadcast scenario (or one step of a saturation run). */
export interface ScenarioResult {
  kind: ServerKind;
  label: string;
  /** Set when the scenario could not run (server did not start...). */
  error: string | null;
  /** Offered messages per second (each to every viewer). */
  rate: number;
  /** Seconds of publishing. */
  duration: number;
  viewers: number;
  joined: number;
  /** Of `joined`, the latency probes (their own worker thread). */
  probesJoined: number;
  joinFailures: Record<string, number>;
  connectSeconds: number;
  sent: number;
  acked: number;
  publishErrors: Record<string, number>;
  /** acked x joined: deliveries a lossless server makes. */
  expected: number;
  /** Distinct announcements received (duplicates excluded). */
  delivered: number;
  duplicates: number;
  /** Sum over viewers of expected - received. */
  lost: number;
  viewersWithLoss: number;
  /** Offsets skipped within a viewer's stream. */
  gapped: number;
  /** Viewers whose socket closed during the scenario, by close code. */
  closeCodes: Record<string, number>;
  /** Delivered / max(duration, last delivery - first publish). */
  deliveriesPerS: number;
  /** Median over the publishing seconds of deliveries in each second. */
  medianSecondDeliveries: number;
  perSecond: number[];
  /** Publish-to-receive latency seen by the probe viewers (the latency figures). */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  /** The same seen by the bulk viewers: includes the load generator's own queueing. */
  bulkP50Ms: number;
  bulkP99Ms: number;
  bulkMaxMs: number;
  /** Busiest bulk worker's event-loop utilisation over the window, % (100 = saturated). */
  bulkEluPct: number;
  /** The probe worker's event-loop utilisation over the window, %. */
  probeEluPct: number;
  /** How late the publisher sent messages against its schedule (99th percentile, max), ms. */
  pubLagP99Ms: number;
  pubLagMaxMs: number;
  /** Most messages the publisher sent back to back in one timer tick (1 = never bursty). */
  pubMaxBurst: number;
  /** Mean bytes of a delivered frame. */
  frameBytes: number;
  /** WebSocket messages the viewers received (a Flashcast batch is one; a Socket.IO binary event is two). */
  messages: number;
  /** Announcements delivered per WebSocket message received. */
  framesPerMessage: number;
  /** Server process CPU over the measured window, % of one core. */
  serverCpuPct: number;
  /** Redis CPU over the same window (shared Redis: indicative only). */
  redisCpuPct: number;
  /** This process (publisher + viewer workers) over the same window, % of one core. */
  clientCpuPct: number;
  /**
   * Server CPU µs per delivery, which is also server CPU-seconds per million deliveries (lower
   * is better; meaningful even below saturation).
   */
  cpuUsPerDelivery: number;
  /** Seconds from the first publish to the end of the drain. */
  windowSeconds: number;
  /** The machine's 1-minute load average at the end of the run (it is shared). */
  loadAvg1m: number;
  /** Saturation: 0, or how many times this rate was run before (a retry after a latency failure). */
  attempt: number;
}

/** What a scenario opened and must close, whatever happens. */
interface Owned {
  pool: ViewerPool | null;
  publisher: Publisher | null;
}

/** A server with its viewers in the room and its publisher connected: steps run in it one after another. */
interface Session {
  target: BenchTarget;
  server: ServerProcess;
  pool: ViewerPool;
  publisher: Publisher;
  /** Send time per sequence number, modulo its length (shared with the viewer workers). */
  sendTimeOf: Float64Array;
  /** Length of each worker's per-second series. */
  seconds: number;
  /** The next sequence number to publish. */
  nextSeq: number;
  /** What connecting gave (copied into every step's result). */
  joined: number;
  probesJoined: number;
  connectSeconds: number;
}

/** How a saturation run raises the offered rate. */
export interface SaturationPlan {
  /** Messages per second of the first step. */
  startRate: number;
  /** Highest rate tried. */
  maxRate: number;
  /** Seconds of publishing per step... */
  stepSeconds: number;
  /** ...or longer (up to MAX_STEP_SECONDS), to send at least this many messages. */
  minMessages: number;
  /** A step fails when the probe p99 passes this (ms). */
  p99LimitMs: number;
  /** Until the first failure each step offers this many times the last (the same rates for every server). */
  coarseFactor: number;
  /** Then, from the last rate held, steps of this factor below the rate that failed. */
  fineFactor: number;
  /** Times a step that failed on latency alone is run again before it counts as failed. */
  retries: number;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** The longest step of a saturation run, seconds. */
const MAX_STEP_SECONDS = 30;

/** Seconds of publishing of a saturation step at `rate`. */
export function stepSeconds(plan: SaturationPlan, rate: number): number {
  return Math.max(plan.stepSeconds, Math.min(MAX_STEP_SECONDS, Math.ceil(plan.minMessages / rate)));
}

/**
 * The next rate of a saturation run, given the steps so far (in order, retried steps by their
 * last result), or null when it is over: startRate x coarseFactor^k while every step passes
 * (identical for every server), then from the last rate held up by fineFactor while below the
 * rate that failed, until a step fails again.
 */
export function nextRate(plan: SaturationPlan, tried: readonly { rate: number; ok: boolean }[]): number | null {
  if (tried.length === 0) return plan.startRate;
  const firstFail = tried.findIndex((t) => !t.ok);
  if (firstFail < 0) {
    const last = tried[tried.length - 1].rate;
    return last >= plan.maxRate ? null : Math.min(plan.maxRate, round1(last * plan.coarseFactor));
  }
  if (firstFail === 0) return null;
  const fine = tried.slice(firstFail + 1);
  if (fine.some((t) => !t.ok)) return null;
  const base = fine.length > 0 ? fine[fine.length - 1].rate : tried[firstFail - 1].rate;
  const next = round1(base * plan.fineFactor);
  return next < tried[firstFail].rate ? next : null;
}

/** One server's saturation run: every step, and the highest rate it held. */
export interface SaturationResult {
  kind: ServerKind;
  label: string;
  /** Set when the run could not start (server, viewers). */
  error: string | null;
  steps: ScenarioResult[];
  /** The last step that passed (the highest held rate), or null if the first failed. */
  held: ScenarioResult | null;
  /** Why the run stopped: the failed step's reasons, or that it reached maxRate. */
  stoppedBy: string;
}

/** A step whose deliveries/s stay under this share of the offered rate fell behind. */
const FELL_BEHIND = 0.9;

/** Why a step fails a saturation run (empty: it passed). */
export function stepFailures(r: ScenarioResult, p99LimitMs: number): string[] {
  const out: string[] = [];
  if (r.error) out.push(r.error);
  if (r.lost > 0) out.push(`${r.lost} lost`);
  if (r.duplicates > 0) out.push(`${r.duplicates} duplicates`);
  if (r.acked < r.sent) out.push(`${r.sent - r.acked} not published (${Object.entries(r.publishErrors).map(([k, n]) => `${n}x ${k}`).join(', ') || 'no answer'})`);
  if (Object.keys(r.closeCodes).length > 0) out.push(`viewers closed (${Object.entries(r.closeCodes).map(([k, n]) => `${n}x ${k}`).join(', ')})`);
  // Publisher or server behind the offered rate: the step's rate was not what was held.
  const offered = r.joined * r.rate;
  if (offered > 0 && r.deliveriesPerS < FELL_BEHIND * offered) {
    out.push(`fell behind (${Math.round(r.deliveriesPerS).toLocaleString('en-US')} of ${Math.round(offered).toLocaleString('en-US')} deliveries/s)`);
  }
  if (!(r.p99Ms <= p99LimitMs)) out.push(`probe p99 ${Number.isFinite(r.p99Ms) ? r.p99Ms.toFixed(1) : '-'} ms > ${p99LimitMs} ms`);
  return out;
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of a list (NaN when empty). */
export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs the broadcast scenario against one server: start it, connect the viewers,
 * publish at a fixed rate for a fixed duration (or, saturating, step by step at rising
 * rates), wait for late deliveries (bounded), collect every worker's counts, and stop it.
 */
export class ScenarioRunner {
  readonly #options: BenchOptions;
  readonly #redisPid: number | null;
  readonly #log: (line: string) => void;

  constructor(options: BenchOptions, redisPid: number | null, log: (line: string) => void) {
    this.#options = options;
    this.#redisPid = redisPid;
    this.#log = log;
  }

  /** Runs one fixed-rate scenario (--rate for --duration); never throws (failures are in `error`). */
  async run(target: BenchTarget): Promise<ScenarioResult> {
    const o = this.#options;
    const capacity = Math.max(1, Math.round(o.rate * o.duration)) + 16;
    let result = emptyResult(target, o.viewers, o.rate, o.duration);
    const error = await this.#session(target, capacity, o.duration, async (session) => {
      if (o.startAt !== null) {
        const wait = o.startAt - Date.now();
        if (wait > 0) await sleep(wait);
        else this.#log(`  ${target.label}: ready ${Math.round(-wait)} ms after --start-at: publishing out of phase`);
      }
      result = await this.#step(session, o.rate, o.duration);
    });
    if (error) result.error = error;
    return result;
  }

  /**
   * Raises the offered rate step by step in one session (server and viewers stay up) until a
   * step fails (stepFailures: loss, duplicates, refused publications, closed viewers, probe p99
   * over the limit) or `maxRate` was held. Never throws.
   */
  async saturate(target: BenchTarget, plan: SaturationPlan): Promise<SaturationResult> {
    const run: SaturationResult = { kind: target.kind, label: target.label, error: null, steps: [], held: null, stoppedBy: '' };
    // Viewers look send times up by sequence number modulo this; steps never overlap.
    const capacity = Math.ceil(Math.max(plan.maxRate * plan.stepSeconds, plan.minMessages)) * 2 + 16;
    run.error = await this.#session(target, capacity, MAX_STEP_SECONDS, async (session) => {
      const tried: { rate: number; ok: boolean }[] = [];
      let stoppedBy = `held the highest rate tried (--max-rate ${plan.maxRate})`;
      for (let rate = nextRate(plan, tried); rate !== null; rate = nextRate(plan, tried)) {
        let step: ScenarioResult;
        let failures: string[];
        let attempt = 0;
        for (;;) {
          step = await this.#step(session, rate, stepSeconds(plan, rate));
          step.attempt = attempt;
          run.steps.push(step);
          failures = stepFailures(step, plan.p99LimitMs);
          this.#log(
            `  ${target.label}: ${rate} msg/s x ${step.joined} = ${Math.round(step.deliveriesPerS).toLocaleString('en-US')} deliveries/s, ` +
              `probe p99 ${step.p99Ms.toFixed(1)} ms, ${step.cpuUsPerDelivery.toFixed(2)} CPU s/M, server ${step.serverCpuPct.toFixed(0)}%, ` +
              `${step.framesPerMessage.toFixed(2)} frames/msg, load ${step.loadAvg1m.toFixed(1)} ${failures.length ? `FAIL: ${failures.join('; ')}` : 'ok'}`,
          );
          // Latency alone on a shared machine can be a neighbour's burst: run the step again.
          const latencyOnly = failures.length === 1 && failures[0].startsWith('probe p99');
          if (!latencyOnly || attempt >= plan.retries) break;
          attempt++;
        }
        tried.push({ rate, ok: failures.length === 0 });
        if (failures.length > 0) {
          stoppedBy = `${rate} msg/s: ${failures.join('; ')}`;
          // Loss or closed viewers leave the session unfit for more steps.
          if (!failures.every((f) => f.startsWith('probe p99'))) break;
        } else if (!run.held || rate > run.held.rate) {
          run.held = step;
        }
      }
      run.stoppedBy = stoppedBy;
    });
    if (run.error && !run.stoppedBy) run.stoppedBy = run.error;
    return run;
  }

  /**
   * Starts the server, connects the viewers and the publisher, runs `body`, and closes
   * everything whatever happens. Returns an error message, or null.
   */
  async #session(target: BenchTarget, capacity: number, stepSeconds: number, body: (session: Session) => Promise<void>): Promise<string | null> {
    const o = this.#options;
    let server: ServerProcess | null = null;
    const owned: Owned = { pool: null, publisher: null };
    let error: string | null = null;
    try {
      server = await target.start();
      const paths = await target.viewerPaths(o.viewers);
      const sendTimes = new SharedArrayBuffer(8 * capacity);
      const seconds = Math.ceil(stepSeconds + o.drain) + 5;
      const connectStart = now();
      const pool = await ViewerPool.create({
        kind: target.kind,
        host: '127.0.0.1',
        port: target.port,
        room: o.room,
        paths,
        workers: o.workers,
        probes: o.probes,
        connectConcurrency: o.connectConcurrency,
        joinTimeoutMs: 30_000,
        sendTimes,
        seconds,
      });
      owned.pool = pool;
      const connectSeconds = (now() - connectStart) / 1000;
      const joined = pool.progress().joined;
      const probesJoined = pool.joinedPerWorker.reduce((a, n, w) => (pool.roles[w] === 'probe' ? a + n : a), 0);
      if (joined === 0) throw new Error(`no viewer could join (${pool.progress().failed} failed)`);
      this.#log(`  ${target.label}: ${joined}/${o.viewers} viewers joined in ${connectSeconds.toFixed(1)} s (${probesJoined} probes)`);
      const publisher = await target.openPublisher();
      owned.publisher = publisher;
      // Let the connect burst's garbage and timers settle before measuring.
      await sleep(500);
      await body({
        target,
        server,
        pool,
        publisher,
        sendTimeOf: new Float64Array(sendTimes),
        seconds,
        nextSeq: 0,
        joined,
        probesJoined,
        connectSeconds,
      });
      if (!server.running) error = `the server exited during the run: ${server.output.slice(-800)}`;
    } catch (e) {
      error = (e as Error).message.split('\n').slice(0, 6).join(' | ');
      if (server && !server.running) error += ` | server output: ${server.output.slice(-800)}`;
    } finally {
      const steps: [string, () => Promise<void> | undefined][] = [
        ['publisher', () => owned.publisher?.close()],
        ['viewers', () => owned.pool?.close()],
        ['server', () => target.stop()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (e) {
          this.#log(`  ${target.label}: closing ${name} failed: ${(e as Error).message}`);
        }
      }
    }
    return error;
  }

  /** Publishes at `rate` for `duration` seconds in the session, drains, and collects the step's counts. */
  async #step(session: Session, rate: number, duration: number): Promise<ScenarioResult> {
    const o = this.#options;
    const { target, server, pool, publisher, sendTimeOf } = session;
    const result = emptyResult(target, o.viewers, rate, duration);
    result.joined = session.joined;
    result.probesJoined = session.probesJoined;
    result.connectSeconds = session.connectSeconds;
    await pool.startStep();
    const total = Math.max(1, Math.round(rate * duration));
    const sent0 = publisher.sent;
    const acked0 = publisher.acked;
    const errors0 = new Map(publisher.errors);
    const closed0 = pool.progress().closed;

    const cpu0 = server.cpuMs();
    const redisCpu0 = this.#redisPid ? processCpuMs(this.#redisPid) : NaN;
    const clientCpu0 = process.cpuUsage();
    const interval = 1000 / rate;
    // Latency runs from the moment each message was handed to the socket; how late
    // that was against the schedule (a busy main thread sends late, then in a burst)
    // is reported on its own.
    const pubLag = new LatencyHistogram();
    let maxBurst = 0;
    const start = now();
    pool.markStart(start);
    pool.markWindow('start');
    const seqBase = session.nextSeq;
    let i = 0;
    while (i < total) {
      const wait = start + i * interval - now();
      if (wait > 0) await sleep(Math.max(1, wait));
      const t = now();
      let burst = 0;
      while (i < total && start + i * interval <= t) {
        const seq = seqBase + i;
        const sentAt = now();
        sendTimeOf[seq % sendTimeOf.length] = sentAt;
        pubLag.recordMs(sentAt - (start + i * interval));
        publisher.publish(seq);
        i++;
        burst++;
      }
      maxBurst = Math.max(maxBurst, burst);
    }
    session.nextSeq = seqBase + total;
    await publisher.settle(5000);
    const expectedPerViewer = publisher.acked - acked0;
    const expectedDeliveries = expectedPerViewer * session.joined;

    // Drain: until every expected delivery arrived, nothing moved for 2 s, or --drain.
    const drainDeadline = now() + o.drain * 1000;
    let last = pool.progress().delivered;
    let lastMoved = now();
    while (now() < drainDeadline) {
      const delivered = pool.progress().delivered;
      if (delivered >= expectedDeliveries) break;
      if (delivered !== last) {
        last = delivered;
        lastMoved = now();
      } else if (now() - lastMoved > 2000) {
        break;
      }
      await sleep(20);
    }
    const end = now();
    pool.markWindow('end');
    const cpu1 = server.cpuMs();
    const redisCpu1 = this.#redisPid ? processCpuMs(this.#redisPid) : NaN;
    const clientCpu = process.cpuUsage(clientCpu0);

    const reports = await pool.report(expectedPerViewer);
    const histogram = new LatencyHistogram();
    const bulkHistogram = new LatencyHistogram();
    const perSecond = new Array<number>(session.seconds).fill(0);
    let deliveries = 0;
    let bytes = 0;
    let lastDeliveryAt = 0;
    const bases = new Set<number>();
    for (const r of reports) {
      (r.role === 'probe' ? histogram : bulkHistogram).add(r.histogram, r.histogramMax, r.histogramSum);
      r.perSecond.forEach((n, k) => (perSecond[k] += n));
      deliveries += r.deliveries;
      bytes += r.bytes;
      result.messages += r.messages;
      lastDeliveryAt = Math.max(lastDeliveryAt, r.lastDeliveryAt);
      result.duplicates += r.duplicates;
      result.lost += r.lost;
      result.viewersWithLoss += r.viewersWithLoss;
      result.gapped += r.gapped;
      for (const [code, n] of Object.entries(r.closeCodes)) result.closeCodes[code] = (result.closeCodes[code] ?? 0) + n;
      for (const [reason, n] of Object.entries(r.failures)) result.joinFailures[reason] = (result.joinFailures[reason] ?? 0) + n;
      for (const b of r.baseOffsets) bases.add(b);
    }
    // Close codes are kept for the whole session: a step reports them only if viewers closed during it.
    if (pool.progress().closed === closed0) result.closeCodes = {};
    if (bases.size > 1 && seqBase === 0) this.#log(`  ${target.label}: viewers joined at ${bases.size} different offsets`);
    result.sent = publisher.sent - sent0;
    result.acked = publisher.acked - acked0;
    for (const [code, n] of publisher.errors) {
      const delta = n - (errors0.get(code) ?? 0);
      if (delta > 0) result.publishErrors[code] = delta;
    }
    result.expected = expectedDeliveries;
    result.delivered = deliveries - result.duplicates;
    const span = Math.max(duration, lastDeliveryAt > 0 ? (lastDeliveryAt - start) / 1000 : 0);
    result.deliveriesPerS = result.delivered / span;
    result.perSecond = perSecond.slice(0, Math.ceil(span));
    result.medianSecondDeliveries = median(perSecond.slice(0, duration));
    result.p50Ms = histogram.quantileMs(0.5);
    result.p90Ms = histogram.quantileMs(0.9);
    result.p99Ms = histogram.quantileMs(0.99);
    result.p999Ms = histogram.quantileMs(0.999);
    result.maxMs = histogram.count > 0 ? histogram.max / 1000 : NaN;
    result.meanMs = histogram.meanMs();
    result.bulkP50Ms = bulkHistogram.quantileMs(0.5);
    result.bulkP99Ms = bulkHistogram.quantileMs(0.99);
    result.bulkMaxMs = bulkHistogram.count > 0 ? bulkHistogram.max / 1000 : NaN;
    const elu = pool.windowElu();
    const eluOf = (role: 'bulk' | 'probe'): number => {
      const pcts = elu.filter((_, w) => pool.roles[w] === role).map((u) => u * 100);
      return pcts.length > 0 ? Math.max(...pcts) : NaN;
    };
    result.bulkEluPct = eluOf('bulk');
    result.probeEluPct = eluOf('probe');
    result.pubLagP99Ms = pubLag.quantileMs(0.99);
    result.pubLagMaxMs = pubLag.max / 1000;
    result.pubMaxBurst = maxBurst;
    result.frameBytes = deliveries > 0 ? bytes / deliveries : NaN;
    result.framesPerMessage = result.messages > 0 ? deliveries / result.messages : NaN;
    result.windowSeconds = (end - start) / 1000;
    result.serverCpuPct = ((cpu1 - cpu0) / (end - start)) * 100;
    result.redisCpuPct = ((redisCpu1 - redisCpu0) / (end - start)) * 100;
    result.clientCpuPct = ((clientCpu.user + clientCpu.system) / 1000 / (end - start)) * 100;
    result.cpuUsPerDelivery = deliveries > 0 ? ((cpu1 - cpu0) * 1000) / deliveries : NaN;
    result.loadAvg1m = loadavg()[0];
    return result;
  }
}

function emptyResult(target: BenchTarget, viewers: number, rate: number, duration: number): ScenarioResult {
  return {
    kind: target.kind,
    label: target.label,
    error: null,
    rate,
    duration,
    viewers,
    joined: 0,
    probesJoined: 0,
    joinFailures: {},
    connectSeconds: 0,
    sent: 0,
    acked: 0,
    publishErrors: {},
    expected: 0,
    delivered: 0,
    duplicates: 0,
    lost: 0,
    viewersWithLoss: 0,
    gapped: 0,
    closeCodes: {},
    deliveriesPerS: 0,
    medianSecondDeliveries: 0,
    perSecond: [],
    p50Ms: NaN,
    p90Ms: NaN,
    p99Ms: NaN,
    p999Ms: NaN,
    maxMs: NaN,
    meanMs: NaN,
    bulkP50Ms: NaN,
    bulkP99Ms: NaN,
    bulkMaxMs: NaN,
    bulkEluPct: NaN,
    probeEluPct: NaN,
    pubLagP99Ms: NaN,
    pubLagMaxMs: NaN,
    pubMaxBurst: 0,
    frameBytes: NaN,
    messages: 0,
    framesPerMessage: NaN,
    serverCpuPct: NaN,
    redisCpuPct: NaN,
    clientCpuPct: NaN,
    cpuUsPerDelivery: NaN,
    windowSeconds: 0,
    loadAvg1m: NaN,
    attempt: 0,
  };
}
