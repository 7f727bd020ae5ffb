import { performance } from 'node:perf_hooks';
import { EventScanner } from './EventScanner.js';
import { LatencyHistogram } from './LatencyHistogram.js';
import { Viewer, type ServerKind, type ViewerSink } from './Viewer.js';
import { encodeClientFrame } from '../../protocol/index.js';

/** Slots of the shared progress array, per worker. */
export const PROGRESS_SLOTS = 4;
export const P_DELIVERED = 0;
export const P_JOINED = 1;
export const P_FAILED = 2;
export const P_CLOSED = 3;

/** Slots of the shared control array (Float64). */
export const C_T0 = 0;

/**
 * What a worker's viewers are for: `bulk` viewers make the load (most of the room),
 * `probe` viewers (a few, in their own lightly loaded thread) measure latency.
 * Both join, receive and are checked the same way and count in every total.
 */
export type ViewerRole = 'bulk' | 'probe';

/** What a viewer worker is started with. */
export interface ViewerWorkerData {
  workerIndex: number;
  role: ViewerRole;
  /**
   * Paces this worker's joins against other workers: viewer j connects only once
   * the workers listed here have settled about (j + 0.5) x pacedTotal / paths.length
   * viewers, so that probes sit spread through the room's join order (and thus
   * through the server's fan-out order) instead of all first or all last.
   * Empty: no pacing.
   */
  paceAfter: number[];
  /** Viewers of the `paceAfter` workers in all. */
  pacedTotal: number;
  kind: ServerKind;
  host: string;
  port: number;
  room: string;
  /** One request path per viewer (Flashcast paths carry the viewer's token). */
  paths: string[];
  /** Connections opening at once in this worker. */
  connectConcurrency: number;
  /** A viewer not in the room after this long counts as failed. */
  joinTimeoutMs: number;
  /** Float64Array: [C_T0] = wall-clock ms when publishing started (0 before). */
  control: SharedArrayBuffer;
  /** Float64Array indexed by sequence number (modulo its length): wall-clock ms the publisher sent it. */
  sendTimes: SharedArrayBuffer;
  /** Int32Array, PROGRESS_SLOTS per worker. */
  progress: SharedArrayBuffer;
  /** Length of the per-second delivery series. */
  seconds: number;
}

/** Main thread to worker. */
export type ToWorker = { type: 'report'; expected: number } | { type: 'step' } | { type: 'close' };

/** What one worker measured. */
export interface WorkerReport {
  type: 'report';
  workerIndex: number;
  role: ViewerRole;
  viewers: number;
  joined: number;
  /** Announcement frames received, duplicates included. */
  deliveries: number;
  /** WebSocket messages received by joined viewers (a batch is one message). */
  messages: number;
  bytes: number;
  /** Sum over joined viewers of max(0, expected - received). */
  lost: number;
  viewersWithLoss: number;
  duplicates: number;
  gapped: number;
  /** Joined viewers whose socket closed before the report. */
  closedEarly: number;
  closeCodes: Record<string, number>;
  /** Deliveries per wall-clock second since publishing started. */
  perSecond: number[];
  /** Wall-clock ms of the last delivery (0 if none). */
  lastDeliveryAt: number;
  histogram: number[];
  histogramMax: number;
  histogramSum: number;
  /** First few distinct failure reasons, with counts. */
  failures: Record<string, number>;
  /** Distinct room offsets viewers joined at (must be one value). */
  baseOffsets: number[];
}

/** Worker to main thread. */
export type FromWorker =
  | { type: 'ready'; workerIndex: number; joined: number; failed: number }
  | { type: 'stepped'; workerIndex: number }
  | WorkerReport
  | { type: 'closed'; workerIndex: number };

/**
 * Drives one worker thread's share of viewers: opens their connections a few at a
 * time, records every delivery (offset check, latency from the publisher's shared
 * send-time table, per-second counts) and reports totals when asked.
 */
export class ViewerDriver implements ViewerSink {
  readonly scanner = new EventScanner();
  readonly #data: ViewerWorkerData;
  readonly #viewers: Viewer[] = [];
  readonly #control: Float64Array;
  readonly #sendTimes: Float64Array;
  readonly #progress: Int32Array;
  readonly #slot: number;
  readonly #perSecond: Int32Array;
  #histogram = new LatencyHistogram();
  readonly #failures = new Map<string, number>();
  readonly #closeCodes = new Map<string, number>();
  #deliveries = 0;
  #bytes = 0;
  #lastDeliveryAt = 0;
  #next = 0;
  #inFlight = 0;
  #settledCount = 0;
  #joined = 0;
  #failed = 0;
  #pingTimer: NodeJS.Timeout | null = null;
  #paceTimer: NodeJS.Timeout | null = null;
  #onReady: (() => void) | null = null;

  constructor(data: ViewerWorkerData) {
    this.#data = data;
    this.#control = new Float64Array(data.control);
    this.#sendTimes = new Float64Array(data.sendTimes);
    this.#progress = new Int32Array(data.progress);
    this.#slot = data.workerIndex * PROGRESS_SLOTS;
    this.#perSecond = new Int32Array(data.seconds);
  }

  /** Connects every viewer; resolves once each has joined or failed. */
  connectAll(): Promise<{ joined: number; failed: number }> {
    return new Promise((resolve) => {
      this.#onReady = () => resolve({ joined: this.#joined, failed: this.#failed });
      if (this.#data.paths.length === 0) {
        this.#onReady();
        return;
      }
      this.#pump();
    });
  }

  #pump(): void {
    const { paths, connectConcurrency, host, port, kind, room, joinTimeoutMs } = this.#data;
    const allowed = this.#allowedToStart();
    if (allowed < paths.length && this.#paceTimer === null) {
      this.#paceTimer = setInterval(() => this.#pump(), 5);
    } else if (allowed >= paths.length && this.#paceTimer !== null) {
      clearInterval(this.#paceTimer);
      this.#paceTimer = null;
    }
    while (this.#inFlight < connectConcurrency && this.#next < allowed) {
      const index = this.#next++;
      const viewer = new Viewer(index, kind, room, this);
      this.#viewers.push(viewer);
      this.#inFlight++;
      viewer.connect(host, port, paths[index]);
      const timer = setTimeout(() => viewer.fail(`not joined after ${joinTimeoutMs} ms`), joinTimeoutMs);
      timer.unref();
      viewer.joinTimer = timer;
    }
  }

  /** How many of this worker's viewers may have started connecting (see `paceAfter`). */
  #allowedToStart(): number {
    const { paceAfter, pacedTotal, paths } = this.#data;
    if (paceAfter.length === 0 || pacedTotal <= 0) return paths.length;
    let settled = 0;
    for (const w of paceAfter) {
      settled += Atomics.load(this.#progress, w * PROGRESS_SLOTS + P_JOINED) + Atomics.load(this.#progress, w * PROGRESS_SLOTS + P_FAILED);
    }
    if (settled >= pacedTotal) return paths.length;
    return Math.min(paths.length, Math.floor((settled * paths.length) / pacedTotal + 0.5));
  }

  /** @internal ViewerSink */
  delivered(_viewer: Viewer, bytes: number): void {
    const now = performance.timeOrigin + performance.now();
    const seq = this.scanner.seq;
    if (seq >= 0) {
      const sentAt = this.#sendTimes[seq % this.#sendTimes.length];
      if (sentAt > 0) this.#histogram.recordMs(now - sentAt);
    }
    const t0 = this.#control[C_T0];
    if (t0 > 0) {
      const second = Math.floor((now - t0) / 1000);
      if (second >= 0 && second < this.#perSecond.length) this.#perSecond[second]++;
    }
    this.#deliveries++;
    this.#bytes += bytes;
    this.#lastDeliveryAt = now;
    Atomics.store(this.#progress, this.#slot + P_DELIVERED, this.#deliveries);
  }

  /** @internal ViewerSink */
  settled(viewer: Viewer, ok: boolean, reason: string): void {
    if (viewer.joinTimer) clearTimeout(viewer.joinTimer);
    viewer.joinTimer = null;
    this.#inFlight--;
    this.#settledCount++;
    if (ok) {
      this.#joined++;
      Atomics.store(this.#progress, this.#slot + P_JOINED, this.#joined);
      if (viewer.pingIntervalMs > 0 && this.#pingTimer === null) this.#startPings(viewer.pingIntervalMs);
    } else {
      this.#failed++;
      Atomics.store(this.#progress, this.#slot + P_FAILED, this.#failed);
      const key = reason.slice(0, 120);
      if (this.#failures.size < 8 || this.#failures.has(key)) this.#failures.set(key, (this.#failures.get(key) ?? 0) + 1);
    }
    if (this.#settledCount === this.#data.paths.length) this.#onReady?.();
    else this.#pump();
  }

  /** @internal ViewerSink */
  closed(viewer: Viewer, code: number): void {
    Atomics.add(this.#progress, this.#slot + P_CLOSED, 1);
    if (viewer.joined) this.#closeCodes.set(String(code), (this.#closeCodes.get(String(code)) ?? 0) + 1);
  }

  /**
   * Flashcast closes silent sockets: each viewer pings twice per interval the server
   * asked for. Spread over the period (one slice of the viewers every 100 ms), not
   * all at once: a burst of thousands of pings would stall this thread and the server
   * for tens of ms and show up as latency that no real audience produces.
   */
  #startPings(intervalMs: number): void {
    const frame = encodeClientFrame({ v: 1, rid: 0, ping: { clientTime: 0 } });
    const tickMs = 100;
    const slices = Math.max(1, Math.round(Math.max(1000, Math.floor(intervalMs / 2)) / tickMs));
    let slice = 0;
    this.#pingTimer = setInterval(() => {
      const viewers = this.#viewers;
      for (let i = slice; i < viewers.length; i += slices) {
        const viewer = viewers[i];
        if (viewer.joined && !viewer.closed) viewer.sendBinary(frame);
      }
      slice = (slice + 1) % slices;
    }, tickMs);
    this.#pingTimer.unref();
  }

  /**
   * Starts a new step of a saturation run: the counts, latencies and per-second series start
   * again from zero; each viewer's offset check goes on where it is.
   */
  startStep(): void {
    for (const viewer of this.#viewers) {
      viewer.stepBase.received = viewer.received;
      viewer.stepBase.duplicates = viewer.duplicates;
      viewer.stepBase.gapped = viewer.gapped;
      viewer.stepBase.messages = viewer.messages;
    }
    this.#histogram = new LatencyHistogram();
    this.#perSecond.fill(0);
    this.#deliveries = 0;
    this.#bytes = 0;
    this.#lastDeliveryAt = 0;
    Atomics.store(this.#progress, this.#slot + P_DELIVERED, 0);
  }

  /** Totals since the step began, given how many announcements each viewer should have received in it. */
  report(expected: number): WorkerReport {
    let lost = 0;
    let viewersWithLoss = 0;
    let duplicates = 0;
    let gapped = 0;
    let closedEarly = 0;
    let messages = 0;
    const bases = new Set<number>();
    for (const viewer of this.#viewers) {
      if (!viewer.joined) continue;
      bases.add(viewer.baseOffset);
      const missing = Math.max(0, expected - (viewer.received - viewer.stepBase.received));
      lost += missing;
      if (missing > 0) viewersWithLoss++;
      duplicates += viewer.duplicates - viewer.stepBase.duplicates;
      gapped += viewer.gapped - viewer.stepBase.gapped;
      messages += viewer.messages - viewer.stepBase.messages;
      if (viewer.closed) closedEarly++;
    }
    return {
      type: 'report',
      workerIndex: this.#data.workerIndex,
      role: this.#data.role,
      viewers: this.#viewers.length,
      joined: this.#joined,
      deliveries: this.#deliveries,
      messages,
      bytes: this.#bytes,
      lost,
      viewersWithLoss,
      duplicates,
      gapped,
      closedEarly,
      closeCodes: Object.fromEntries(this.#closeCodes),
      perSecond: Array.from(this.#perSecond),
      lastDeliveryAt: this.#lastDeliveryAt,
      histogram: Array.from(this.#histogram.counts),
      histogramMax: this.#histogram.max,
      histogramSum: this.#histogram.sumUs,
      failures: Object.fromEntries(this.#failures),
      baseOffsets: [...bases].slice(0, 8),
    };
  }

  /** Closes every connection; resolves when all sockets are gone (or after 5 s). */
  async close(): Promise<void> {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    if (this.#paceTimer) clearInterval(this.#paceTimer);
    for (const viewer of this.#viewers) viewer.close();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && this.#viewers.some((v) => !v.closed)) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
