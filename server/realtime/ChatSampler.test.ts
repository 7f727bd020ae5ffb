/** Unit tests of ChatSampler: a quiet room delivers every line; a busy room sends each bucket an even share. */
import { describe, expect, it } from 'vitest';
import { ChatSampler } from './ChatSampler.js';

const START = 1_000_000;

/** Lines each bucket receives for messages at the given times. */
function deliver(sampler: ChatSampler, times: number[]): number[] {
  const perBucket = new Array<number>(sampler.buckets).fill(0);
  for (const t of times) {
    const chosen = sampler.next(t);
    if (chosen === null) for (let b = 0; b < sampler.buckets; b++) perBucket[b]++;
    else for (const b of chosen) perBucket[b]++;
  }
  return perBucket;
}

/** `perSecond` evenly spaced messages a second for `seconds`, from `start`. */
function steady(perSecond: number, seconds: number, start = START): number[] {
  return Array.from({ length: Math.round(perSecond * seconds) }, (_, i) => start + Math.floor((i * 1000) / perSecond));
}

function run(sampler: ChatSampler, perSecond: number, seconds: number): number[] {
  return deliver(sampler, steady(perSecond, seconds));
}

describe('ChatSampler', () => {
  it('delivers everything while the room is under the budget', () => {
    const s = new ChatSampler(10, 8);
    expect(run(s, 5, 3)).toEqual(new Array(8).fill(15));
  });

  it('a Lite viewer in a quiet room gets every line: 1 line a second', () => {
    // The bug this guards: the first line of a quiet second counted as a rate of 4/s, over
    // Lite's budget of 2, so every other line was dropped.
    const s = new ChatSampler(2, 1);
    expect(run(s, 1, 20)).toEqual([20]);
  });

  it('a Lite viewer gets every line of a room exactly at its budget, and of irregular quiet chat', () => {
    expect(run(new ChatSampler(2, 1), 2, 10)).toEqual([20]);
    // Pairs of lines a few ms apart, a second or more between pairs.
    const times = [0, 5, 1200, 1201, 2400, 2450, 5000, 5003, 6003, 6004].map((t) => START + t);
    expect(deliver(new ChatSampler(2, 1), times)).toEqual([10]);
  });

  it('a burst within the budget reaches everyone, even in the same millisecond', () => {
    const s = new ChatSampler(10, 8);
    const times = [0, 0, 0, 3000, 3001, 3002, 7000, ...new Array(10).fill(9000)].map((t) => START + t);
    expect(deliver(s, times)).toEqual(new Array(8).fill(times.length));
  });

  it('samples a line that takes the last second over the budget', () => {
    // Three lines at once for a Lite budget of 2: the third is more than a Lite viewer is shown.
    const s = new ChatSampler(2, 1);
    expect(s.next(START)).toBeNull();
    expect(s.next(START)).toBeNull();
    expect(s.next(START)).toEqual([]);
    // A second later the room is quiet again.
    expect(s.next(START + 1000)).toBeNull();
  });

  it('caps every bucket near the budget and shares evenly in a busy room', () => {
    const s = new ChatSampler(10, 8);
    const received = run(s, 200, 5); // 1000 messages
    for (const n of received) {
      expect(n).toBeLessThanOrEqual(10 * 5 + 15); // budget plus the first (unsampled) lines
      expect(n).toBeGreaterThanOrEqual(40);
    }
    expect(Math.max(...received) - Math.min(...received)).toBeLessThanOrEqual(3);
  });

  it('gives each bucket about its budget in every second of a busy room', () => {
    const s = new ChatSampler(10, 8);
    deliver(s, steady(100, 2)); // past the first busy second
    for (let second = 2; second < 6; second++) {
      const received = deliver(s, steady(100, 1, START + second * 1000));
      for (const n of received) {
        expect(n).toBeGreaterThanOrEqual(9);
        expect(n).toBeLessThanOrEqual(11);
      }
    }
  });

  it('a Lite viewer of a busy room gets about its budget a second', () => {
    const s = new ChatSampler(2, 1);
    const [n] = run(s, 50, 10);
    expect(n).toBeGreaterThanOrEqual(18);
    expect(n).toBeLessThanOrEqual(24);
  });

  it('goes from quiet to busy and back: every line while quiet, about the budget while busy', () => {
    const s = new ChatSampler(10, 8);
    expect(deliver(s, steady(4, 5))).toEqual(new Array(8).fill(20));
    const busy = deliver(s, steady(100, 5, START + 5000));
    for (const n of busy) {
      expect(n).toBeGreaterThanOrEqual(45);
      expect(n).toBeLessThanOrEqual(65);
    }
    // The first quiet line comes a second after the burst ended; from then on, every line.
    const quiet = steady(3, 5, START + 11_000);
    expect(deliver(s, quiet)).toEqual(new Array(8).fill(quiet.length));
  });

  it('sends nothing to a zero budget (Lite with chat off)', () => {
    const s = new ChatSampler(0, 1);
    expect(run(s, 20, 2)).toEqual([0]);
    expect(run(new ChatSampler(0, 1), 1, 5)).toEqual([0]);
  });

  it('refuses a budget that is not a whole number of lines', () => {
    expect(() => new ChatSampler(-1, 1)).toThrow(TypeError);
    expect(() => new ChatSampler(1.5, 1)).toThrow(TypeError);
    expect(() => new ChatSampler(1, 0)).toThrow(TypeError);
  });
});
