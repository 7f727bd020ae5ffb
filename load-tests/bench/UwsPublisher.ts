import WebSocket from 'ws';
import type { Publisher } from './Publisher.js';
import type { BaselinePayload } from './BaselinePayload.js';

/** Publishes to the bare uWS baseline: one binary message per seq on `/ws?role=pub`. */
export class UwsPublisher implements Publisher {
  readonly #ws: WebSocket;
  readonly #payload: BaselinePayload;
  readonly errors = new Map<string, number>();
  sent = 0;
  #closed = false;

  private constructor(ws: WebSocket, payload: BaselinePayload) {
    this.#ws = ws;
    this.#payload = payload;
  }

  /** Connects the publisher socket. */
  static async create(url: string, payload: BaselinePayload): Promise<UwsPublisher> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new UwsPublisher(ws, payload);
  }

  get acked(): number {
    return this.sent;
  }

  publish(seq: number): void {
    this.#ws.send(this.#payload.encode(seq), { binary: true });
    this.sent++;
  }

  async settle(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ws.close(1000);
  }
}
