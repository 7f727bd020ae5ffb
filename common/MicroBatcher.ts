import { logger } from './logger.js';

const log = logger('MicroBatcher');

export interface MicroBatcherOptions {
  /** Most items in one batch (default 100). */
  maxBatch: number;
  /** Most batches running at once (default 2): while they run, new items gather into the next batch. */
  maxInFlight: number;
  /**
   * When a batch of several items fails, run each item alone so one bad item cannot fail the
   * others (default true). Use when `run` is atomic per batch (one statement or transaction).
   */
  isolateFailures: boolean;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for concurrent callers: items submitted in the same event-loop turn (or while
 * earlier batches run) go to `run` together, and each caller gets its own result or error.
 * `run` receives the items and resolves to one output per item, in order.
 */
export class MicroBatcher<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #options: MicroBatcherOptions;
  #queue: Pending<I, O>[] = [];
  #scheduled = false;
  #inFlight = 0;
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(run: (items: I[]) => Promise<O[]>, options: Partial<MicroBatcherOptions> = {}) {
    this.#run = run;
    this.#options = { maxBatch: 100, maxInFlight: 2, isolateFailures: true, ...options };
    if (this.#options.maxBatch < 1 || this.#options.maxInFlight < 1) throw new TypeError('maxBatch and maxInFlight must be >= 1');
  }

  /** Adds one item; resolves to its output once its batch has run. */
  submit(item: I): Promise<O> {
    if (this.#closed) return Promise.reject(new Error('MicroBatcher closed'));
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Waits for every submitted item. Later submits are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#queue.length > 0 || this.#running.size > 0) {
      this.#drain();
      await Promise.allSettled([...this.#running]);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#options.maxInFlight) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#inFlight++;
      const p = this.#runBatch(batch).finally(() => {
        this.#inFlight--;
        this.#running.delete(p);
        if (this.#queue.length > 0) this.#schedule();
      });
      this.#running.add(p);
    }
  }

  async #runBatch(batch: Pending<I, O>[]): Promise<void> {
    let outputs: O[];
    try {
      outputs = await this.#run(batch.map((p) => p.item));
      if (outputs.length !== batch.length) throw new Error(`batch returned ${outputs.length} results for ${batch.length} items`);
    } catch (error) {
      if (batch.length === 1 || !this.#options.isolateFailures) {
        for (const p of batch) p.reject(error);
        return;
      }
      log.warn({ err: error, items: batch.length }, 'batch failed: running its items one by one');
      await Promise.all(batch.map(async (p) => {
        try {
          const [out] = await this.#run([p.item]);
          p.resolve(out);
        } catch (e) {
          p.reject(e);
        }
      }));
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i].resolve(outputs[i]);
  }
}
