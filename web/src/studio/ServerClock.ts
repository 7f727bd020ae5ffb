/**
 * The server's clock as seen from the page: deal phases end at server times (`phaseEndsAt`),
 * and a phone's clock can be minutes off. Each server timestamp received (the dashboard's
 * `ts`, about once a second) is a sample; the sample with the least delay wins, over a
 * sliding window so a clock that is corrected while the page is open is followed.
 */
export class ServerClock {
  readonly #window: number;
  #samples: number[] = [];

  /** `window`: how many recent samples to keep. */
  constructor(window = 30) {
    this.#window = window;
  }

  /** A server time `serverMs` that arrived at local time `receivedAtMs`. */
  observe(serverMs: number, receivedAtMs = Date.now()): void {
    if (!Number.isFinite(serverMs) || serverMs <= 0) return;
    this.#samples.push(serverMs - receivedAtMs);
    if (this.#samples.length > this.#window) this.#samples.shift();
  }

  /**
   * Server minus local time, in ms (0 before any sample). A sample is the true offset minus
   * the time the message travelled, so the largest one is the closest.
   */
  get offsetMs(): number {
    return this.#samples.length === 0 ? 0 : Math.max(...this.#samples);
  }

  /** The server's time now. */
  now(): number {
    return Date.now() + this.offsetMs;
  }
}
