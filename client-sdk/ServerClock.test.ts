import { describe, expect, it } from 'vitest';
import { ServerClock } from './ServerClock.js';

/** A page whose clock runs `skew` ms behind the server's, with a settable local time. */
function page(skew: number) {
  let local = 1_000_000;
  const clock = new ServerClock({ now: () => local, windowMs: 60_000 });
  return { clock, server: () => local + skew, advance: (ms: number) => (local += ms), local: () => local };
}

describe('ServerClock', () => {
  it('reads a lower bound from stamped frames: late by the one-way delay, never early', () => {
    const p = page(-42_000); // the device is 42 s ahead of the server
    const stampedAt = p.server();
    p.advance(80); // 80 ms on the way
    p.clock.stamped(stampedAt);
    expect(p.clock.offsetMs).toBe(-42_080);
    // A faster frame tightens the bound.
    const next = p.server();
    p.advance(5);
    p.clock.stamped(next);
    expect(p.clock.offsetMs).toBe(-42_005);
    expect(p.clock.until(p.server() + 10_000)).toBe(10_005);
  });

  it('takes the middle of a round trip, within half its width of the truth', () => {
    const p = page(3_600_000);
    const sent = p.local();
    p.advance(30);
    const t = p.server(); // the server answers after 30 ms
    p.advance(70); // and the answer takes 70 ms back
    p.clock.roundTrip(sent, t);
    expect(Math.abs(p.clock.offsetMs - 3_600_000)).toBeLessThanOrEqual(50);
    expect(p.clock.offsetMs).toBe(3_600_000 - 20); // the middle of [T − L, T − C] = [−70, +30]
  });

  it('combines bounds: a stamped frame narrows a round trip from below', () => {
    const p = page(500);
    const sent = p.local();
    p.advance(100);
    const t = p.server();
    p.advance(100);
    p.clock.roundTrip(sent, t); // [400, 600]
    const stamped = p.server();
    p.advance(10);
    p.clock.stamped(stamped); // lo 490
    expect(p.clock.offsetMs).toBe((490 + 600) / 2);
  });

  it('starts afresh when the server clock steps (contradicting bounds) and forgets old samples', () => {
    const p = page(0);
    p.clock.roundTrip(p.local(), p.server()); // [0, 0]
    expect(p.clock.offsetMs).toBe(0);
    // The server's clock steps back 5 s: its timestamps now contradict the old interval.
    const sent = p.local();
    p.advance(10);
    p.clock.roundTrip(sent, p.server() - 5000);
    expect(p.clock.offsetMs).toBe(-4995); // the middle of [−5000, −4990]
    // Outside the window, a sample no longer constrains.
    p.advance(120_000);
    p.clock.stamped(p.server() - 9000);
    expect(p.clock.offsetMs).toBe(-9000);
  });

  it('ignores empty timestamps and says 0 before any sample', () => {
    const p = page(123);
    expect(p.clock.synced).toBe(false);
    expect(p.clock.offsetMs).toBe(0);
    p.clock.stamped(0);
    expect(p.clock.synced).toBe(false);
  });
});
