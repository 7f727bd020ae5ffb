/**
 * Room membership of sockets: join (fresh, or recovering from a stream position through
 * StreamCursor), leave, removal by a ban, and the room topics a member's socket is
 * subscribed to. The one writer of `SocketData.rooms` and `SocketData.joining`.
 */
import type { WebSocket } from 'uWebSockets.js';
import { LeftReason, ROLE_BY_NAME, encodeServerFrame, type flashcast } from '../../protocol/index.js';
import { StreamCursor, type StreamPosition } from '../../protocol/StreamCursor.js';
import { Policy } from '../../common/auth/Policy.js';
import type { Principal } from '../../common/auth/TokenService.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { InvalidArgumentError, NotJoinedError, TooManyRoomsError, UnavailableError } from '../../common/errors.js';
import type { FloodGuard } from './FloodGuard.js';
import { CHAT_BUCKETS, LocalRoom } from './LocalRoom.js';
import type { RoomHub } from './RoomHub.js';
import type { RoomStore } from './RoomStore.js';
import type { Membership, SocketData } from './SocketData.js';
import type { SocketSender } from './SocketSender.js';

export interface RoomMembershipOptions {
  hub: RoomHub;
  store: RoomStore;
  guard: FloodGuard;
  sender: SocketSender;
  maxRoomsPerConnection: number;
}

export type RoomMembershipEvents = {
  /** A socket joined a room (after its join reply). */
  memberjoined: [string, Principal];
  /** A socket left a room (leave, ban, close). */
  memberleft: [string, Principal];
};

/** Joins, leaves and the topic subscriptions of every socket's rooms on this node. */
export class RoomMembership extends EnhancedEventEmitter<RoomMembershipEvents> {
  readonly #hub: RoomHub;
  readonly #store: RoomStore;
  readonly #guard: FloodGuard;
  readonly #sender: SocketSender;
  readonly #maxRooms: number;

  constructor(options: RoomMembershipOptions) {
    super();
    this.#hub = options.hub;
    this.#store = options.store;
    this.#guard = options.guard;
    this.#sender = options.sender;
    this.#maxRooms = options.maxRoomsPerConnection;
    // A ban reaches this node as a critical event; the hub names the members to remove.
    this.#hub.on('memberremoved', (ws, roomId, reason) => this.remove(ws, roomId, reason));
  }

  /** True if the socket has joined the room. */
  isMember(ws: WebSocket<SocketData>, roomId: string): boolean {
    return ws.getUserData().rooms.has(roomId);
  }

  /** The room a socket has joined; throws NotJoinedError otherwise. */
  memberRoom(ws: WebSocket<SocketData>, roomId: string): LocalRoom {
    const room = ws.getUserData().rooms.has(roomId) ? this.#hub.get(roomId) : undefined;
    if (!room) throw new NotJoinedError();
    return room;
  }

  /**
   * Joins a room and replies `joined` (request `rid`) with, in one cork: the snapshot or the
   * recovered frames, then the frames this node delivered since the answer (one batch for a
   * socket that takes batches). The policy has
   * allowed `room.join` (the dispatcher); the ban is checked again once the room is loaded.
   */
  async join(ws: WebSocket<SocketData>, rid: number, join: flashcast.IJoin): Promise<void> {
    const data = ws.getUserData();
    const principal = data.principal!;
    const roomId = join.room ?? '';
    this.#guard.take(ws, 'join');
    if (data.joining.has(roomId)) throw new InvalidArgumentError('a join of this room is in progress');
    if (data.rooms.has(roomId)) this.#unsubscribe(ws, roomId);
    if (data.rooms.size + data.joining.size >= this.#maxRooms) throw new TooManyRoomsError(this.#maxRooms);
    const position: StreamPosition | null =
      join.recover && typeof join.epoch === 'string' && join.epoch.length > 0 ? { epoch: join.epoch, offset: Number(join.offset) } : null;
    data.joining.add(roomId);
    try {
      for (let attempt = 0; ; attempt++) {
        const room = await this.#hub.acquire(roomId);
        Policy.authorize(principal, 'room.join', { roomId, banned: room.isBanned(principal.userId) });
        // Served from this node's memory when it can, else by Redis.
        let answer = room.answer(position) ?? (await this.#store.recover(roomId, position));
        // Where the client stands after the answer: at its own position with the missed
        // frames following (recovered), or at the answer's snapshot (resync).
        const client = new StreamCursor(position);
        const recovered = client.recover(answer);
        if (!recovered && answer.recovered) answer = await this.#store.snapshot(roomId); // (a store bug: no snapshot came)
        if (data.closed) return;
        if (this.#hub.get(roomId) !== room) {
          if (attempt < 3) continue; // the room was closed meanwhile; open it again
          throw new UnavailableError('room is reopening, retry');
        }
        const membership: Membership = { lite: join.lite === true, bucket: Math.floor(Math.random() * CHAT_BUCKETS) };
        const result = answer;
        // What waits in the room's topics goes to the members it was published for, not to this socket.
        room.flush();
        ws.cork(() => {
          const joined: flashcast.IJoined = {
            room: roomId,
            epoch: result.epoch,
            recovered,
            offset: client.offset,
            role: ROLE_BY_NAME[principal.role],
            stats: room.stats,
          };
          if (!result.recovered) joined.snapshot = result.snapshot;
          const frames: Uint8Array[] = [encodeServerFrame({ rid, joined })];
          if (result.recovered) frames.push(...result.frames);
          // Events this node delivered after the answer are in the ring; later ones reach
          // the socket through the topic it subscribes to now. An answer of "no stream
          // yet" ('' at 0) continues with the stream's first events.
          if (StreamCursor.continues(result, room.epoch)) frames.push(...(room.framesAfter(result.offset) ?? []));
          this.#sender.sendEncoded(ws, frames, this.#batches(ws));
          data.rooms.set(roomId, membership);
          this.#subscribe(ws, room, membership);
        });
        room.addMember(ws, principal.userId);
        this.safeEmit('memberjoined', roomId, principal);
        return;
      }
    } finally {
      data.joining.delete(roomId);
    }
  }

  /** Leaves a room at the client's request; the reply is `left` (LEFT_BY_CLIENT). */
  leave(ws: WebSocket<SocketData>, roomId: string): flashcast.IServerFrame {
    if (!ws.getUserData().rooms.has(roomId)) throw new NotJoinedError('not in this room');
    this.#unsubscribe(ws, roomId);
    return { left: { room: roomId, reason: LeftReason.LEFT_BY_CLIENT } };
  }

  /** Removes a socket from a room on the server's initiative (ban) and tells it (`left`). */
  remove(ws: WebSocket<SocketData>, roomId: string, reason: flashcast.LeftReason): void {
    const data = ws.getUserData();
    if (data.closed || !data.rooms.has(roomId)) return;
    this.#unsubscribe(ws, roomId);
    this.#sender.send(ws, { left: { room: roomId, reason } });
  }

  /** Forgets every room of a closed socket. */
  leaveAll(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    const principal = data.principal!;
    for (const roomId of data.rooms.keys()) {
      this.#hub.get(roomId)?.removeMember(ws, principal.userId);
      this.safeEmit('memberleft', roomId, principal);
    }
    data.rooms.clear();
  }

  /** A lagging socket leaves its rooms' droppable (chat) topics (SlowConsumerPolicy); returns how many rooms' chat it left. */
  pauseChat(ws: WebSocket<SocketData>): number {
    let paused = 0;
    for (const [roomId, membership] of ws.getUserData().rooms) {
      const room = this.#hub.get(roomId);
      if (!room || membership.lite) continue;
      ws.unsubscribe(this.#topic(ws, room.chatTopic));
      ws.unsubscribe(this.#topic(ws, room.bucketTopics[membership.bucket]));
      paused++;
    }
    return paused;
  }

  /** A drained socket gets its rooms' chat again. */
  resumeChat(ws: WebSocket<SocketData>): void {
    for (const [roomId, membership] of ws.getUserData().rooms) {
      const room = this.#hub.get(roomId);
      if (!room || membership.lite) continue;
      ws.subscribe(this.#topic(ws, room.chatTopic));
      ws.subscribe(this.#topic(ws, room.bucketTopics[membership.bucket]));
    }
  }

  /** True if the socket gets batches (it asked for them and the node packs frames). */
  #batches(ws: WebSocket<SocketData>): boolean {
    return ws.getUserData().batching && this.#hub.batchWindowMs > 0;
  }

  /** The uWS topic this socket listens on for a room topic (batched, or its single-frame twin). */
  #topic(ws: WebSocket<SocketData>, topic: string): string {
    return this.#hub.topicFor(topic, ws.getUserData().batching);
  }

  #subscribe(ws: WebSocket<SocketData>, room: LocalRoom, membership: Membership): void {
    const data = ws.getUserData();
    ws.subscribe(this.#topic(ws, room.topic));
    // The live dashboard (GMV, orders) goes to the room's host and ops only.
    if (Policy.decide(data.principal, 'room.dashboard', { roomId: room.id }).allow) ws.subscribe(this.#topic(ws, LocalRoom.hostTopic(room.id)));
    if (membership.lite) {
      ws.subscribe(this.#topic(ws, room.liteTopic));
    } else if (!data.lagging) {
      ws.subscribe(this.#topic(ws, room.chatTopic));
      ws.subscribe(this.#topic(ws, room.bucketTopics[membership.bucket]));
    }
  }

  #unsubscribe(ws: WebSocket<SocketData>, roomId: string): void {
    const data = ws.getUserData();
    const membership = data.rooms.get(roomId);
    data.rooms.delete(roomId);
    const room = this.#hub.get(roomId);
    if (!room || !membership) return;
    room.removeMember(ws, data.principal!.userId);
    this.safeEmit('memberleft', roomId, data.principal!);
    if (data.closed) return;
    // What was published while it was a member (a ban's own event) still reaches it.
    room.flush();
    ws.unsubscribe(this.#topic(ws, room.topic));
    ws.unsubscribe(this.#topic(ws, LocalRoom.hostTopic(room.id)));
    ws.unsubscribe(this.#topic(ws, room.liteTopic));
    ws.unsubscribe(this.#topic(ws, room.chatTopic));
    ws.unsubscribe(this.#topic(ws, room.bucketTopics[membership.bucket]));
  }
}
