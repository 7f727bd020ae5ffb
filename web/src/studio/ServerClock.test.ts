import { describe, expect, it } from 'vitest';
import { ServerClock } from './ServerClock.js';

describe('ServerClock', () => {
  it('is the local clock until a sample arrives', () => {
    expect(new ServerClock().offsetMs).toBe(0);
  });

  it('takes the least delayed sample: a server 90 s ahead, messages 20-300 ms in flight', () => {
    const clock = new ServerClock();
    const local = 1_000_000;
    for (const [i, delay] of [300, 20, 150, 80].entries()) clock.observe(local + i * 1000 + 90_000, local + i * 1000 + delay);
    expect(clock.offsetMs).toBe(90_000 - 20);
  });

  it('follows a corrected clock once old samples leave the window', () => {
    const clock = new ServerClock(3);
    for (let i = 0; i < 3; i++) clock.observe(5000 + i, i); // 5 s ahead
    for (let i = 3; i < 6; i++) clock.observe(i + 10, i); // now 10 ms ahead
    expect(clock.offsetMs).toBe(10);
  });

  it('ignores missing timestamps', () => {
    const clock = new ServerClock();
    clock.observe(0, 100);
    clock.observe(Number.NaN, 100);
    expect(clock.offsetMs).toBe(0);
  });
});
