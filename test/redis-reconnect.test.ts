import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomEvent, type FlashcastClient } from '../client-sdk/index.js';
import { REDIS_URL, sleep, waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { metricValue } from './helpers/metrics.js';
import { mint, sdkClient } from './helpers/clients.js';

let gw: Awaited<ReturnType<typeof startGateway>>;
let admin: Redis;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  gw = await startGateway();
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const c of clients) c.close();
  admin.disconnect();
  await gw.close();
});

describe('Redis connection loss on a gateway', () => {
  it('events published while the node was cut off from pub/sub are recovered from history, in order', async () => {
    const roomId = 'cutoff';
    const client = sdkClient(gw.url, await mint({ sub: 'cut-viewer', role: 'viewer' }));
    clients.push(client);
    await client.connect();
    const room = await client.join(roomId);
    const offsets: number[] = [];
    room.on(RoomEvent.Announcement, () => offsets.push(room.offset));
    const publisher = gw.node.publisher;
    for (let i = 1; i <= 10; i++) await publisher.publish(roomId, { announcement: { text: `before ${i}` } });
    await waitFor(() => offsets.length === 10);

    // Kill only this node's subscriber connection (found by its connection name).
    const list = await admin.client('LIST', 'TYPE', 'pubsub');
    const name = `fc-gw-sub-${gw.node.nodeId}`;
    const id = String(list)
      .split('\n')
      .find((line) => line.includes(`name=${name}`))
      ?.match(/id=(\d+)/)?.[1];
    expect(id).toBeTruthy();
    await admin.client('KILL', 'ID', id!);
    for (let i = 11; i <= 60; i++) {
      await publisher.publish(roomId, { announcement: { text: `during ${i}` } });
      if (i % 10 === 0) await sleep(20);
    }
    await waitFor(() => offsets.length === 60, 15_000, 'all 60 events after the reconnect');
    expect(offsets).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await metricValue(gw.http, 'flashcast_gap_fills_total')).toBeGreaterThanOrEqual(1);
  });
});
