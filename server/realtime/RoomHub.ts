import type { Redis } from 'ioredis';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { flashcast, encodeServerFrame, LeftReason, ModerationAction } from '../../protocol/index.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import { logger } from '../../common/logger.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import { LocalRoom, CHAT_BUCKETS } from './LocalRoom.js';
import { MessageClass, type RoomStore } from './RoomStore.js';
import type { SocketData } from './SocketData.js';

const log = logger('RoomHub');

export interface RoomHubOptions {
  nodeId: string;
  chatPerViewerPerSecond: number;
  liteChatPerSecond: number;
  /** Stats (viewers, reactions) interval; 500 ms keeps them at 2 Hz. */
  statsIntervalMs?: number;
  /** How long a room stays subscribed after its last local member left. */
  lingerMs?: number;
  ringSize?: number;
  /** Viewer chat admitted per room per node per second (the rest reaches only its sender). */
  chatIngressPerSecond?: number;
}

export type RoomHubEvents = {
  /** A member was removed by moderation (ban); the gateway updates its socket. */
  memberremoved: [WebSocket<SocketData>, string, flashcast.LeftReason];
  close: [];
};

/**
 * The rooms of one gateway node. Subscribes to a room's sharded Redis channel
 * while the node has members in it, delivers its critical stream to the room's
 * uWS topic strictly in offset order (filling gaps from history), fans chat out
 * through the samplers, and reports presence and reactions at 2 Hz.
 */
export class RoomHub extends EnhancedEventEmitter<RoomHubEvents> {
  readonly #app: TemplatedApp;
  readonly #subscriber: Redis;
  readonly #store: RoomStore;
  readonly #metrics: GatewayMetrics;
  readonly #options: Required<RoomHubOptions>;
  readonly #rooms = new Map<string, LocalRoom>();
  readonly #byChannel = new Map<string, LocalRoom>();
  readonly #opening = new Map<string, Promise<LocalRoom>>();
  readonly #statsTimer: NodeJS.Timeout;
  #statsRunning = false;
  #closed = false;
  #readyOnce = false;

  constructor(app: TemplatedApp, subscriber: Redis, store: RoomStore, metrics: GatewayMetrics, options: RoomHubOptions) {
    super();
    this.#app = app;
    this.#subscriber = subscriber;
    this.#store = store;
    this.#metrics = metrics;
    this.#options = { statsIntervalMs: 500, lingerMs: 30_000, ringSize: 1024, chatIngressPerSecond: 200, ...options };
    subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel, message));
    subscriber.on('ready', () => {
      // After a reconnect ioredis resubscribes; anything published meanwhile is
      // recovered from history.
      if (this.#readyOnce) void this.#catchUpAll();
      this.#readyOnce = true;
    });
    if (subscriber.status === 'ready') this.#readyOnce = true;
    this.#statsTimer = setInterval(() => void this.#statsTick(), this.#options.statsIntervalMs);
    this.#statsTimer.unref();
  }

  /** Rooms with a live subscription on this node. */
  get size(): number {
    return this.#rooms.size;
  }

  get(roomId: string): LocalRoom | undefined {
    return this.#rooms.get(roomId);
  }

  /** The room, subscribed and initialised (shared by concurrent joins). */
  acquire(roomId: string): Promise<LocalRoom> {
    const existing = this.#rooms.get(roomId);
    if (existing) return Promise.resolve(existing);
    let opening = this.#opening.get(roomId);
    if (!opening) {
      opening = this.#open(roomId).finally(() => this.#opening.delete(roomId));
      this.#opening.set(roomId, opening);
    }
    return opening;
  }

  /** Adds a user's socket to the room's members (after its join reply was sent). */
  addMember(room: LocalRoom, ws: WebSocket<SocketData>, userId: string): void {
    room.addMember(ws, userId);
    room.emptySince = 0;
  }

  /** Removes a user's socket from a room (leave, close, ban). Safe on a closed socket. */
  removeMember(room: LocalRoom, ws: WebSocket<SocketData>, userId: string): void {
    room.removeMember(ws, userId);
    if (room.members.size === 0) room.emptySince = Date.now();
  }

  /** Publishes a frame to this node's members of a room only (not through Redis). */
  publishLocal(room: LocalRoom, frame: Uint8Array): void {
    this.#app.publish(room.topic, frame, true);
  }

  /** Stops timers and subscriptions. The Redis connections belong to the caller. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#statsTimer);
    const channels = [...this.#byChannel.keys()];
    this.#rooms.clear();
    this.#byChannel.clear();
    if (channels.length > 0 && this.#subscriber.status === 'ready') {
      await this.#subscriber.sunsubscribe(...channels).catch(() => undefined);
    }
    this.safeEmit('close');
  }

  async #open(roomId: string): Promise<LocalRoom> {
    const room = new LocalRoom(this.#app, roomId, {
      chatPerViewerPerSecond: this.#options.chatPerViewerPerSecond,
      liteChatPerSecond: this.#options.liteChatPerSecond,
      ringSize: this.#options.ringSize,
      chatIngressPerSecond: this.#options.chatIngressPerSecond,
    });
    const channel = this.#store.keys.roomChannel(roomId);
    // Subscribe first, then read the position: nothing published in between is missed.
    this.#byChannel.set(channel, room);
    try {
      await this.#subscriber.ssubscribe(channel);
      const [position, moderation, stats] = await Promise.all([
        this.#store.snapshot(roomId),
        this.#store.loadModeration(roomId),
        this.#store.reportStats(roomId, this.#options.nodeId, 0, new Map()),
      ]);
      for (const [kind, total] of stats.reactions) room.reactionTotals.set(kind, total);
      room.stats = { viewers: stats.viewers, reactions: [] };
      room.reset(position.epoch, position.offset, position.fields);
      room.moderation = moderation;
    } catch (error) {
      this.#byChannel.delete(channel);
      throw error;
    }
    room.emptySince = Date.now();
    this.#rooms.set(roomId, room);
    this.#metrics.rooms.set(this.#rooms.size);
    log.debug({ roomId, epoch: room.epoch, offset: room.offset }, 'room opened');
    return room;
  }

  #onMessage(channel: Buffer, message: Buffer): void {
    const room = this.#byChannel.get(channel.toString());
    if (!room || message.length < 2) return;
    const cls = message[0];
    const frame = message.subarray(1);
    if (cls === MessageClass.Critical) {
      if (room.fillQueue) room.fillQueue.push(frame);
      else this.#onCritical(room, frame);
    } else if (cls === MessageClass.Chat) {
      const skipped = room.deliverChat(frame, Date.now());
      if (skipped > 0) {
        this.#metrics.dropped.inc({ reason: 'sampled' }, Math.round((room.members.size * skipped) / CHAT_BUCKETS));
      }
      this.#metrics.framesOut.inc({ kind: 'chat' }, room.members.size);
    } else if (cls === MessageClass.PriorityChat) {
      room.deliverPriority(frame);
      this.#metrics.framesOut.inc({ kind: 'chat' }, room.members.size);
    }
  }

  /** Delivers one critical frame in offset order; starts a gap fill when one is missing. */
  #onCritical(room: LocalRoom, frame: Buffer): void {
    let event: flashcast.IRoomEvent | null | undefined;
    try {
      event = flashcast.ServerFrame.decode(frame).event;
    } catch (error) {
      log.error({ err: error, roomId: room.id }, 'undecodable critical frame');
      return;
    }
    if (!event) return;
    const offset = Number(event.offset);
    // The room had no stream ('' at 0): the first event of the new stream continues it.
    if (room.epoch === '' && room.offset === 0 && offset === 1) room.epoch = event.epoch ?? '';
    if (event.epoch === room.epoch && offset <= room.offset) return; // already delivered
    if (event.epoch !== room.epoch || offset !== room.offset + 1) {
      room.fillQueue = [frame];
      void this.#fill(room);
      return;
    }
    this.#deliver(room, event, offset, frame);
  }

  #deliver(room: LocalRoom, event: flashcast.IRoomEvent, offset: number, frame: Uint8Array): void {
    room.applyEvent(event);
    room.deliverCritical(offset, frame);
    this.#metrics.framesOut.inc({ kind: 'critical' }, room.members.size);
    this.#metrics.fanoutLatency.observe({ class: 'critical' }, Math.max(0, Date.now() - Number(event.ts)) / 1000);
    if (event.moderation?.action === ModerationAction.BAN) this.#kick(room, event.moderation.userId ?? '');
    else if (event.moderation?.action === ModerationAction.SET_BLOCKED_WORDS) void this.#reloadModeration(room);
  }

  /** Brings a room up to date from history after a gap or an epoch change. */
  async #fill(room: LocalRoom): Promise<void> {
    this.#metrics.gapFills.inc();
    try {
      for (;;) {
        const result = await this.#store.recover(room.id, { epoch: room.epoch, offset: room.offset });
        if (result.recovered) {
          // Same epoch, or the stream was created after this node saw "no stream" ('' at 0).
          room.epoch = result.epoch;
          for (const frame of result.frames) {
            const event = flashcast.ServerFrame.decode(frame).event;
            if (event && Number(event.offset) === room.offset + 1) this.#deliver(room, event, Number(event.offset), frame);
          }
        } else {
          // The stream was reset or trimmed past us: members must resync from a snapshot.
          log.warn({ roomId: room.id, epoch: result.epoch, from: room.epoch }, 'stream reset; members resync');
          room.reset(result.epoch, result.offset, result.fields);
          room.moderation = await this.#store.loadModeration(room.id);
          this.publishLocal(room, encodeServerFrame({ resync: { room: room.id, epoch: result.epoch } }));
        }
        const queue = room.fillQueue ?? [];
        room.fillQueue = null;
        let gap = false;
        for (let i = 0; i < queue.length; i++) {
          const event = flashcast.ServerFrame.decode(queue[i]).event;
          if (!event) continue;
          const offset = Number(event.offset);
          if (event.epoch === room.epoch && offset <= room.offset) continue;
          if (event.epoch !== room.epoch || offset !== room.offset + 1) {
            room.fillQueue = queue.slice(i);
            gap = true;
            break;
          }
          this.#deliver(room, event, offset, queue[i]);
        }
        if (!gap) return;
      }
    } catch (error) {
      log.error({ err: error, roomId: room.id }, 'gap fill failed; retrying');
      setTimeout(() => {
        if (!this.#closed && this.#rooms.get(room.id) === room) void this.#fill(room);
      }, 250).unref();
    }
  }

  async #catchUpAll(): Promise<void> {
    for (const room of this.#rooms.values()) {
      if (room.fillQueue) continue;
      room.fillQueue = [];
      void this.#fill(room);
    }
  }

  async #reloadModeration(room: LocalRoom): Promise<void> {
    try {
      room.moderation = await this.#store.loadModeration(room.id);
    } catch (error) {
      log.warn({ err: error, roomId: room.id }, 'could not reload moderation');
    }
  }

  #kick(room: LocalRoom, userId: string): void {
    for (const ws of [...room.members]) {
      const data = ws.getUserData();
      if (data.principal?.userId !== userId) continue;
      this.safeEmit('memberremoved', ws, room.id, LeftReason.LEFT_BANNED);
    }
  }

  /** Reports presence and reactions, publishes changed stats, closes idle rooms. */
  async #statsTick(): Promise<void> {
    if (this.#statsRunning || this.#closed) return;
    this.#statsRunning = true;
    try {
      const now = Date.now();
      await Promise.all(
        [...this.#rooms.values()].map(async (room) => {
          if (room.members.size === 0 && room.emptySince && now - room.emptySince > this.#options.lingerMs) {
            await this.#closeRoom(room);
            return;
          }
          const deltas = new Map(room.pendingReactions);
          room.pendingReactions.clear();
          let totals;
          try {
            // Viewers are distinct users on this node, not sockets (several tabs count once).
            totals = await this.#store.reportStats(room.id, this.#options.nodeId, room.users, deltas);
          } catch (error) {
            for (const [k, v] of deltas) room.pendingReactions.set(k, (room.pendingReactions.get(k) ?? 0) + v);
            throw error;
          }
          const reactions: flashcast.IReactionCount[] = [];
          for (const [kind, total] of totals.reactions) {
            const before = room.reactionTotals.get(kind) ?? total;
            reactions.push({ kind, total, delta: Math.max(0, total - before) });
            room.reactionTotals.set(kind, total);
          }
          reactions.sort((a, b) => Number(a.kind) - Number(b.kind));
          room.stats = { viewers: totals.viewers, reactions };
          const signature = `${totals.viewers}|${reactions.map((r) => `${r.kind}:${r.total}`).join(',')}`;
          if (signature === room.lastStatsSent || room.members.size === 0) return;
          room.lastStatsSent = signature;
          this.publishLocal(room, encodeServerFrame({ event: { room: room.id, ts: now, stats: room.stats } }));
          this.#metrics.framesOut.inc({ kind: 'stats' }, room.members.size);
        }),
      );
    } catch (error) {
      log.warn({ err: error }, 'stats tick failed');
    } finally {
      this.#statsRunning = false;
    }
  }

  async #closeRoom(room: LocalRoom): Promise<void> {
    const channel = this.#store.keys.roomChannel(room.id);
    this.#rooms.delete(room.id);
    this.#byChannel.delete(channel);
    this.#metrics.rooms.set(this.#rooms.size);
    await this.#store.reportStats(room.id, this.#options.nodeId, 0, new Map()).catch(() => undefined);
    await this.#subscriber.sunsubscribe(channel).catch(() => undefined);
  }
}
