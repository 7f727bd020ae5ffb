/**
 * "N just bought": the room's purchase events as the viewer saw them, each with its position
 * in the room's critical stream. The SDK delivers each purchase once and in order across
 * reconnects (resume from the offset), so the offsets here only grow; they are kept (the last
 * `keep`) so a page or a test can show there was no gap and no duplicate.
 */
import type { flashcast } from '../../../protocol/gen/flashcast.js';

export interface TickerEntry {
  /** Position of the purchase event in the room's critical stream. */
  offset: number;
  productId: string;
  /** First name of the latest buyer ('' when they opted out of the ticker). */
  name: string;
  region: string;
  quantity: number;
  /** Buyers aggregated into this entry (≥ 1). */
  buyers: number;
}

export class PurchaseTicker {
  readonly #keep: number;
  #entries: TickerEntry[] = [];
  #buyers = 0;
  #units = 0;

  constructor(keep = 500) {
    this.#keep = keep;
  }

  /** Adds a purchase delivered at stream position `offset`. */
  add(purchase: flashcast.IPurchaseEvent, offset: number): TickerEntry {
    const entry: TickerEntry = {
      offset,
      productId: purchase.productId ?? '',
      name: purchase.buyerName ?? '',
      region: purchase.buyerRegion ?? '',
      quantity: Number(purchase.quantity ?? 0),
      buyers: Math.max(1, Number(purchase.buyers ?? 1)),
    };
    this.#entries = [...this.#entries.slice(-(this.#keep - 1)), entry];
    this.#buyers += entry.buyers;
    this.#units += entry.quantity;
    return entry;
  }

  /** Every entry kept, oldest first. */
  get entries(): readonly TickerEntry[] {
    return this.#entries;
  }

  /** The newest entries, newest first. */
  latest(count: number): TickerEntry[] {
    return this.#entries.slice(-count).reverse();
  }

  /** Buyers seen since the page joined. */
  get buyers(): number {
    return this.#buyers;
  }

  /** Units bought since the page joined. */
  get units(): number {
    return this.#units;
  }
}
