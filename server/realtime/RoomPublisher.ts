/**
 * Publishing critical events to rooms from any process: encode once, append to the room's
 * stream in Redis, and coalesce inventory updates per product.
 */
import { flashcast } from '../../protocol/index.js';
import { logger } from '../../common/logger.js';
import { snapshotOpFor, type RoomStore } from './RoomStore.js';

const log = logger('RoomPublisher');

/** One product's inventory while it is being rate-limited: from a send until `minInterval` after the last one. */
interface PendingInventory {
  /** The latest update (sent, or waiting when `dirty`). */
  update: flashcast.IInventoryUpdate;
  /** `update` arrived after the last send and waits for the interval's end. */
  dirty: boolean;
  /** The interval since the last send; at its end a dirty update is sent, else the entry goes. */
  timer: NodeJS.Timeout | null;
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
    const pending = this.#inventory.get(key);
    if (!pending) {
      // Nothing sent for this product within the interval: send now.
      const fresh: PendingInventory = { update, dirty: false, timer: null };
      this.#inventory.set(key, fresh);
      this.#send(roomId, key, fresh);
      return;
    }
    if (Number(update.version ?? 0) < Number(pending.update.version ?? 0)) return; // older than what we hold
    pending.update = update;
    pending.dirty = true;
  }

  /** Sends pending inventory now and waits for every publication in flight. */
  async flush(): Promise<void> {
    for (const [key, pending] of this.#inventory) {
      if (!pending.dirty) continue;
      if (pending.timer) clearTimeout(pending.timer);
      this.#send(key.slice(0, key.indexOf('\n')), key, pending);
    }
    await Promise.allSettled([...this.#inflight]);
  }

  /** Flushes, then refuses further publications. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    for (const pending of this.#inventory.values()) if (pending.timer) clearTimeout(pending.timer);
    this.#inventory.clear();
  }

  /** Products whose inventory is within its rate interval (entries go when it ends with nothing new). */
  get pendingInventory(): number {
    return this.#inventory.size;
  }

  /** Publishes the entry's update and starts its interval. */
  #send(roomId: string, key: string, pending: PendingInventory): void {
    pending.dirty = false;
    const update = pending.update;
    this.publish(roomId, { inventory: update }).catch((error) => {
      log.error({ err: error, roomId, productId: update.productId }, 'inventory publish failed');
    });
    pending.timer = setTimeout(() => {
      pending.timer = null;
      if (this.#closed) return;
      if (pending.dirty) this.#send(roomId, key, pending);
      else this.#inventory.delete(key);
    }, this.#minInterval);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise);
    promise.finally(() => this.#inflight.delete(promise)).catch(() => undefined);
    return promise;
  }
}
