/** Sub-buckets per power of two: values are kept to within 1/64 (about 1.6%). */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** Largest recordable value: 2^31 - 1 microseconds (about 36 minutes). */
const MAX_EXP = 31;
const BUCKETS = SUB + (MAX_EXP - SUB_BITS) * (SUB / 2) + SUB / 2;

/**
 * A log-linear latency histogram in microseconds (HdrHistogram's idea, fixed
 * precision), cheap to record into on the hot path and mergeable across worker
 * threads by adding the count arrays.
 */
export class LatencyHistogram {
  readonly counts: Float64Array;
  count = 0;
  max = 0;
  #sum = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(BUCKETS);
    if (counts) this.add(counts);
  }

  /** Records one value in milliseconds (negative values count as 0). */
  recordMs(ms: number): void {
    const us = ms <= 0 ? 0 : ms >= 2_147_483 ? 2_147_483_647 : Math.round(ms * 1000);
    this.counts[LatencyHistogram.#index(us)]++;
    this.count++;
    this.#sum += us;
    if (us > this.max) this.max = us;
  }

  /** Adds another histogram's counts (as sent from a worker). */
  add(counts: ArrayLike<number>, max = 0, sum = 0): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = counts[i] ?? 0;
      if (c > 0) {
        this.counts[i] += c;
        this.count += c;
      }
    }
    if (max > this.max) this.max = max;
    this.#sum += sum;
  }

  /** Sum of recorded values in microseconds (for merging). */
  get sumUs(): number {
    return this.#sum;
  }

  /** Mean in milliseconds, or NaN when empty. */
  meanMs(): number {
    return this.count === 0 ? NaN : this.#sum / this.count / 1000;
  }

  /** The q-quantile (0..1) in milliseconds, or NaN when empty. */
  quantileMs(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(LatencyHistogram.#upper(i), this.max) / 1000;
    }
    return this.max / 1000;
  }

  static #index(us: number): number {
    if (us < SUB) return us;
    const msb = 31 - Math.clz32(us);
    const shift = msb - SUB_BITS + 1;
    return SUB + (shift - 1) * (SUB / 2) + ((us >>> shift) - SUB / 2);
  }

  /** Highest value that falls into bucket `i`. */
  static #upper(i: number): number {
    if (i < SUB) return i;
    const shift = Math.floor((i - SUB) / (SUB / 2)) + 1;
    const sub = ((i - SUB) % (SUB / 2)) + SUB / 2;
    return (sub + 1) * 2 ** shift - 1;
  }
}
