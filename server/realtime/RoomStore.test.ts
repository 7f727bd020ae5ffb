/** RoomStore against a real Redis: the stream scripts (publish, recover), chat admission, stats, moderation. */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../../test/helpers/env.js';
import { RedisKeys } from '../../common/keys.js';
import { HashSlot } from '../../common/HashSlot.js';
import { MessageClass, RoomStore } from './RoomStore.js';

let redis: Redis;
let subscriber: Redis;
const prefixes: string[] = [];

/** A store on its own prefix, with that prefix's keys for the test to look at Redis directly. */
function store(historySize = 100): RoomStore & { keys: RedisKeys } {
  const prefix = uniquePrefix('rs');
  prefixes.push(prefix);
  return Object.assign(new RoomStore(redis, { prefix, historySize, historyTtlSeconds: 600, maxRecover: 50 }), { keys: new RedisKeys(prefix) });
}

const eventBytes = (e: flashcast.IRoomEvent) => flashcast.RoomEvent.encode(e).finish();

/** Script calls made through `redis` (EVALSHA and the EVAL fallback). */
let evalCalls = 0;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  for (const name of ['evalsha', 'eval', 'evalshaBuffer', 'evalBuffer'] as const) {
    const call = (redis as any)[name].bind(redis);
    (redis as any)[name] = (...args: unknown[]) => {
      evalCalls++;
      return call(...args);
    };
  }
  subscriber = new Redis(REDIS_URL);
});
afterEach(async () => {
  await Promise.all(prefixes.splice(0).map((p) => deletePrefix(p)));
});
afterAll(() => {
  redis.disconnect();
  subscriber.disconnect();
});

describe('publish-3.lua', () => {
  it('assigns consecutive offsets under one epoch and publishes the exact stored frame', async () => {
    const s = store();
    const received: Buffer[] = [];
    subscriber.on('smessageBuffer', (_ch: Buffer, msg: Buffer) => received.push(msg));
    await subscriber.ssubscribe(s.keys.roomChannel('room1'));
    const positions = [];
    for (let i = 0; i < 5; i++) {
      positions.push(await s.publishCritical('room1', eventBytes({ room: 'room1', ts: 1000 + i, announcement: { text: `a${i}` } })));
    }
    expect(positions.map((p) => p.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(positions.map((p) => p.epoch)).size).toBe(1);
    await waitFor(() => received.length === 5);
    received.forEach((msg, i) => {
      expect(msg[0]).toBe(MessageClass.Critical);
      const frame = flashcast.ServerFrame.decode(msg.subarray(1));
      expect(frame.v).toBe(1);
      expect(frame.event?.offset).toBe(i + 1);
      expect(frame.event?.epoch).toBe(positions[0].epoch);
      expect(frame.event?.announcement?.text).toBe(`a${i}`);
    });
    await subscriber.sunsubscribe(s.keys.roomChannel('room1'));
    subscriber.removeAllListeners('smessageBuffer');
  });

  it('keeps only historySize entries and sets a TTL on every key', async () => {
    const s = store(10);
    for (let i = 0; i < 25; i++) await s.publishCritical('r', eventBytes({ ts: 1, announcement: { text: String(i) } }));
    expect(await redis.llen(s.keys.room('r', 'hist'))).toBe(10);
    for (const suffix of ['meta', 'hist']) expect(await redis.ttl(s.keys.room('r', suffix))).toBeGreaterThan(500);
  });

  it('maintains the snapshot with set and del', async () => {
    const s = store();
    await s.publishCritical('r', eventBytes({ ts: 1, pin: { product: { productId: 'p1', title: 'Mug' } } }), { set: 'pin' });
    await s.publishCritical('r', eventBytes({ ts: 2, inventory: { productId: 'p1', available: 7, total: 10 } }), { set: 'inv:p1' });
    await s.publishCritical('r', eventBytes({ ts: 3, inventory: { productId: 'p1', available: 5, total: 10 } }), { set: 'inv:p1' });
    await s.publishCritical('r', eventBytes({ ts: 4, state: { phase: flashcast.RoomPhase.ROOM_LIVE } }), { set: 'state' });
    let snap = await s.snapshot('r');
    expect(snap.recovered).toBe(false);
    expect(snap.offset).toBe(4);
    expect(snap.snapshot.pin?.product?.productId).toBe('p1');
    expect(snap.snapshot.inventory?.map((i) => i.available)).toEqual([5]);
    expect(snap.snapshot.state?.phase).toBe(flashcast.RoomPhase.ROOM_LIVE);
    await s.publishCritical('r', eventBytes({ ts: 5, unpin: { productId: 'p1' } }), { del: 'pin' });
    snap = await s.snapshot('r');
    expect(snap.snapshot.pin).toBeFalsy();
  });
});

describe('versioned inventory', () => {
  it('never lets an older stock version into the stream', async () => {
    const s = store();
    const inv = (available: number, version: number) =>
      eventBytes({ ts: 1, inventory: { productId: 'p', dealId: 'd', available, version } });
    const op = { set: 'inv:d' };
    expect((await s.publishCritical('r', inv(9, 1), op, 1)).offset).toBe(1);
    expect((await s.publishCritical('r', inv(5, 3), op, 3)).offset).toBe(2);
    expect((await s.publishCritical('r', inv(7, 2), op, 2)).offset).toBe(0); // computed earlier, arrived later
    expect((await s.publishCritical('r', inv(5, 3), op, 3)).offset).toBe(0); // same version again
    expect((await s.publishCritical('r', inv(4, 4), op, 4)).offset).toBe(3);
    const snap = await s.recover('r', null);
    expect(!snap.recovered && snap.snapshot.inventory?.map((i) => i.available)).toEqual([4]);
  });
});

describe('recover-3.lua', () => {
  it('replays exactly the missed frames when it can', async () => {
    const s = store();
    let epoch = '';
    for (let i = 1; i <= 8; i++) epoch = (await s.publishCritical('r', eventBytes({ ts: i, announcement: { text: String(i) } }))).epoch;
    const result = await s.recover('r', { epoch, offset: 5 });
    expect(result.recovered).toBe(true);
    if (!result.recovered) return;
    expect(result.offset).toBe(8);
    expect(result.frames.map((f) => flashcast.ServerFrame.decode(f).event?.offset)).toEqual([6, 7, 8]);
    const upToDate = await s.recover('r', { epoch, offset: 8 });
    expect(upToDate.recovered && upToDate.frames.length).toBe(0);
  });

  it('falls back to the snapshot on another epoch, a trimmed history or too many missed', async () => {
    const s = store(5);
    let epoch = '';
    for (let i = 1; i <= 12; i++) epoch = (await s.publishCritical('r', eventBytes({ ts: i, announcement: { text: String(i) } }), { set: 'ann' })).epoch;
    expect((await s.recover('r', { epoch: 'other', offset: 11 })).recovered).toBe(false);
    expect((await s.recover('r', { epoch, offset: 2 })).recovered).toBe(false); // trimmed
    expect((await s.recover('r', { epoch, offset: 99 })).recovered).toBe(false); // ahead: impossible
    const snap = await s.recover('r', { epoch, offset: 2 });
    expect(!snap.recovered && snap.snapshot.announcement?.text).toBe('12');
  });

  it('reads a room nobody published to as no stream ("" at 0), creating no key', async () => {
    const s = store();
    const a = await s.recover('fresh', null);
    expect([a.recovered, a.epoch, a.offset]).toEqual([false, '', 0]);
    // A caller at ("", 0) is up to date while there is no stream.
    const upToDate = await s.recover('fresh', { epoch: '', offset: 0 });
    expect([upToDate.recovered, upToDate.epoch, upToDate.offset]).toEqual([true, '', 0]);
    expect(await redis.keys(`${s.keys.prefix}:*`)).toEqual([]);
  });

  it('lets a caller that saw no stream recover the stream from its first event', async () => {
    const s = store();
    const positions = [];
    for (let i = 1; i <= 3; i++) positions.push(await s.publishCritical('fresh', eventBytes({ ts: i, announcement: { text: String(i) } })));
    const result = await s.recover('fresh', { epoch: '', offset: 0 });
    expect(result.recovered).toBe(true);
    if (!result.recovered) return;
    expect(result.epoch).toBe(positions[0].epoch);
    expect(result.frames.map((f) => Number(flashcast.ServerFrame.decode(f).event?.offset))).toEqual([1, 2, 3]);
    // Only from the very start: another offset without an epoch gets the snapshot.
    expect((await s.recover('fresh', { epoch: '', offset: 1 })).recovered).toBe(false);
  });

  it('gives a new epoch after the stream is lost (Redis data loss)', async () => {
    const s = store();
    const { epoch } = await s.publishCritical('r', eventBytes({ ts: 1, announcement: { text: 'x' } }));
    await deletePrefix(prefixes[prefixes.length - 1]);
    const after = await s.recover('r', { epoch, offset: 1 });
    expect(after.recovered).toBe(false);
    expect(after.epoch).not.toBe(epoch);
  });
});

describe('chat-2.lua', () => {
  it('deduplicates retries and enforces slow mode', async () => {
    const s = store();
    const payload = Buffer.from([MessageClass.Chat, 1, 2, 3]);
    const first = await s.publishChat('r', payload, { userId: 'u1', clientMsgId: 'c1', messageId: 'm1', slowModeMs: 0 });
    expect(first.result).toBe('ok');
    const retry = await s.publishChat('r', payload, { userId: 'u1', clientMsgId: 'c1', messageId: 'm2', slowModeMs: 0 });
    expect(retry).toEqual({ result: 'dup', originalId: 'm1' });
    const slow1 = await s.publishChat('r', payload, { userId: 'u2', clientMsgId: 'a', messageId: 'x1', slowModeMs: 5000 });
    const slow2 = await s.publishChat('r', payload, { userId: 'u2', clientMsgId: 'b', messageId: 'x2', slowModeMs: 5000 });
    expect(slow1.result).toBe('ok');
    expect(slow2.result).toBe('slow');
    expect(slow2.retryAfterMs).toBeGreaterThan(4000);
    const other = await s.publishChat('r', payload, { userId: 'u3', clientMsgId: 'b', messageId: 'x3', slowModeMs: 5000 });
    expect(other.result).toBe('ok');
  });
});

describe('stats-3.lua', () => {
  const report = (roomId: string, viewers: number, reactions: [number, number][] = []) => ({ roomId, viewers, reactions: new Map(reactions) });

  it('sums viewers over live nodes and reactions over reports, and drops nodes that stop reporting', async () => {
    const s = store();
    await s.reportStats('nodeA', [report('r', 10, [[1, 3]])]);
    const both = (await s.reportStats('nodeB', [report('r', 5, [[1, 2], [2, 1]])])).get('r')!;
    expect(both.viewers).toBe(15);
    expect(both.reactions.get(1)).toBe(5);
    expect(both.reactions.get(2)).toBe(1);
    expect(await s.readStats('r')).toEqual(both);
    // nodeA's liveness lapses (it died): simulated by an entry already expired.
    await redis.zadd(`${s.keys.prefix}:{st}:presence:nodes`, Date.now() - 1, 'nodeA');
    expect((await s.reportStats('nodeB', [report('r', 5)])).get('r')!.viewers).toBe(5);
    expect(await redis.exists(`${s.keys.prefix}:{st}:presence:nodeA`)).toBe(0);
    expect((await s.reportStats('nodeB', [report('r', 0)])).get('r')!.viewers).toBe(0);
  });

  it('takes a node\'s full set of rooms: a room left out leaves the totals, and the last one leaves no key', async () => {
    const s = store();
    await s.reportStats('nodeA', [report('r1', 3), report('r2', 4)]);
    await s.reportStats('nodeB', [report('r1', 1)]);
    const after = await s.reportStats('nodeA', [report('r2', 4)]);
    expect(after.get('r2')!.viewers).toBe(4);
    expect((await s.readStats('r1')).viewers).toBe(1);
    await s.reportStats('nodeB', []);
    await s.reportStats('nodeA', []);
    expect(await s.readStats('r1')).toEqual({ viewers: 0, reactions: new Map() });
    expect(await redis.keys(`${s.keys.prefix}:*`)).toEqual([]);
  });

  it('reports a thousand rooms in one script call per partition, each partition in one slot', async () => {
    for (const partitions of [1, 3]) {
      const prefix = uniquePrefix('rs');
      prefixes.push(prefix);
      const s = new RoomStore(redis, { prefix, historySize: 10, historyTtlSeconds: 60, statsPartitions: partitions });
      const rooms = Array.from({ length: 1000 }, (_, i) => report(`room${i}`, i % 7, i % 3 === 0 ? [[1, 1]] : []));
      const before = evalCalls;
      const totals = await s.reportStats('nodeA', rooms);
      expect(evalCalls - before).toBe(partitions);
      expect(totals.size).toBe(1000);
      expect(totals.get('room6')!.viewers).toBe(6);
      expect(totals.get('room6')!.reactions.get(1)).toBe(1);
      const keys = await redis.keys(`${prefix}:*`);
      const tags = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)![1]));
      expect(tags.size).toBe(partitions);
      for (const tag of tags) {
        const slots = new Set(keys.filter((k) => k.includes(`{${tag}}`)).map((k) => HashSlot.of(k)));
        expect(slots.size).toBe(1);
      }
      // One partition per equal slot range: one per master of a cluster of that many.
      expect(new Set([...tags].map((t) => HashSlot.range(HashSlot.of(`{${t}}`), partitions))).size).toBe(partitions);
    }
  });
});

describe('moderation state', () => {
  it('round-trips mutes, bans, slow mode and words', async () => {
    const s = store();
    await s.saveModeration('r', { kind: 'mute', userId: 'u1', seconds: 60 });
    await s.saveModeration('r', { kind: 'ban', userId: 'u2' });
    await s.saveModeration('r', { kind: 'slow', seconds: 10 });
    await s.saveModeration('r', { kind: 'words', words: ['spam', 'scam'] });
    const m = await s.loadModeration('r');
    expect(m.mutes.get('u1')).toBeGreaterThan(Date.now());
    expect(m.bans.get('u2')).toBe(0);
    expect(m.slowModeSeconds).toBe(10);
    expect(m.words.sort()).toEqual(['scam', 'spam']);
    expect((await s.loadModeration('r')).bans.has('u2')).toBe(true);
    await s.saveModeration('r', { kind: 'unban', userId: 'u2' });
    expect((await s.loadModeration('r')).bans.has('u2')).toBe(false);
  });
});
