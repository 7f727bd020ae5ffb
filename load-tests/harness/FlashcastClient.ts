import WebSocket from 'ws';
import { decodeServerFrames, encodeClientFrame, flashcast, type IClientFrame } from '../../protocol/index.js';

/** A reply that was an Error frame. */
export class RequestError extends Error {
  readonly code: string;
  readonly retryAfterMs: number;

  constructor(error: flashcast.IError) {
    super(`${error.code}: ${error.message}`);
    this.name = 'RequestError';
    this.code = error.code ?? 'UNKNOWN';
    this.retryAfterMs = error.retryAfterMs ?? 0;
  }
}

/** Callbacks of a harness client. */
export interface FlashcastClientHandlers {
  /** A room event (critical or best-effort). */
  onEvent?(event: flashcast.RoomEvent): void;
  /** What happened to one of this user's orders (paid, declined, ...). */
  onOrderUpdate?(update: flashcast.OrderUpdate): void;
  /** The socket closed. */
  onClose?(code: number, reason: string): void;
}

/**
 * A small Flashcast protocol client for the CI load harness: binary frames over
 * `ws`, request/reply by rid, app-level pings at the interval the server asks for.
 * Same wire behaviour as the k6 scripts' VUs.
 */
export class FlashcastClient {
  readonly #ws: WebSocket;
  readonly #handlers: FlashcastClientHandlers;
  readonly #pending = new Map<number, { resolve: (f: flashcast.ServerFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextRid = 1;
  #pingTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** The Connected frame. */
  connected: flashcast.Connected | null = null;
  /** The server's last `disconnect` frame (why it closed us), if any. */
  disconnect: flashcast.Disconnect | null = null;
  closeCode = 0;

  private constructor(ws: WebSocket, handlers: FlashcastClientHandlers) {
    this.#ws = ws;
    this.#handlers = handlers;
  }

  /** Connects with a token and waits for the Connected frame. */
  static async connect(baseUrl: string, token: string, handlers: FlashcastClientHandlers = {}, timeoutMs = 10_000): Promise<FlashcastClient> {
    // batch=1: several frames may come in one message (decodeServerFrames), as for the SDK.
    const ws = new WebSocket(`${baseUrl}/ws?token=${encodeURIComponent(token)}&batch=1`, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const client = new FlashcastClient(ws, handlers);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no Connected frame in time')), timeoutMs);
      client.#onConnected = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      ws.once('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`closed before Connected: ${code}`));
      });
      ws.on('message', (data: Buffer) => client.#onMessage(data));
    });
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    ws.on('error', () => {});
    ws.on('close', (code, reason) => client.#onClose(code, reason.toString()));
    const interval = client.connected?.pingIntervalMs ?? 0;
    if (interval > 0) {
      client.#pingTimer = setInterval(() => client.send({ ping: { clientTime: Date.now() } }), Math.max(1000, interval / 2));
      client.#pingTimer.unref();
    }
    return client;
  }

  #onConnected: (() => void) | null = null;

  /** True while the socket is open. */
  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame without waiting for a reply (rid 0). */
  send(frame: IClientFrame): void {
    if (this.isOpen) this.#ws.send(encodeClientFrame({ v: 1, rid: 0, ...frame }));
  }

  /** Sends a request and resolves with its reply; rejects with RequestError on an Error reply. */
  request(frame: IClientFrame, timeoutMs = 10_000): Promise<flashcast.ServerFrame> {
    const rid = this.#nextRid++;
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new Error('not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(new Error(`no reply to rid ${rid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(rid, { resolve, reject, timer });
      this.#ws.send(encodeClientFrame({ ...frame, v: 1, rid }));
    });
  }

  /** Joins a room; resolves with the Joined frame. */
  async join(room: string): Promise<flashcast.IJoined> {
    const reply = await this.request({ join: { room } });
    if (!reply.joined) throw new Error(`unexpected reply to join: ${JSON.stringify(reply.toJSON())}`);
    return reply.joined;
  }

  /** Closes the socket. Idempotent. */
  close(code = 1000): void {
    if (this.#closed) return;
    this.#ws.close(code);
    this.#onClose(code, 'closed by client');
  }

  /**
   * The ServerFrames of one WebSocket message, in order: the one place the harness decodes
   * (when the server coalesces frames into one message, only this changes).
   */
  static decodeMessage(data: Buffer): flashcast.ServerFrame[] {
    return decodeServerFrames(data);
  }

  #onMessage(data: Buffer): void {
    let frames: flashcast.ServerFrame[];
    try {
      frames = FlashcastClient.decodeMessage(data);
    } catch {
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(frame: flashcast.ServerFrame): void {
    if (frame.disconnect) {
      this.disconnect = frame.disconnect as flashcast.Disconnect;
      return;
    }
    if (frame.connected) {
      this.connected = frame.connected as flashcast.Connected;
      this.#onConnected?.();
      this.#onConnected = null;
      return;
    }
    if (frame.rid > 0) {
      const pending = this.#pending.get(frame.rid);
      if (!pending) return;
      this.#pending.delete(frame.rid);
      clearTimeout(pending.timer);
      if (frame.error) pending.reject(new RequestError(frame.error));
      else pending.resolve(frame);
      return;
    }
    if (frame.event) this.#handlers.onEvent?.(frame.event as flashcast.RoomEvent);
    else if (frame.orderUpdate) this.#handlers.onOrderUpdate?.(frame.orderUpdate as flashcast.OrderUpdate);
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeCode = code;
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    for (const [, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`connection closed (${code})`));
    }
    this.#pending.clear();
    this.#handlers.onClose?.(code, reason);
  }
}
