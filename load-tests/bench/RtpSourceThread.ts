import { Worker } from 'node:worker_threads';
import type { Vp8RtpSourceOptions } from './Vp8RtpSource.js';

/**
 * A Vp8RtpSource in a worker thread of its own (rtp-source-worker.ts), so that its pacing never
 * waits for the benchmark's event loop (which parses the worker pool's notifications for
 * thousands of consumers). Its packet counts are shared memory, read at once.
 */
export class RtpSourceThread {
  readonly #worker: Worker;
  readonly #counters: Float64Array;
  readonly #ssrcs: number[];
  readonly #perFrame: number[];
  #closed = false;

  private constructor(worker: Worker, counters: Float64Array, ssrcs: number[], perFrame: number[]) {
    this.#worker = worker;
    this.#counters = counters;
    this.#ssrcs = ssrcs;
    this.#perFrame = perFrame;
  }

  /** Starts the thread; resolves once it sends. */
  static async create(options: Omit<Vp8RtpSourceOptions, 'counters'>): Promise<RtpSourceThread> {
    const shared = new SharedArrayBuffer(8 * options.layers.length);
    const worker = new Worker(new URL('./rtp-source-worker.js', import.meta.url), { workerData: { options, shared } });
    const perFrame = await new Promise<number[]>((resolve, reject) => {
      worker.once('message', (message: { perFrame: number[] }) => resolve(message.perFrame));
      worker.once('error', reject);
    });
    return new RtpSourceThread(worker, new Float64Array(shared), options.layers.map((l) => l.ssrc), perFrame);
  }

  /** RTP packets of the layer with this SSRC sent so far. */
  sent(ssrc: number): number {
    return this.#counters[this.#ssrcs.indexOf(ssrc)];
  }

  /** Packets per frame of the layer with this SSRC. */
  packetsPerFrame(ssrc: number): number {
    return this.#perFrame[this.#ssrcs.indexOf(ssrc)] ?? 1;
  }

  /** Stops the thread. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#worker.terminate();
  }
}
