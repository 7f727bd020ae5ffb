/**
 * The slow-consumer policy: watches every socket's send buffer; a socket over `laggingBytes`
 * stops getting droppable chat until it drains, one over `maxBackpressure` is closed (4001)
 * and resumes from its offset. The one writer of `SocketData.lagging`.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CloseCode } from '../../protocol/index.js';
import { logger } from '../../common/logger.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import type { RoomMembership } from './RoomMembership.js';
import type { SocketData } from './SocketData.js';
import type { SocketSender } from './SocketSender.js';

const log = logger('SlowConsumerPolicy');

/** Every this many sweeps, every socket is checked; in between only the suspects. */
const FULL_SWEEP_EVERY = 2;

export interface SlowConsumerPolicyOptions {
  /** Send buffer above which a socket stops getting chat; below a quarter of it, it gets chat again. */
  laggingBytes: number;
  /** Send buffer above which a socket is closed (4001). */
  maxBackpressure: number;
  /** How often send buffers are looked at. */
  sweepMs: number;
  membership: RoomMembership;
  sender: SocketSender;
  metrics: GatewayMetrics;
}

/** Keeps slow sockets from holding anything up: drop their chat, then close them. */
export class SlowConsumerPolicy {
  readonly #options: SlowConsumerPolicyOptions;
  readonly #sockets = new Set<WebSocket<SocketData>>();
  /** Sockets with a backed-up send buffer, checked every sweep (the rest every FULL_SWEEP_EVERY). */
  readonly #suspects = new Set<WebSocket<SocketData>>();
  readonly #timer: NodeJS.Timeout;
  #sweeps = 0;
  #closed = false;

  constructor(options: SlowConsumerPolicyOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#sweep(), options.sweepMs);
    this.#timer.unref();
  }

  /** Starts watching an open socket. */
  watch(ws: WebSocket<SocketData>): void {
    this.#sockets.add(ws);
  }

  /** Stops watching a closed socket. */
  forget(ws: WebSocket<SocketData>): void {
    this.#sockets.delete(ws);
    this.#suspects.delete(ws);
    if (ws.getUserData().lagging) this.#options.metrics.laggingConnections.dec();
  }

  /** The socket's send buffer drained (uWS `drain`): a lagging one gets chat again once low enough. */
  drained(ws: WebSocket<SocketData>): void {
    if (ws.getUserData().lagging && ws.getBufferedAmount() < this.#options.laggingBytes / 4) this.#setLagging(ws, false);
  }

  /** Stops the sweep. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#sockets.clear();
    this.#suspects.clear();
  }

  /**
   * Every sweep checks the sockets already backed up; every FULL_SWEEP_EVERY sweeps it
   * checks every socket to find new ones.
   */
  #sweep(): void {
    const full = this.#sweeps++ % FULL_SWEEP_EVERY === 0;
    const closeAt = this.#options.maxBackpressure;
    const lagAt = this.#options.laggingBytes;
    for (const ws of full ? this.#sockets : this.#suspects) {
      if (ws.getUserData().closed) {
        this.#suspects.delete(ws);
        continue;
      }
      const buffered = ws.getBufferedAmount();
      if (buffered > closeAt) {
        this.#suspects.delete(ws);
        this.#options.metrics.backpressureCloses.inc();
        log.debug({ sessionId: ws.getUserData().sessionId, buffered }, 'closing slow consumer');
        this.#options.sender.disconnect(ws, CloseCode.SlowConsumer, 'too slow for critical messages, reconnect and resume', true);
        continue;
      }
      if (buffered > lagAt) this.#setLagging(ws, true);
      else if (buffered < lagAt / 4) this.#setLagging(ws, false);
      if (buffered > lagAt / 8 || ws.getUserData().lagging) this.#suspects.add(ws);
      else this.#suspects.delete(ws);
    }
  }

  /** Lagging sockets leave the droppable (chat) topics until their buffer drains. */
  #setLagging(ws: WebSocket<SocketData>, lagging: boolean): void {
    const data = ws.getUserData();
    if (data.lagging === lagging || data.closed) return;
    data.lagging = lagging;
    this.#options.metrics.laggingConnections.inc(lagging ? 1 : -1);
    if (lagging) {
      const paused = this.#options.membership.pauseChat(ws);
      if (paused > 0) this.#options.metrics.dropped.inc({ reason: 'lagging' }, paused);
    } else {
      this.#options.membership.resumeChat(ws);
    }
  }
}
