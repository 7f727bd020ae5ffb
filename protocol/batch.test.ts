/** Batches on the wire: encodeServerBatch, decodeServerFrames and forEachServerFrame against the generated codec. */
import { describe, expect, it } from 'vitest';
import { flashcast } from './gen/flashcast.js';
import { decodeServerFrames, encodeServerBatch, forEachServerFrame } from './batch.js';
import { encodeServerFrame } from './index.js';

/** A critical event frame whose encoding is about `textBytes` long. */
function eventFrame(offset: number, textBytes = 20): Uint8Array {
  return encodeServerFrame({ event: { room: 'r1', offset, epoch: 'e1', ts: 1_700_000_000_000 + offset, announcement: { text: 'x'.repeat(textBytes) } } });
}

function spans(bytes: Uint8Array, start = 0, end = bytes.length): { ok: boolean; frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  const ok = forEachServerFrame(bytes, start, end, (s, e) => frames.push(bytes.slice(s, e)));
  return { ok, frames };
}

describe('server batches', () => {
  // Lengths around the varint boundaries (127/128 and 16383/16384 bytes).
  const frames = [eventFrame(1), eventFrame(2, 100), eventFrame(3, 130), encodeServerFrame({ rid: 7, ok: { offset: 3 } }), eventFrame(4, 16_400)];

  it('writes the bytes the generated codec writes for ServerFrame{v: 1, batch}', () => {
    const decoded = frames.map((f) => flashcast.ServerFrame.decode(f));
    const reference = flashcast.ServerFrame.encode({ v: 1, batch: { frames: decoded } }).finish();
    expect(Buffer.from(encodeServerBatch(frames)).equals(Buffer.from(reference))).toBe(true);
  });

  it('decodes a batch into its frames, in order, and a plain frame into itself', () => {
    const out = decodeServerFrames(encodeServerBatch(frames));
    expect(out.map((f) => f.msg)).toEqual(['event', 'event', 'event', 'ok', 'event']);
    expect(out.filter((f) => f.event).map((f) => Number(f.event!.offset))).toEqual([1, 2, 3, 4]);
    expect(out[3].rid).toBe(7);
    expect(out[4].event!.announcement!.text).toHaveLength(16_400);
    expect(out.every((f) => f.v === 1)).toBe(true);

    const plain = decodeServerFrames(frames[1]);
    expect(plain).toHaveLength(1);
    expect(Number(plain[0].event!.offset)).toBe(2);
    expect(decodeServerFrames(encodeServerBatch([]))).toEqual([]);
  });

  it('walks the frames of a batch without decoding them', () => {
    const batch = encodeServerBatch(frames);
    const walked = spans(batch);
    expect(walked.ok).toBe(true);
    expect(walked.frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    // Within a larger buffer (a socket's read buffer): only the given bytes.
    const padded = new Uint8Array(batch.length + 10);
    padded.set(batch, 5);
    expect(spans(padded, 5, 5 + batch.length).frames).toHaveLength(frames.length);
  });

  it('visits a plain frame once, whole', () => {
    const walked = spans(frames[3]);
    expect(walked.ok).toBe(true);
    expect(walked.frames).toHaveLength(1);
    expect(flashcast.ServerFrame.decode(walked.frames[0]).ok!.offset).toBe(3);
  });

  it('takes the last batch of a message that carries two, as the generated decoder does', () => {
    const a = encodeServerBatch(frames.slice(0, 2));
    const b = encodeServerBatch(frames.slice(2, 3));
    const merged = new Uint8Array(a.length + b.length);
    merged.set(a);
    merged.set(b, a.length);
    const walked = spans(merged);
    expect(walked.frames.map((f) => flashcast.ServerFrame.decode(f).event!.offset)).toEqual([3]);
    expect(decodeServerFrames(merged).map((f) => f.event!.offset)).toEqual([3]);
  });

  it('refuses truncated or malformed bytes and visits nothing', () => {
    const batch = encodeServerBatch(frames.slice(0, 3));
    for (const cut of [1, 3, 5, 30, batch.length - 1]) {
      const walked = spans(batch, 0, cut);
      expect(walked, `cut at ${cut}`).toEqual({ ok: false, frames: [] });
      expect(() => decodeServerFrames(batch.subarray(0, cut))).toThrow();
    }
    expect(spans(new Uint8Array([0x0f, 0x01])).ok).toBe(false); // wire type 7
    // A frame length running past the end of its batch.
    const bad = encodeServerBatch([frames[0]]);
    bad[BATCH_FRAME_LENGTH_AT] += 1;
    expect(spans(bad).ok).toBe(false);
  });
});

/** In a batch of one short frame: v (2 bytes), batch key (2), batch length (1), frame key (1), then the frame's length. */
const BATCH_FRAME_LENGTH_AT = 6;
