import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flashcast } from '../protocol/gen/flashcast.js';
import { CloseCode } from '../protocol/codes.js';
import { ScriptedGateway } from '../test/helpers/ScriptedGateway.js';
import type { ScriptedSocket } from '../test/helpers/ScriptedSocket.js';
import { ConnectionClosedError, FlashcastRequestError } from './errors.js';
import { ClientEvent, type FlashcastClient } from './FlashcastClient.js';
import { RoomEvent, type Room } from './Room.js';

/**
 * Room against a real WebSocket server speaking the protocol (ScriptedGateway):
 * what the app sees of a room's critical stream (exactly once, in order, across
 * duplicates, gaps, reconnects and epoch changes) and of its own actions.
 */

const ROOM = 'r1';
let gw: ScriptedGateway;
let client: FlashcastClient;
let sock: ScriptedSocket;

beforeEach(async () => {
  gw = await ScriptedGateway.start();
  client = gw.client();
  await client.connect();
  sock = await gw.socket(0);
});

afterEach(async () => {
  await gw.close();
});

/** Joins ROOM; the server answers the join frame with `joined`. */
async function join(joined: Omit<flashcast.IJoined, 'room'>, on: ScriptedSocket = sock): Promise<{ room: Room; frame: flashcast.ClientFrame }> {
  const joining = client.join(ROOM);
  const frame = await on.takeMsg('join');
  on.joined(frame, joined);
  return { room: await joining, frame };
}

/** Announcement texts the app received, in order (the test's critical events carry their offset as text). */
function announcements(room: Room): string[] {
  const seen: string[] = [];
  room.on(RoomEvent.Announcement, (a) => seen.push(a.text ?? ''));
  return seen;
}

/** Publishes critical announcements whose text is their offset. */
function publish(on: ScriptedSocket, epoch: string, ...offsets: number[]): void {
  for (const offset of offsets) on.event(ROOM, offset, epoch, { announcement: { text: String(offset) } });
}

/**
 * Resolves once the app received a chat marker sent after everything else on
 * `on`: frames of one socket are handled in order, so all before it were too.
 */
async function flushed(room: Room, on: ScriptedSocket = sock): Promise<void> {
  const id = `marker-${Math.random()}`;
  const seen = new Promise<void>((resolve) => {
    const listener = (chat: flashcast.IChatMessage): void => {
      if (chat.id === id) {
        room.off(RoomEvent.Chat, listener);
        resolve();
      }
    };
    room.on(RoomEvent.Chat, listener);
  });
  on.event(ROOM, 0, '', { chat: { id, userId: 'someone', text: '.' } });
  await seen;
}

/** A request round trip: every frame the client sent before it has reached the server. */
async function roundTrip(on: ScriptedSocket = sock): Promise<void> {
  const request = client.request({ unpin: { room: ROOM, productId: 'sync' } });
  on.reply(await on.take((f) => f.unpin?.productId === 'sync', 'sync request'), { ok: {} });
  await request;
}

describe('joining', () => {
  it('applies the snapshot of a first join and reports it once', async () => {
    const joining = client.join(ROOM, { lite: true });
    const frame = await sock.takeMsg('join');
    expect(frame.join).toMatchObject({ room: ROOM, lite: true, recover: false });
    const snapshots: unknown[] = [];
    const room = client.rooms.get(ROOM)!;
    room.on(RoomEvent.Snapshot, (s) => snapshots.push(s));
    sock.joined(frame, {
      offset: 7,
      epoch: 'e1',
      stats: { viewers: 42 },
      snapshot: {
        state: { phase: flashcast.RoomPhase.ROOM_LIVE, title: 'Spring drop' },
        pin: { product: { productId: 'scarf' } },
        inventory: [{ productId: 'scarf', dealId: 'd1', available: 3 }],
        announcement: { text: 'welcome' },
        moderation: { slowModeSeconds: 5 },
      },
    });
    await joining;
    expect(room.joined).toBe(true);
    expect({ offset: room.offset, epoch: room.epoch }).toEqual({ offset: 7, epoch: 'e1' });
    expect(room.state).toMatchObject({ phase: flashcast.RoomPhase.ROOM_LIVE, title: 'Spring drop', viewers: 42, slowModeSeconds: 5 });
    expect(room.state.pinned?.productId).toBe('scarf');
    expect(room.state.inventory.get('d1')?.available).toBe(3);
    expect(room.state.announcement?.text).toBe('welcome');
    expect(snapshots).toHaveLength(1);
  });

  it('starts the stream with the first event when the room had none', async () => {
    const { room } = await join({ offset: 0, epoch: '', snapshot: {} });
    const seen = announcements(room);
    publish(sock, 'e9', 1, 2);
    await flushed(room);
    await roundTrip();
    expect(seen).toEqual(['1', '2']);
    expect(room.epoch).toBe('e9');
    expect(sock.sent('join')).toHaveLength(1);
  });
});

describe('the critical stream', () => {
  it('delivers each critical event once and in order: duplicates and old offsets are dropped', async () => {
    const { room } = await join({ offset: 10, epoch: 'e1', snapshot: {} });
    const seen = announcements(room);
    const stock: number[] = [];
    room.on(RoomEvent.Inventory, (inv) => stock.push(inv.available ?? -1));
    publish(sock, 'e1', 11, 12, 11, 12, 10, 9);
    sock.event(ROOM, 13, 'e1', { inventory: { productId: 'scarf', available: 2 } });
    sock.event(ROOM, 13, 'e1', { inventory: { productId: 'scarf', available: 2 } });
    publish(sock, 'e1', 14);
    await flushed(room);
    await roundTrip();
    expect(seen).toEqual(['11', '12', '14']);
    expect(stock).toEqual([2]);
    expect(room.state.inventory.get('scarf')?.available).toBe(2);
    expect(room.offset).toBe(14);
    expect(sock.sent('join')).toHaveLength(1); // no resume needed
  });

  it('resumes from its position on a gap; the replay fills it, in order, nothing twice', async () => {
    const { room } = await join({ offset: 10, epoch: 'e1', snapshot: {} });
    const seen = announcements(room);
    publish(sock, 'e1', 11, 13); // 12 went missing
    const resume = await sock.takeMsg('join');
    expect(resume.join).toMatchObject({ room: ROOM, recover: true, offset: 11, epoch: 'e1' });
    publish(sock, 'e1', 14); // live traffic racing the resume
    sock.joined(resume, { offset: 11, epoch: 'e1', recovered: true });
    publish(sock, 'e1', 12, 13, 14);
    await flushed(room);
    expect(seen).toEqual(['11', '12', '13', '14']);
    expect(room.offset).toBe(14);
  });

  it('resumes from {epoch, offset} after a reconnect: what was missed arrives once, without a new snapshot', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const seen = announcements(room);
    let snapshots = 0;
    room.on(RoomEvent.Snapshot, () => snapshots++);
    publish(sock, 'e1', 1, 2, 3);
    await flushed(room);
    sock.close(CloseCode.Draining, 'deploy');

    const sock1 = await gw.socket(1);
    const resume = await sock1.takeMsg('join');
    expect(resume.join).toMatchObject({ room: ROOM, recover: true, offset: 3, epoch: 'e1' });
    sock1.joined(resume, { offset: 3, epoch: 'e1', recovered: true });
    publish(sock1, 'e1', 3, 4, 5); // the replay overlaps by one
    publish(sock1, 'e1', 6);
    await flushed(room, sock1);
    expect(seen).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(snapshots).toBe(0);
  });

  it('re-renders from a snapshot when the server cannot replay the missed events', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const seen = announcements(room);
    const snapshots: string[] = [];
    room.on(RoomEvent.Snapshot, (s) => snapshots.push(s.announcement?.text ?? ''));
    publish(sock, 'e1', 1);
    await flushed(room);
    sock.drop();
    const sock1 = await gw.socket(1);
    const resume = await sock1.takeMsg('join');
    expect(resume.join).toMatchObject({ recover: true, offset: 1, epoch: 'e1' });
    sock1.joined(resume, { offset: 40, epoch: 'e1', recovered: false, snapshot: { announcement: { text: 'state at 40' } } });
    publish(sock1, 'e1', 41);
    await flushed(room, sock1);
    expect(snapshots).toEqual(['state at 40']);
    expect(room.state.announcement?.text).toBe('41');
    expect(seen).toEqual(['1', '41']);
  });

  it('asks for a snapshot when a resume is answered "recovered" from another stream', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const seen = announcements(room);
    let snapshots = 0;
    room.on(RoomEvent.Snapshot, () => snapshots++);
    publish(sock, 'e1', 1, 3);
    const resume = await sock.takeMsg('join');
    expect(resume.join).toMatchObject({ recover: true, offset: 1, epoch: 'e1' });
    sock.joined(resume, { offset: 1, epoch: 'e2', recovered: true }); // not a continuation of e1
    const fresh = await sock.takeMsg('join');
    expect(fresh.join?.recover).toBe(false);
    sock.joined(fresh, { offset: 4, epoch: 'e2', snapshot: {} });
    publish(sock, 'e2', 5);
    await flushed(room);
    expect(seen).toEqual(['1', '5']);
    expect(snapshots).toBe(1);
  });

  it('resyncs on an epoch change: a fresh join, a new snapshot, then the new stream', async () => {
    const { room } = await join({ offset: 5, epoch: 'e1', snapshot: {} });
    const seen = announcements(room);
    let snapshots = 0;
    room.on(RoomEvent.Snapshot, () => snapshots++);
    publish(sock, 'e2', 1); // another stream: not applied on top of e1
    const rejoin = await sock.takeMsg('join');
    expect(rejoin.join?.recover).toBe(false);
    publish(sock, 'e2', 2); // arrives before the answer: covered by the snapshot
    sock.joined(rejoin, { offset: 2, epoch: 'e2', snapshot: { announcement: { text: '2' } } });
    publish(sock, 'e2', 3);
    await flushed(room);
    expect(seen).toEqual(['3']);
    expect(snapshots).toBe(1);
    expect({ offset: room.offset, epoch: room.epoch }).toEqual({ offset: 3, epoch: 'e2' });

    // The server may also say so explicitly.
    sock.resync(ROOM, 'e3');
    const again = await sock.takeMsg('join');
    expect(again.join?.recover).toBe(false);
    sock.joined(again, { offset: 0, epoch: 'e3', snapshot: {} });
    publish(sock, 'e3', 1);
    await flushed(room);
    expect(seen).toEqual(['3', '1']);
    expect(snapshots).toBe(2);
  });
});

describe('actions and membership', () => {
  it('emits own chat once, whether the broadcast copy or the reply comes first', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const chats: { id: string; own: boolean }[] = [];
    room.on(RoomEvent.Chat, (m, { own }) => chats.push({ id: m.id ?? '', own }));
    const sending = room.sendChat('hello', { clientMsgId: 'm1' });
    const frame = await sock.takeMsg('chat');
    const message = { id: 'c1', userId: 'u1', text: 'hello', clientMsgId: 'm1' };
    sock.event(ROOM, 0, '', { chat: message });
    sock.reply(frame, { chatAccepted: { room: ROOM, message } });
    expect((await sending).id).toBe('c1');
    sock.event(ROOM, 0, '', { chat: { id: 'c2', userId: 'u2', text: 'hi', clientMsgId: 'm1' } });
    await flushed(room);
    expect(chats.filter((c) => !c.id.startsWith('marker'))).toEqual([
      { id: 'c1', own: true },
      { id: 'c2', own: false },
    ]);
  });

  it('turns a refused buy into an error with its stable code and the full answer', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const buying = room.buy({ productId: 'scarf', idempotencyKey: 'k1' });
    const frame = await sock.takeMsg('buy');
    expect(frame.buy).toMatchObject({ room: ROOM, productId: 'scarf', quantity: 1, idempotencyKey: 'k1' });
    sock.reply(frame, { buyResult: { code: 'SOLD_OUT', message: 'gone', available: 0 } });
    const error = await buying.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlashcastRequestError);
    expect(error).toMatchObject({ code: 'SOLD_OUT', room: ROOM, details: { code: 'SOLD_OUT' } });
  });

  it('types the next step of a held order: CONFIRM_PAYMENT with its plans, also from a server that only sent the legacy fields', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const buying = room.buy({ productId: 'scarf', idempotencyKey: 'k2' });
    const frame = await sock.takeMsg('buy');
    const plan = { count: 3, instalments: [1, 2, 3].map((seq) => ({ seq, amount: { amount: seq === 1 ? 334 : 333, currency: 'USD' }, dueAt: 1_000 * seq })) };
    sock.reply(frame, { buyResult: {
      status: flashcast.CheckoutStatus.CHECKOUT_RESERVED, orderId: 'o1', dealId: 'd1', holdExpiresAt: 5_000,
      nextStep: { code: 'CONFIRM_PAYMENT', orderId: 'o1', dealId: 'd1', expiresAt: 5_000, methods: ['card', 'bnpl'], instalmentOptions: [plan], action: 'confirm_payment', path: '/v1/x' },
    } });
    const result = await buying;
    expect(result.status).toBe(flashcast.CheckoutStatus.CHECKOUT_RESERVED);
    expect(result.code).toBe('');
    const step = result.nextStep!;
    if (step.code !== 'CONFIRM_PAYMENT') throw new Error(`unexpected step ${step.code}`);
    expect(step).toMatchObject({ orderId: 'o1', dealId: 'd1', expiresAt: 5_000, methods: ['card', 'bnpl'], path: '/v1/x' });
    expect(step.instalmentOptions).toEqual([{ count: 3, instalments: [
      { seq: 1, amount: { amount: 334, currency: 'USD' }, dueAt: 1_000 },
      { seq: 2, amount: { amount: 333, currency: 'USD' }, dueAt: 2_000 },
      { seq: 3, amount: { amount: 333, currency: 'USD' }, dueAt: 3_000 },
    ] }]);

    const legacy = room.buy({ productId: 'scarf', idempotencyKey: 'k3' });
    const f2 = await sock.takeMsg('buy');
    sock.reply(f2, { buyResult: {
      status: flashcast.CheckoutStatus.CHECKOUT_RESERVED, orderId: 'o2', dealId: 'd2',
      nextStep: { action: 'confirm_payment', method: 'POST', path: '/v1/deals/d2/orders/o2/confirm', methods: ['card'], expiresAt: 9 },
    } });
    expect((await legacy).nextStep).toMatchObject({ code: 'CONFIRM_PAYMENT', orderId: 'o2', dealId: 'd2', expiresAt: 9, instalmentOptions: [] });

    const settling = room.buy({ productId: 'scarf', idempotencyKey: 'k4' });
    sock.reply(await sock.takeMsg('buy'), { buyResult: { status: flashcast.CheckoutStatus.CHECKOUT_SETTLING, orderId: 'o3' } });
    expect((await settling).nextStep).toBeNull();
  });

  it('stops delivering events once left, by the app or by the server', async () => {
    const first = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const seen = announcements(first.room);
    const reasons: flashcast.LeftReason[] = [];
    first.room.on(RoomEvent.Left, (r) => reasons.push(r));
    const leaving = first.room.leave();
    sock.reply(await sock.takeMsg('leave'), { left: { room: ROOM, reason: flashcast.LeftReason.LEFT_BY_CLIENT } });
    await leaving;
    expect(client.rooms.has(ROOM)).toBe(false);
    publish(sock, 'e1', 1);

    const second = await join({ offset: 1, epoch: 'e1', snapshot: {} });
    expect(second.room).not.toBe(first.room);
    const seen2 = announcements(second.room);
    const banned = new Promise<void>((resolve) =>
      second.room.on(RoomEvent.Left, (r) => {
        reasons.push(r);
        resolve();
      }),
    );
    sock.send({ left: { room: ROOM, reason: flashcast.LeftReason.LEFT_BANNED } });
    publish(sock, 'e1', 2);
    await banned;
    expect(client.rooms.has(ROOM)).toBe(false);
    // Joining again proves the frames above were handled (one socket, in order).
    const third = await join({ offset: 2, epoch: 'e1', snapshot: {} });
    expect(second.room.joined).toBe(false);
    expect(third.room).not.toBe(second.room);
    expect(seen).toEqual([]);
    expect(seen2).toEqual([]);
    expect(reasons).toEqual([flashcast.LeftReason.LEFT_BY_CLIENT, flashcast.LeftReason.LEFT_BANNED]);
  });

  it('is left for good when the connection closes with a terminal code', async () => {
    const { room } = await join({ offset: 0, epoch: 'e1', snapshot: {} });
    const closed = new Promise<void>((resolve) => client.on(ClientEvent.StateChanged, (s) => s === 'closed' && resolve()));
    sock.close(CloseCode.Banned, 'banned');
    await closed;
    expect(room.joined).toBe(false);
    expect(client.rooms.size).toBe(0);
    await expect(room.sendChat('still here?')).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(gw.sockets).toHaveLength(1);
  });
});
