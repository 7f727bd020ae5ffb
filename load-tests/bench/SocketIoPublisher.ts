import { io, type Socket } from 'socket.io-client';
import type { Publisher } from './Publisher.js';
import type { BaselinePayload } from './BaselinePayload.js';

/** Publishes to the Socket.IO baseline: one binary `pub` event per seq. */
export class SocketIoPublisher implements Publisher {
  readonly #socket: Socket;
  readonly #payload: BaselinePayload;
  readonly errors = new Map<string, number>();
  sent = 0;
  #closed = false;

  private constructor(socket: Socket, payload: BaselinePayload) {
    this.#socket = socket;
    this.#payload = payload;
  }

  /** Connects the publisher (websocket transport, no reconnection). */
  static async create(url: string, payload: BaselinePayload): Promise<SocketIoPublisher> {
    const socket = io(url, { transports: ['websocket'], query: { role: 'pub' }, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return new SocketIoPublisher(socket, payload);
  }

  get acked(): number {
    return this.sent;
  }

  publish(seq: number): void {
    this.#socket.emit('pub', Buffer.from(this.#payload.encode(seq)));
    this.sent++;
  }

  async settle(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}
