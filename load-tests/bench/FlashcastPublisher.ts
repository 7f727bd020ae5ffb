import WebSocket from 'ws';
import type { Publisher } from './Publisher.js';
import { announcementText } from './EventScanner.js';
import { decodeServerFrames, encodeClientFrame, type flashcast } from '../../protocol/index.js';

/** The request id of message `seq` (rid 1 is the join). */
const ridOf = (seq: number): number => seq + 2;

/**
 * A Flashcast host: joins the room, then publishes each benchmark message as a
 * critical `announce` and counts the server's `ok` (offset assigned, published
 * through Redis) and `error` replies.
 */
export class FlashcastPublisher implements Publisher {
  readonly #ws: WebSocket;
  readonly #room: string;
  readonly #textBytes: number;
  readonly errors = new Map<string, number>();
  sent = 0;
  acked = 0;
  #answered = 0;
  /** Offsets from `ok` replies (must be consecutive). */
  firstOffset = 0;
  lastOffset = 0;
  #closed = false;

  private constructor(ws: WebSocket, room: string, textBytes: number) {
    this.#ws = ws;
    this.#room = room;
    this.#textBytes = textBytes;
    ws.on('message', (data: Buffer) => this.#onReply(data));
  }

  /** Connects with a host token and joins the room. */
  static async create(url: string, room: string, textBytes: number): Promise<FlashcastPublisher> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('publisher: no joined reply within 10 s')), 10_000);
      ws.on('message', (data: Buffer) => {
        for (const frame of decodeServerFrames(data)) onFrame(frame);
      });
      const onFrame = (frame: flashcast.ServerFrame): void => {
        if (frame.connected) ws.send(encodeClientFrame({ v: 1, rid: 1, join: { room } }));
        else if (frame.rid === 1 && frame.joined) {
          clearTimeout(timer);
          resolve();
        } else if (frame.rid === 1 && frame.error) {
          clearTimeout(timer);
          reject(new Error(`publisher join refused: ${frame.error.code} ${frame.error.message}`));
        }
      };
      ws.once('error', reject);
      ws.once('close', (code, reason) => reject(new Error(`publisher closed: ${code} ${reason.toString()}`)));
    });
    await joined;
    ws.removeAllListeners('message');
    ws.removeAllListeners('close');
    ws.on('error', () => {});
    return new FlashcastPublisher(ws, room, textBytes);
  }

  publish(seq: number): void {
    this.#ws.send(
      encodeClientFrame({ v: 1, rid: ridOf(seq), announce: { room: this.#room, text: announcementText(seq, this.#textBytes) } }),
    );
    this.sent++;
  }

  #onReply(data: Buffer): void {
    for (const frame of decodeServerFrames(data)) this.#onFrame(frame);
  }

  #onFrame(frame: flashcast.ServerFrame): void {
    if (frame.rid < 2) return;
    if (frame.ok) {
      this.#answered++;
      this.acked++;
      const offset = Number(frame.ok.offset ?? 0);
      if (this.firstOffset === 0) this.firstOffset = offset;
      this.lastOffset = Math.max(this.lastOffset, offset);
    } else if (frame.error) {
      this.#answered++;
      const code = frame.error.code || 'UNKNOWN';
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    }
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#answered < this.sent && Date.now() < deadline && this.#ws.readyState === WebSocket.OPEN) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ws.close(1000);
  }
}
