/**
 * What this process last saw of each bucket of a deal (stock and stock version, from script
 * replies and reads), summed into the deal's stock, and which buckets a tap should try.
 */
export class StockView {
  readonly #stock: number[];
  readonly #version: number[];
  /** When each bucket was last seen (ms); 0: never. */
  readonly #seenAt: number[];
  /** How long a bucket seen empty is skipped without asking it again. */
  readonly #emptyForMs: number;

  constructor(buckets: number, emptyForMs = 1_000) {
    this.#stock = new Array<number>(buckets).fill(0);
    this.#version = new Array<number>(buckets).fill(0);
    this.#seenAt = new Array<number>(buckets).fill(0);
    this.#emptyForMs = emptyForMs;
  }

  get buckets(): number {
    return this.#stock.length;
  }

  /** True once every bucket was seen (before, `total` would count the others as empty). */
  get complete(): boolean {
    return this.#seenAt.every((at) => at > 0);
  }

  /** Takes a bucket's stock as of a version; an older version than the one kept is ignored. */
  see(bucket: number, stock: number, version: number, now = Date.now()): void {
    if (version < this.#version[bucket]) return;
    this.#stock[bucket] = stock;
    this.#version[bucket] = version;
    this.#seenAt[bucket] = now;
  }

  /**
   * The deal's stock and version as this process knows them: the sums over buckets. A bucket's
   * version only grows (bucket 0's starts from a microsecond clock, the others from 0), so the sum
   * grows with every change this process sees.
   */
  total(): { available: number; version: number } {
    let available = 0;
    let version = 0;
    for (let b = 0; b < this.#stock.length; b++) {
      available += Math.max(0, this.#stock[b]);
      version += this.#version[b];
    }
    return { available, version };
  }

  /** True unless every bucket but `home` was seen empty within `emptyForMs`. */
  othersMayHave(home: number, now = Date.now()): boolean {
    for (let b = 0; b < this.#stock.length; b++) if (b !== home && !this.#knownEmpty(b, now)) return true;
    return false;
  }

  /** The buckets other than `home` a tap should try, most stock first; those seen empty lately are left out. */
  candidates(home: number, now = Date.now()): number[] {
    const out: number[] = [];
    for (let b = 0; b < this.#stock.length; b++) if (b !== home && !this.#knownEmpty(b, now)) out.push(b);
    // Never seen: as if full (try it); then most stock; ties by distance after home (taps spread out).
    const score = (b: number) => (this.#seenAt[b] === 0 ? Number.MAX_SAFE_INTEGER : this.#stock[b]);
    const n = this.#stock.length;
    return out.sort((a, b) => score(b) - score(a) || ((a - home + n) % n) - ((b - home + n) % n));
  }

  #knownEmpty(bucket: number, now: number): boolean {
    return this.#seenAt[bucket] !== 0 && this.#stock[bucket] <= 0 && now - this.#seenAt[bucket] < this.#emptyForMs;
  }
}
