import type { RoomBroadcaster } from './RoomBroadcaster.js';
import { logger } from '../../common/logger.js';

const log = logger('PurchaseTicker');

export interface Purchase {
  productId: string;
  /** Full display name; only the first word is shown. */
  name: string;
  region: string;
  quantity: number;
  /** The buyer opted out: counted, never named. */
  hidden: boolean;
}

/**
 * The "just bought" ticker: purchases per room and product are aggregated over a short
 * window into one PurchaseEvent ("Ana from BR and 41 others bought 57"), so a sale of
 * thousands of units costs a few critical events, not thousands.
 */
export class PurchaseTicker {
  readonly #broadcaster: RoomBroadcaster;
  readonly #windowMs: number;
  readonly #pending = new Map<string, { roomId: string; productId: string; name: string; region: string; quantity: number; buyers: number }>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(broadcaster: RoomBroadcaster, windowMs = 1_000) {
    this.#broadcaster = broadcaster;
    this.#windowMs = windowMs;
  }

  /** Counts one purchase; it is announced at the end of the current window. */
  add(roomId: string, purchase: Purchase): void {
    if (this.#closed) return;
    const key = `${roomId}\n${purchase.productId}`;
    let entry = this.#pending.get(key);
    if (!entry) {
      entry = { roomId, productId: purchase.productId, name: '', region: '', quantity: 0, buyers: 0 };
      this.#pending.set(key, entry);
    }
    entry.quantity += purchase.quantity;
    entry.buyers += 1;
    if (!purchase.hidden) {
      entry.name = purchase.name.trim().split(/\s+/)[0]?.slice(0, 32) ?? '';
      entry.region = purchase.region;
    }
    this.#timer ??= setTimeout(() => void this.flush(), this.#windowMs);
  }

  /** Publishes everything pending now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const entries = [...this.#pending.values()];
    this.#pending.clear();
    await Promise.all(entries.map(async (e) => {
      try {
        await this.#broadcaster.publish(e.roomId, {
          room: e.roomId, ts: Date.now(),
          purchase: { productId: e.productId, buyerName: e.name, buyerRegion: e.region, quantity: e.quantity, buyers: e.buyers },
        });
      } catch (err) {
        log.warn({ err, roomId: e.roomId }, 'purchase event not published');
      }
    }));
  }

  /** Flushes and stops. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
  }
}
