/**
 * The server's clock as seen from a client (`client.clock`): an estimate of (server time −
 * local time) from the server's own timestamps, so a deal countdown ends when the server's
 * deal does, whatever the device's clock says.
 *
 * Method. Local times are monotonic (`performance.timeOrigin + performance.now()`), so a
 * device clock changed mid-session moves nothing. Each server timestamp bounds the offset:
 * - a timestamp taken before the frame was sent (`connected.server_time`, an event's `ts`),
 *   received at local time L, gives offset ≥ ts − L (a lower bound: the frame took ≥ 0 ms);
 * - a ping sent at local C, answered with the server's T and received at L, gives
 *   T − L ≤ offset ≤ T − C (NTP's interval; its width is the round trip).
 * The estimate is the middle of the tightest interval the recent samples allow (largest lower
 * bound, smallest upper bound), or the largest lower bound while there is no upper one: its
 * error is at most half the narrowest round trip seen, and a lower bound alone errs by the
 * fastest frame's one-way delay (late, never early). Samples count for `windowMs` (clocks
 * drift), kept as a few buckets so a sample costs the same in a busy room. Bounds that
 * contradict each other (the server's clock stepped, or two nodes' clocks differ) keep only
 * the newest sample.
 */

interface Bucket {
  start: number;
  lo: number;
  hi: number;
}

export interface ServerClockOptions {
  /** Local monotonic time in ms (default `performance.timeOrigin + performance.now()`). */
  now?: () => number;
  /** How long a sample counts (default 10 minutes). */
  windowMs?: number;
}

const BUCKETS = 4;

export class ServerClock {
  readonly #now: () => number;
  readonly #windowMs: number;
  #buckets: Bucket[] = [];
  #offset = 0;
  #synced = false;

  constructor(options: ServerClockOptions = {}) {
    this.#now = options.now ?? monotonicNow;
    this.#windowMs = options.windowMs ?? 600_000;
  }

  /** Local monotonic time (ms), the clock samples are taken in. */
  localNow(): number {
    return this.#now();
  }

  /** A timestamp the server took before sending a frame that arrived at `receivedAt` (local). */
  stamped(serverTime: number, receivedAt = this.#now()): void {
    if (serverTime > 0) this.#add(serverTime - receivedAt, Infinity, receivedAt);
  }

  /** A ping sent at `sentAt` (local), answered with the server's `serverTime`, received at `receivedAt`. */
  roundTrip(sentAt: number, serverTime: number, receivedAt = this.#now()): void {
    if (serverTime > 0 && receivedAt >= sentAt) this.#add(serverTime - receivedAt, serverTime - sentAt, receivedAt);
  }

  /** Server time minus local time (ms); 0 before any sample. */
  get offsetMs(): number {
    return this.#offset;
  }

  /** True once a sample was taken. */
  get synced(): boolean {
    return this.#synced;
  }

  /** The server's time now (ms since the epoch), as estimated. */
  now(): number {
    return this.#now() + this.#offset;
  }

  /** Milliseconds until a server-clock instant (0 once it passed). */
  until(serverInstant: number): number {
    return Math.max(0, serverInstant - this.now());
  }

  #add(lo: number, hi: number, at: number): void {
    const span = this.#windowMs / BUCKETS;
    this.#buckets = this.#buckets.filter((b) => b.start > at - this.#windowMs);
    const last = this.#buckets.at(-1);
    if (last && at - last.start < span) {
      last.lo = Math.max(last.lo, lo);
      last.hi = Math.min(last.hi, hi);
    } else {
      this.#buckets.push({ start: at, lo, hi });
    }
    let low = -Infinity;
    let high = Infinity;
    for (const b of this.#buckets) {
      low = Math.max(low, b.lo);
      high = Math.min(high, b.hi);
    }
    if (low > high) {
      this.#buckets = [{ start: at, lo, hi }];
      [low, high] = [lo, hi];
    }
    this.#offset = high === Infinity ? low : (low + high) / 2;
    this.#synced = true;
  }
}

function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}
