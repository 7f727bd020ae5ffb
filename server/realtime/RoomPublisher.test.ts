/** RoomPublisher against a real Redis: inventory coalescing, pruning, versions, close. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { NO_STREAM } from '../../protocol/StreamCursor.js';
import { REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../../test/helpers/env.js';
import { RoomPublisher } from './RoomPublisher.js';
import { RoomStore } from './RoomStore.js';

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await Promise.all(prefixes.map((p) => deletePrefix(p)));
  redis.disconnect();
});

function parts(): { store: RoomStore; publisher: RoomPublisher } {
  const prefix = uniquePrefix('rp');
  prefixes.push(prefix);
  const store = new RoomStore(redis, { prefix, historySize: 100, historyTtlSeconds: 600 });
  return { store, publisher: new RoomPublisher(store, { inventoryHz: 10 }) };
}

/** The inventory events in a room's stream, oldest first. */
async function inventoryOf(store: RoomStore, roomId: string): Promise<flashcast.IInventoryUpdate[]> {
  const answer = await store.recover(roomId, NO_STREAM);
  if (!answer.recovered) throw new Error('history lost');
  return answer.frames.map((f) => flashcast.ServerFrame.decode(f).event!.inventory!).filter(Boolean);
}

describe('RoomPublisher inventory', () => {
  it('sends the first update at once and coalesces the rest of its interval to the latest', async () => {
    const { store, publisher } = parts();
    for (let stock = 100; stock > 50; stock--) publisher.publishInventory('r1', { productId: 'p1', available: stock, total: 100 });
    await publisher.flush();
    expect((await inventoryOf(store, 'r1')).map((u) => u.available)).toEqual([100, 51]);
    await publisher.close();
  });

  it('keeps a product only while it is within its rate interval', async () => {
    const { store, publisher } = parts();
    publisher.publishInventory('r1', { productId: 'p1', available: 9, total: 10 });
    publisher.publishInventory('r1', { productId: 'p2', available: 5, total: 10 });
    expect(publisher.pendingInventory).toBe(2);
    publisher.publishInventory('r1', { productId: 'p1', available: 8, total: 10 }); // waits for p1's interval
    // p2 had nothing new: it goes after one interval; p1 sends its trailing update, then goes too.
    await waitFor(() => publisher.pendingInventory === 0, 5000, 'the entries to be pruned');
    await publisher.flush();
    expect((await inventoryOf(store, 'r1')).map((u) => `${u.productId}:${u.available}`)).toEqual(['p1:9', 'p2:5', 'p1:8']);
    // A product seen again after its entry went is sent at once, as a new one.
    publisher.publishInventory('r1', { productId: 'p2', available: 4, total: 10 });
    await publisher.flush();
    expect((await inventoryOf(store, 'r1')).map((u) => `${u.productId}:${u.available}`)).toEqual(['p1:9', 'p2:5', 'p1:8', 'p2:4']);
    await publisher.close();
  });

  it('never shows an older version after a newer one, here or in Redis', async () => {
    const { store, publisher } = parts();
    publisher.publishInventory('r1', { productId: 'p1', dealId: 'd1', available: 7, total: 10, version: 3 });
    publisher.publishInventory('r1', { productId: 'p1', dealId: 'd1', available: 9, total: 10, version: 1 }); // older: ignored here
    await publisher.flush();
    await waitFor(() => publisher.pendingInventory === 0, 5000, 'the entry to be pruned');
    publisher.publishInventory('r1', { productId: 'p1', dealId: 'd1', available: 9, total: 10, version: 2 }); // older: refused by Redis
    await publisher.flush();
    expect((await inventoryOf(store, 'r1')).map((u) => u.available)).toEqual([7]);
    await publisher.close();
  });

  it('sends what is pending on close, then refuses and holds nothing', async () => {
    const { store, publisher } = parts();
    publisher.publishInventory('r1', { productId: 'p1', available: 3, total: 10 });
    publisher.publishInventory('r1', { productId: 'p1', available: 2, total: 10 });
    await publisher.close();
    expect(publisher.pendingInventory).toBe(0);
    publisher.publishInventory('r1', { productId: 'p1', available: 1, total: 10 });
    await expect(publisher.publish('r1', { announcement: { text: 'late' } })).rejects.toThrow(/closed/);
    expect((await inventoryOf(store, 'r1')).map((u) => u.available)).toEqual([3, 2]);
  });
});
