import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, FlashcastRequestError, RoomEvent, flashcast } from '../client-sdk/index.js';
import type { FlashcastClient } from '../client-sdk/index.js';
import { waitFor, sleep } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { mint, sdkClient } from './helpers/clients.js';

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_gw_${randomBytes(6).toString('hex')}`;
let gw: Awaited<ReturnType<typeof startGateway>>;
const clients: FlashcastClient[] = [];

async function connect(token: string): Promise<FlashcastClient> {
  const client = sdkClient(gw.url, token);
  clients.push(client);
  await client.connect();
  return client;
}

async function viewer(id: string, extra: Partial<Parameters<typeof mint>[0]> = {}): Promise<FlashcastClient> {
  return connect(await mint({ sub: id, role: 'viewer', name: `Name ${id}`, ...extra }));
}

async function host(id: string, rooms: string[]): Promise<FlashcastClient> {
  return connect(await mint({ sub: id, role: 'host', rooms, name: 'Host' }));
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<FlashcastRequestError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(FlashcastRequestError);
  expect((error as FlashcastRequestError).code).toBe(code);
  return error as FlashcastRequestError;
}

beforeAll(async () => {
  // With commerce: a pin's card comes from the catalog.
  gw = await startGateway({ chatPerViewerPerSecond: 5, databaseUrl: PG_URL, databaseSchema: schema }, { commerce: true });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** A product of `owner`'s shop in the room's showcase. */
async function showcaseProduct(owner: string, roomId: string, id: string, title: string, amount: number): Promise<void> {
  const catalog = gw.node.commerce!.catalog;
  const shop = await catalog.createShop({ ownerUserId: owner, name: `${owner} shop`, currency: 'USD', country: 'US' });
  await catalog.createProduct(shop.id, { id, titles: { en: title }, images: ['https://img.example/p.jpg'], price: { amount, currency: 'USD' }, stock: 10 });
  await catalog.addToShowcase(roomId, id);
}

describe('rooms, pins and the critical stream', () => {
  it('delivers host events in order to viewers, and a snapshot to late joiners', async () => {
    await showcaseProduct('h-pin', 'pinroom', 'lipstick-1', 'Lipstick', 1299);
    const h = await host('h-pin', ['pinroom']);
    const hr = await h.join('pinroom');
    const v = await viewer('v-pin');
    const room = await v.join('pinroom');
    const seen: string[] = [];
    room.on(RoomEvent.Announcement, (a) => seen.push(`ann:${a.text}`));
    room.on(RoomEvent.Pin, (p) => seen.push(`pin:${p.product?.productId}`));
    room.on(RoomEvent.State, (s) => seen.push(`state:${s.phase}`));
    await hr.setPhase(flashcast.RoomPhase.ROOM_LIVE, 'Spring drop');
    await hr.announce('Deal in 30 seconds');
    // Only the product id is sent: the card (title, price) comes from the catalog.
    await hr.pin('lipstick-1');
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual([`state:${flashcast.RoomPhase.ROOM_LIVE}`, 'ann:Deal in 30 seconds', 'pin:lipstick-1']);
    expect(room.offset).toBe(3);
    expect(room.state.pinned?.price?.amount).toBe(1299);
    expect(room.state.pinned?.title).toBe('Lipstick');

    const late = await viewer('v-late');
    const lateRoom = await late.join('pinroom');
    // After its join, a snapshot would only come from a resync: updates arrive as events.
    const resyncs: unknown[] = [];
    lateRoom.on(RoomEvent.Snapshot, (s) => resyncs.push(s));
    expect(lateRoom.offset).toBe(3);
    expect(lateRoom.state.phase).toBe(flashcast.RoomPhase.ROOM_LIVE);
    expect(lateRoom.state.title).toBe('Spring drop');
    expect(lateRoom.state.pinned?.productId).toBe('lipstick-1');
    expect(lateRoom.state.announcement?.text).toBe('Deal in 30 seconds');
    await hr.unpin('lipstick-1');
    await waitFor(() => lateRoom.state.pinned === null && room.state.pinned === null);
    expect(resyncs).toEqual([]);
  });

  it('only the room host may pin, announce or change the phase', async () => {
    const v = await viewer('v-nohost');
    const room = await v.join('guarded');
    await expectCode(room.pin({ productId: 'p' }), ErrorCode.Forbidden);
    await expectCode(room.announce('hi'), ErrorCode.Forbidden);
    const otherHost = await host('h-other', ['elsewhere']);
    await expectCode(otherHost.request({ announce: { room: 'guarded', text: 'x' } }), ErrorCode.Forbidden);
  });

  it('rejects invalid host input with INVALID_ARGUMENT', async () => {
    const h = await host('h-bad', ['badinput']);
    const r = await h.join('badinput');
    await expectCode(r.pin({ productId: '' }), ErrorCode.InvalidArgument);
    await expectCode(r.pin({ productId: '../x' }), ErrorCode.InvalidArgument);
    // An unknown product is refused and nothing is broadcast.
    await expectCode(r.pin('ghost'), 'PRODUCT_NOT_FOUND');
    expect(r.state.pinned).toBeNull();
    await expectCode(r.announce('x'.repeat(501)), ErrorCode.InvalidArgument);
    await expectCode(r.setPhase(99 as flashcast.RoomPhase), ErrorCode.InvalidArgument);
  });
});

describe('chat', () => {
  it('reaches the room; the sender sees its own message once; a retry keeps its id', async () => {
    const a = await viewer('chat-a');
    const b = await viewer('chat-b');
    const ra = await a.join('chatroom');
    const rb = await b.join('chatroom');
    const aSaw: string[] = [];
    const bSaw: string[] = [];
    ra.on(RoomEvent.Chat, (m, { own }) => aSaw.push(`${m.text}${own ? '*' : ''}`));
    rb.on(RoomEvent.Chat, (m) => bSaw.push(`${m.name}:${m.text}`));
    const sent = await ra.sendChat('hello  ', { clientMsgId: 'same-1' });
    expect(sent.text).toBe('hello');
    await waitFor(() => bSaw.length === 1);
    expect(bSaw).toEqual(['Name chat-a:hello']);
    const again = await ra.sendChat('hello', { clientMsgId: 'same-1' });
    expect(again.id).toBe(sent.id);
    await sleep(200);
    expect(aSaw).toEqual(['hello*']);
    expect(bSaw).toHaveLength(1);
  });

  it('refuses chat before joining, empty or oversized text', async () => {
    const v = await viewer('chat-bad');
    await expectCode(v.request({ chat: { room: 'nojoin', text: 'x' } }), ErrorCode.NotJoined);
    const r = await v.join('chat-bad-room');
    await expectCode(r.sendChat('   '), ErrorCode.InvalidArgument);
    await expectCode(r.sendChat('y'.repeat(501)), ErrorCode.InvalidArgument);
  });

  it('rate-limits a chatty viewer with RATE_LIMITED and a retry time', async () => {
    const v = await viewer('chat-fast');
    const r = await v.join('chat-fast-room');
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => r.sendChat(`m${i}`)));
    const limited = results.filter((x) => x.status === 'rejected').map((x) => (x as PromiseRejectedResult).reason);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((e) => e.code === ErrorCode.RateLimited && e.retryAfterMs > 0)).toBe(true);
  });

  it('a Lite viewer of a quiet room sees every line', async () => {
    // Lite's budget is 2 lines a second; one line every 0.7 s is under it.
    const roomId = 'quiet-lite';
    const lite = await (await viewer('lite-reader')).join(roomId, { lite: true });
    const talker = await (await viewer('lite-talker')).join(roomId);
    const saw: string[] = [];
    lite.on(RoomEvent.Chat, (m) => saw.push(m.text));
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await sleep(700);
      sent.push((await talker.sendChat(`line ${i}`)).text);
    }
    await waitFor(() => saw.length === sent.length, 3000, `all ${sent.length} lines (saw ${saw.join(', ')})`);
    expect(saw).toEqual(sent);
  });

  it('samples viewer chat in a busy room but always delivers the host and the sender', async () => {
    const roomId = 'busy';
    const h = await host('h-busy', [roomId]);
    const hr = await h.join(roomId);
    const watchers = await Promise.all(Array.from({ length: 6 }, (_, i) => viewer(`watch${i}`).then((c) => c.join(roomId))));
    const chatters = await Promise.all(Array.from({ length: 12 }, (_, i) => viewer(`talk${i}`).then((c) => c.join(roomId))));
    const counts = watchers.map(() => ({ viewer: 0, host: 0 }));
    watchers.forEach((w, i) =>
      w.on(RoomEvent.Chat, (m) => {
        if (m.role === flashcast.Role.HOST) counts[i].host++;
        else counts[i].viewer++;
      }),
    );
    const seconds = 3;
    let acked = 0;
    let sent = 0;
    const started = Date.now();
    // 12 chatters x 3 msg/s = 36 msg/s, over the 5 msg/s per-viewer budget.
    while (Date.now() - started < seconds * 1000) {
      await Promise.all(
        chatters.map((c, i) => {
          sent++;
          return c.sendChat(`hi ${i}`).then(() => acked++, () => undefined);
        }),
      );
      if ((Date.now() - started) % 1000 < 400) await hr.sendChat(`host says ${Date.now()}`);
      await sleep(330);
    }
    const hostSent = await waitFor(async () => {
      await sleep(300);
      return counts[0].host;
    });
    await sleep(300);
    expect(acked).toBeGreaterThan(sent * 0.8); // every sender got its own message back
    for (const c of counts) {
      expect(c.host).toBe(hostSent); // host messages are never sampled
      expect(c.viewer).toBeLessThan(acked * 0.6); // busy room: sampled
      expect(c.viewer).toBeLessThanOrEqual(5 * (seconds + 1) + 6);
      expect(c.viewer).toBeGreaterThan(0);
    }
  });
});

describe('moderation', () => {
  it('mute, slow mode, blocked words, delete and ban', async () => {
    const roomId = 'modroom';
    const h = await host('h-mod', [roomId]);
    const hr = await h.join(roomId);
    const mod = await connect(await mint({ sub: 'm-mod', role: 'moderator', rooms: [roomId] }));
    const mr = await mod.join(roomId);
    const troll = await viewer('troll');
    const tr = await troll.join(roomId);
    const fan = await viewer('fan');
    const fr = await fan.join(roomId);
    const modEvents: flashcast.IModerationEvent[] = [];
    fr.on(RoomEvent.Moderation, (e) => modEvents.push(e));

    await expectCode(fr.moderate({ action: flashcast.ModerationAction.MUTE, userId: 'troll' }), ErrorCode.Forbidden);
    // Moderators moderate chat and members, nothing else.
    await expectCode(mr.announce('not mine to say'), ErrorCode.Forbidden);
    await expectCode(mr.pin({ productId: 'anything' }), ErrorCode.Forbidden);

    await mr.moderate({ action: flashcast.ModerationAction.MUTE, userId: 'troll', seconds: 60 });
    await waitFor(() => modEvents.length === 1);
    await expectCode(tr.sendChat('spam'), ErrorCode.Muted);
    await mr.moderate({ action: flashcast.ModerationAction.UNMUTE, userId: 'troll' });
    await waitFor(() => modEvents.length === 2);
    const msg = await tr.sendChat('sorry');
    await hr.moderate({ action: flashcast.ModerationAction.DELETE_MESSAGE, messageId: msg.id! });
    await waitFor(() => modEvents.some((e) => e.action === flashcast.ModerationAction.DELETE_MESSAGE && e.messageId === msg.id));

    await hr.moderate({ action: flashcast.ModerationAction.SET_BLOCKED_WORDS, words: ['FakeWatch'] });
    await waitFor(() => modEvents.length === 4);
    await sleep(100); // the node reloads the word list
    await expectCode(fr.sendChat('buy a fakewatch here'), ErrorCode.BlockedWord);
    await hr.sendChat('hosts may say fakewatch'); // hosts are exempt

    await hr.moderate({ action: flashcast.ModerationAction.SLOW_MODE, seconds: 30 });
    await waitFor(() => fr.state.slowModeSeconds === 30);
    await fr.sendChat('first');
    const slow = await expectCode(fr.sendChat('second'), ErrorCode.SlowMode);
    expect(slow.retryAfterMs).toBeGreaterThan(20_000);
    await hr.moderate({ action: flashcast.ModerationAction.SLOW_MODE, seconds: 0 });

    const left: flashcast.LeftReason[] = [];
    tr.on(RoomEvent.Left, (reason) => left.push(reason));
    await hr.moderate({ action: flashcast.ModerationAction.BAN, userId: 'troll' });
    await waitFor(() => left.length === 1);
    expect(left[0]).toBe(flashcast.LeftReason.LEFT_BANNED);
    await expectCode(troll.join(roomId), ErrorCode.Banned);
    await expectCode(hr.moderate({ action: flashcast.ModerationAction.BAN, userId: 'h-mod' }), ErrorCode.InvalidArgument);
  });
});

describe('presence, reactions and stock', () => {
  it('aggregates viewer counts and reactions at most twice a second', async () => {
    const roomId = 'statsroom';
    const rooms = await Promise.all(Array.from({ length: 4 }, (_, i) => viewer(`st${i}`).then((c) => c.join(roomId))));
    const statsFrames: number[] = [];
    rooms[0].on(RoomEvent.Stats, () => statsFrames.push(Date.now()));
    for (const r of rooms) for (let i = 0; i < 5; i++) r.react('HEART');
    rooms[1].react('FIRE', 3);
    await waitFor(() => rooms[0].state.viewers === 4 && rooms[0].state.reactions.get(flashcast.ReactionKind.HEART) === 20, 5000);
    expect(rooms[0].state.reactions.get(flashcast.ReactionKind.FIRE)).toBe(3);
    const start = Date.now();
    const until = start + 2000;
    while (Date.now() < until) {
      rooms[2].react('LIKE');
      await sleep(20);
    }
    const inWindow = statsFrames.filter((t) => t >= start);
    expect(inWindow.length).toBeLessThanOrEqual(5); // ≤ 2 Hz
    expect(inWindow.length).toBeGreaterThanOrEqual(2);
  });

  it('coalesces inventory to the latest value at most 10 times a second', async () => {
    const v = await viewer('inv-watch');
    const room = await v.join('invroom');
    const seen: number[] = [];
    room.on(RoomEvent.Inventory, (inv) => seen.push(Number(inv.available)));
    const started = Date.now();
    for (let stock = 500; stock >= 0; stock -= 5) {
      gw.node.publisher.publishInventory('invroom', { productId: 'p1', dealId: 'd1', available: stock, total: 500 });
      await sleep(5);
    }
    const elapsed = (Date.now() - started) / 1000;
    await waitFor(() => seen.at(-1) === 0, 3000, 'final stock');
    expect(seen.length).toBeLessThanOrEqual(Math.ceil(elapsed * 10) + 2);
    expect(seen.length).toBeGreaterThan(1);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen); // never goes back up
    expect(room.state.inventory.get('d1')?.available).toBe(0);
  });
});
