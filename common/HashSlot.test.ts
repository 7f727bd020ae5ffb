import { describe, expect, it } from 'vitest';
import { HashSlot } from './HashSlot.js';

describe('HashSlot', () => {
  it('computes the slots Redis Cluster computes', () => {
    // CRC16/XMODEM check value of "123456789" is 0x31C3; the others are from the Redis docs (CLUSTER KEYSLOT).
    expect(HashSlot.of('123456789')).toBe(0x31c3);
    expect(HashSlot.of('user:1')).toBe(10778);
    expect(HashSlot.of('user:2')).toBe(6777);
    expect(HashSlot.of('somekey')).toBe(11058);
    expect(HashSlot.of('foo')).toBe(12182);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(HashSlot.of('{user1000}.following')).toBe(HashSlot.of('user1000'));
    expect(HashSlot.of('fc:{r:room1}:hist')).toBe(HashSlot.of('r:room1'));
    expect(HashSlot.of('foo{}{bar}')).toBe(HashSlot.of('foo{}{bar}')); // empty tag: the whole key
    expect(HashSlot.of('foo{}{bar}')).not.toBe(HashSlot.of('bar'));
    expect(HashSlot.of('foo{{bar}}zap')).toBe(HashSlot.of('{bar'));
  });

  it('finds a tag in each range, deterministically', () => {
    for (const parts of [1, 3, 6, 16]) {
      const tags = Array.from({ length: parts }, (_, r) => HashSlot.tagInRange('d:deal42', r, parts));
      tags.forEach((tag, r) => expect(HashSlot.range(HashSlot.of(`{${tag}}`), parts)).toBe(r));
      expect(Array.from({ length: parts }, (_, r) => HashSlot.tagInRange('d:deal42', r, parts))).toEqual(tags);
      expect(new Set(tags).size).toBe(parts);
    }
    expect(() => HashSlot.tagInRange('x', 3, 3)).toThrow(TypeError);
  });
});
