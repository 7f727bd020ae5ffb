import { RawWebSocket } from './RawWebSocket.js';
import { EventScanner, ScanResult } from './EventScanner.js';
import { decodeServerFrame, encodeClientFrame, forEachServerFrame } from '../../protocol/index.js';

/** The wire dialect a viewer speaks: Flashcast's protocol or one of the baselines. */
export type ServerKind = 'flashcast' | 'uws' | 'socketio';

/** Called by viewers on the hot path; implemented once per worker (ViewerDriver). */
export interface ViewerSink {
  /** The one scanner of this thread. */
  readonly scanner: EventScanner;
  /** A benchmark announcement arrived (the scanner holds its offset and seq). */
  delivered(viewer: Viewer, bytes: number): void;
  /** The viewer is in the room (or failed to get there). */
  settled(viewer: Viewer, ok: boolean, reason: string): void;
  /** The viewer's socket closed. */
  closed(viewer: Viewer, code: number, reason: string): void;
}

/** The uWS baseline's "you are subscribed" frame (one byte). */
export const UWS_READY_BYTE = 0x01;
/** The Socket.IO baseline's event names. */
export const SOCKETIO_EVENT = 'm';
export const SOCKETIO_READY = '42["ready"]';

const JOIN_RID = 1;

/**
 * One benchmark viewer: connects, joins the room in its server's dialect, then
 * checks that every announcement's room offset follows the previous one, so that
 * losses, gaps and duplicates are counted per viewer rather than assumed.
 */
export class Viewer {
  readonly index: number;
  readonly kind: ServerKind;
  readonly #sink: ViewerSink;
  readonly #room: string;
  #ws: RawWebSocket | null = null;
  /** Room offset when the viewer joined; announcements follow from offset + 1. */
  baseOffset = 0;
  /** Highest offset seen so far. */
  lastOffset = 0;
  /** Distinct announcements received in order (or after a gap). */
  received = 0;
  /** Announcements whose offset was not above the last one (replays, duplicates). */
  duplicates = 0;
  /** Offsets skipped over (messages that never arrived before a later one). */
  gapped = 0;
  /** Epoch reported by the server at join (Flashcast only). */
  epoch = '';
  /** The server's requested ping interval (Flashcast only; 0 = none). */
  pingIntervalMs = 0;
  joined = false;
  settled = false;
  closed = false;
  closeCode = 0;
  closeReason = '';
  /** Set by the driver while the viewer is joining. */
  joinTimer: NodeJS.Timeout | null = null;
  /** WebSocket messages received (a Flashcast batch is one message holding several frames). */
  messages = 0;
  /** `received`, `duplicates`, `gapped` and `messages` when the current step began (ViewerDriver.startStep). */
  readonly stepBase = { received: 0, duplicates: 0, gapped: 0, messages: 0 };
  /** Socket.IO: a binary attachment is expected next. */
  #awaitingAttachment = false;
  /** The message being walked (Flashcast), for #visitFrame. */
  #message: Buffer | null = null;
  readonly #visitFrame = (start: number, end: number): void => this.#onFrame(this.#message!, start, end);

  constructor(index: number, kind: ServerKind, room: string, sink: ViewerSink) {
    this.index = index;
    this.kind = kind;
    this.#room = room;
    this.#sink = sink;
  }

  /** Opens the connection; `settled` fires on join or failure. */
  connect(host: string, port: number, path: string): void {
    this.#ws = new RawWebSocket(host, port, path, {
      onOpen: () => {},
      onMessage: (data, start, end, isBinary) => this.#onMessage(data, start, end, isBinary),
      onClose: (code, reason) => {
        this.closed = true;
        this.closeCode = code;
        this.closeReason = reason;
        if (!this.settled) this.#settle(false, `closed before joining: ${code} ${reason}`);
        this.#sink.closed(this, code, reason);
      },
    });
  }

  /** Sends a pre-encoded binary frame (pings). */
  sendBinary(frame: Uint8Array): void {
    this.#ws?.sendBinary(frame);
  }

  /** Gives up on a viewer that did not join in time. */
  fail(reason: string): void {
    if (!this.settled) this.#settle(false, reason);
    this.#ws?.destroy();
  }

  /** Closes the connection (normal closure). */
  close(): void {
    this.#ws?.close(1000);
  }

  #settle(ok: boolean, reason: string): void {
    this.settled = true;
    this.joined = ok;
    this.#sink.settled(this, ok, reason);
  }

  /** Bytes `start` to `end` of `data` (the shared read buffer: not kept). */
  #onMessage(data: Buffer, start: number, end: number, isBinary: boolean): void {
    this.messages++;
    if (this.kind === 'flashcast') {
      // A message is one frame or a batch of them (protocol/batch.ts), walked without decoding.
      this.#message = data;
      const ok = forEachServerFrame(data, start, end, this.#visitFrame);
      this.#message = null;
      if (!ok && !this.settled) this.fail('undecodable message');
      return;
    }
    if (this.kind === 'socketio') {
      if (!isBinary) {
        // The event header of every delivery ('451-["m",...]'): recognised without decoding it.
        if (end - start > 4 && data[start] === 0x34 && data[start + 1] === 0x35 && data[start + 2] === 0x31 && data[start + 3] === 0x2d) {
          this.#awaitingAttachment = true;
        } else {
          this.#onSocketIoText(data.toString('utf8', start, end));
        }
        return;
      }
      if (!this.#awaitingAttachment) return;
      this.#awaitingAttachment = false;
    }
    this.#onFrame(data, start, end);
  }

  /** One ServerFrame: bytes `start` to `end` of `data`. */
  #onFrame(data: Buffer, start: number, end: number): void {
    const scanner = this.#sink.scanner;
    const result = scanner.scan(data, start, end);
    if (result === ScanResult.Announcement && scanner.seq >= 0) {
      const offset = scanner.offset;
      if (offset === this.lastOffset + 1) {
        this.lastOffset = offset;
        this.received++;
      } else if (offset <= this.lastOffset) {
        this.duplicates++;
      } else {
        this.gapped += offset - this.lastOffset - 1;
        this.lastOffset = offset;
        this.received++;
      }
      this.#sink.delivered(this, end - start);
      return;
    }
    if (result === ScanResult.OtherEvent) return;
    if (this.kind === 'uws') {
      if (!this.settled && end - start === 1 && data[start] === UWS_READY_BYTE) this.#settle(true, '');
      return;
    }
    if (this.kind === 'flashcast') this.#onFlashcastControl(data.subarray(start, end));
  }

  #onFlashcastControl(data: Buffer): void {
    let frame;
    try {
      frame = decodeServerFrame(data);
    } catch (error) {
      if (!this.settled) this.fail(`undecodable frame: ${(error as Error).message}`);
      return;
    }
    if (frame.connected) {
      this.pingIntervalMs = Number(frame.connected.pingIntervalMs ?? 0);
      this.#ws?.sendBinary(encodeClientFrame({ v: 1, rid: JOIN_RID, join: { room: this.#room } }));
    } else if (frame.joined && frame.rid === JOIN_RID) {
      this.baseOffset = Number(frame.joined.offset ?? 0);
      this.lastOffset = this.baseOffset;
      this.epoch = frame.joined.epoch ?? '';
      this.#settle(true, '');
    } else if (frame.error && !this.settled) {
      this.fail(`join refused: ${frame.error.code} ${frame.error.message}`);
    }
  }

  #onSocketIoText(text: string): void {
    if (text.startsWith('451-')) {
      this.#awaitingAttachment = true;
    } else if (text === '2') {
      this.#ws?.sendText('3');
    } else if (text.startsWith('0{')) {
      this.#ws?.sendText('40');
    } else if (text === SOCKETIO_READY) {
      if (!this.settled) this.#settle(true, '');
    } else if (text.startsWith('44')) {
      this.fail(`connect refused: ${text}`);
    }
  }
}
