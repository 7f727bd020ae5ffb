/**
 * How a hot deal's stock is split over buckets in different hash slots (docs/flash-sales.md,
 * "A hot product beyond one shard"): where each bucket's keys live, which bucket is a buyer's
 * home, and how units are shared out. Pure functions: every process derives the same answers.
 */
import { hash } from 'node:crypto';
import { HashSlot } from '../../common/HashSlot.js';

export class DealBuckets {
  /** Most buckets a deal may have. */
  static readonly MAX = 32;

  private constructor() {}

  /** Throws TypeError unless `n` is a bucket count (an integer from 1 to MAX). */
  static assertCount(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > DealBuckets.MAX) throw new TypeError(`buckets must be an integer from 1 to ${DealBuckets.MAX}`);
  }

  /**
   * The hash tags of a deal's buckets. Bucket 0 is `d:<deal>`, the tag of a one-bucket deal; bucket
   * b ≥ 1 gets a tag in the b-th slot range after bucket 0's (of n equal ranges), so that on a cluster
   * whose M = n masters each own one equal range (`redis-cli --cluster create`), the n buckets are on
   * n different masters.
   */
  static tags(dealId: string, n: number): string[] {
    DealBuckets.assertCount(n);
    const first = `d:${dealId}`;
    if (n === 1) return [first];
    const range0 = HashSlot.range(HashSlot.of(`{${first}}`), n);
    return Array.from({ length: n }, (_, b) => (b === 0 ? first : HashSlot.tagInRange(`${first}|${b}`, (range0 + b) % n, n)));
  }

  /** The buyer's home bucket: it holds the buyer's per-deal limit, idempotency records and orders. */
  static home(buyerId: string, n: number): number {
    DealBuckets.assertCount(n);
    return n === 1 ? 0 : hash('sha256', buyerId, 'buffer').readUInt32BE(0) % n;
  }

  /** The home bucket an order id names: `<id>.<b>` (ids of deals with several buckets), else 0. */
  static ofOrder(orderId: string): number {
    const m = /\.(\d{1,2})$/.exec(orderId);
    return m ? Number(m[1]) : 0;
  }

  /** The order id of a purchase on a deal of `n` buckets: `base` plus `.<home>` when n > 1. */
  static orderId(base: string, buyerId: string, n: number): string {
    return n === 1 ? base : `${base}.${DealBuckets.home(buyerId, n)}`;
  }

  /** Shares `units` out over `n` buckets as evenly as possible (the first ones get the remainder). */
  static split(units: number, n: number): number[] {
    DealBuckets.assertCount(n);
    const u = Math.max(0, Math.floor(units));
    return Array.from({ length: n }, (_, b) => Math.floor(u / n) + (b < u % n ? 1 : 0));
  }
}
