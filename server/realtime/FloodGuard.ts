/**
 * Per-socket rate limits: the frame, chat, reaction and join token buckets, the flood rule
 * (sustained frame-rate violations close with 4004) and the bad-frame rule (too many
 * undecodable frames close with 4503). Limits come from the config.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CloseCode, ErrorCode } from '../../protocol/index.js';
import type { Principal } from '../../common/auth/TokenService.js';
import type { TokenRate } from '../../common/config.js';
import { RateLimitedError } from '../../common/errors.js';
import { TokenBucket } from '../../common/TokenBucket.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import type { SocketData, SocketLimits } from './SocketData.js';
import type { SocketSender } from './SocketSender.js';

/** Roles whose sockets get the staff chat rate (a room's host, its moderators, ops). */
const STAFF_ROLES: ReadonlySet<string> = new Set(['host', 'moderator', 'ops']);

export interface FloodGuardOptions {
  frameRate: TokenRate;
  chatRate: TokenRate;
  staffChatRate: TokenRate;
  reactRate: TokenRate;
  joinRate: TokenRate;
  badFramesBeforeClose: number;
  floodViolations: number;
  floodWindowMs: number;
  sender: SocketSender;
  metrics: GatewayMetrics;
}

/** The rate-limited kinds besides the frame rate itself. */
export type RateLimitedKind = 'chat' | 'react' | 'join';

const TOO_FAST: Record<RateLimitedKind, string> = {
  chat: 'sending chat too fast',
  react: 'reacting too fast',
  join: 'joining too fast',
};

/** Keeps each socket within its rates and closes the ones that flood or speak garbage; the one writer of `SocketData.limits`. */
export class FloodGuard {
  readonly #options: FloodGuardOptions;

  constructor(options: FloodGuardOptions) {
    this.#options = options;
  }

  /** Fresh limits for a new socket (staff get the staff chat rate). */
  limitsFor(principal: Principal | null): SocketLimits {
    const o = this.#options;
    const chat = principal && STAFF_ROLES.has(principal.role) ? o.staffChatRate : o.chatRate;
    return {
      frames: bucket(o.frameRate),
      chat: bucket(chat),
      react: bucket(o.reactRate),
      join: bucket(o.joinRate),
      violations: 0,
      violationWindowStart: 0,
      badFrames: 0,
    };
  }

  /**
   * Takes a token of the socket's frame rate. Over it, answers RATE_LIMITED, or closes the
   * socket (4004) after `floodViolations` violations within `floodWindowMs`; returns false.
   */
  admitFrame(ws: WebSocket<SocketData>): boolean {
    const limits = ws.getUserData().limits;
    if (limits.frames.take()) return true;
    const now = Date.now();
    if (now - limits.violationWindowStart > this.#options.floodWindowMs) {
      limits.violationWindowStart = now;
      limits.violations = 0;
    }
    if (++limits.violations > this.#options.floodViolations) {
      this.#options.sender.disconnect(ws, CloseCode.Flood, 'flooding: sustained rate-limit violations', true);
    } else {
      this.#options.sender.sendError(ws, 0, ErrorCode.RateLimited, 'too many frames', '', limits.frames.retryAfterMs());
    }
    return false;
  }

  /** Takes a token of the socket's chat, reaction or join rate; throws RateLimitedError over it. */
  take(ws: WebSocket<SocketData>, kind: RateLimitedKind): void {
    const limit = ws.getUserData().limits[kind];
    if (!limit.take()) throw new RateLimitedError(limit.retryAfterMs(), ErrorCode.RateLimited, TOO_FAST[kind]);
  }

  /** Answers an undecodable frame (BAD_FRAME); after `badFramesBeforeClose` of them closes with 4503. */
  badFrame(ws: WebSocket<SocketData>, message: string): void {
    const limits = ws.getUserData().limits;
    this.#options.metrics.framesIn.inc({ type: 'invalid' });
    if (++limits.badFrames > this.#options.badFramesBeforeClose) {
      this.#options.sender.disconnect(ws, CloseCode.ProtocolViolation, 'too many invalid frames', false);
      return;
    }
    this.#options.sender.sendError(ws, 0, ErrorCode.BadFrame, message);
  }
}

function bucket(rate: TokenRate): TokenBucket {
  return new TokenBucket(rate.perSecond, rate.burst);
}
