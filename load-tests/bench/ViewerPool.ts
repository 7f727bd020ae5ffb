import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import {
  C_T0,
  P_CLOSED,
  P_DELIVERED,
  P_FAILED,
  P_JOINED,
  PROGRESS_SLOTS,
  type FromWorker,
  type ToWorker,
  type ViewerRole,
  type ViewerWorkerData,
  type WorkerReport,
} from './ViewerDriver.js';
import type { ServerKind } from './Viewer.js';

/** How to reach the server under test and join its room. */
export interface ViewerPoolOptions {
  kind: ServerKind;
  host: string;
  port: number;
  room: string;
  /** One request path per viewer. */
  paths: string[];
  /** Bulk worker threads (the load). */
  workers: number;
  /**
   * How many of the viewers (the last `probes` paths) are latency probes, in one
   * extra worker thread of their own; 0 for none.
   */
  probes: number;
  connectConcurrency: number;
  joinTimeoutMs: number;
  /** Shared with the publisher: send time per sequence number. */
  sendTimes: SharedArrayBuffer;
  /** Length of the per-second series (publish duration + drain + slack). */
  seconds: number;
}

/** Live counters read from shared memory while the scenario runs. */
export interface PoolProgress {
  delivered: number;
  joined: number;
  failed: number;
  closed: number;
}

/**
 * The viewers of one scenario, spread over worker threads so that receiving and
 * checking 100k deliveries/s does not share the publisher's event loop.
 */
export class ViewerPool {
  readonly #workers: Worker[];
  /** Role of each worker, by index. */
  readonly roles: ViewerRole[];
  #windowStart: EventLoopUtilization[] | null = null;
  #windowElu: number[] | null = null;
  readonly #control: Float64Array;
  readonly #progress: Int32Array;
  #closed = false;
  /** Viewers in the room, per worker, once create() resolved. */
  readonly joinedPerWorker: number[];

  private constructor(workers: Worker[], roles: ViewerRole[], control: SharedArrayBuffer, progress: SharedArrayBuffer) {
    this.#workers = workers;
    this.roles = roles;
    this.#control = new Float64Array(control);
    this.#progress = new Int32Array(progress);
    this.joinedPerWorker = workers.map(() => 0);
  }

  /** Starts the workers and resolves once every viewer has joined or failed. */
  static async create(options: ViewerPoolOptions): Promise<ViewerPool> {
    const probes = Math.max(0, Math.min(options.probes, options.paths.length - 1));
    const bulkPaths = options.paths.slice(0, options.paths.length - probes);
    const probePaths = options.paths.slice(options.paths.length - probes);
    const bulkCount = Math.max(1, Math.min(options.workers, bulkPaths.length || 1));
    const count = bulkCount + (probes > 0 ? 1 : 0);
    const control = new SharedArrayBuffer(8 * 4);
    const progress = new SharedArrayBuffer(4 * PROGRESS_SLOTS * count);
    const workers: Worker[] = [];
    const roles: ViewerRole[] = [];
    const bulkIndices = Array.from({ length: bulkCount }, (_, w) => w);
    for (let w = 0; w < count; w++) {
      const role: ViewerRole = w < bulkCount ? 'bulk' : 'probe';
      const data: ViewerWorkerData = {
        workerIndex: w,
        role,
        // Probes join interleaved with the bulk (see ViewerWorkerData.paceAfter).
        paceAfter: role === 'probe' ? bulkIndices : [],
        pacedTotal: role === 'probe' ? bulkPaths.length : 0,
        kind: options.kind,
        host: options.host,
        port: options.port,
        room: options.room,
        paths: role === 'probe' ? probePaths : bulkPaths.filter((_, i) => i % bulkCount === w),
        connectConcurrency: options.connectConcurrency,
        joinTimeoutMs: options.joinTimeoutMs,
        control,
        sendTimes: options.sendTimes,
        progress,
        seconds: options.seconds,
      };
      workers.push(new Worker(new URL('./viewer-worker.js', import.meta.url), { workerData: data }));
      roles.push(role);
    }
    const pool = new ViewerPool(workers, roles, control, progress);
    try {
      // Joining is bounded per viewer (joinTimeoutMs); allow for the connect queue.
      await pool.#collect('ready', undefined, options.joinTimeoutMs + options.paths.length * 20 + 30_000);
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    return pool;
  }

  /** Marks the start of publishing (per-second series are relative to it). */
  markStart(wallClockMs: number): void {
    this.#control[C_T0] = wallClockMs;
  }

  /**
   * Starts (`start`) or ends (`end`) the measured window of each worker's event-loop
   * utilisation: the share of the window a worker was busy rather than waiting in
   * epoll. Near 100 % means the load generator itself was saturated.
   */
  markWindow(edge: 'start' | 'end'): void {
    const now = this.#workers.map((w) => w.performance.eventLoopUtilization());
    if (edge === 'start') {
      this.#windowStart = now;
    } else if (this.#windowStart) {
      const start = this.#windowStart;
      this.#windowElu = now.map((elu, i) => this.#workers[i].performance.eventLoopUtilization(elu, start[i]).utilization);
    }
  }

  /** Event-loop utilisation (0..1) of each worker over the marked window, by worker index. */
  windowElu(): number[] {
    return this.#windowElu ?? this.#workers.map(() => NaN);
  }

  /** Current shared counters, summed over workers. */
  progress(): PoolProgress {
    const sum = { delivered: 0, joined: 0, failed: 0, closed: 0 };
    for (let w = 0; w < this.#workers.length; w++) {
      const base = w * PROGRESS_SLOTS;
      sum.delivered += Atomics.load(this.#progress, base + P_DELIVERED);
      sum.joined += Atomics.load(this.#progress, base + P_JOINED);
      sum.failed += Atomics.load(this.#progress, base + P_FAILED);
      sum.closed += Atomics.load(this.#progress, base + P_CLOSED);
    }
    return sum;
  }

  /** Starts a new step of a saturation run in every worker (counts from zero; offsets go on). */
  async startStep(): Promise<void> {
    await this.#collect('stepped', { type: 'step' }, 10_000);
  }

  /** Asks each worker for its totals since the step began. */
  async report(expected: number): Promise<WorkerReport[]> {
    const replies = await this.#collect('report', { type: 'report', expected }, 30_000);
    return replies as WorkerReport[];
  }

  /** Closes every viewer and ends the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#collect('closed', { type: 'close' }, 10_000).catch(() => undefined);
    } finally {
      await Promise.all(this.#workers.map((w) => w.terminate()));
    }
  }

  /** Sends `request` (if any) to every worker and waits (bounded) for one `type` reply from each. */
  #collect(type: FromWorker['type'], request: ToWorker | undefined, timeoutMs: number): Promise<FromWorker[]> {
    return new Promise((resolve, reject) => {
      const replies: FromWorker[] = new Array(this.#workers.length);
      let left = this.#workers.length;
      const timer = setTimeout(() => done(new Error(`viewer workers: no '${type}' from every worker within ${timeoutMs} ms`)), timeoutMs);
      const cleanups: (() => void)[] = [() => clearTimeout(timer)];
      let settled = false;
      const done = (error?: Error): void => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        if (error) reject(error);
        else resolve(replies);
      };
      this.#workers.forEach((worker, w) => {
        const onMessage = (message: FromWorker): void => {
          if (message.type !== type) return;
          replies[w] = message;
          if (message.type === 'ready') this.joinedPerWorker[w] = message.joined;
          if (--left === 0) done();
        };
        const onError = (error: Error): void => {
          done(new Error(`viewer worker ${w} failed: ${error.message}`));
        };
        const onExit = (code: number): void => {
          if (type !== 'closed') done(new Error(`viewer worker ${w} exited with code ${code}`));
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        cleanups.push(() => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        });
        if (request) worker.postMessage(request);
      });
    });
  }
}
