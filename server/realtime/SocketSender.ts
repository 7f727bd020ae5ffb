/**
 * Sends frames to one socket: a server frame, encoded frames in order (packed into one batch
 * for a socket that takes batches), an Error frame (from a code or a thrown error), or a
 * Disconnect frame followed by the close. Every part that answers a socket uses it; none of
 * them touches `ws.send` otherwise.
 */
import type { WebSocket } from 'uWebSockets.js';
import { ErrorCode, encodeServerBatch, encodeServerFrame, type flashcast } from '../../protocol/index.js';
import { FlashcastError } from '../../common/errors.js';
import { logger } from '../../common/logger.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import type { SocketData } from './SocketData.js';

const log = logger('SocketSender');

/** Writes frames to single sockets; a closed socket is skipped. */
export class SocketSender {
  readonly #metrics: GatewayMetrics;

  constructor(metrics: GatewayMetrics) {
    this.#metrics = metrics;
  }

  /** Encodes and sends one frame. */
  send(ws: WebSocket<SocketData>, frame: flashcast.IServerFrame): void {
    if (ws.getUserData().closed) return;
    ws.cork(() => ws.send(encodeServerFrame(frame), true));
  }

  /**
   * Sends encoded frames in order: as one message (a batch) when `batch` is set and there are
   * several, else one message each. Call inside the socket's cork when more follows.
   */
  sendEncoded(ws: WebSocket<SocketData>, frames: readonly Uint8Array[], batch: boolean): void {
    if (ws.getUserData().closed || frames.length === 0) return;
    if (batch && frames.length > 1) {
      ws.send(encodeServerBatch(frames), true);
      return;
    }
    for (const frame of frames) ws.send(frame, true);
  }

  /** Sends an Error frame answering request `rid` (0: not a reply). */
  sendError(ws: WebSocket<SocketData>, rid: number, code: string, message: string, room = '', retryAfterMs = 0): void {
    this.#metrics.errors.inc({ code });
    this.send(ws, { rid, error: { code, message, room, retryAfterMs } });
  }

  /** Sends a thrown error as an Error frame: its code, or INTERNAL (logged) for anything else. */
  sendFailure(ws: WebSocket<SocketData>, rid: number, error: unknown, room = ''): void {
    if (error instanceof FlashcastError) {
      this.sendError(ws, rid, error.code, error.message, room, error.retryAfterMs);
      return;
    }
    log.error({ err: error, sessionId: ws.getUserData().sessionId }, 'request failed');
    this.sendError(ws, rid, ErrorCode.Internal, 'internal error', room);
  }

  /** Sends a Disconnect frame, then closes with the code. */
  disconnect(ws: WebSocket<SocketData>, code: number, reason: string, reconnect: boolean): void {
    if (ws.getUserData().closed) return;
    ws.cork(() => {
      this.send(ws, { disconnect: { code, reason, reconnect } });
      ws.end(code, reason);
    });
  }
}
