import { describe, expect, it } from 'vitest';
import { EventScanner, ScanResult, announcementText } from './EventScanner.js';
import { encodeServerFrame } from '../../protocol/index.js';

describe('EventScanner', () => {
  const scanner = new EventScanner();

  it('reads the offset and sequence number of an announcement, as the generated decoder would', () => {
    for (const [seq, offset] of [[0, 1], [7, 300], [123_456_789, 2 ** 40 + 3]]) {
      const frame = encodeServerFrame({
        rid: 0,
        event: { room: 'bench', offset, epoch: 'ep-1', ts: Date.now(), announcement: { text: announcementText(seq, 64), byUserId: 'h1' } },
      });
      expect(scanner.scan(frame)).toBe(ScanResult.Announcement);
      expect(scanner.offset).toBe(offset);
      expect(scanner.seq).toBe(seq);
    }
  });

  it('scans a frame in the middle of a larger buffer without reading outside it', () => {
    const frame = encodeServerFrame({ event: { room: 'bench', offset: 42, announcement: { text: announcementText(41, 64) } } });
    const buf = Buffer.alloc(frame.length + 20, 0xff);
    buf.set(frame, 7);
    expect(scanner.scan(buf, 7, 7 + frame.length)).toBe(ScanResult.Announcement);
    expect(scanner.offset).toBe(42);
    expect(scanner.seq).toBe(41);
    // Cut one byte short: never an announcement, never reads the 0xff padding after the end.
    expect(scanner.scan(buf, 7, 6 + frame.length)).not.toBe(ScanResult.Announcement);
  });

  it('tells other events and control frames apart', () => {
    expect(scanner.scan(encodeServerFrame({ event: { room: 'r', ts: 1, chat: { id: 'c1', text: 'hi' } } }))).toBe(ScanResult.OtherEvent);
    expect(scanner.scan(encodeServerFrame({ rid: 1, joined: { room: 'r', offset: 5, epoch: 'e' } }))).toBe(ScanResult.Other);
    expect(scanner.scan(encodeServerFrame({ connected: { sessionId: 's', pingIntervalMs: 20_000 } }))).toBe(ScanResult.Other);
    // An announcement whose text does not start with a sequence number is not a benchmark message.
    expect(scanner.scan(encodeServerFrame({ event: { room: 'r', offset: 2, announcement: { text: 'hello' } } }))).toBe(ScanResult.OtherEvent);
  });

  it('rejects truncated frames instead of reading past them', () => {
    const frame = encodeServerFrame({ event: { room: 'bench', offset: 9, announcement: { text: announcementText(1, 40) } } });
    for (let cut = 1; cut < frame.length; cut++) {
      const result = scanner.scan(frame.subarray(0, cut));
      expect(result === ScanResult.Malformed || result === ScanResult.OtherEvent || result === ScanResult.Other).toBe(true);
      expect(result).not.toBe(ScanResult.Announcement);
    }
  });

  it('pads announcement text to the requested size', () => {
    expect(announcementText(42, 64)).toHaveLength(64);
    expect(announcementText(42, 64).startsWith('000000042 ')).toBe(true);
  });
});
