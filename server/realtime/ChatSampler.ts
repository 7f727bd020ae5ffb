/**
 * Decides which viewers see a chat message when a room's chat outruns what a
 * viewer can read. Viewers are spread over `buckets` topics; below the budget a
 * message goes to everyone, above it each bucket receives a steady fraction
 * budget/rate of messages (credit-based, so every bucket gets an even share and
 * no viewer sees more than about `budget` messages per second).
 */
export class ChatSampler {
  readonly #credits: Float64Array;
  #windowStart = 0;
  #windowCount = 0;
  #previousCount = 0;

  constructor(
    readonly budgetPerSecond: number,
    readonly buckets: number,
  ) {
    if (buckets < 1) throw new TypeError('buckets must be >= 1');
    this.#credits = new Float64Array(buckets);
    // Stagger the buckets so they do not all fire on the same message.
    for (let i = 0; i < buckets; i++) this.#credits[i] = i / buckets;
  }

  /** Messages per second: the last full second, or the current one extrapolated. */
  rate(now = Date.now()): number {
    const elapsed = Math.max(250, now - this.#windowStart);
    return Math.max(this.#previousCount, (this.#windowCount * 1000) / elapsed);
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
    const rate = this.rate(now);
    if (rate <= this.budgetPerSecond) return null;
    const share = this.budgetPerSecond / rate;
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
