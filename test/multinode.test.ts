import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, type FlashcastClient, type Room } from '../client-sdk/index.js';
import { RoomPublisher } from '../server/realtime/RoomPublisher.js';
import { RoomStore } from '../server/realtime/RoomStore.js';
import type { RedisClient } from '../common/RedisConnections.js';
import { REDIS_URL, deletePrefix, sleep, testRedis, uniquePrefix, waitFor } from './helpers/env.js';
import { GatewayProcess } from './helpers/GatewayProcess.js';
import { mint, sdkClient } from './helpers/clients.js';

/** Two gateway processes sharing one Redis (or one Redis Cluster), as production runs them. */
let prefix: string;
let a: GatewayProcess;
let b: GatewayProcess;
let redis: RedisClient;
let publisher: RoomPublisher;
const clients: FlashcastClient[] = [];

async function joinViewers(urls: string[], roomId: string, count: number, tag: string): Promise<Room[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const client = sdkClient(urls, await mint({ sub: `${tag}${i}`, role: 'viewer' }));
      clients.push(client);
      await client.connect();
      return client.join(roomId);
    }),
  );
}

/** Records every critical announcement/inventory a room sees, by offset. */
function record(room: Room): number[] {
  const offsets: number[] = [];
  room.on(RoomEvent.Announcement, () => offsets.push(room.offset));
  room.on(RoomEvent.Inventory, () => offsets.push(room.offset));
  return offsets;
}

/** FLASHCAST_ROOM_CHAT_PER_S on both nodes: viewer chat lines/s the room admits over all its nodes. */
const ROOM_CHAT = 4;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(async () => {
  prefix = uniquePrefix('mn');
  const env = { REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_DRAIN_MS: '200', FLASHCAST_ROOM_CHAT_PER_S: String(ROOM_CHAT) };
  [a, b] = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);
  redis = testRedis();
  publisher = new RoomPublisher(new RoomStore(redis, { prefix, historySize: 2000, historyTtlSeconds: 600 }));
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await publisher?.close();
  redis?.disconnect();
  await deletePrefix(prefix);
});

describe('two gateway nodes on one Redis', () => {
  it('viewers on both nodes receive what hosts publish on either, in order, exactly once', async () => {
    const roomId = 'shared';
    const onA = await joinViewers([a.url], roomId, 8, 'va');
    const onB = await joinViewers([b.url], roomId, 8, 'vb');
    const logs = [...onA, ...onB].map(record);
    const hostA = sdkClient(a.url, await mint({ sub: 'hostA', role: 'host', rooms: [roomId] }));
    const hostB = sdkClient(b.url, await mint({ sub: 'hostB', role: 'moderator', rooms: [roomId] }));
    const ops = sdkClient(b.url, await mint({ sub: 'opsB', role: 'ops' }));
    clients.push(hostA, hostB, ops);
    await Promise.all([hostA.connect(), hostB.connect(), ops.connect()]);
    const texts: string[][] = [...onA, ...onB].map(() => []);
    [...onA, ...onB].forEach((r, i) => r.on(RoomEvent.Announcement, (x) => texts[i].push(x.text ?? '')));
    // Interleave publications from node A (host) and node B (ops).
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      sends.push(hostA.request({ announce: { room: roomId, text: `A${i}` } }));
      sends.push(ops.request({ announce: { room: roomId, text: `B${i}` } }));
      if (i % 10 === 9) await sleep(250); // stay under the per-connection frame limit
    }
    await Promise.all(sends);
    await waitFor(() => logs.every((l) => l.length === 80), 10_000, 'all 80 on every viewer');
    for (const l of logs) expect(l).toEqual(range(1, 80));
    // Every viewer saw the same global order, and each node's own order is preserved.
    for (const t of texts) {
      expect(t).toEqual(texts[0]);
      expect(t.filter((x) => x.startsWith('A'))).toEqual(range(0, 39).map((i) => `A${i}`));
    }
  });

  it('a room admits its room-wide viewer chat rate over both nodes, shared by their viewers', async () => {
    const roomId = 'chatty';
    const onA = await joinViewers([a.url], roomId, 6, 'ca');
    const onB = await joinViewers([b.url], roomId, 2, 'cb');
    // Shares follow the stats reports: 6 of 8 viewers on A (3 lines/s), 2 on B (1 line/s).
    await waitFor(() => [...onA, ...onB].every((r) => r.state.viewers === 8), 10_000, 'both nodes counted');
    const observer = onA[0]; // reads every line other viewers got admitted (the room is calm: no sampling)
    const admitted = new Map<string, number>();
    observer.on(RoomEvent.Chat, (m, { own }) => {
      if (!own) admitted.set(m.id ?? '', m.userId?.startsWith('cb') ? 1 : 0);
    });
    const chatters = [...onA.slice(1), ...onB]; // 5 on A, 2 on B, 2 lines/s each: 14 lines/s offered
    const started = Date.now();
    let sent = 0;
    for (let round = 0; round < 8; round++) {
      const replies = await Promise.all(chatters.map((r, i) => r.sendChat(`line ${round}.${i}`)));
      sent += replies.filter((m) => m.id).length; // every sender is answered with its line, admitted or not
      await sleep(500);
    }
    const seconds = (Date.now() - started) / 1000;
    await sleep(1_000); // the last admitted lines arrive
    const total = admitted.size;
    const fromB = [...admitted.values()].filter((n) => n === 1).length;
    expect(sent).toBe(8 * chatters.length);
    // At most the room-wide rate plus the buckets' saved burst (two seconds of each node's share)...
    expect(total).toBeLessThanOrEqual(ROOM_CHAT * seconds + 2 * ROOM_CHAT + 2);
    // ...and the rate is used: the offer is 3.5 times it.
    expect(total).toBeGreaterThanOrEqual(Math.floor(ROOM_CHAT * seconds * 0.5));
    // Both nodes get a share, the node with more viewers the larger one.
    expect(fromB).toBeGreaterThan(0);
    expect(total - fromB).toBeGreaterThan(fromB);
  });

  it('a killed node: its viewers reconnect to the other and recover every missed event', async () => {
    const roomId = 'failover';
    const viewers = await joinViewers([a.url, b.url], roomId, 20, 'fo');
    const logs = viewers.map(record);
    const reconnected = viewers.map(() => false);
    clients.slice(-20).forEach((c, i) =>
      c.on(ClientEvent.Connected, ({ reconnected: r }) => {
        if (r) reconnected[i] = true;
      }),
    );
    const total = 300;
    let killed = false;
    for (let i = 1; i <= total; i++) {
      // Direct publications (as the commerce workers do): every one must arrive.
      await publisher.publish(roomId, { inventory: { productId: 'p1', available: total - i, total } });
      if (i === 100) {
        await a.kill();
        killed = true;
      }
      if (i % 20 === 0) await sleep(10);
    }
    expect(killed).toBe(true);
    await waitFor(() => logs.every((l) => l.length >= total), 20_000, 'every viewer recovered');
    for (const l of logs) expect(l).toEqual(range(1, total)); // no gap, no duplicate
    expect(reconnected.every(Boolean)).toBe(true);
    for (const v of viewers) expect(v.state.inventory.get('p1')?.available).toBe(0);
  });

  it('a draining node (SIGTERM) tells clients to reconnect elsewhere; nothing is lost', async () => {
    // a was killed above: start a fresh node for the survivors to move to.
    const c = await GatewayProcess.start({ REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_DRAIN_MS: '200' });
    const roomId = 'drain';
    const viewers = await joinViewers([b.url, c.url], roomId, 10, 'dr');
    const logs = viewers.map(record);
    const codes: number[] = [];
    clients.slice(-10).forEach((cl) => cl.on(ClientEvent.Disconnected, ({ code }) => codes.push(code)));
    const publishing = (async () => {
      for (let i = 1; i <= 100; i++) {
        await publisher.publish(roomId, { announcement: { text: `n${i}` } });
        await sleep(5);
      }
    })();
    await sleep(100);
    // Sent the moment the client is told to move: queued by the SDK, delivered after the reconnect.
    const mover = clients.find((cl) => cl.rooms.get(roomId) === viewers[9])!;
    const queued = new Promise<{ text?: string | null }>((resolve, reject) =>
      mover.once(ClientEvent.Disconnected, () => viewers[9].sendChat('sent while reconnecting').then(resolve, reject)),
    );
    const exit = await b.terminate();
    await publishing;
    expect((await queued).text).toBe('sent while reconnecting');
    await waitFor(() => logs.every((l) => l.length >= 100), 20_000, 'recovered after drain');
    for (const l of logs) expect(l).toEqual(range(1, 100));
    expect(exit.code).toBe(0);
    expect(codes.length).toBe(10);
    expect(codes.every((code) => code === 4000)).toBe(true);
    await c.kill();
  });
});
