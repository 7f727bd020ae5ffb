import { connect, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
/** Largest frame a load-test client accepts (guards the parser against garbage). */
const MAX_FRAME = 16 * 1024 * 1024;
/**
 * One read buffer per thread, shared by every socket: with net's `onread` option the
 * kernel's bytes land here and our callback runs synchronously, without a stream,
 * an event or a Buffer allocation per read. Bytes that must outlive the callback
 * (a partial frame) are copied out.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Callbacks of a RawWebSocket (plain fields, not an emitter: this is the hot path). */
export interface RawWebSocketHandlers {
  /** The 101 response arrived and was verified. */
  onOpen(): void;
  /**
   * One complete message: bytes `start` to `end` of `data`. `data` is usually the
   * thread's shared read buffer: only valid during the call, never kept.
   */
  onMessage(data: Buffer, start: number, end: number, isBinary: boolean): void;
  /** The socket is gone (close frame, TCP close or error); called once. */
  onClose(code: number, reason: string): void;
}

/**
 * A minimal RFC 6455 client over a raw TCP socket, for load generation.
 *
 * It is much cheaper per message than a general client (no per-message events, no
 * buffering copies for whole frames, no extensions), so that on a shared machine the
 * load generator takes as little CPU as possible from the server it measures. It
 * answers pings, reassembles fragments, never negotiates permessage-deflate, and
 * masks its frames with a per-connection key as the RFC requires.
 */
export class RawWebSocket {
  readonly #socket: Socket;
  readonly #handlers: RawWebSocketHandlers;
  readonly #key: string;
  readonly #mask: Buffer = randomBytes(4);
  #open = false;
  #closed = false;
  #handshake: Buffer | null = Buffer.alloc(0);
  #pending: Buffer | null = null;
  #fragments: Buffer[] | null = null;
  #fragmentBinary = false;

  /** Bytes of payload received (all data frames). */
  bytesReceived = 0;

  /** Starts connecting to `ws://host:port{path}`. */
  constructor(host: string, port: number, path: string, handlers: RawWebSocketHandlers) {
    this.#handlers = handlers;
    this.#key = randomBytes(16).toString('base64');
    this.#socket = connect({
      host,
      port,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          this.#onData(buffer as Buffer, 0, bytes);
          return true;
        },
      },
    });
    this.#socket.setNoDelay(true);
    this.#socket.on('connect', () => {
      this.#socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.#socket.on('error', (error) => this.#finish(1006, error.message));
    this.#socket.on('close', () => this.#finish(1006, 'connection closed'));
  }

  /** True between the verified 101 response and the close. */
  get isOpen(): boolean {
    return this.#open && !this.#closed;
  }

  /** Sends a binary message. Returns false if the socket is not open. */
  sendBinary(data: Uint8Array): boolean {
    return this.#sendFrame(OP_BINARY, data);
  }

  /** Sends a text message. Returns false if the socket is not open. */
  sendText(text: string): boolean {
    return this.#sendFrame(OP_TEXT, Buffer.from(text, 'utf8'));
  }

  /** Sends a close frame and ends the TCP connection. Idempotent. */
  close(code = 1000): void {
    if (this.#closed) return;
    if (this.#open) {
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code, 0);
      this.#sendFrame(OP_CLOSE, body);
    }
    this.#socket.end();
    this.#finish(code, 'closed by client');
  }

  /** Drops the TCP connection without a close frame. */
  destroy(): void {
    this.#socket.destroy();
    this.#finish(1006, 'destroyed');
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    this.#pending = null;
    this.#fragments = null;
    if (!this.#socket.destroyed) this.#socket.destroySoon();
    this.#handlers.onClose(code, reason);
  }

  #sendFrame(opcode: number, payload: Uint8Array): boolean {
    if (!this.#open || this.#closed) return false;
    const len = payload.length;
    const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headerLen + 4 + len);
    frame[0] = 0x80 | opcode;
    if (len < 126) {
      frame[1] = 0x80 | len;
    } else if (len < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(0, 2);
      frame.writeUInt32BE(len, 6);
    }
    const mask = this.#mask;
    mask.copy(frame, headerLen);
    const start = headerLen + 4;
    for (let i = 0; i < len; i++) frame[start + i] = payload[i] ^ mask[i & 3];
    this.#socket.write(frame);
    return true;
  }

  /**
   * Bytes `from` to `to` of `chunk` arrived; `chunk` is only valid during the call (it
   * is the shared read buffer). Complete frames are handed on as offsets into it, so
   * a read costs no allocation unless it ends in a partial frame.
   */
  #onData(chunk: Buffer, from: number, to: number): void {
    if (this.#closed) return;
    if (this.#handshake !== null) {
      const bytes = chunk.subarray(from, to);
      const buffered: Buffer = this.#handshake.length === 0 ? bytes : Buffer.concat([this.#handshake, bytes]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > 16 * 1024) this.destroy();
        else this.#handshake = Buffer.from(buffered);
        return;
      }
      const head = buffered.subarray(0, end).toString('latin1');
      this.#handshake = null;
      const expected = createHash('sha1').update(this.#key + GUID).digest('base64');
      const status = head.slice(0, head.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 101/.test(status) || !new RegExp(`^sec-websocket-accept: *${escapeRe(expected)}`, 'im').test(head)) {
        this.#socket.destroy();
        this.#finish(1002, `handshake failed: ${status}`);
        return;
      }
      this.#open = true;
      this.#handlers.onOpen();
      if (end + 4 >= buffered.length || this.#closed) return;
      chunk = buffered;
      from = end + 4;
      to = buffered.length;
    }
    let buf = chunk;
    let pos = from;
    let total = to;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk.subarray(from, to)]);
      this.#pending = null;
      pos = 0;
      total = buf.length;
    }
    while (total - pos >= 2 && !this.#closed) {
      const b0 = buf[pos];
      const b1 = buf[pos + 1];
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (total - pos < 4) break;
        len = buf.readUInt16BE(pos + 2);
        header = 4;
      } else if (len === 127) {
        if (total - pos < 10) break;
        len = buf.readUInt32BE(pos + 2) * 4294967296 + buf.readUInt32BE(pos + 6);
        header = 10;
      }
      if (len > MAX_FRAME) {
        this.destroy();
        return;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskLen = masked ? 4 : 0;
      if (total - pos < header + maskLen + len) break;
      const start = pos + header + maskLen;
      if (masked) {
        for (let i = 0; i < len; i++) buf[start + i] ^= buf[pos + header + (i & 3)];
      }
      pos = start + len;
      this.#onFrame(b0 & 0x0f, (b0 & 0x80) !== 0, buf, start, pos);
    }
    // Keep a partial frame: copied, since `buf` may be the shared read buffer.
    if (pos < total && !this.#closed) this.#pending = Buffer.from(buf.subarray(pos, total));
  }

  #onFrame(opcode: number, fin: boolean, buf: Buffer, start: number, end: number): void {
    switch (opcode) {
      case OP_BINARY:
      case OP_TEXT:
        if (fin) {
          this.bytesReceived += end - start;
          this.#handlers.onMessage(buf, start, end, opcode === OP_BINARY);
        } else {
          this.#fragments = [Buffer.from(buf.subarray(start, end))];
          this.#fragmentBinary = opcode === OP_BINARY;
        }
        return;
      case OP_CONT: {
        if (this.#fragments === null) return;
        this.#fragments.push(Buffer.from(buf.subarray(start, end)));
        if (!fin) return;
        const whole = Buffer.concat(this.#fragments);
        this.#fragments = null;
        this.bytesReceived += whole.length;
        this.#handlers.onMessage(whole, 0, whole.length, this.#fragmentBinary);
        return;
      }
      case OP_PING:
        this.#sendFrame(OP_PONG, buf.subarray(start, end));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        const payload = buf.subarray(start, end);
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
        if (this.#open) this.#sendFrame(OP_CLOSE, payload.subarray(0, 2));
        this.#socket.end();
        this.#finish(code, reason);
        return;
      }
      default:
        this.destroy();
    }
  }
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
