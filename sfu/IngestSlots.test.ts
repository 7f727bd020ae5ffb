import { describe, expect, it } from 'vitest';
import { MediaLimitError } from './errors.js';
import { IngestSlots } from './IngestSlots.js';

function refusal(fn: () => unknown): MediaLimitError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MediaLimitError);
    return error as MediaLimitError;
  }
  throw new Error('reserve succeeded');
}

describe('IngestSlots', () => {
  it('holds at most perRoom slots in a room; a release frees exactly one, however often it is called', () => {
    const slots = new IngestSlots({ perRoom: 2, total: 10 });
    const a = slots.reserve('r');
    const b = slots.reserve('r');
    const full = refusal(() => slots.reserve('r'));
    expect([full.code, full.status]).toEqual(['MEDIA_LIMIT_REACHED', 429]);
    expect(slots.reserve('other').roomId).toBe('other');
    a.release();
    a.release();
    expect(a.released).toBe(true);
    expect(slots.inRoom('r')).toBe(1);
    const c = slots.reserve('r');
    refusal(() => slots.reserve('r'));
    b.release();
    c.release();
    expect(slots.inRoom('r')).toBe(0);
    expect(slots.size).toBe(1);
  });

  it('holds at most total slots over all rooms', () => {
    const slots = new IngestSlots({ perRoom: 2, total: 3 });
    const held = ['a', 'b', 'c'].map((r) => slots.reserve(r));
    expect(refusal(() => slots.reserve('d')).message).toMatch(/maximum of 3/);
    held[1].release();
    expect(slots.reserve('d').roomId).toBe('d');
    expect(slots.size).toBe(3);
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => new IngestSlots({ perRoom: 0, total: 1 })).toThrow(TypeError);
    expect(() => new IngestSlots({ perRoom: 1, total: Number.NaN })).toThrow(TypeError);
  });
});
