import WebSocket from 'ws';
import type { Publisher } from './Publisher.js';
import { announcementText } from './EventScanner.js';
import { decodeServerFrame, encodeClientFrame } from '../../protocol/index.js';

/**
 * Viewer chat for a benchmark room: a few viewer connections (spread over the gateways'
 * URLs) take turns sending chat lines, so that each stays under its own chat rate limit.
 * A line counts as acked when the server answers `chatAccepted`; refusals count by code.
 */
export class ChatPublisher implements Publisher {
  readonly #sockets: WebSocket[];
  readonly #room: string;
  readonly #textBytes: number;
  readonly errors = new Map<string, number>();
  sent = 0;
  acked = 0;
  #answered = 0;
  #closed = false;

  private constructor(sockets: WebSocket[], room: string, textBytes: number) {
    this.#sockets = sockets;
    this.#room = room;
    this.#textBytes = textBytes;
    for (const ws of sockets) ws.on('message', (data: Buffer) => this.#onReply(data));
  }

  /** Connects one chatter per URL (viewer tokens in the URLs) and joins each to the room. */
  static async create(urls: string[], room: string, textBytes: number): Promise<ChatPublisher> {
    const sockets: WebSocket[] = [];
    try {
      for (const url of urls) sockets.push(await join(url, room));
    } catch (error) {
      for (const ws of sockets) ws.terminate();
      throw error;
    }
    return new ChatPublisher(sockets, room, textBytes);
  }

  /** Sends chat line `seq` from the next chatter in turn. */
  publish(seq: number): void {
    const ws = this.#sockets[seq % this.#sockets.length];
    const text = announcementText(seq, this.#textBytes);
    ws.send(encodeClientFrame({ v: 1, rid: seq + 2, chat: { room: this.#room, text, clientMsgId: `m${seq}` } }));
    this.sent++;
  }

  #onReply(data: Buffer): void {
    const frame = decodeServerFrame(data);
    if (frame.rid < 2) return;
    if (frame.chatAccepted) {
      this.#answered++;
      this.acked++;
    } else if (frame.error) {
      this.#answered++;
      const code = frame.error.code || 'UNKNOWN';
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    }
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#answered < this.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const ws of this.#sockets) ws.close(1000);
  }
}

/** Opens a connection and joins the room (rid 1); resolves with the joined socket. */
function join(url: string, room: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('chatter: no joined reply within 10 s')), 10_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const onMessage = (data: Buffer): void => {
      const frame = decodeServerFrame(data);
      if (frame.connected) ws.send(encodeClientFrame({ v: 1, rid: 1, join: { room } }));
      else if (frame.rid === 1 && frame.joined) {
        clearTimeout(timer);
        ws.off('message', onMessage);
        ws.off('close', onClose);
        ws.on('error', () => {});
        resolve(ws);
      } else if (frame.rid === 1 && frame.error) {
        fail(new Error(`chatter join refused: ${frame.error.code} ${frame.error.message}`));
      }
    };
    const onClose = (code: number): void => fail(new Error(`chatter closed before joining: ${code}`));
    ws.on('message', onMessage);
    ws.once('error', (error) => fail(error));
    ws.on('close', onClose);
  });
}
