import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, type FlashcastClient, type Room } from '../../client-sdk/index.js';
import { RoomPublisher } from '../../server/realtime/RoomPublisher.js';
import { RoomStore } from '../../server/realtime/RoomStore.js';
import { JWT_SECRET, REDIS_URL, deletePrefix, sleep, uniquePrefix, waitFor } from '../helpers/env.js';
import { GatewayProcess } from '../helpers/GatewayProcess.js';
import { HaproxyProcess, haproxyAvailable } from '../helpers/HaproxyProcess.js';
import { mint, sdkClient } from '../helpers/clients.js';

const HARNESS = fileURLToPath(new URL('../../dist/load-tests/harness/harness.js', import.meta.url));

/**
 * Three gateway processes behind HAProxy (Debian's package), configured as docs/deploy.md
 * says: health checks on /readyz, leastconn, sessions of a dead server cut. Clients know
 * one URL, the balancer's.
 */
let prefix: string;
let gateways: GatewayProcess[] = [];
let proxy: HaproxyProcess;
let redis: Redis;
let publisher: RoomPublisher;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  if (!haproxyAvailable()) throw new Error('haproxy is missing: run scripts/setup.sh (it installs Debian\'s haproxy)');
  prefix = uniquePrefix('lb');
  const env = { REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, FLASHCAST_DRAIN_MS: '200' };
  gateways = await Promise.all([0, 1, 2].map(() => GatewayProcess.start(env)));
  proxy = await HaproxyProcess.start(gateways.map((g) => `127.0.0.1:${g.port}`));
  redis = new Redis(REDIS_URL);
  publisher = new RoomPublisher(new RoomStore(redis, { prefix, historySize: 2000, historyTtlSeconds: 600 }));
}, 60_000);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all(gateways.map((g) => g.kill()));
  await publisher?.close();
  redis?.disconnect();
  if (prefix) await deletePrefix(prefix);
});

describe('three gateways behind HAProxy', () => {
  it('the load harness runs its broadcast through the balancer: every viewer gets every message once', async () => {
    const child = spawn(
      process.execPath,
      [HARNESS, '--url', `ws://127.0.0.1:${proxy.port}`, '--secret', JWT_SECRET, '--scenarios', 'broadcast', '--viewers', '90', '--duration', '3'],
      { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, out).toBe(0);
    const summary = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? 'null') as {
      ok: boolean;
      scenarios: { counters: Record<string, number> }[];
    } | null;
    expect(summary?.ok, out).toBe(true);
    const c = summary!.scenarios[0].counters;
    expect(c.joined).toBe(90);
    expect(c.critical_lost).toBe(0);
    expect(c.critical_duplicates).toBe(0);
    expect(c.critical_received).toBeGreaterThanOrEqual(c.critical_expected);
  }, 60_000);

  it('a gateway killed mid-broadcast: HAProxy marks it down and its viewers resume through the balancer with no gap and no duplicate', async () => {
    const roomId = 'lb-failover';
    const viewers: Room[] = [];
    const firstNode: string[] = [];
    const reconnected: boolean[] = [];
    for (let i = 0; i < 45; i++) {
      const client = sdkClient(proxy.url, await mint({ sub: `lbv${i}`, role: 'viewer' }));
      clients.push(client);
      const index = i;
      reconnected.push(false);
      client.on(ClientEvent.Connected, ({ nodeId, reconnected: again }) => {
        if (again) reconnected[index] = true;
        else firstNode[index] = nodeId;
      });
      await client.connect();
      viewers.push(await client.join(roomId));
    }
    // leastconn spread the viewers over all three nodes.
    const byNode = new Map<string, number>();
    for (const node of firstNode) byNode.set(node, (byNode.get(node) ?? 0) + 1);
    expect(byNode.size).toBe(3);

    const offsets = viewers.map((room) => {
      const seen: number[] = [];
      room.on(RoomEvent.Inventory, () => seen.push(room.offset));
      return seen;
    });
    const victim = gateways[1];
    const onVictim = firstNode.filter((n) => n === victim.nodeId).length;
    expect(onVictim).toBeGreaterThan(0);

    const total = 300;
    for (let i = 1; i <= total; i++) {
      // Published as commerce does (straight to Redis): every one must reach every viewer.
      await publisher.publish(roomId, { inventory: { productId: 'p1', available: total - i, total } });
      if (i === 100) await victim.kill();
      if (i % 20 === 0) await sleep(10);
    }
    await waitFor(async () => (await proxy.serversUp()) === 2, 10_000, 'haproxy marks the killed gateway down');
    await waitFor(() => offsets.every((o) => o.length >= total), 20_000, 'every viewer recovered');
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const seen of offsets) expect(seen).toEqual(expected);
    for (const room of viewers) expect(room.state.inventory.get('p1')?.available).toBe(0);
    // Exactly the viewers of the killed node reconnected, all through the balancer.
    firstNode.forEach((node, i) => expect(reconnected[i], `viewer ${i} on ${node}`).toBe(node === victim.nodeId));
  }, 90_000);
});
