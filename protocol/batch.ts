/**
 * Batches on the wire: the gateway packs several ServerFrames bound for the same sockets into
 * one WebSocket message (`ServerFrame{batch}`); every client unpacks a message with
 * `decodeServerFrames` (or, without decoding, walks its frames with `forEachServerFrame`).
 */
import { flashcast } from './gen/flashcast.js';

/** ServerFrame.batch and Batch.frames (protocol/flashcast.proto). */
const BATCH_FIELD = 24;
const FRAMES_FIELD = 1;
/** `v = 1`, then the key of field 24 with wire type 2, as varints. */
const BATCH_HEADER = [0x08, 0x01, 0xc2, 0x01];
const FRAME_KEY = (FRAMES_FIELD << 3) | 2;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/**
 * One message carrying `frames` (each an encoded ServerFrame, none a batch) in order: the
 * same bytes as `ServerFrame.encode({v: 1, batch: {frames}})`, written without decoding them.
 */
export function encodeServerBatch(frames: readonly Uint8Array[]): Uint8Array {
  let inner = 0;
  for (const frame of frames) inner += 1 + varintSize(frame.length) + frame.length;
  const out = new Uint8Array(BATCH_HEADER.length + varintSize(inner) + inner);
  out.set(BATCH_HEADER);
  let pos = writeVarint(out, BATCH_HEADER.length, inner);
  for (const frame of frames) {
    out[pos++] = FRAME_KEY;
    pos = writeVarint(out, pos, frame.length);
    out.set(frame, pos);
    pos += frame.length;
  }
  return out;
}

/**
 * The frames of one WebSocket message from the server, in order: the frames of a batch, or
 * the message itself. Every client decodes server messages with it. Throws on bytes that
 * are not a ServerFrame (like `ServerFrame.decode`).
 */
export function decodeServerFrames(bytes: Uint8Array): flashcast.ServerFrame[] {
  const frame = flashcast.ServerFrame.decode(bytes);
  return frame.msg === 'batch' ? (frame.batch!.frames as flashcast.ServerFrame[]) : [frame];
}

/**
 * Walks the frames of one message (bytes `start` to `end` of `buf`) without decoding them:
 * `visit(start, end)` for each frame of a batch in order, or once for a plain frame. For
 * readers that decode only what they need (load generators). Returns false, having visited
 * nothing, when the bytes are not well-formed protobuf.
 */
export function forEachServerFrame(buf: Uint8Array, start: number, end: number, visit: (start: number, end: number) => void): boolean {
  const reader = new WireReader(buf);
  // First pass: well-formed, and where its batch is (the last one given, as the generated
  // decoder takes it), if any.
  reader.pos = start;
  let batchStart = -1;
  while (reader.pos < end) {
    const key = reader.varint(end);
    if (key < 0) return false;
    if (Math.floor(key / 8) === BATCH_FIELD && (key & 7) === 2) batchStart = reader.pos;
    if (!reader.skip(end, key & 7)) return false;
  }
  if (batchStart < 0) {
    visit(start, end);
    return true;
  }
  // Second pass over the batch: check every frame's bounds, then visit them.
  for (let pass = 0; pass < 2; pass++) {
    reader.pos = batchStart;
    const batchLength = reader.varint(end);
    const batchEnd = reader.pos + batchLength;
    while (reader.pos < batchEnd) {
      const key = reader.varint(batchEnd);
      if (key < 0) return false;
      if (Math.floor(key / 8) === FRAMES_FIELD && (key & 7) === 2) {
        const length = reader.varint(batchEnd);
        const frameEnd = reader.pos + length;
        if (length < 0 || frameEnd > batchEnd) return false;
        if (pass === 1) visit(reader.pos, frameEnd);
        reader.pos = frameEnd;
      } else if (!reader.skip(batchEnd, key & 7)) {
        return false;
      }
    }
  }
  return true;
}

/** Reads varints and skips fields of protobuf wire format. */
class WireReader {
  pos = 0;

  constructor(readonly buf: Uint8Array) {}

  /** A varint as a number (exact up to 2^53); -1 when it runs past `end`. */
  varint(end: number): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) return -1;
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return -1;
  }

  /** Skips a field's value of wire type `wire`; false when it runs past `end`. */
  skip(end: number, wire: number): boolean {
    switch (wire) {
      case 0:
        return this.varint(end) >= 0;
      case 1:
        this.pos += 8;
        return this.pos <= end;
      case 2: {
        const length = this.varint(end);
        if (length < 0) return false;
        this.pos += length;
        return this.pos <= end;
      }
      case 5:
        this.pos += 4;
        return this.pos <= end;
      default:
        return false;
    }
  }
}
