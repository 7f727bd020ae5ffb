import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { FlashcastClient, type ClientOptions, type WebSocketConstructor } from '../../client-sdk/index.js';
import { flashcast } from '../../protocol/index.js';
import { ScriptedSocket } from './ScriptedSocket.js';

/** What a ScriptedGateway does with a new socket before the test sees it. */
export type Greeting =
  /** Sends Connected (the session is established). */
  | { connected: flashcast.IConnected }
  /** Closes at once with this code (a refused or failing connect). */
  | { close: number; reason?: string }
  /** Says nothing: the test sends Connected itself (`socket.send({ connected })`). */
  | { hold: true };

const FRAME_WAIT_MS = 8000;

/**
 * A real WebSocket server speaking the Flashcast protocol, scripted by the test:
 * SDK unit tests drive a real FlashcastClient against it instead of mocking the
 * client's internals. Each connection greets with Connected (or a close, as
 * `greet` decides) and is handed to the test as a ScriptedSocket.
 */
export class ScriptedGateway {
  readonly url: string;
  /** Every connection accepted, in order. */
  readonly sockets: ScriptedSocket[] = [];
  /** Decides how each new connection is greeted (default: Connected, user u1, ping every 20 s). */
  greet: (index: number) => Greeting = (index) => ({ connected: { sessionId: `s${index}`, userId: 'u1', nodeId: 'n1', pingIntervalMs: 20_000 } });
  readonly #server: WebSocketServer;
  readonly #waiters: { index: number; resolve: (s: ScriptedSocket) => void }[] = [];
  readonly #clients: FlashcastClient[] = [];

  private constructor(server: WebSocketServer) {
    this.#server = server;
    this.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    server.on('connection', (ws, request) => this.#onConnection(ws, request.url ?? ''));
  }

  /** Listens on a free port of 127.0.0.1. */
  static async start(): Promise<ScriptedGateway> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new ScriptedGateway(server);
  }

  /** The n-th connection (0-based), waiting for it if needed. */
  socket(index: number): Promise<ScriptedSocket> {
    if (this.sockets[index]) return Promise.resolve(this.sockets[index]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection #${index} never came (${this.sockets.length} so far)`)), FRAME_WAIT_MS);
      this.#waiters.push({
        index,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
    });
  }

  /** A client of this gateway over the `ws` package (closed with the gateway); fast reconnects by default. */
  client(options: Partial<ClientOptions> = {}): FlashcastClient {
    const client = new FlashcastClient({
      url: this.url,
      token: 'test-token',
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      backoff: { baseMs: 20, maxMs: 100 },
      ...options,
    });
    this.#clients.push(client);
    return client;
  }

  /** Closes every client made by `client()`, every socket and the server. */
  async close(): Promise<void> {
    for (const client of this.#clients) client.close();
    for (const s of this.sockets) s.drop();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, path: string): void {
    const index = this.sockets.length;
    const token = new URL(path, 'ws://x').searchParams.get('token') ?? '';
    const socket = new ScriptedSocket(ws, token);
    this.sockets.push(socket);
    const greeting = this.greet(index);
    if ('close' in greeting) socket.close(greeting.close, greeting.reason ?? '');
    else if ('connected' in greeting) socket.send({ connected: greeting.connected });
    for (const w of this.#waiters.filter((w) => w.index === index)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(socket);
    }
  }
}
