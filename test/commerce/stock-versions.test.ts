import { afterEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../common/RedisConnections.js';
import { flashcast } from '../../protocol/index.js';
import { RoomPublisher } from '../../server/realtime/RoomPublisher.js';
import { RoomStore } from '../../server/realtime/RoomStore.js';
import type { RoomBroadcaster } from '../../server/commerce/RoomBroadcaster.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, sleep, waitFor } from './helpers.js';

let s: Stack | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const storeOn = (redis: RedisClient, prefix: string) => new RoomStore(redis, { prefix, historySize: 2000, historyTtlSeconds: 600, maxRecover: 2000 });

/** What the room shows for a deal: its snapshot entry, and every inventory event of its stream in offset order. */
async function roomView(store: RoomStore, roomId: string, dealId: string) {
  const snap = await store.recover(roomId, null);
  if (snap.recovered) throw new Error('expected a snapshot');
  const stream = await store.recover(roomId, { epoch: snap.epoch, offset: 0 });
  if (!stream.recovered) throw new Error('expected the whole stream');
  const events = stream.frames.map((f) => flashcast.ServerFrame.decode(f).event!).filter((e) => e.inventory?.dealId === dealId);
  return { current: snap.fields.get(`inv:${dealId}`)?.inventory ?? null, events: events.map((e) => e.inventory!) };
}

/**
 * Delivers broadcasts late: each one after a random delay (another request still awaiting
 * something, another process, a slow link), so they reach the room out of order.
 */
class LateBroadcaster implements RoomBroadcaster {
  readonly #next: RoomBroadcaster;
  readonly #maxDelayMs: number;
  readonly #pending = new Set<Promise<unknown>>();
  constructor(next: RoomBroadcaster, maxDelayMs: number) {
    this.#next = next;
    this.#maxDelayMs = maxDelayMs;
  }
  publish(roomId: string, event: flashcast.IRoomEvent): Promise<number> {
    return this.#track(sleep(Math.random() * this.#maxDelayMs).then(() => this.#next.publish(roomId, event)));
  }
  publishInventory(roomId: string, update: flashcast.IInventoryUpdate): void {
    void this.#track(sleep(Math.random() * this.#maxDelayMs).then(() => this.#next.publishInventory(roomId, update)));
  }
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => undefined);
    return p;
  }
}

describe('versioned stock in the room (real RoomPublisher, RoomStore, Redis)', () => {
  it('updates delivered newest first through separate publishers: the room keeps the newest; unversioned, it would not', async () => {
    s = await startStack({ settle: false, holdMs: 300 });
    const { product, deal } = await seedDeal(s, { dealStock: 5, limit: 1 });
    // Five first-time buyers take every unit at once; their holds lapse and the sweeper gives the units back.
    const replies = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((b) =>
      s!.commerce.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k' })));
    expect(replies.every((r) => r.status === flashcast.CheckoutStatus.CHECKOUT_RESERVED)).toBe(true);
    await waitFor(() => s!.broadcaster.inventory.some((i) => i.update.available === 5), 5_000);
    await waitFor(() => s!.broadcaster.events.filter((e) => e.event.inventory).length >= 2); // scheduled + sold out
    const updates = [...s.broadcaster.events.filter((e) => e.event.inventory).map((e) => e.event.inventory!), ...s.broadcaster.inventory.map((i) => i.update)];
    const truth = await (await Reservation.create(s.redis, s.keys)).stock(deal.id);
    expect(truth.available).toBe(5);
    expect(Math.max(...updates.map((u) => Number(u.version)))).toBe(truth.version);

    // Newest first, each through its own publisher (as if from different nodes and workers).
    const store = storeOn(s.redis, s.prefix);
    const newestFirst = [...updates].sort((x, y) => Number(y.version) - Number(x.version));
    for (const [room, strip] of [['versioned', false], ['unversioned', true]] as const) {
      for (const u of newestFirst) {
        const publisher = new RoomPublisher(store);
        publisher.publishInventory(room, strip ? { ...u, version: 0 } : u);
        await publisher.close();
      }
    }
    const versioned = await roomView(store, 'versioned', deal.id);
    expect(versioned.current).toMatchObject({ available: 5, version: truth.version, phase: flashcast.DealPhase.DEAL_LIVE });
    expect(versioned.events).toHaveLength(1); // every older update was refused
    // The control: without versions the oldest update, delivered last, wins (the bug this prevents):
    // the room would show the deal as not started yet.
    const unversioned = await roomView(store, 'unversioned', deal.id);
    expect(unversioned.events).toHaveLength(newestFirst.length);
    expect(unversioned.current?.phase).toBe(flashcast.DealPhase.DEAL_SCHEDULED);
  });

  it('concurrent taps, declines, lapsed holds and a late publish: the room ends on the true stock, versions only grow', async () => {
    let late: LateBroadcaster | null = null;
    let publisher: RoomPublisher | null = null;
    s = await startStack({
      holdMs: 400,
      room: (redis, prefix) => {
        publisher = new RoomPublisher(storeOn(redis, prefix), { inventoryHz: 50 });
        late = new LateBroadcaster(publisher, 40);
        return late;
      },
    });
    const { product, deal } = await seedDeal(s, { dealStock: 25, limit: 1 });
    const payers = Array.from({ length: 30 }, (_, i) => `pay${i}`);
    const decliners = Array.from({ length: 15 }, (_, i) => `dec${i}`);
    const firstTimers = Array.from({ length: 15 }, (_, i) => `new${i}`); // never confirm: their holds lapse
    for (const b of payers) await s.commerce.methods.save(b, { type: 'card', token: 'tok_visa' });
    for (const b of decliners) await s.commerce.methods.save(b, { type: 'card', token: 'tok_decline' });
    const tap = async (b: string, delayMs: number) => {
      await sleep(delayMs);
      return s!.commerce.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k' });
    };
    // Decliners and first-timers first; payers keep tapping while their units come back.
    const results = await Promise.all([
      ...[...decliners, ...firstTimers].map((b) => tap(b, Math.random() * 50)),
      ...payers.map((b) => tap(b, Math.random() * 2_000)),
    ]);
    expect(results.filter((r) => r.code === '').length).toBeGreaterThan(25);

    const res = await Reservation.create(s.redis, s.keys);
    // Settled: no hold left in H or P, and every order of a saved-method buyer recorded.
    await waitFor(async () => {
      const holds = Object.entries(await s!.redis.hgetall(s!.keys.deal(deal.id, 'orders'))).filter(([f]) => !f.startsWith('#') && !f.startsWith('@'));
      return holds.every(([, rec]) => rec.startsWith('S|') || rec.startsWith('R|'));
    }, 20_000, 100);
    await late!.idle();
    await publisher!.flush();

    const truth = await res.stock(deal.id);
    const store = storeOn(s.redis, s.prefix);
    const view = await roomView(store, 'room1', deal.id);
    expect(view.current).toMatchObject({ available: truth.available, version: truth.version });
    const versions = view.events.map((e) => Number(e.version));
    expect(versions.every((v, i) => i === 0 || v > versions[i - 1])).toBe(true);
    expect(view.events.at(-1)).toMatchObject({ available: truth.available, version: truth.version });
    // The units of the paid orders are gone for good; the rest is back on sale.
    expect(truth.available).toBe(25 - (await res.stats(deal.id)).units);
  }, 60_000);
});
