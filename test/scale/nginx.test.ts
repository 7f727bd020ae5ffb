import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, type FlashcastClient, type Room } from '../../client-sdk/index.js';
import { RoomPublisher } from '../../server/realtime/RoomPublisher.js';
import { RoomStore } from '../../server/realtime/RoomStore.js';
import { REDIS_URL, deletePrefix, sleep, uniquePrefix, waitFor } from '../helpers/env.js';
import { GatewayProcess } from '../helpers/GatewayProcess.js';
import { NginxProcess, nginxAvailable } from '../helpers/NginxProcess.js';
import { mint, sdkClient } from '../helpers/clients.js';

/** Two gateways behind nginx with deploy/nginx/flashcast.conf, the example docs/deploy.md gives. */
let prefix: string;
let gateways: GatewayProcess[] = [];
let proxy: NginxProcess;
let redis: Redis;
let publisher: RoomPublisher;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  if (!nginxAvailable()) throw new Error("nginx is missing: run scripts/setup.sh (it installs Debian's nginx-light)");
  prefix = uniquePrefix('ngx');
  const env = { REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_DRAIN_MS: '200' };
  gateways = await Promise.all([0, 1].map(() => GatewayProcess.start(env)));
  proxy = await NginxProcess.start(gateways.map((g) => `127.0.0.1:${g.port}`));
  redis = new Redis(REDIS_URL);
  publisher = new RoomPublisher(new RoomStore(redis, { prefix, historySize: 2000, historyTtlSeconds: 600 }));
}, 60_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy?.close();
  await Promise.all(gateways.map((g) => g.kill()));
  await publisher?.close();
  redis?.disconnect();
  if (prefix) await deletePrefix(prefix);
});

describe('gateways behind nginx', () => {
  it('WebSockets upgrade through it, and a killed gateway\'s viewers resume through it with no gap and no duplicate', async () => {
    const roomId = 'ngx';
    const viewers: Room[] = [];
    const nodes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const client = sdkClient(proxy.url, await mint({ sub: `ngv${i}`, role: 'viewer' }));
      clients.push(client);
      const index = i;
      client.on(ClientEvent.Connected, ({ nodeId, reconnected }) => {
        if (!reconnected) nodes[index] = nodeId;
      });
      await client.connect();
      viewers.push(await client.join(roomId));
    }
    expect(new Set(nodes).size).toBe(2);
    const seen = viewers.map((room) => {
      const offsets: number[] = [];
      room.on(RoomEvent.Inventory, () => offsets.push(room.offset));
      return offsets;
    });
    const total = 200;
    for (let i = 1; i <= total; i++) {
      await publisher.publish(roomId, { inventory: { productId: 'p1', available: total - i, total } });
      if (i === 60) await gateways[0].kill();
      if (i % 20 === 0) await sleep(10);
    }
    await waitFor(() => seen.every((o) => o.length >= total), 20_000, 'every viewer recovered');
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const offsets of seen) expect(offsets).toEqual(expected);
  }, 60_000);
});
