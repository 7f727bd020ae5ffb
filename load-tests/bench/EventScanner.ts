/** What EventScanner.scan found in a ServerFrame. */
export const enum ScanResult {
  /** Not a ServerFrame{event} (connected, joined, ok, error...): decode it fully. */
  Other = 0,
  /** A RoomEvent carrying an Announcement whose text starts with a sequence number. */
  Announcement = 1,
  /** A RoomEvent of another kind (chat, stats...). */
  OtherEvent = 2,
  /** The bytes are not valid protobuf. */
  Malformed = 3,
}

/** Field numbers from protocol/flashcast.proto. */
const SERVER_FRAME_EVENT = 16;
const ROOM_EVENT_OFFSET = 2;
const ROOM_EVENT_ANNOUNCEMENT = 18;
const ANNOUNCEMENT_TEXT = 1;
/** Digits of the zero-padded sequence number at the start of a benchmark announcement. */
export const SEQ_DIGITS = 9;

/**
 * Reads just what a load-test viewer needs out of a ServerFrame (the room offset and
 * the sequence number at the start of an announcement's text) by walking the
 * protobuf wire format, without allocating. The generated decoder would build four
 * objects and two strings per delivery; at 100k deliveries/s on a shared machine
 * that cost would be charged to the server being measured.
 *
 * Results are left in `offset` and `seq` (one scanner per thread, not re-entrant).
 */
export class EventScanner {
  /** RoomEvent.offset of the last scanned event. */
  offset = 0;
  /** Sequence number parsed from the announcement text, or -1. */
  seq = -1;
  #pos = 0;

  /** Scans one ServerFrame: bytes `start` to `end` of `buf` (default: all of it). */
  scan(buf: Uint8Array, start = 0, end = buf.length): ScanResult {
    this.offset = 0;
    this.seq = -1;
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#varint(buf, end);
      if (tag < 0) return ScanResult.Malformed;
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === SERVER_FRAME_EVENT && wire === 2) {
        const len = this.#varint(buf, end);
        if (len < 0 || this.#pos + len > end) return ScanResult.Malformed;
        return this.#roomEvent(buf, this.#pos + len);
      }
      if (!this.#skip(buf, end, wire)) return ScanResult.Malformed;
    }
    return ScanResult.Other;
  }

  #roomEvent(buf: Uint8Array, end: number): ScanResult {
    let result = ScanResult.OtherEvent;
    while (this.#pos < end) {
      const tag = this.#varint(buf, end);
      if (tag < 0) return ScanResult.Malformed;
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === ROOM_EVENT_OFFSET && wire === 0) {
        const offset = this.#varint(buf, end);
        if (offset < 0) return ScanResult.Malformed;
        this.offset = offset;
      } else if (field === ROOM_EVENT_ANNOUNCEMENT && wire === 2) {
        const len = this.#varint(buf, end);
        if (len < 0 || this.#pos + len > end) return ScanResult.Malformed;
        const next = this.#pos + len;
        if (this.#announcement(buf, next)) result = ScanResult.Announcement;
        this.#pos = next;
      } else if (!this.#skip(buf, end, wire)) {
        return ScanResult.Malformed;
      }
    }
    return result;
  }

  #announcement(buf: Uint8Array, end: number): boolean {
    while (this.#pos < end) {
      const tag = this.#varint(buf, end);
      if (tag < 0) return false;
      if (Math.floor(tag / 8) === ANNOUNCEMENT_TEXT && (tag & 7) === 2) {
        const len = this.#varint(buf, end);
        if (len < SEQ_DIGITS || this.#pos + len > end) return false;
        let seq = 0;
        for (let i = 0; i < SEQ_DIGITS; i++) {
          const d = buf[this.#pos + i] - 48;
          if (d < 0 || d > 9) return false;
          seq = seq * 10 + d;
        }
        this.seq = seq;
        return true;
      }
      if (!this.#skip(buf, end, tag & 7)) return false;
    }
    return false;
  }

  /** Reads a varint as a number (exact up to 2^53); -1 if truncated. */
  #varint(buf: Uint8Array, end: number): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= end) return -1;
      const b = buf[this.#pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return -1;
  }

  #skip(buf: Uint8Array, end: number, wire: number): boolean {
    switch (wire) {
      case 0:
        return this.#varint(buf, end) >= 0;
      case 1:
        this.#pos += 8;
        return this.#pos <= end;
      case 2: {
        const len = this.#varint(buf, end);
        if (len < 0) return false;
        this.#pos += len;
        return this.#pos <= end;
      }
      case 5:
        this.#pos += 4;
        return this.#pos <= end;
      default:
        return false;
    }
  }
}

/** The announcement text for sequence number `seq`, padded with filler to `size` bytes. */
export function announcementText(seq: number, size: number): string {
  const head = String(seq).padStart(SEQ_DIGITS, '0');
  return size > head.length ? head + ' ' + 'x'.repeat(size - head.length - 1) : head;
}
