/**
 * A Redis Cluster master dies mid-sale (SIGKILL) and its replica is promoted: the master that
 * holds both the flash deal's slot and the room's. Two gateways (commerce and settlement
 * workers in each) run on the cluster (scripts/redis-cluster.sh, cluster-node-timeout 2 s),
 * buyers keep tapping over their sockets as clients do (same idempotency key until a final
 * answer), and a host keeps announcing. Checked where it is durable: no oversell, every buyer
 * told "bought" has exactly one paid order, every capture matched; and every viewer saw every
 * announcement the host was told was published, in order, once (or a resync). The killed node
 * is restarted as a replica and made master again, so the cluster is as it was.
 *
 * Runs alone, after the other cluster suites (`npm run test:cluster`): it takes a shard away.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, flashcast, type FlashcastClient, type Room } from '../../client-sdk/index.js';
import { RedisKeys } from '../../common/keys.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { RoomStore } from '../../server/realtime/RoomStore.js';
import { dealOrders, moneyAudit, waitQuiet } from '../commerce/faults/audit.js';
import { startGateway } from '../helpers/InProcessGateway.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { sleep, testRedis, uniquePrefix, waitFor } from '../helpers/env.js';
import { TestCluster } from '../helpers/TestCluster.js';

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_fo_${randomBytes(6).toString('hex')}`;
const prefix = uniquePrefix('fo');
const keys = new RedisKeys(prefix);

const STOCK = 60;
const BUYERS = 120;
/** Buyers start tapping at random over this window; the master dies `KILL_AT_MS` into it. */
const TAP_WINDOW_MS = 6_000;
const KILL_AT_MS = 1_500;
/** One announcement every this often, from the sale's start until every buyer has a final answer. */
const ANNOUNCE_EVERY_MS = 50;
/** Answers after which a buyer stops tapping (bought, or a final refusal). */
const FINAL = new Set(['', 'SOLD_OUT', 'INSUFFICIENT_STOCK', 'LIMIT_REACHED', 'ENDED']);

type Gateway = Awaited<ReturnType<typeof startGateway>>;
let cluster: TestCluster;
let a: Gateway | null = null;
let b: Gateway | null = null;
const clients: FlashcastClient[] = [];
let killed: { port: number; configFile: string } | null = null;

beforeAll(async () => {
  cluster = TestCluster.fromEnv();
  await cluster.waitHealthy();
  const overrides = { redisPrefix: prefix, databaseUrl: PG_URL, databaseSchema: schema, drainMs: 0 };
  a = await startGateway(overrides, { commerce: true, settlement: true });
  b = await startGateway(overrides, { commerce: true, settlement: true });
}, 60_000);

afterAll(async () => {
  const steps: Record<string, number> = {};
  const step = async (name: string, run: () => Promise<unknown>) => {
    const t = Date.now();
    try {
      await run();
    } finally {
      steps[name] = Date.now() - t;
    }
  };
  try {
    for (const c of clients) c.close();
    // Every slot is served again once the replica took over: the gateways close as usual.
    await step('gateway b', async () => b?.close());
    await step('gateway a', async () => a?.close());
    await step('schema', async () => {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
  } finally {
    // The cluster as it was, for whatever runs next: the killed node back, in sync, master again.
    if (killed) await step('restart', () => cluster.restart(killed!.port, killed!.configFile));
    await step('healthy', () => cluster.waitHealthy());
    if (killed) {
      await step('fail back', () => cluster.failBack(killed!.port));
      await step('healthy again', () => cluster.waitHealthy());
    }
    console.log('cleanup (ms):', JSON.stringify(steps));
  }
}, 240_000);

/** What one viewer saw: the announcements delivered (offset, text), and the resyncs. */
interface Watch {
  room: Room;
  announcements: { offset: number; text: string }[];
  resyncs: number[];
}

function watch(room: Room): Watch {
  const w: Watch = { room, announcements: [], resyncs: [] };
  room.on(RoomEvent.Announcement, (x) => w.announcements.push({ offset: room.offset, text: x.text ?? '' }));
  // A snapshot after the join is a resync: events before it may not be replayed.
  room.on(RoomEvent.Snapshot, () => w.resyncs.push(room.offset));
  return w;
}

describe('Redis Cluster failover mid-sale', () => {
  it('the master of the deal and the room is killed: no oversell, no lost order, every viewer resumes without a gap', async () => {
    const commerce = a!.node.commerce!;
    const shop = await commerce.catalog.createShop({ ownerUserId: 'fo-host', name: 'Failover', currency: 'USD', country: 'US' });

    // A room and a deal on the same master (each try: a new room, product and deal; 1 in 3 lands).
    let roomId = '';
    let deal: Awaited<ReturnType<typeof commerce.deals.create>> | null = null;
    let master: number | null = null;
    for (let i = 0; i < 30 && !deal; i++) {
      const room = `fo-room-${i}`;
      const product = await commerce.catalog.createProduct(shop.id, {
        titles: { en: `Scarf ${i}` }, images: ['https://img.example/s.jpg'], price: { amount: 2999, currency: 'USD' }, stock: STOCK,
      });
      await commerce.catalog.addToShowcase(room, product.id);
      const candidate = await commerce.deals.create(room, 'fo-host', {
        productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: STOCK, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 600,
      });
      const dealMaster = await cluster.masterOf(await cluster.slotOf(keys.deal(candidate.id, 'deal')));
      const roomMaster = await cluster.masterOf(await cluster.slotOf(keys.roomChannel(room)));
      if (dealMaster !== null && dealMaster === roomMaster) [roomId, deal, master] = [room, candidate, dealMaster];
    }
    expect(deal, 'a deal and a room on one master').not.toBeNull();
    const slot = await cluster.slotOf(keys.deal(deal!.id, 'deal'));
    // A quiet room on that master too: announced in only while the shard is down, then silent,
    // so nothing after it reveals a missed message (only the catch-up after a failover does).
    let quietRoom = '';
    for (let i = 0; !quietRoom; i++) {
      if ((await cluster.masterOf(await cluster.slotOf(keys.roomChannel(`fo-quiet-${i}`)))) === master) quietRoom = `fo-quiet-${i}`;
    }

    // Buyers with saved cards, half on each gateway (each lists both: a reconnect goes to the other).
    const ids = Array.from({ length: BUYERS }, (_, i) => `fo-buyer-${i}`);
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(ids.slice(i, i + 20).map((id) => commerce.methods.save(id, { type: 'card', token: 'tok_visa' })));
    }
    const buyers = await Promise.all(ids.map(async (id, i) => {
      const client = sdkClient(i % 2 === 0 ? [a!.url, b!.url] : [b!.url, a!.url], await mint({ sub: id, role: 'viewer', name: `${id} Doe`, region: 'US' }), { requestTimeoutMs: 15_000 });
      clients.push(client);
      await client.connect();
      return { id, client, seen: watch(await client.join(roomId)), quiet: i < 20 ? watch(await client.join(quietRoom)) : null };
    }));
    const quietViewers = buyers.filter((x) => x.quiet !== null);
    // PAID pushes on the buyers' private channels (best effort: no history; the durable answer is client.orders()).
    const paidPushes = new Set<string>();
    for (const { client } of buyers) {
      client.on(ClientEvent.OrderUpdate, (u) => u.status === flashcast.CheckoutStatus.CHECKOUT_PAID && paidPushes.add(u.orderId ?? ''));
    }

    // The host announces from gateway a all along, one every 50 ms without waiting for the last
    // (those sent while the shard is down wait in the client, then go through together); the
    // offset of each it was told is published.
    const published: { offset: number; text: string }[] = [];
    const sent: Promise<void>[] = [];
    let announceFailures = 0;
    const announce = (n: number) => {
      const text = `tick ${n}`;
      sent.push(a!.node.publisher.publish(roomId, { announcement: { text } }).then(
        (offset) => void published.push({ offset, text }),
        () => void announceFailures++,
      ));
    };
    let ticks = 0;
    const announcer = setInterval(() => announce(++ticks), ANNOUNCE_EVERY_MS);

    // Buyers tap until a final answer, retrying with the same key (errors, timeouts, UNAVAILABLE).
    const started = Date.now();
    const taps = buyers.map(async ({ id, seen: { room } }) => {
      await sleep(Math.random() * TAP_WINDOW_MS);
      const codes: string[] = [];
      for (let n = 0; n < 200; n++) {
        const t = Date.now();
        const answer = await room.buy({ productId: deal!.productId, quantity: 1, idempotencyKey: `k-${id}` }).then(
          (r) => ({ code: '', orderId: r.orderId ?? '', status: r.status }),
          (e: { code?: string; retryAfterMs?: number }) => ({ code: e.code ?? 'ERROR', orderId: '', status: undefined, retryAfterMs: e.retryAfterMs }),
        );
        codes.push(answer.code);
        if (FINAL.has(answer.code)) return { id, ...answer, codes, at: t - started, tookMs: Date.now() - t };
        await sleep(Math.min(Math.max(Number((answer as { retryAfterMs?: number }).retryAfterMs ?? 0), 100), 1_000));
      }
      return { id, code: 'GAVE_UP', orderId: '', status: undefined, codes, at: 0, tookMs: 0 };
    });

    // The master of the deal's (and the room's) slot dies; its replica takes over.
    await sleep(KILL_AT_MS);
    const killedAt = Date.now();
    killed = { port: master!, configFile: await cluster.kill(master!) };
    const quietPublished: { offset: number; text: string }[] = [];
    const quietSent: Promise<void>[] = [];
    let quietTicks = 0;
    const quietAnnouncer = setInterval(() => {
      const text = `quiet ${++quietTicks}`;
      quietSent.push(a!.node.publisher.publish(quietRoom, { announcement: { text } }).then((offset) => void quietPublished.push({ offset, text }), () => undefined));
    }, ANNOUNCE_EVERY_MS);
    const promoted = await waitFor(async () => {
      const now = await cluster.masterOf(slot);
      return now !== null && now !== master ? now : null;
    }, 30_000, 'a replica promoted').finally(() => clearInterval(quietAnnouncer));
    const failoverMs = Date.now() - killedAt;

    const results = await Promise.all(taps);
    await sleep(Math.max(0, killedAt + failoverMs + 2_000 - Date.now())); // announcing 2 s past the promotion
    clearInterval(announcer);
    await Promise.all([...sent, ...quietSent]);

    // Settlement finishes; then what is durable.
    const db = a!.node.commerce!.db;
    const quiet = await waitQuiet(db, { stableMs: 3_000, timeoutMs: 60_000 });
    const orders = await dealOrders(db, deal!.id);
    const money = await moneyAudit(db);
    const winners = results.filter((r) => r.code === '');
    const paidIds = new Set((await db.query<{ id: string }>("SELECT id FROM orders WHERE deal_id = $1 AND status = 'paid'", [deal!.id])).rows.map((r) => r.id));
    const soldUnits = Number((await db.query<{ sold_units: string }>('SELECT sold_units FROM deals WHERE id = $1', [deal!.id])).rows[0].sold_units);

    // Redis agrees with PostgreSQL once the reconciler has looked (a lagging replica may have forgotten holds).
    const redis = testRedis();
    const reservation = await Reservation.create(redis, keys);
    await waitFor(async () => (await reservation.available(deal!.id)) === STOCK - orders.paidUnits, 15_000, 'Redis stock = total - paid');

    // Every viewer reaches the stream's top and holds the final stock.
    const store = new RoomStore(redis, { prefix, historySize: 2000, historyTtlSeconds: 600 });
    const atTop = async (room: string, watches: Watch[]) => {
      const top = await store.recover(room, null);
      return watches.every((w) => w.room.offset === top.offset && w.room.epoch === top.epoch);
    };
    await waitFor(() => atTop(roomId, buyers.map((x) => x.seen)), 20_000, 'every viewer at the top of the stream');
    const stockSeen = buyers.map(({ seen }) => Number(seen.room.state.inventory.get(deal!.id)?.available ?? -1));
    const quietAtTop = await waitFor(() => atTop(quietRoom, quietViewers.map((x) => x.quiet!)), 10_000, 'quiet room viewers at the top').then(() => true, () => false);
    redis.disconnect();

    const tapsInFailover = results.filter((r) => r.at >= killedAt - started && r.at <= killedAt - started + failoverMs).length;
    const resyncs = buyers.reduce((n, { seen }) => n + seen.resyncs.length, 0);
    console.log('failover:', JSON.stringify({
      killed: master, promoted, failoverMs, tapsInFailover, slowestTapMs: Math.max(...results.map((r) => r.tookMs)),
      answers: results.reduce<Record<string, number>>((t, r) => ({ ...t, [r.code || 'BOUGHT']: (t[r.code || 'BOUGHT'] ?? 0) + 1 }), {}),
      retried: results.filter((r) => r.codes.length > 1).length, announced: published.length, announceFailures,
      quietAnnounced: quietPublished.length, resyncs, statuses: orders.statuses, paidPushed: winners.filter((r) => paidPushes.has(r.orderId)).length,
    }));

    expect.soft(quiet, 'settlement went quiet').toBe(true);
    expect.soft(orders.paidUnits, 'no oversell: paid units <= stock').toBeLessThanOrEqual(STOCK);
    expect.soft(soldUnits, "no oversell: the deal's sold units <= stock").toBeLessThanOrEqual(STOCK);
    expect.soft(orders.duplicateKeys, 'no (buyer, key) paid twice').toBe(0);
    expect.soft(winners.filter((r) => !paidIds.has(r.orderId)).map((r) => r.id), 'buyers told "bought" without a paid order').toEqual([]);
    expect.soft(orders.paidOrders, 'every paid order was answered "bought"').toBe(winners.length);
    expect.soft(orders.paidUnits, 'every unit sold (more buyers than units, all tapping to the end)').toBe(STOCK);
    expect.soft(results.filter((r) => r.code === 'GAVE_UP').map((r) => r.id), 'buyers without a final answer').toEqual([]);
    const settling = new Set([flashcast.CheckoutStatus.CHECKOUT_SETTLING, flashcast.CheckoutStatus.CHECKOUT_PAID]);
    expect.soft(winners.filter((r) => !settling.has(r.status!)).map((r) => r.id), 'winners settle with their saved card').toEqual([]);
    expect.soft(money.captures - money.givenBack, 'captures net of voids = paid orders').toBe(money.paidOrders);
    expect.soft(money.unmatchedCaptures, 'every capture without a paid order was voided').toBe(money.givenBack);
    expect.soft(orders.inFlight, 'no order left in flight').toBe(0);
    expect.soft(stockSeen.filter((s) => s !== STOCK - orders.paidUnits).length, 'viewers showing another stock than the truth').toBe(0);

    // Every viewer saw every announcement published after its last resync, in order, once.
    expect.soft(published.length, 'announcements went through').toBeGreaterThan(0);
    expect.soft(quietPublished.length, 'announcements sent while the shard was down went through').toBeGreaterThan(0);
    expect.soft(quietAtTop, 'quiet room: every viewer reached the top without any later message').toBe(true);
    const watches = [...buyers.map(({ id, seen }) => ({ id, seen, sent: published })), ...quietViewers.map(({ id, quiet }) => ({ id: `${id} (quiet)`, seen: quiet!, sent: quietPublished }))];
    for (const { id, seen, sent: announced } of watches) {
      const offsets = seen.announcements.map((x) => x.offset);
      expect.soft(new Set(offsets).size, `${id}: no announcement twice`).toBe(offsets.length);
      expect.soft(offsets, `${id}: announcements in stream order`).toEqual([...offsets].sort((x, y) => x - y));
      const from = seen.resyncs.length > 0 ? Math.max(...seen.resyncs) : 0;
      const got = new Set(seen.announcements.map((x) => `${x.offset}|${x.text}`));
      const missing = announced.filter((p) => p.offset > from && !got.has(`${p.offset}|${p.text}`));
      expect.soft(missing.map((p) => p.text), `${id}: announcements missed`).toEqual([]);
    }
  }, 240_000);
});
