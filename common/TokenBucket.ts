/**
 * A token bucket: `rate` tokens per second, at most `burst` saved. Used for
 * per-connection rate limits; cheap enough to run on every frame.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  #rate: number;
  #burst: number;

  constructor(rate: number, burst: number, now = performance.now()) {
    TokenBucket.#check(rate, burst);
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  get rate(): number {
    return this.#rate;
  }

  get burst(): number {
    return this.#burst;
  }

  /** Changes the rate from now on; tokens already saved are kept, up to the new burst. */
  setRate(rate: number, burst: number, now = performance.now()): void {
    TokenBucket.#check(rate, burst);
    this.#refill(now);
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  static #check(rate: number, burst: number): void {
    if (!(rate > 0) || !(burst >= 1)) throw new TypeError('rate must be > 0 and burst >= 1');
  }

  /** Takes `n` tokens if available. */
  take(n = 1, now = performance.now()): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are available. */
  retryAfterMs(n = 1, now = performance.now()): number {
    this.#refill(now);
    return this.#tokens >= n ? 0 : Math.ceil(((n - this.#tokens) / this.#rate) * 1000);
  }

  #refill(now: number): void {
    const elapsed = (now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
  }
}
