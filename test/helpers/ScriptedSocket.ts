import type { WebSocket } from 'ws';
import { flashcast, decodeClientFrame, encodeServerFrame } from '../../protocol/index.js';

type Waiter = { match: (f: flashcast.ClientFrame) => boolean; resolve: (f: flashcast.ClientFrame) => void };

/** How long a test waits for a frame before failing with what it waited for (a guard, not an assertion). */
const FRAME_WAIT_MS = 8000;

/**
 * The server end of one SDK connection in a ScriptedGateway: the test reads the
 * client's frames in order (`take`) and answers with protocol frames (`reply`,
 * `event`, `disconnect`, `close`).
 */
export class ScriptedSocket {
  readonly ws: WebSocket;
  /** The `token` query parameter the client connected with. */
  readonly token: string;
  /** Every frame the client sent, in order. */
  readonly frames: flashcast.ClientFrame[] = [];
  /** Resolves with the close code once the socket closed (either side). */
  readonly closed: Promise<number>;
  readonly #taken = new Set<flashcast.ClientFrame>();
  readonly #waiters: Waiter[] = [];
  /** Answer pings (false: the server goes silent). */
  pong = true;

  constructor(ws: WebSocket, token: string) {
    this.ws = ws;
    this.token = token;
    ws.on('message', (data: Buffer) => this.#onFrame(decodeClientFrame(data)));
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }

  /**
   * The first frame matching `match` that no earlier `take` returned, waiting
   * for it if needed. Pings are never matched by the default (any non-ping frame).
   */
  take(match: (f: flashcast.ClientFrame) => boolean = (f) => f.msg !== 'ping', what = 'a client frame'): Promise<flashcast.ClientFrame> {
    const found = this.frames.find((f) => !this.#taken.has(f) && match(f));
    if (found) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} from the client; got ${this.frames.map((f) => f.msg).join(', ') || 'nothing'}`));
      }, FRAME_WAIT_MS);
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Takes the next frame of one kind (`join`, `chat`, `announce`...). */
  takeMsg(msg: NonNullable<flashcast.ClientFrame['msg']>): Promise<flashcast.ClientFrame> {
    return this.take((f) => f.msg === msg, `"${msg}" frame`);
  }

  /** Frames of one kind received so far (taken or not). */
  sent(msg: NonNullable<flashcast.ClientFrame['msg']>): flashcast.ClientFrame[] {
    return this.frames.filter((f) => f.msg === msg);
  }

  send(frame: flashcast.IServerFrame): void {
    this.ws.send(encodeServerFrame(frame));
  }

  /** Answers a request (same rid). */
  reply(request: flashcast.ClientFrame, frame: flashcast.IServerFrame): void {
    this.send({ ...frame, rid: request.rid });
  }

  /** Answers a request with an error frame. */
  fail(request: flashcast.ClientFrame, code: string, message = code): void {
    this.reply(request, { error: { code, message } });
  }

  /** Answers a join: a snapshot at {offset, epoch}, or `recovered` (the missed events follow). */
  joined(request: flashcast.ClientFrame, joined: Omit<flashcast.IJoined, 'room'>): void {
    this.reply(request, { joined: { room: request.join?.room ?? '', ...joined } });
  }

  /** Pushes a room event; `offset` > 0 makes it critical. */
  event(room: string, offset: number, epoch: string, kind: Omit<flashcast.IRoomEvent, 'room' | 'offset' | 'epoch'>): void {
    this.send({ event: { room, offset, epoch, ...kind } });
  }

  /** Tells the client to resync a room (its stream was reset). */
  resync(room: string, epoch: string): void {
    this.send({ resync: { room, epoch } });
  }

  /** Sends Disconnect {code, reason, reconnect}, then closes with `code`. */
  disconnect(code: number, reason: string, reconnect: boolean): void {
    this.send({ disconnect: { code, reason, reconnect } });
    this.close(code, reason);
  }

  /** Closes the socket with a close code. */
  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }

  /** Drops the TCP connection without a close frame (the client sees 1006). */
  drop(): void {
    this.ws.terminate();
  }

  #onFrame(frame: flashcast.ClientFrame): void {
    if (frame.msg === 'ping' && this.pong) {
      this.send({ pong: { clientTime: frame.ping!.clientTime, serverTime: Date.now() } });
    }
    this.frames.push(frame);
    const i = this.#waiters.findIndex((w) => w.match(frame));
    if (i >= 0) {
      const [waiter] = this.#waiters.splice(i, 1);
      this.#taken.add(frame);
      waiter.resolve(frame);
    }
  }
}
