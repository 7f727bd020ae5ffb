/**
 * Decides which viewers see a chat message when a room's chat outruns what a
 * viewer can read. Viewers are spread over `buckets` topics. While the room had
 * at most `budget` messages in the last second (this one included) a message goes
 * to everyone: a quiet room delivers every line. Above it each bucket receives a
 * steady fraction budget/rate of messages (credit-based, so every bucket gets an
 * even share and no viewer sees more than about `budget` messages per second).
 */
export class ChatSampler {
  readonly #credits: Float64Array;
  /** Arrival times of the last `budget + 1` messages (a ring; `#next` is the oldest once full). */
  readonly #recent: Float64Array;
  #seen = 0;
  #next = 0;
  #windowStart = -Infinity;
  #windowCount = 0;
  #previousCount = 0;

  constructor(
    readonly budgetPerSecond: number,
    readonly buckets: number,
  ) {
    if (buckets < 1) throw new TypeError('buckets must be >= 1');
    if (!Number.isInteger(budgetPerSecond) || budgetPerSecond < 0) throw new TypeError('budgetPerSecond must be an integer >= 0');
    this.#credits = new Float64Array(buckets);
    this.#recent = new Float64Array(budgetPerSecond + 1);
    // Stagger the buckets so they do not all fire on the same message.
    for (let i = 0; i < buckets; i++) this.#credits[i] = i / buckets;
  }

  /**
   * A busy room's message rate per second, for the share: the last full second, or the
   * current one extrapolated (over at least 250 ms, so a burst is not taken for a lull).
   */
  #busyRate(now: number): number {
    const elapsed = Math.max(250, now - this.#windowStart);
    return Math.max(this.budgetPerSecond + 1, this.#previousCount, (this.#windowCount * 1000) / elapsed);
  }

  /** True when more than `budget` messages (this one included) arrived within the last second. */
  #overBudget(now: number): boolean {
    const ring = this.#recent;
    ring[this.#next] = now;
    this.#next = (this.#next + 1) % ring.length;
    this.#seen++;
    // Full ring: `#next` now points at the message `budget` before this one.
    return this.#seen >= ring.length && now - ring[this.#next] < 1000;
  }

  /**
   * Records one message and returns `null` when it goes to every viewer, or the
   * list of bucket indexes that receive it (possibly empty).
   */
  next(now = Date.now()): number[] | null {
    if (now - this.#windowStart >= 1000) {
      this.#previousCount = now - this.#windowStart < 2000 ? this.#windowCount : 0;
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    this.#windowCount++;
    if (this.budgetPerSecond === 0) return [];
    if (!this.#overBudget(now)) return null;
    const share = this.budgetPerSecond / this.#busyRate(now);
    const chosen: number[] = [];
    for (let i = 0; i < this.buckets; i++) {
      this.#credits[i] += share;
      if (this.#credits[i] >= 1) {
        this.#credits[i] -= 1;
        chosen.push(i);
      }
    }
    return chosen;
  }
}
