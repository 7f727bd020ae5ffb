import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './BenchOptions.js';
import type { BenchTarget } from './BenchTarget.js';
import { LatencyHistogram } from './LatencyHistogram.js';
import type { Publisher } from './Publisher.js';
import { processCpuMs, type ServerProcess } from './ServerProcess.js';
import type { ServerKind } from './Viewer.js';
import { ViewerPool } from './ViewerPool.js';

/** What one server did in one round of the broadcast scenario. */
export interface ScenarioResult {
  kind: ServerKind;
  label: string;
  /** Set when the scenario could not run (server did not start...). */
  error: string | null;
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
  /** Server process CPU over the measured window, % of one core. */
  serverCpuPct: number;
  /** Redis CPU over the same window (shared Redis: indicative only). */
  redisCpuPct: number;
  /** This process (publisher + viewer workers) over the same window, % of one core. */
  clientCpuPct: number;
  /** Server CPU µs per delivery (lower is better; meaningful even below saturation). */
  cpuUsPerDelivery: number;
  /** Seconds from the first publish to the end of the drain. */
  windowSeconds: number;
}

/** What a scenario opened and must close, whatever happens. */
interface Owned {
  pool: ViewerPool | null;
  publisher: Publisher | null;
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
 * publish at a fixed rate for a fixed duration, wait for late deliveries (bounded),
 * collect every worker's counts, and stop it again.
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

  /** Runs one scenario; never throws (failures are in `error`). */
  async run(target: BenchTarget): Promise<ScenarioResult> {
    const result = emptyResult(target, this.#options.viewers);
    let server: ServerProcess | null = null;
    const owned: Owned = { pool: null, publisher: null };
    try {
      server = await target.start();
      const paths = await target.viewerPaths(this.#options.viewers);
      await this.#measure(target, server, paths, result, owned);
      if (!server.running) result.error = `the server exited during the run: ${server.output.slice(-800)}`;
    } catch (error) {
      result.error = (error as Error).message.split('\n').slice(0, 6).join(' | ');
      if (server && !server.running) result.error += ` | server output: ${server.output.slice(-800)}`;
    } finally {
      const steps: [string, () => Promise<void> | undefined][] = [
        ['publisher', () => owned.publisher?.close()],
        ['viewers', () => owned.pool?.close()],
        ['server', () => target.stop()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.#log(`  ${target.label}: closing ${name} failed: ${(error as Error).message}`);
        }
      }
    }
    return result;
  }

  async #measure(
    target: BenchTarget,
    server: ServerProcess,
    paths: string[],
    result: ScenarioResult,
    owned: Owned,
  ): Promise<void> {
    const o = this.#options;
    const total = Math.max(1, Math.round(o.rate * o.duration));
    const sendTimes = new SharedArrayBuffer(8 * (total + 16));
    const sendTimeOf = new Float64Array(sendTimes);
    const seconds = Math.ceil(o.duration + o.drain) + 5;

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
    result.connectSeconds = (now() - connectStart) / 1000;
    const joinedProgress = pool.progress();
    result.joined = joinedProgress.joined;
    result.probesJoined = pool.joinedPerWorker.reduce((a, n, w) => (pool.roles[w] === 'probe' ? a + n : a), 0);
    if (result.joined === 0) throw new Error(`no viewer could join (${joinedProgress.failed} failed)`);
    this.#log(
      `  ${target.label}: ${result.joined}/${o.viewers} viewers joined in ${result.connectSeconds.toFixed(1)} s ` +
        `(${result.probesJoined} probes)`,
    );

    const publisher = await target.openPublisher();
    owned.publisher = publisher;
    // Let the connect burst's garbage and timers settle before measuring.
    await sleep(500);

    const cpu0 = server.cpuMs();
    const redisCpu0 = this.#redisPid ? processCpuMs(this.#redisPid) : NaN;
    const clientCpu0 = process.cpuUsage();
    const interval = 1000 / o.rate;
    // Latency runs from the moment each message was handed to the socket; how late
    // that was against the schedule (a busy main thread sends late, then in a burst)
    // is reported on its own.
    const pubLag = new LatencyHistogram();
    let maxBurst = 0;
    const start = now();
    pool.markStart(start);
    pool.markWindow('start');
    let seq = 0;
    while (seq < total) {
      const wait = start + seq * interval - now();
      if (wait > 0) await sleep(Math.max(1, wait));
      const t = now();
      let burst = 0;
      while (seq < total && start + seq * interval <= t) {
        const sentAt = now();
        sendTimeOf[seq] = sentAt;
        pubLag.recordMs(sentAt - (start + seq * interval));
        publisher.publish(seq);
        seq++;
        burst++;
      }
      maxBurst = Math.max(maxBurst, burst);
    }
    await publisher.settle(5000);
    const expectedPerViewer = publisher.acked;
    const expectedDeliveries = expectedPerViewer * result.joined;

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
    const perSecond = new Array<number>(seconds).fill(0);
    let deliveries = 0;
    let bytes = 0;
    let lastDeliveryAt = 0;
    const failures: Record<string, number> = {};
    const bases = new Set<number>();
    for (const r of reports) {
      (r.role === 'probe' ? histogram : bulkHistogram).add(r.histogram, r.histogramMax, r.histogramSum);
      r.perSecond.forEach((n, i) => (perSecond[i] += n));
      deliveries += r.deliveries;
      bytes += r.bytes;
      lastDeliveryAt = Math.max(lastDeliveryAt, r.lastDeliveryAt);
      result.duplicates += r.duplicates;
      result.lost += r.lost;
      result.viewersWithLoss += r.viewersWithLoss;
      result.gapped += r.gapped;
      for (const [code, n] of Object.entries(r.closeCodes)) result.closeCodes[code] = (result.closeCodes[code] ?? 0) + n;
      for (const [reason, n] of Object.entries(r.failures)) failures[reason] = (failures[reason] ?? 0) + n;
      for (const b of r.baseOffsets) bases.add(b);
    }
    if (bases.size > 1) this.#log(`  ${target.label}: viewers joined at ${bases.size} different offsets`);
    result.joinFailures = failures;
    result.sent = publisher.sent;
    result.acked = publisher.acked;
    result.publishErrors = Object.fromEntries(publisher.errors);
    result.expected = expectedDeliveries;
    result.delivered = deliveries - result.duplicates;
    const span = Math.max(o.duration, lastDeliveryAt > 0 ? (lastDeliveryAt - start) / 1000 : 0);
    result.deliveriesPerS = result.delivered / span;
    result.perSecond = perSecond.slice(0, Math.ceil(span));
    result.medianSecondDeliveries = median(perSecond.slice(0, o.duration));
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
    result.windowSeconds = (end - start) / 1000;
    result.serverCpuPct = ((cpu1 - cpu0) / (end - start)) * 100;
    result.redisCpuPct = ((redisCpu1 - redisCpu0) / (end - start)) * 100;
    result.clientCpuPct = ((clientCpu.user + clientCpu.system) / 1000 / (end - start)) * 100;
    result.cpuUsPerDelivery = deliveries > 0 ? ((cpu1 - cpu0) * 1000) / deliveries : NaN;
  }
}

function emptyResult(target: BenchTarget, viewers: number): ScenarioResult {
  return {
    kind: target.kind,
    label: target.label,
    error: null,
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
    serverCpuPct: NaN,
    redisCpuPct: NaN,
    clientCpuPct: NaN,
    cpuUsPerDelivery: NaN,
    windowSeconds: 0,
  };
}
