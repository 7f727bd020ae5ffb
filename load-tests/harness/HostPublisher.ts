import type { FlashcastClient } from './FlashcastClient.js';
import { RequestError } from './FlashcastClient.js';
import type { HarnessContext } from './HarnessContext.js';
import type { ScenarioReport } from './ScenarioReport.js';
import { END_TEXT } from './RoomViewer.js';

/** The least spacing of announcements (40/s: under the server's 50 frames/s), as the k6 host. */
const CATCH_UP_GAP_MS = 25;

/**
 * The host of a harness room: publishes critical announcements (`<seq>|<ms>`) at a
 * fixed rate, then a final `END`, and remembers the offsets the server assigned.
 */
export class HostPublisher {
  readonly #report: ScenarioReport;
  #client: FlashcastClient | null = null;
  acked = 0;
  refused = 0;
  /** Offset assigned to END (every viewer must have everything up to it). */
  endOffset = 0;
  /** The highest offset the server acknowledged: what viewers must have when END never came. */
  lastOffset = 0;

  constructor(report: ScenarioReport) {
    this.#report = report;
  }

  /** Connects as host of `room` and joins it. */
  async open(context: HarnessContext, room: string): Promise<void> {
    this.#client = await context.host('harness-host', room);
    await this.#client.join(room);
  }

  /** What viewers must have by the end: up to END, or up to the last acknowledged offset. */
  get finalOffset(): number {
    return this.endOffset || this.lastOffset;
  }

  /** Publishes `rate` announcements per second for `seconds`, then END. */
  async run(room: string, rate: number, seconds: number): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error('host not open');
    const total = Math.round(rate * seconds);
    const start = Date.now();
    const inFlight: Promise<void>[] = [];
    let sentAt = 0;
    for (let seq = 0; seq < total; seq++) {
      // Behind schedule, catch up at most at CATCH_UP_GAP_MS spacing (the server's frame rate is 50/s, burst 100).
      const wait = Math.max(start + (seq * 1000) / rate, sentAt + CATCH_UP_GAP_MS) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt = Date.now();
      this.#report.time('host_lag_ms', Math.max(0, sentAt - (start + (seq * 1000) / rate)));
      inFlight.push(this.#announce(client, room, `${seq}|${sentAt}`));
    }
    await Promise.all(inFlight);
    await this.#announce(client, room, END_TEXT);
  }

  async #announce(client: FlashcastClient, room: string, text: string): Promise<void> {
    const sentAt = Date.now();
    try {
      const reply = await client.request({ announce: { room, text } });
      this.acked++;
      this.#report.time('announce_ack_ms', Date.now() - sentAt);
      const offset = Number(reply.ok?.offset ?? 0);
      if (offset > this.lastOffset) this.lastOffset = offset;
      if (text === END_TEXT) this.endOffset = offset;
    } catch (error) {
      this.refused++;
      this.#report.count(`announce_error_${error instanceof RequestError ? error.code : 'TIMEOUT'}`);
    }
  }

  /** Closes the host connection. */
  close(): void {
    this.#client?.close();
  }
}
