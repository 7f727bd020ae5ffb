/** Unit tests of ChatSampler: which chat buckets a busy room sends each message to. */
import { describe, expect, it } from 'vitest';
import { ChatSampler } from './ChatSampler.js';

function run(sampler: ChatSampler, perSecond: number, seconds: number): number[] {
  const perBucket = new Array(sampler.buckets).fill(0);
  let everyone = 0;
  const start = 1_000_000;
  for (let i = 0; i < perSecond * seconds; i++) {
    const chosen = sampler.next(start + Math.floor((i * 1000) / perSecond));
    if (chosen === null) everyone++;
    else for (const b of chosen) perBucket[b]++;
  }
  return perBucket.map((n) => n + everyone);
}

describe('ChatSampler', () => {
  it('delivers everything while the room is under the budget', () => {
    const s = new ChatSampler(10, 8);
    expect(run(s, 5, 3)).toEqual(new Array(8).fill(15));
  });

  it('caps every bucket near the budget and shares evenly in a busy room', () => {
    const s = new ChatSampler(10, 8);
    const received = run(s, 200, 5); // 1000 messages
    for (const n of received) {
      expect(n).toBeLessThanOrEqual(10 * 5 + 15); // budget plus the first (unsampled) window
      expect(n).toBeGreaterThanOrEqual(40);
    }
    expect(Math.max(...received) - Math.min(...received)).toBeLessThanOrEqual(3);
  });

  it('sends nothing to a zero budget (Lite with chat off)', () => {
    const s = new ChatSampler(0, 1);
    expect(run(s, 20, 2)).toEqual([0]);
  });
});
