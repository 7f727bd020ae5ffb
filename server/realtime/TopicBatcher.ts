/**
 * Packs the frames published to a uWS topic within a short window into one WebSocket message
 * (`ServerFrame{batch}`) for the sockets that asked for batches, so that a room's busy second
 * costs each viewer a few sends instead of one per frame; sockets that did not ask get every
 * frame alone on the topic's single-frame twin.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { encodeServerBatch } from '../../protocol/index.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';

/**
 * A batch is sent as soon as it holds this many bytes, window or not: under overload (a node far
 * behind) messages stay a reasonable size for clients and for the sockets' send buffers.
 */
export const MAX_BATCH_BYTES = 64 * 1024;

/** A topic with frames waiting, or within the window after its last message. */
interface PendingTopic {
  readonly topic: string;
  /** The single-frame twin: where sockets without batches listen. */
  readonly single: string;
  frames: Uint8Array[];
  /** Bytes of `frames`. */
  bytes: number;
  /** Queued to go at the end of this event-loop turn. */
  due: boolean;
  /** Running from the last message: frames arriving meanwhile wait for its end. */
  timer: NodeJS.Timeout | null;
}

/**
 * Publishes frames to uWS topics, packing those of one topic within `windowMs` into one
 * message. A topic quiet for a window sends its next frame at the end of the current
 * event-loop turn (with whatever else that turn published to it); after that, one message per
 * window (or sooner, once MAX_BATCH_BYTES wait), so no frame waits longer than the window.
 * Order within a topic is kept; nothing is dropped. `windowMs` 0: every frame is published
 * alone, at once.
 */
export class TopicBatcher {
  /** How long a frame may wait to be packed with others (0: never). */
  readonly windowMs: number;
  readonly #app: TemplatedApp;
  readonly #metrics: GatewayMetrics | null;
  readonly #topics = new Map<string, PendingTopic>();
  #due: PendingTopic[] = [];
  #immediate: NodeJS.Immediate | null = null;
  readonly #onWindowEnd = (pending: PendingTopic): void => {
    pending.timer = null;
    this.#send(pending);
  };
  #closed = false;

  constructor(app: TemplatedApp, windowMs: number, metrics: GatewayMetrics | null = null) {
    if (!Number.isInteger(windowMs) || windowMs < 0) throw new TypeError('windowMs must be an integer >= 0');
    this.#app = app;
    this.windowMs = windowMs;
    this.#metrics = metrics;
  }

  /**
   * The uWS topic a socket subscribes to for `topic`: the topic itself for a socket that
   * takes batches (or when nothing is batched), else its single-frame twin.
   */
  topicFor(topic: string, batching: boolean): string {
    return this.windowMs === 0 || batching ? topic : `s/${topic}`;
  }

  /** Publishes an encoded ServerFrame to every subscriber of `topic`, packed or alone. */
  publish(topic: string, frame: Uint8Array): void {
    if (this.windowMs === 0 || this.#closed) {
      this.#app.publish(topic, frame, true);
      return;
    }
    let pending = this.#topics.get(topic);
    if (!pending) {
      pending = { topic, single: `s/${topic}`, frames: [], bytes: 0, due: false, timer: null };
      this.#topics.set(topic, pending);
    }
    this.#app.publish(pending.single, frame, true);
    pending.frames.push(frame);
    pending.bytes += frame.length;
    if (pending.bytes >= MAX_BATCH_BYTES) this.#publish(pending);
    else if (!pending.due && pending.timer === null) this.#queue(pending);
  }

  /**
   * Sends what waits for `topic` now. Before a socket subscribes or leaves, so that what was
   * published before reaches exactly the sockets that were subscribed then.
   */
  flush(topic: string): void {
    const pending = this.#topics.get(topic);
    if (pending && pending.frames.length > 0) this.#publish(pending);
  }

  /** Topics with frames waiting or within their window (for tests and metrics). */
  get pendingTopics(): number {
    return this.#topics.size;
  }

  /** Sends everything waiting; later frames are published alone, at once. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.#due = [];
    for (const pending of this.#topics.values()) {
      if (pending.timer) clearTimeout(pending.timer);
      if (pending.frames.length > 0) this.#publish(pending);
    }
    this.#topics.clear();
  }

  /** Sends the topic at the end of this event-loop turn (all that the turn publishes to it). */
  #queue(pending: PendingTopic): void {
    pending.due = true;
    this.#due.push(pending);
    this.#immediate ??= setImmediate(() => {
      this.#immediate = null;
      const due = this.#due;
      this.#due = [];
      for (const p of due) {
        p.due = false;
        this.#send(p);
      }
    });
  }

  /** At the end of a turn or a window: send what waits and start a window, or forget a quiet topic. */
  #send(pending: PendingTopic): void {
    if (pending.frames.length === 0) {
      if (this.#topics.get(pending.topic) === pending) this.#topics.delete(pending.topic);
      return;
    }
    this.#publish(pending);
    pending.timer = setTimeout(this.#onWindowEnd, this.windowMs, pending);
  }

  #publish(pending: PendingTopic): void {
    const frames = pending.frames;
    pending.frames = [];
    pending.bytes = 0;
    if (frames.length === 1) {
      this.#app.publish(pending.topic, frames[0], true);
      return;
    }
    this.#app.publish(pending.topic, encodeServerBatch(frames), true);
    this.#metrics?.batches.inc();
    this.#metrics?.batchedFrames.inc(frames.length);
  }
}
