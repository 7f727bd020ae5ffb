import { flashcast } from '../../protocol/index.js';
import { logger } from '../../common/logger.js';
import { snapshotOpFor, type RoomStore } from './RoomStore.js';

const log = logger('RoomPublisher');

interface PendingInventory {
  update: flashcast.IInventoryUpdate;
  timer: NodeJS.Timeout | null;
  lastSentAt: number;
}

/**
 * Publishes critical events to rooms from anywhere in the system (HTTP API,
 * commerce, settlement workers): encodes once, appends to the room's stream in
 * Redis (which assigns the offset) and fans out to every gateway node.
 * Inventory is coalesced per product, latest wins, at most `inventoryHz` a second.
 */
export class RoomPublisher {
  readonly #store: RoomStore;
  readonly #minInterval: number;
  readonly #inventory = new Map<string, PendingInventory>();
  readonly #inflight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(store: RoomStore, options: { inventoryHz?: number } = {}) {
    this.#store = store;
    this.#minInterval = 1000 / (options.inventoryHz ?? 10);
  }

  /**
   * Appends a critical event to the room's stream; resolves to its offset (0 if it
   * was a versioned inventory update older than the stream's). The snapshot entry
   * it updates follows from its kind (see snapshotOpFor).
   */
  async publish(roomId: string, event: flashcast.IRoomEvent): Promise<number> {
    if (this.#closed) throw new Error('RoomPublisher closed');
    const full = { ...event, room: roomId, ts: event.ts || Date.now(), offset: 0, epoch: '' };
    const bytes = flashcast.RoomEvent.encode(full).finish();
    const version = Number(event.inventory?.version ?? 0);
    const position = await this.#track(this.#store.publishCritical(roomId, bytes, snapshotOpFor(full), version));
    return position.offset;
  }

  /**
   * Latest-wins stock update, coalesced to at most `inventoryHz` per product and
   * room. With `version` set, "latest" means highest version, here and in Redis, so
   * updates computed concurrently (other requests, other processes) never show an
   * older stock after a newer one.
   */
  publishInventory(roomId: string, update: flashcast.IInventoryUpdate): void {
    if (this.#closed) return;
    const key = `${roomId}\n${update.dealId || update.productId}`;
    let pending = this.#inventory.get(key);
    if (!pending) {
      pending = { update, timer: null, lastSentAt: 0 };
      this.#inventory.set(key, pending);
    }
    if (Number(update.version ?? 0) < Number(pending.update.version ?? 0)) return; // older than what we hold
    pending.update = update;
    if (pending.timer) return;
    const wait = pending.lastSentAt + this.#minInterval - Date.now();
    if (wait <= 0) {
      this.#flushInventory(roomId, key, pending);
    } else {
      pending.timer = setTimeout(() => this.#flushInventory(roomId, key, pending!), wait);
    }
  }

  /** Sends pending inventory now and waits for every publication in flight. */
  async flush(): Promise<void> {
    for (const [key, pending] of this.#inventory) {
      if (pending.timer) {
        clearTimeout(pending.timer);
        this.#flushInventory(key.slice(0, key.indexOf('\n')), key, pending);
      }
    }
    await Promise.allSettled([...this.#inflight]);
  }

  /** Flushes, then refuses further publications. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    this.#inventory.clear();
  }

  #flushInventory(roomId: string, key: string, pending: PendingInventory): void {
    pending.timer = null;
    pending.lastSentAt = Date.now();
    const update = pending.update;
    this.publish(roomId, { inventory: update }).catch((error) => {
      log.error({ err: error, roomId, productId: update.productId }, 'inventory publish failed');
    });
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise);
    promise.finally(() => this.#inflight.delete(promise)).catch(() => undefined);
    return promise;
  }
}
