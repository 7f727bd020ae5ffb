import { describe, expect, it } from 'vitest';
import { HashSlot } from '../../common/HashSlot.js';
import { DealBuckets } from './DealBuckets.js';
import { StockView } from './StockView.js';

describe('DealBuckets', () => {
  it('keeps a one-bucket deal where it always was, and puts n buckets in n different slot ranges', () => {
    expect(DealBuckets.tags('deal1', 1)).toEqual(['d:deal1']);
    for (const n of [2, 3, 6]) {
      const tags = DealBuckets.tags('deal1', n);
      expect(tags[0]).toBe('d:deal1');
      expect(new Set(tags.map((t) => HashSlot.range(HashSlot.of(`{${t}}`), n))).size).toBe(n);
      expect(DealBuckets.tags('deal1', n)).toEqual(tags);
    }
    expect(() => DealBuckets.tags('d', 0)).toThrow(TypeError);
    expect(() => DealBuckets.tags('d', DealBuckets.MAX + 1)).toThrow(TypeError);
  });

  it('gives every buyer one home, spread over the buckets, named by the order id', () => {
    const homes = Array.from({ length: 3000 }, (_, i) => DealBuckets.home(`buyer${i}`, 3));
    for (let b = 0; b < 3; b++) expect(homes.filter((h) => h === b).length).toBeGreaterThan(850);
    expect(DealBuckets.home('buyer7', 3)).toBe(homes[7]);
    expect(DealBuckets.home('anyone', 1)).toBe(0);
    const id = DealBuckets.orderId('o_abc', 'buyer7', 3);
    expect(id).toBe(`o_abc.${homes[7]}`);
    expect(DealBuckets.ofOrder(id)).toBe(homes[7]);
    expect(DealBuckets.orderId('o_abc', 'buyer7', 1)).toBe('o_abc');
    expect(DealBuckets.ofOrder('o_abc')).toBe(0);
  });

  it('splits units as evenly as possible', () => {
    expect(DealBuckets.split(10, 3)).toEqual([4, 3, 3]);
    expect(DealBuckets.split(2, 3)).toEqual([1, 1, 0]);
    expect(DealBuckets.split(0, 2)).toEqual([0, 0]);
    expect(DealBuckets.split(-5, 2)).toEqual([0, 0]);
    for (const [u, n] of [[1000, 3], [7, 7], [31, 4]]) expect(DealBuckets.split(u, n).reduce((a, b) => a + b, 0)).toBe(u);
  });
});

describe('StockView', () => {
  it('sums the newest stock of each bucket and ignores older versions', () => {
    const v = new StockView(3);
    expect(v.complete).toBe(false);
    v.see(0, 5, 1_000_000, 1);
    v.see(1, 4, 7, 1);
    v.see(1, 9, 6, 2); // older: ignored
    expect(v.total()).toEqual({ available: 9, version: 1_000_007 });
    v.see(2, 1, 1, 3);
    expect(v.complete).toBe(true);
    expect(v.total()).toEqual({ available: 10, version: 1_000_008 });
  });

  it('tries buckets never seen or with stock, most stock first, and skips those seen empty lately', () => {
    const v = new StockView(4, 1_000);
    expect(v.candidates(1, 0)).toEqual([2, 3, 0]);
    v.see(0, 3, 1, 100);
    v.see(2, 0, 1, 100);
    v.see(3, 8, 1, 100);
    expect(v.candidates(1, 200)).toEqual([3, 0]);
    expect(v.othersMayHave(1, 200)).toBe(true);
    v.see(0, 0, 2, 150);
    v.see(3, 0, 2, 150);
    expect(v.othersMayHave(1, 200)).toBe(false);
    expect(v.candidates(1, 200)).toEqual([]);
    // Seen empty long ago: asked again (units may have come back).
    expect(v.candidates(1, 5_000)).toEqual([2, 3, 0]);
  });
});
