/** Unit tests of LocalRoom: its stream position, held frames, joins answered from memory, cached state. */
import uWS from 'uWebSockets.js';
import { describe, expect, it } from 'vitest';
import { ModerationAction, RoomPhase, encodeServerFrame, flashcast } from '../../protocol/index.js';
import { StreamDecision } from '../../protocol/StreamCursor.js';
import { LocalRoom } from './LocalRoom.js';
import { TopicBatcher } from './TopicBatcher.js';
import type { ModerationState, SnapshotResult } from './RoomStore.js';

// A real uWS app that never listens: publishing to a topic nobody subscribes to is a no-op
// (uWS needs a WebSocket route for its topic tree).
const app = uWS.App();
app.ws('/ws', {});
const batcher = new TopicBatcher(app, 0);
const options = { chatPerViewerPerSecond: 10, liteChatPerSecond: 2, ringSize: 4, chatIngressPerSecond: 100, roomChatPerSecond: 100 };
const noModeration = (): ModerationState => ({ mutes: new Map(), bans: new Map(), slowModeSeconds: 0, words: [] });
const noStats = { viewers: 0, reactions: new Map<number, number>() };

function snapshotAt(epoch: string, offset: number, fields = new Map<string, flashcast.IRoomEvent>()): SnapshotResult {
  return { recovered: false, snapshot: {}, fields, epoch, offset };
}

function critical(epoch: string, offset: number, event: flashcast.IRoomEvent = { announcement: { text: `a${offset}` } }) {
  const full: flashcast.IRoomEvent = { room: 'r1', ts: Date.now(), ...event, epoch, offset };
  return { event: full, position: { epoch, offset }, frame: Buffer.from(encodeServerFrame({ event: full })) };
}

function openRoom(epoch = 'e1', offset = 0): LocalRoom {
  const room = new LocalRoom(batcher, 'r1', options);
  room.open(snapshotAt(epoch, offset), noModeration(), noStats);
  room.endCatchUp();
  return room;
}

describe('LocalRoom stream position', () => {
  it('holds critical frames from its creation until it is positioned', () => {
    const room = new LocalRoom(batcher, 'r1', options);
    expect(room.catchingUp).toBe(true);
    expect(room.position).toBeNull();
    const early = critical('e1', 3);
    expect(room.hold(early.frame)).toBe(true);
    expect(room.offer(early.event, early.position, early.frame)).toBe(StreamDecision.Resync);
    room.open(snapshotAt('e1', 2), noModeration(), noStats);
    expect(room.endCatchUp()).toEqual([early.frame]);
    expect(room.catchingUp).toBe(false);
    expect(room.hold(early.frame)).toBe(false);
    expect(room.offer(early.event, early.position, early.frame)).toBe(StreamDecision.Deliver);
    expect(room.position).toEqual({ epoch: 'e1', offset: 3 });
  });

  it('delivers in order, drops duplicates, reports gaps and other epochs without moving', () => {
    const room = openRoom('e1', 5);
    const offer = (epoch: string, offset: number) => {
      const c = critical(epoch, offset);
      return room.offer(c.event, c.position, c.frame);
    };
    expect(offer('e1', 6)).toBe(StreamDecision.Deliver);
    expect(offer('e1', 6)).toBe(StreamDecision.Duplicate);
    expect(offer('e1', 8)).toBe(StreamDecision.Gap);
    expect(offer('e2', 7)).toBe(StreamDecision.Resync);
    expect(room.position).toEqual({ epoch: 'e1', offset: 6 });
  });

  it('continues a room that had no stream with the first event, in its epoch', () => {
    const room = openRoom('', 0);
    const first = critical('eX', 1);
    expect(room.offer(first.event, first.position, first.frame)).toBe(StreamDecision.Deliver);
    expect(room.position).toEqual({ epoch: 'eX', offset: 1 });
  });

  it('checks recovery answers against its position', () => {
    const room = openRoom('e1', 5);
    expect(room.recovers({ recovered: true, epoch: 'e1', offset: 7, offsets: [6, 7] })).toBe(true);
    expect(room.recovers({ recovered: true, epoch: 'e1', offset: 7, offsets: [7] })).toBe(false);
    expect(room.recovers({ recovered: true, epoch: 'e2', offset: 7, offsets: [6, 7] })).toBe(false);
    expect(room.recovers({ recovered: false, epoch: 'e1', offset: 7 })).toBe(false);
  });
});

describe('LocalRoom joins from memory', () => {
  function roomWith(offsets: number[]): { room: LocalRoom; frames: Buffer[] } {
    const room = openRoom('e1', offsets[0] - 1);
    const frames = offsets.map((o) => {
      const c = critical('e1', o);
      expect(room.offer(c.event, c.position, c.frame)).toBe(StreamDecision.Deliver);
      return c.frame;
    });
    return { room, frames };
  }

  it('answers a fresh join with its snapshot and position', () => {
    const { room } = roomWith([1, 2]);
    expect(room.answer(null)).toMatchObject({ recovered: false, epoch: 'e1', offset: 2, snapshot: { announcement: { text: 'a2' } } });
  });

  it('replays the ring after a position in its epoch, and nothing to a client ahead of it', () => {
    const { room, frames } = roomWith([1, 2, 3, 4]);
    expect(room.answer({ epoch: 'e1', offset: 2 })).toEqual({ recovered: true, frames: frames.slice(2), offset: 4, epoch: 'e1' });
    expect(room.answer({ epoch: 'e1', offset: 4 })).toEqual({ recovered: true, frames: [], offset: 4, epoch: 'e1' });
    expect(room.answer({ epoch: 'e1', offset: 9 })).toEqual({ recovered: true, frames: [], offset: 9, epoch: 'e1' });
  });

  it('leaves to Redis what its ring no longer holds, another epoch, and any join while catching up', () => {
    const { room } = roomWith([1, 2, 3, 4, 5, 6]); // ring of 4: 3..6
    expect(room.answer({ epoch: 'e1', offset: 1 })).toBeNull();
    expect(room.answer({ epoch: 'e1', offset: 2 })).not.toBeNull();
    expect(room.answer({ epoch: 'e0', offset: 5 })).toBeNull();
    room.startCatchUp([]);
    expect(room.answer(null)).toBeNull();
    expect(room.answer({ epoch: 'e1', offset: 5 })).toBeNull();
  });

  it('a resync forgets the ring', () => {
    const { room } = roomWith([1, 2, 3]);
    room.resync(snapshotAt('e2', 10), noModeration());
    expect(room.position).toEqual({ epoch: 'e2', offset: 10 });
    expect(room.framesAfter(9)).toBeNull();
    expect(room.answer({ epoch: 'e1', offset: 2 })).toBeNull();
  });
});

describe('LocalRoom state', () => {
  it('applies phase and moderation events as they are delivered', () => {
    const room = openRoom('e1', 0);
    const events: flashcast.IRoomEvent[] = [
      { state: { phase: RoomPhase.ROOM_LIVE } },
      { moderation: { action: ModerationAction.BAN, userId: 'u1' } },
      { moderation: { action: ModerationAction.MUTE, userId: 'u2', seconds: 60 } },
      { moderation: { action: ModerationAction.SLOW_MODE, seconds: 5 } },
    ];
    events.forEach((e, i) => {
      const c = critical('e1', i + 1, e);
      room.offer(c.event, c.position, c.frame);
    });
    expect(room.phase).toBe(RoomPhase.ROOM_LIVE);
    expect([room.isBanned('u1'), room.isBanned('u2'), room.isMuted('u2'), room.slowModeSeconds]).toEqual([true, false, true, 5]);
    const unban = critical('e1', 5, { moderation: { action: ModerationAction.UNBAN, userId: 'u1' } });
    room.offer(unban.event, unban.position, unban.frame);
    expect(room.isBanned('u1')).toBe(false);
  });

  it('publishes stats only when they changed and someone is here', () => {
    const room = openRoom();
    const ws = {} as never;
    expect(room.updateStats({ viewers: 1, reactions: new Map([[1, 5]]) })).toBeNull(); // nobody here
    room.addMember(ws, 'u1');
    expect(room.updateStats({ viewers: 1, reactions: new Map([[1, 7]]) })).toEqual({ viewers: 1, reactions: [{ kind: 1, total: 7, delta: 2 }] });
    expect(room.updateStats({ viewers: 1, reactions: new Map([[1, 7]]) })).toBeNull(); // unchanged
  });

  it('counts reactions until taken, and takes back a failed report', () => {
    const room = openRoom();
    room.addReactions(1, 2);
    room.addReactions(1, 3);
    const taken = room.takeReactions();
    expect([...taken]).toEqual([[1, 5]]);
    expect(room.takeReactions().size).toBe(0);
    room.returnReactions(taken);
    expect([...room.takeReactions()]).toEqual([[1, 5]]);
  });

  it('is idle only after its last member left longer ago than the linger', () => {
    const room = new LocalRoom(batcher, 'r1', options, 1000);
    expect(room.idleLongerThan(500, 1400)).toBe(false);
    expect(room.idleLongerThan(500, 1600)).toBe(true);
    const ws = {} as never;
    room.addMember(ws, 'u1');
    expect(room.idleLongerThan(500, 9000)).toBe(false);
    room.addMember({} as never, 'u1');
    expect(room.users).toBe(1);
    room.removeMember(ws, 'u1', 10_000);
    expect(room.idleLongerThan(0, 20_000)).toBe(false); // the user's other socket is still here
  });

  it("admits its viewers' share of the room-wide chat rate, refreshed by each stats report", () => {
    const limits = { chatIngressPerSecond: 50, roomChatPerSecond: 200 };
    expect(LocalRoom.chatShare(limits, 10, 10)).toBe(50); // alone in the room: the per-node cap
    expect(LocalRoom.chatShare(limits, 10, 100)).toBe(20); // 10 % of the room's viewers
    expect(LocalRoom.chatShare(limits, 1, 1_000_000)).toBeCloseTo(0.0002, 10);
    expect(LocalRoom.chatShare(limits, 0, 0)).toBe(50); // nobody yet: as if one viewer
    expect(LocalRoom.chatShare(limits, 30, 10)).toBe(50); // a stale total below this node's own
    // Shares add up to the room-wide rate, however the viewers are spread.
    const spread = [1, 7, 100, 4_000, 95_892];
    const room = spread.reduce((a, b) => a + b, 0);
    const total = spread.reduce((sum, v) => sum + LocalRoom.chatShare({ chatIngressPerSecond: 1e6, roomChatPerSecond: 200 }, v, room), 0);
    expect(total).toBeCloseTo(200, 9);

    const r = new LocalRoom(batcher, 'r1', { ...options, chatIngressPerSecond: 100, roomChatPerSecond: 10 });
    r.open(snapshotAt('e1', 0), noModeration(), { viewers: 999, reactions: new Map() }); // a big room on other nodes
    r.endCatchUp();
    expect(r.chatIngressPerSecond).toBeCloseTo(10 / 999, 9); // as if its first viewer were already here
    expect(r.admitChat()).toBe(true); // one line saved (a burst of at least one)...
    expect(r.admitChat()).toBe(false); // ...then its share
    for (let i = 0; i < 4; i++) r.addMember({} as never, `u${i}`);
    r.updateStats({ viewers: 8, reactions: new Map() }); // half the room's viewers are here now
    expect(r.chatIngressPerSecond).toBe(5);
  });
});
