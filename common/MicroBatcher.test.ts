import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './MicroBatcher.js';

describe('MicroBatcher', () => {
  it('runs the items submitted in one turn as one batch and answers each caller in order', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>(async (items) => {
      batches.push(items);
      return items.map((i) => i * 10);
    }, { maxBatch: 3 });
    const out = await Promise.all([1, 2, 3, 4, 5].map((i) => b.submit(i)));
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('when a batch fails, runs its items alone so only the bad one fails', async () => {
    const b = new MicroBatcher<number, number>(async (items) => {
      if (items.includes(13)) throw new Error('unlucky');
      return items;
    });
    const results = await Promise.allSettled([11, 12, 13, 14].map((i) => b.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('unlucky');
  });

  it('rejects every item of a failed batch when isolation is off, and a wrong result count', async () => {
    const b = new MicroBatcher<number, number>(async () => { throw new Error('down'); }, { isolateFailures: false });
    const results = await Promise.allSettled([1, 2].map((i) => b.submit(i)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const short = new MicroBatcher<number, number>(async () => [1], { isolateFailures: false });
    await expect(Promise.all([short.submit(1), short.submit(2)])).rejects.toThrow('1 results for 2 items');
  });

  it('close waits for pending items and refuses new ones', async () => {
    let done = 0;
    const b = new MicroBatcher<number, number>(async (items) => {
      await new Promise((r) => setTimeout(r, 20));
      done += items.length;
      return items;
    }, { maxBatch: 2, maxInFlight: 1 });
    const pending = [1, 2, 3, 4, 5].map((i) => b.submit(i));
    await b.close();
    expect(done).toBe(5);
    await Promise.all(pending);
    await expect(b.submit(6)).rejects.toThrow('closed');
  });
});
