import { readFile } from 'node:fs/promises';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { mediasoup, type types } from './mediasoup.js';

const log = logger('WorkerPool');

/** One mediasoup worker and what it carries. */
export interface PoolWorker {
  readonly index: number;
  readonly worker: types.Worker;
  /** Consumers on this worker's routers (kept by the routers' owners). */
  consumers: number;
  routers: number;
}

export type WorkerPoolEvents = {
  /** A worker died; its routers are gone. A replacement is being started. */
  workerdied: [PoolWorker, Error];
  close: [];
};

export interface WorkerPoolOptions {
  size: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel?: types.WorkerLogLevel;
}

/**
 * The mediasoup workers of this process, one per core: picks the least-loaded
 * worker for a new router, replaces a worker that dies and tells the owners of
 * its routers (event `workerdied`).
 */
export class WorkerPool extends EnhancedEventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #workers: PoolWorker[] = [];
  #closed = false;

  private constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
  }

  /** Starts `size` workers; the port range is split evenly between them. */
  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    if (!Number.isInteger(options.size) || options.size < 1) throw new TypeError('size must be a positive integer');
    if (options.rtcMaxPort - options.rtcMinPort + 1 < options.size * 10) throw new TypeError('port range too small for the workers');
    const pool = new WorkerPool(options);
    try {
      for (let i = 0; i < options.size; i++) pool.#workers.push(await pool.#spawn(i));
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  get workers(): readonly PoolWorker[] {
    return this.#workers;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The live worker with the fewest consumers (then routers); `exclude` workers are skipped if possible. */
  leastLoaded(exclude: ReadonlySet<PoolWorker> = new Set()): PoolWorker {
    const alive = this.#workers.filter((w) => !w.worker.closed);
    if (alive.length === 0) throw new Error('no live mediasoup worker');
    const candidates = alive.filter((w) => !exclude.has(w));
    const list = candidates.length > 0 ? candidates : alive;
    return list.reduce((best, w) => (w.consumers < best.consumers || (w.consumers === best.consumers && w.routers < best.routers) ? w : best));
  }

  /**
   * CPU time (user + system, ms) per worker, for load metrics: from /proc on Linux
   * (clock ticks of 10 ms), else the worker's getrusage.
   */
  async cpuTimes(): Promise<{ index: number; pid: number; cpuMs: number }[]> {
    return Promise.all(
      this.#workers
        .filter((w) => !w.worker.closed)
        .map(async (w) => {
          try {
            const stat = await readFile(`/proc/${w.worker.pid}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            return { index: w.index, pid: w.worker.pid, cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
          } catch {
            const ru = await w.worker.getResourceUsage();
            return { index: w.index, pid: w.worker.pid, cpuMs: ru.ru_utime + ru.ru_stime };
          }
        }),
    );
  }

  /** Closes every worker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#workers) w.worker.close();
    this.#workers.length = 0;
    this.safeEmit('close');
  }

  async #spawn(index: number): Promise<PoolWorker> {
    const { rtcMinPort, rtcMaxPort, size } = this.#options;
    const span = Math.floor((rtcMaxPort - rtcMinPort + 1) / size);
    const worker = await mediasoup.createWorker({
      logLevel: this.#options.logLevel ?? 'warn',
      rtcMinPort: rtcMinPort + index * span,
      rtcMaxPort: rtcMinPort + (index + 1) * span - 1,
    });
    const entry: PoolWorker = { index, worker, consumers: 0, routers: 0 };
    worker.on('died', (error) => void this.#onDied(entry, error));
    log.info({ index, pid: worker.pid }, 'mediasoup worker started');
    return entry;
  }

  async #onDied(entry: PoolWorker, error: Error): Promise<void> {
    if (this.#closed) return;
    log.error({ index: entry.index, pid: entry.worker.pid, err: error.message }, 'mediasoup worker died');
    this.safeEmit('workerdied', entry, error);
    for (let attempt = 0; attempt < 5 && !this.#closed; attempt++) {
      try {
        const replacement = await this.#spawn(entry.index);
        if (this.#closed) {
          replacement.worker.close();
          return;
        }
        this.#workers[this.#workers.indexOf(entry)] = replacement;
        log.info({ index: entry.index, pid: replacement.worker.pid }, 'mediasoup worker replaced');
        return;
      } catch (err) {
        log.error({ index: entry.index, err }, 'could not replace mediasoup worker');
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
  }
}
