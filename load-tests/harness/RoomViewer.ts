import type { flashcast } from '../../protocol/index.js';
import { CriticalStream } from './CriticalStream.js';
import type { FlashcastClient } from './FlashcastClient.js';
import type { HarnessContext } from './HarnessContext.js';
import type { ScenarioReport } from './ScenarioReport.js';

/** Text of the last announcement of a harness publisher: `END`. */
export const END_TEXT = 'END';

/**
 * A harness viewer in one room: checks the critical stream's offsets, times each
 * announcement from the send time embedded in its text (`<seq>|<ms>`), and counts
 * chat deliveries (best-effort, also timed from their text).
 */
export class RoomViewer {
  readonly id: string;
  readonly #report: ScenarioReport;
  client: FlashcastClient | null = null;
  stream: CriticalStream | null = null;
  /** Offset of the END announcement, once seen. */
  endOffset = 0;
  chats = 0;
  unexpectedClose = 0;
  #closing = false;
  /** False for the chat storm's flooder, which the server may close (4004): not an unexpected close. */
  readonly tracked: boolean;

  constructor(id: string, report: ScenarioReport, options: { tracked?: boolean } = {}) {
    this.id = id;
    this.#report = report;
    this.tracked = options.tracked ?? true;
  }

  /** Connects and joins; throws if either fails. */
  async join(context: HarnessContext, room: string): Promise<void> {
    this.client = await context.viewer(this.id, {
      onEvent: (event) => this.#onEvent(event),
      onClose: (code) => {
        if (!this.#closing) {
          // The reason is the server's disconnect frame (as the k6 scripts read it), else the close code.
          this.unexpectedClose = this.client?.disconnect?.code || code || 1006;
          if (this.tracked) this.#report.count('unexpected_close');
          this.#report.count(`viewer_closed_${this.unexpectedClose}`);
        }
      },
    });
    const joined = await this.client.join(room);
    this.stream = new CriticalStream(Number(joined.offset ?? 0));
  }

  /** Closes the connection (expected). */
  close(): void {
    this.#closing = true;
    this.client?.close();
  }

  #onEvent(event: flashcast.RoomEvent): void {
    const offset = Number(event.offset ?? 0);
    const now = Date.now();
    if (offset > 0 && this.stream) {
      this.stream.accept(offset);
      const text = event.announcement?.text ?? '';
      if (text === END_TEXT) this.endOffset = offset;
      const sentAt = Number(text.split('|')[1]);
      if (sentAt > 0) this.#report.time('announcement_ms', now - sentAt);
    } else if (event.chat) {
      this.chats++;
      const sentAt = Number((event.chat.text ?? '').split('|')[1]);
      if (sentAt > 0) this.#report.time('chat_delivery_ms', now - sentAt);
    }
  }
}
