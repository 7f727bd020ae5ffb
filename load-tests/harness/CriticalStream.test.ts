import { describe, expect, it } from 'vitest';
import { CriticalStream } from './CriticalStream.js';

describe('CriticalStream', () => {
  it('counts a complete stream as lossless', () => {
    const s = new CriticalStream(10);
    for (let o = 11; o <= 20; o++) s.accept(o);
    expect(s.lostUpTo(20)).toBe(0);
    expect(s.duplicates).toBe(0);
  });

  it('counts gaps, duplicates and a missing tail as loss', () => {
    const s = new CriticalStream(0);
    for (const o of [1, 2, 2, 4, 5, 3]) s.accept(o);
    expect(s.gapped).toBe(1);
    expect(s.duplicates).toBe(2); // the repeated 2 and the late 3
    expect(s.lostUpTo(5)).toBe(1);
    expect(s.lostUpTo(8)).toBe(4);
  });
});
