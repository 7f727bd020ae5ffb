import { describe, expect, it } from 'vitest';
import { NO_STREAM, StreamCursor, StreamDecision, type RecoveryAnswer, type StreamPosition } from './StreamCursor.js';

const at = (epoch: string, offset: number): StreamPosition => ({ epoch, offset });

describe('StreamCursor.decide', () => {
  // [cursor position, event position, decision]
  const cases: [StreamPosition | null, StreamPosition, StreamDecision][] = [
    // Same epoch: the next event delivers, older ones are duplicates, later ones leave a gap.
    [at('e1', 5), at('e1', 6), StreamDecision.Deliver],
    [at('e1', 5), at('e1', 5), StreamDecision.Duplicate],
    [at('e1', 5), at('e1', 4), StreamDecision.Duplicate],
    [at('e1', 5), at('e1', 1), StreamDecision.Duplicate],
    [at('e1', 5), at('e1', 7), StreamDecision.Gap],
    [at('e1', 5), at('e1', 1000), StreamDecision.Gap],
    // A stream in an epoch whose first event has not been seen yet (offset 0 in that epoch).
    [at('e1', 0), at('e1', 1), StreamDecision.Deliver],
    [at('e1', 0), at('e1', 2), StreamDecision.Gap],
    // Another epoch: whatever the offsets, only a snapshot settles it.
    [at('e1', 5), at('e2', 6), StreamDecision.Resync],
    [at('e1', 5), at('e2', 1), StreamDecision.Resync],
    [at('e1', 5), at('e2', 5), StreamDecision.Resync],
    [at('e1', 5), at('e2', 3), StreamDecision.Resync],
    [at('e1', 0), at('e2', 1), StreamDecision.Resync],
    // No stream yet ('' at 0): the first event of the new stream continues it, in its epoch;
    // any later one means the stream started without us and its start is missing.
    [NO_STREAM, at('e1', 1), StreamDecision.Deliver],
    [NO_STREAM, at('e9', 1), StreamDecision.Deliver],
    [NO_STREAM, at('e1', 2), StreamDecision.Gap],
    [NO_STREAM, at('e1', 40), StreamDecision.Gap],
    // Unpositioned: nothing can be placed.
    [null, at('e1', 1), StreamDecision.Resync],
    [null, at('e1', 6), StreamDecision.Resync],
  ];

  it.each(cases)('at %j, event %j: %s', (position, event, decision) => {
    const cursor = new StreamCursor(position);
    expect(cursor.decide(event)).toBe(decision);
    // decide never moves the cursor.
    expect(cursor.position).toEqual(position);
  });

  it('accept moves only on Deliver', () => {
    for (const [position, event, decision] of cases) {
      const cursor = new StreamCursor(position);
      expect(cursor.accept(event)).toBe(decision);
      expect(cursor.position).toEqual(decision === StreamDecision.Deliver ? event : position);
    }
  });

  it('adopts the epoch of the first event after no stream, then holds to it', () => {
    const cursor = new StreamCursor(NO_STREAM);
    expect(cursor.accept(at('e1', 1))).toBe(StreamDecision.Deliver);
    expect(cursor.position).toEqual(at('e1', 1));
    // The adoption is once: a first event of yet another epoch is now a different stream.
    expect(cursor.accept(at('e2', 1))).toBe(StreamDecision.Resync);
    expect(cursor.accept(at('e1', 1))).toBe(StreamDecision.Duplicate);
    expect(cursor.accept(at('e1', 2))).toBe(StreamDecision.Deliver);
    expect(cursor.position).toEqual(at('e1', 2));
  });

  it('delivers a run in order and drops a replay overlap', () => {
    const cursor = new StreamCursor(at('e1', 10));
    const seen: StreamDecision[] = [];
    for (const offset of [11, 12, 11, 12, 13, 15, 14, 15]) seen.push(cursor.accept(at('e1', offset)));
    expect(seen).toEqual(['deliver', 'deliver', 'duplicate', 'duplicate', 'deliver', 'gap', 'deliver', 'deliver']);
    expect(cursor.position).toEqual(at('e1', 15));
  });

  it.each([
    [at('', 1)],
    [at('e1', 0)],
    [at('e1', -1)],
    [at('e1', 1.5)],
    [at('e1', Number.NaN)],
    [{ epoch: undefined as unknown as string, offset: 1 }],
  ])('refuses an event position %j with a TypeError', (event) => {
    expect(() => new StreamCursor(at('e1', 1)).decide(event)).toThrow(TypeError);
    expect(() => new StreamCursor(null).decide(event)).toThrow(TypeError);
  });
});

describe('StreamCursor positions', () => {
  it('starts unpositioned by default', () => {
    const cursor = new StreamCursor();
    expect(cursor.positioned).toBe(false);
    expect(cursor.position).toBeNull();
    expect([cursor.epoch, cursor.offset]).toEqual(['', 0]);
  });

  it('reset positions and unpositions', () => {
    const cursor = new StreamCursor();
    cursor.reset(at('e1', 3));
    expect(cursor.position).toEqual(at('e1', 3));
    expect([cursor.epoch, cursor.offset, cursor.positioned]).toEqual(['e1', 3, true]);
    cursor.reset(NO_STREAM);
    expect(cursor.position).toEqual(NO_STREAM);
    expect(cursor.positioned).toBe(true);
    cursor.reset(null);
    expect(cursor.position).toBeNull();
  });

  it('returns a copy of its position', () => {
    const cursor = new StreamCursor(at('e1', 3));
    const position = cursor.position!;
    position.offset = 99;
    expect(cursor.offset).toBe(3);
  });

  it.each([[at('', 3)], [at('e1', -1)], [at('e1', 0.5)], [{ epoch: 7 as unknown as string, offset: 0 }]])('refuses position %j', (position) => {
    expect(() => new StreamCursor(position)).toThrow(TypeError);
  });

  it('isNoStream and continues', () => {
    expect(StreamCursor.isNoStream(NO_STREAM)).toBe(true);
    expect(StreamCursor.isNoStream(at('e1', 0))).toBe(false);
    expect(StreamCursor.continues(at('e1', 4), 'e1')).toBe(true);
    expect(StreamCursor.continues(at('e1', 4), 'e2')).toBe(false);
    expect(StreamCursor.continues(at('e1', 4), '')).toBe(false);
    expect(StreamCursor.continues(NO_STREAM, 'e2')).toBe(true);
    expect(StreamCursor.continues(NO_STREAM, '')).toBe(true);
  });
});

describe('StreamCursor.isRecovered (as Centrifuge tests isStreamRecovered)', () => {
  const answer = (recovered: boolean, epoch: string, offset: number, offsets?: number[]): RecoveryAnswer => ({ recovered, epoch, offset, offsets });

  // [from, answer, recovered]
  const cases: [StreamPosition | null, RecoveryAnswer, boolean][] = [
    // The answerer says no: a snapshot, whatever else.
    [at('e1', 5), answer(false, 'e1', 5), false],
    [at('e1', 5), answer(false, 'e1', 8, [6, 7, 8]), false],
    // Replayed offsets unknown (raw frames): the answerer's word and the epoch decide.
    [at('e1', 5), answer(true, 'e1', 8), true],
    [at('e1', 5), answer(true, 'e2', 8), false],
    [NO_STREAM, answer(true, 'e1', 8), true],
    [NO_STREAM, answer(true, '', 0), true],
    // Nothing replayed: only a reader already at the top is recovered.
    [at('e1', 5), answer(true, 'e1', 5, []), true],
    [at('e1', 5), answer(true, 'e1', 6, []), false],
    [at('e1', 5), answer(true, 'e1', 4, []), false],
    [NO_STREAM, answer(true, '', 0, []), true],
    [NO_STREAM, answer(true, 'e1', 0, []), true],
    // Replayed events must run from the next offset to the top without a hole.
    [at('e1', 5), answer(true, 'e1', 8, [6, 7, 8]), true],
    [at('e1', 5), answer(true, 'e1', 6, [6]), true],
    [at('e1', 5), answer(true, 'e1', 8, [7, 8]), false],
    [at('e1', 5), answer(true, 'e1', 8, [6, 8]), false],
    [at('e1', 5), answer(true, 'e1', 8, [6, 7]), false],
    [at('e1', 5), answer(true, 'e1', 9, [6, 7, 8]), false],
    [at('e1', 5), answer(true, 'e1', 8, [6, 7, 7, 8]), false],
    [at('e1', 5), answer(true, 'e2', 8, [6, 7, 8]), false],
    // From no stream, the replay starts at the stream's first event.
    [NO_STREAM, answer(true, 'e1', 3, [1, 2, 3]), true],
    [NO_STREAM, answer(true, 'e1', 3, [2, 3]), false],
    // No position to recover from.
    [null, answer(true, 'e1', 3), false],
    [null, answer(true, 'e1', 3, [1, 2, 3]), false],
    [null, answer(false, 'e1', 3), false],
  ];

  it.each(cases)('from %j, answer %j: %s', (from, a, recovered) => {
    expect(StreamCursor.isRecovered(from, a)).toBe(recovered);
  });

  it('recover keeps the position when recovered and takes the answer otherwise', () => {
    for (const [from, a, recovered] of cases) {
      const cursor = new StreamCursor(from);
      expect(cursor.recover(a)).toBe(recovered);
      expect(cursor.position).toEqual(recovered ? from : at(a.epoch, a.offset));
    }
  });

  it('a recovered replay from no stream is accepted event by event, adopting the epoch', () => {
    const cursor = new StreamCursor(NO_STREAM);
    expect(cursor.recover(answer(true, 'e1', 3, [1, 2, 3]))).toBe(true);
    expect([1, 2, 3].map((o) => cursor.accept(at('e1', o)))).toEqual(['deliver', 'deliver', 'deliver']);
    expect(cursor.position).toEqual(at('e1', 3));
  });

  it('a snapshot answer positions an unpositioned cursor', () => {
    const cursor = new StreamCursor();
    expect(cursor.recover(answer(false, 'e1', 42))).toBe(false);
    expect(cursor.position).toEqual(at('e1', 42));
    expect(cursor.decide(at('e1', 43))).toBe(StreamDecision.Deliver);
  });
});
