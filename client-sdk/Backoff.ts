/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time
 * in [0, min(max, base * 2^n)], so a crowd of clients dropped together (a node
 * restart) spreads its reconnects instead of arriving as one wave.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    readonly baseMs = 300,
    readonly maxMs = 15_000,
    readonly random: () => number = Math.random,
  ) {}

  get attempt(): number {
    return this.#attempt;
  }

  /** The delay of attempt `n` (0-based), without changing the attempt count. */
  delayAt(n: number): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(Math.max(0, n), 20));
    return Math.floor(this.random() * ceiling);
  }

  /** The next delay; increases the attempt count. */
  next(): number {
    return this.delayAt(this.#attempt++);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
