/** Unit tests of TopicBatcher: when frames go, packed how, to which topic. */
import type { TemplatedApp } from 'uWebSockets.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeServerFrames, encodeServerFrame, flashcast } from '../../protocol/index.js';
import { MAX_BATCH_BYTES, TopicBatcher } from './TopicBatcher.js';

/** What the batcher asked uWS to publish, in order (the uWS side is tested in test/batching.test.ts). */
class RecordingApp {
  readonly published: { topic: string; offsets: number[]; batch: boolean }[] = [];

  publish(topic: string, message: Uint8Array): boolean {
    const batch = flashcast.ServerFrame.decode(message).msg === 'batch';
    this.published.push({ topic, offsets: decodeServerFrames(message).map((f) => Number(f.event?.offset)), batch });
    return true;
  }

  /** Publications to `topic` since the last call, as lists of offsets. */
  take(topic: string): number[][] {
    const out = this.published.filter((p) => p.topic === topic).map((p) => p.offsets);
    this.published.splice(0);
    return out;
  }
}

const frame = (offset: number): Uint8Array => encodeServerFrame({ event: { room: 'r1', offset, epoch: 'e1', announcement: { text: `a${offset}` } } });

describe('TopicBatcher', () => {
  let app: RecordingApp;
  beforeEach(() => {
    app = new RecordingApp();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
  });
  afterEach(() => vi.useRealTimers());

  const batcher = (windowMs: number) => new TopicBatcher(app as unknown as TemplatedApp, windowMs);

  it('with a window of 0 publishes every frame alone, at once, to the topic itself', () => {
    const b = batcher(0);
    b.publish('r/r1', frame(1));
    b.publish('r/r1', frame(2));
    expect(app.published).toEqual([
      { topic: 'r/r1', offsets: [1], batch: false },
      { topic: 'r/r1', offsets: [2], batch: false },
    ]);
    expect(b.topicFor('r/r1', true)).toBe('r/r1');
    expect(b.topicFor('r/r1', false)).toBe('r/r1');
  });

  it('gives sockets without batches every frame at once on the single-frame twin', () => {
    const b = batcher(10);
    expect(b.topicFor('r/r1', true)).toBe('r/r1');
    expect(b.topicFor('r/r1', false)).toBe('s/r/r1');
    b.publish('r/r1', frame(1));
    b.publish('r/r1', frame(2));
    expect(app.take('s/r/r1')).toEqual([[1], [2]]);
  });

  it('sends what one turn published to a quiet topic at the end of the turn, as one message', () => {
    const b = batcher(10);
    b.publish('r/r1', frame(1));
    b.publish('r/r1', frame(2));
    b.publish('c/r1', frame(7));
    expect(app.take('r/r1')).toEqual([]);
    vi.advanceTimersToNextTimer(); // the immediate
    expect(app.published.filter((p) => p.topic === 'r/r1')).toEqual([{ topic: 'r/r1', offsets: [1, 2], batch: true }]);
    expect(app.published.filter((p) => p.topic === 'c/r1')).toEqual([{ topic: 'c/r1', offsets: [7], batch: false }]);
  });

  it('holds frames that follow a message until the window ends, then sends them in order; a quiet window forgets the topic', () => {
    const b = batcher(10);
    b.publish('r/r1', frame(1));
    vi.advanceTimersToNextTimer();
    expect(app.take('r/r1')).toEqual([[1]]);
    vi.advanceTimersByTime(3);
    b.publish('r/r1', frame(2));
    vi.advanceTimersByTime(3);
    b.publish('r/r1', frame(3));
    b.publish('r/r1', frame(4));
    vi.advanceTimersByTime(3);
    expect(app.take('r/r1')).toEqual([]);
    vi.advanceTimersByTime(1); // 10 ms after the first message
    expect(app.take('r/r1')).toEqual([[2, 3, 4]]);
    expect(b.pendingTopics).toBe(1);
    vi.advanceTimersByTime(10); // a window with nothing in it
    expect(app.take('r/r1')).toEqual([]);
    expect(b.pendingTopics).toBe(0);
    b.publish('r/r1', frame(5));
    vi.advanceTimersToNextTimer();
    expect(app.take('r/r1')).toEqual([[5]]);
  });

  it('never holds a frame longer than the window under a steady stream', () => {
    const b = batcher(10);
    const sentAt = new Map<number, number>();
    let now = 0;
    for (let offset = 1; offset <= 100; offset++) {
      b.publish('r/r1', frame(offset));
      sentAt.set(offset, now);
      vi.advanceTimersByTime(3);
      now += 3;
      for (const p of app.published.splice(0)) {
        if (p.topic !== 'r/r1') continue;
        for (const o of p.offsets) expect(now - sentAt.get(o)!, `offset ${o}`).toBeLessThanOrEqual(10 + 3);
      }
    }
  });

  it('sends a batch as soon as it holds MAX_BATCH_BYTES, without waiting for the window', () => {
    const b = batcher(10);
    b.publish('r/r1', frame(1));
    vi.advanceTimersToNextTimer();
    expect(app.take('r/r1')).toEqual([[1]]);
    const big = (offset: number) => encodeServerFrame({ event: { room: 'r1', offset, epoch: 'e1', announcement: { text: 'x'.repeat(20_000) } } });
    for (let offset = 2; offset <= 8; offset++) b.publish('r/r1', big(offset));
    // 20 KB frames: the fourth fills the batch, which goes at once; the rest wait for the window.
    expect(app.take('r/r1')).toEqual([[2, 3, 4, 5]]);
    expect(MAX_BATCH_BYTES).toBeLessThan(4 * 20_000 + 100);
    vi.advanceTimersByTime(10);
    expect(app.take('r/r1')).toEqual([[6, 7, 8]]);
  });

  it('flush sends what waits now, close sends the rest and then publishes at once', () => {
    const b = batcher(10);
    b.publish('r/r1', frame(1));
    b.flush('r/r1');
    expect(app.take('r/r1')).toEqual([[1]]);
    b.publish('r/r1', frame(2));
    b.publish('r/r1', frame(3));
    b.close();
    expect(app.take('r/r1')).toEqual([[2, 3]]);
    b.publish('r/r1', frame(4));
    expect(app.take('r/r1')).toEqual([[4]]);
    vi.runAllTimers();
    expect(app.take('r/r1')).toEqual([]);
  });
});
