/**
 * RedisConnections on a real Redis Cluster (scripts/redis-cluster.sh): commands reach the
 * master of each key's slot, and one sharded subscriber hears channels on every master.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { QueueCluster } from '../../common/QueueCluster.js';
import { RedisConnections, type RedisClient } from '../../common/RedisConnections.js';
import { RedisKeys } from '../../common/keys.js';
import { REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/env.js';
import { TestCluster } from '../helpers/TestCluster.js';

const prefix = uniquePrefix('cx');
const keys = new RedisKeys(prefix);
let cluster: TestCluster;
let redis: RedisClient;
let sub: RedisClient;

beforeAll(async () => {
  cluster = TestCluster.fromEnv();
  redis = RedisConnections.command(REDIS_URL, 'fc-test-cx');
  sub = RedisConnections.subscriber(REDIS_URL, 'fc-test-cx-sub');
  await Promise.all([RedisConnections.waitReady(redis), RedisConnections.waitReady(sub)]);
});

afterAll(async () => {
  sub?.disconnect();
  redis?.disconnect();
  await deletePrefix(prefix);
});

describe('RedisConnections on a cluster', () => {
  it('opens a Cluster: three masters, keys spread over them by hash tag', async () => {
    expect(RedisConnections.isCluster(REDIS_URL)).toBe(true);
    expect(RedisConnections.masters(redis)).toHaveLength(3);
    // 30 rooms: their keys land on every master, each room's keys on one.
    const masters = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const [meta, hist, channel] = [keys.room(`r${i}`, 'meta'), keys.room(`r${i}`, 'hist'), keys.roomChannel(`r${i}`)];
      const slot = await cluster.slotOf(meta);
      expect([await cluster.slotOf(hist), await cluster.slotOf(channel)]).toEqual([slot, slot]);
      masters.add((await cluster.masterOf(slot))!);
      await redis.set(meta, String(i));
    }
    expect(masters.size).toBe(3);
    expect(await redis.get(keys.room('r7', 'meta'))).toBe('7');
  });

  it('one sharded subscriber hears rooms on every master, and stops hearing an unsubscribed one', async () => {
    const heard = new Map<string, string[]>();
    sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      const list = heard.get(channel.toString()) ?? [];
      list.push(message.toString());
      heard.set(channel.toString(), list);
    });
    const channels = Array.from({ length: 12 }, (_, i) => keys.roomChannel(`s${i}`));
    const masters = new Set(await Promise.all(channels.map(async (c) => cluster.masterOf(await cluster.slotOf(c)))));
    expect(masters.size).toBe(3);
    for (const c of channels) await sub.ssubscribe(c);
    for (const c of channels) await redis.spublish(c, `hello ${c}`);
    await waitFor(() => channels.every((c) => heard.get(c)?.length === 1), 5_000, 'every channel heard once');
    await sub.sunsubscribe(channels[0]);
    for (const c of channels) await redis.spublish(c, `again ${c}`);
    await waitFor(() => channels.slice(1).every((c) => heard.get(c)?.length === 2), 5_000, 'the subscribed ones heard again');
    expect(heard.get(channels[0])).toEqual([`hello ${channels[0]}`]);
  });

  it("BullMQ's connection: closed on purpose, it ends even when its pool drains late, and a command fails at once", async () => {
    // What a failover left behind: the cluster closed and ended, then a node connection dropped
    // earlier ended too, the pool emptied once more and put the cluster back in 'close'.
    const lateDrain = async (c: Cluster) => {
      c.on('error', () => undefined);
      await RedisConnections.waitReady(c);
      const end = new Promise((resolve) => c.once('end', resolve));
      c.disconnect();
      await end;
      c.status = 'close';
      c.emit('close');
      await new Promise((r) => setTimeout(r, 50));
      const answer = await Promise.race([c.get('x').then(() => 'answered', (e: Error) => e.message), new Promise((r) => setTimeout(() => r('still waiting'), 1_000))]);
      return { status: c.status, answer };
    };
    const { connection } = RedisConnections.queue(REDIS_URL, 'fc-test-cx-queue');
    expect(connection).toBeInstanceOf(QueueCluster);
    const blocking = (connection as QueueCluster).duplicate();
    expect(blocking).toBeInstanceOf(QueueCluster);
    expect(await lateDrain(blocking)).toEqual({ status: 'end', answer: 'Connection is closed.' });
    expect(await lateDrain(connection as QueueCluster)).toEqual({ status: 'end', answer: 'Connection is closed.' });
    // Plain ioredis stays in 'close' and the command waits (where BullMQ's workers hung).
    expect(await lateDrain(new Cluster(cluster.nodes))).toEqual({ status: 'close', answer: 'still waiting' });
  });
});
