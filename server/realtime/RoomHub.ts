/**
 * The rooms this gateway node serves: subscribes to a room's Redis channel while it has
 * members here, delivers its critical stream in order (gaps filled from history), fans
 * chat out, reports presence and reactions, and closes idle rooms.
 */
import { RedisConnections, type RedisClient } from '../../common/RedisConnections.js';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { flashcast, encodeServerFrame, LeftReason, ModerationAction } from '../../protocol/index.js';
import { EnhancedEventEmitter } from '../../common/EnhancedEventEmitter.js';
import type { RedisKeys } from '../../common/keys.js';
import { logger } from '../../common/logger.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import { StreamDecision, type StreamPosition } from '../../protocol/StreamCursor.js';
import { LocalRoom, CHAT_BUCKETS } from './LocalRoom.js';
import { MessageClass, type RoomStore } from './RoomStore.js';
import type { SocketData } from './SocketData.js';
import { TopicBatcher } from './TopicBatcher.js';

const log = logger('RoomHub');

export interface RoomHubOptions {
  app: TemplatedApp;
  /** The dedicated pub/sub connection (the hub subscribes and unsubscribes room channels on it). */
  subscriber: RedisClient;
  store: RoomStore;
  keys: RedisKeys;
  metrics: GatewayMetrics;
  nodeId: string;
  chatPerViewerPerSecond: number;
  liteChatPerSecond: number;
  /** Stats (viewers, reactions) interval; 500 ms keeps them at 2 Hz. */
  statsIntervalMs?: number;
  /** How long a room stays subscribed after its last local member left. */
  lingerMs?: number;
  ringSize?: number;
  /** Viewer chat admitted per room per node per second at most (the rest reaches only its sender). */
  chatIngressPerSecond?: number;
  /** Viewer chat admitted per room per second over all nodes; each node takes its viewers' share (LocalRoom.chatShare). */
  roomChatPerSecond?: number;
  /** How long a frame to a room's topics may wait to be packed with others (TopicBatcher; 0: never). */
  batchWindowMs?: number;
}

export type RoomHubEvents = {
  /** A member was removed by moderation (ban); the gateway updates its socket. */
  memberremoved: [WebSocket<SocketData>, string, flashcast.LeftReason];
};

/**
 * The rooms of one gateway node. Subscribes to a room's sharded Redis channel
 * while the node has members in it, delivers its critical stream to the room's
 * uWS topic strictly in offset order (filling gaps from history), fans chat out
 * through the samplers, and reports presence and reactions at 2 Hz. Its rooms publish
 * through one TopicBatcher.
 */
export class RoomHub extends EnhancedEventEmitter<RoomHubEvents> {
  readonly #batcher: TopicBatcher;
  readonly #subscriber: RedisClient;
  readonly #store: RoomStore;
  readonly #keys: RedisKeys;
  readonly #metrics: GatewayMetrics;
  readonly #options: Required<Omit<RoomHubOptions, 'app' | 'subscriber' | 'store' | 'keys' | 'metrics' | 'batchWindowMs'>>;
  readonly #rooms = new Map<string, LocalRoom>();
  readonly #byChannel = new Map<string, LocalRoom>();
  readonly #opening = new Map<string, Promise<LocalRoom>>();
  readonly #statsTimer: NodeJS.Timeout;
  #statsRunning = false;
  #closed = false;
  readonly #stopResubscribed: () => void;

  constructor(options: RoomHubOptions) {
    super();
    const { app, subscriber, store, keys, metrics, batchWindowMs = 0, ...settings } = options;
    this.#batcher = new TopicBatcher(app, batchWindowMs, metrics);
    this.#subscriber = subscriber;
    this.#store = store;
    this.#keys = keys;
    this.#metrics = metrics;
    this.#options = { statsIntervalMs: 500, lingerMs: 30_000, ringSize: 1024, chatIngressPerSecond: 200, roomChatPerSecond: 200, ...settings };
    subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel, message));
    // After a reconnect (on a cluster: a failover) the subscriptions are made again; anything
    // published meanwhile is recovered from history.
    this.#stopResubscribed = RedisConnections.onResubscribed(subscriber, () => void this.#catchUpAll());
    this.#statsTimer = setInterval(() => void this.#statsTick(), this.#options.statsIntervalMs);
    this.#statsTimer.unref();
  }

  /** The room if this node serves it now. */
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

  /** Viewers of a room as last reported (0 when this node has no subscription to it). */
  viewers(roomId: string): number {
    return this.#rooms.get(roomId)?.stats.viewers ?? 0;
  }

  /** The rooms with members on this node now, with their distinct users here (what presence reports). */
  served(): Array<{ roomId: string; viewers: number }> {
    const out: Array<{ roomId: string; viewers: number }> = [];
    for (const room of this.#rooms.values()) if (room.users > 0) out.push({ roomId: room.id, viewers: room.users });
    return out;
  }

  /** True if the user is banned in a room this node serves (false when it does not serve it). */
  isBanned(roomId: string, userId: string): boolean {
    return this.#rooms.get(roomId)?.isBanned(userId) ?? false;
  }

  /** Publishes a frame to the privileged members (host, ops) of a room on this node. */
  publishToHosts(roomId: string, frame: Uint8Array): void {
    this.#batcher.publish(LocalRoom.hostTopic(roomId), frame);
  }

  /** The uWS topic a socket subscribes to for a room topic: batched or single frames (TopicBatcher.topicFor). */
  topicFor(topic: string, batching: boolean): string {
    return this.#batcher.topicFor(topic, batching);
  }

  /** How long a frame may wait to be packed with others (0: never). */
  get batchWindowMs(): number {
    return this.#batcher.windowMs;
  }

  /** Stops timers and subscriptions. The Redis connections belong to the caller. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#statsTimer);
    this.#stopResubscribed();
    this.#batcher.close();
    const channels = [...this.#byChannel.keys()];
    this.#rooms.clear();
    this.#byChannel.clear();
    if (channels.length > 0 && this.#subscriber.status === 'ready') {
      await this.#subscriber.sunsubscribe(...channels).catch(() => undefined);
    }
  }

  async #open(roomId: string): Promise<LocalRoom> {
    // The room holds critical frames until it is positioned (see #drainHeld).
    const room = new LocalRoom(this.#batcher, roomId, {
      chatPerViewerPerSecond: this.#options.chatPerViewerPerSecond,
      liteChatPerSecond: this.#options.liteChatPerSecond,
      ringSize: this.#options.ringSize,
      chatIngressPerSecond: this.#options.chatIngressPerSecond,
      roomChatPerSecond: this.#options.roomChatPerSecond,
    });
    const channel = this.#keys.roomChannel(roomId);
    // Subscribe first, then read the position: nothing published in between is missed.
    this.#byChannel.set(channel, room);
    try {
      await this.#subscriber.ssubscribe(channel);
      const [snapshot, moderation, stats] = await Promise.all([
        this.#store.snapshot(roomId),
        this.#store.loadModeration(roomId),
        this.#store.readStats(roomId),
      ]);
      room.open(snapshot, moderation, stats);
    } catch (error) {
      this.#byChannel.delete(channel);
      throw error;
    }
    this.#rooms.set(roomId, room);
    this.#metrics.rooms.set(this.#rooms.size);
    log.debug({ roomId, epoch: room.epoch, offset: room.offset }, 'room opened');
    // Frames published between the subscription and the snapshot: duplicates of it, or the next ones.
    if (!this.#drainHeld(room)) void this.#fill(room);
    return room;
  }

  #onMessage(channel: Buffer, message: Buffer): void {
    const room = this.#byChannel.get(channel.toString());
    if (!room || message.length < 2) return;
    const cls = message[0];
    const frame = message.subarray(1);
    if (cls === MessageClass.Critical) {
      if (!room.hold(frame)) this.#onCritical(room, frame);
    } else if (cls === MessageClass.Chat) {
      const skipped = room.deliverChat(frame, Date.now());
      if (skipped > 0) {
        this.#metrics.dropped.inc({ reason: 'sampled' }, Math.round((room.members.size * skipped) / CHAT_BUCKETS));
      }
      this.#metrics.framesOut.inc({ kind: 'chat' }, room.members.size);
    } else if (cls === MessageClass.PriorityChat) {
      room.publishLocal(frame); // host / moderator chat: every member, Lite included
      this.#metrics.framesOut.inc({ kind: 'chat' }, room.members.size);
    }
  }

  /** Delivers one critical frame in offset order; starts a gap fill when one is missing. */
  #onCritical(room: LocalRoom, frame: Buffer): void {
    const decision = this.#offer(room, frame);
    if (decision === StreamDecision.Gap || decision === StreamDecision.Resync) {
      room.startCatchUp([frame]);
      void this.#fill(room);
    }
  }

  /** Offers a critical frame to the room (its StreamCursor decides); on delivery, its side effects here. */
  #offer(room: LocalRoom, frame: Buffer, decoded?: flashcast.IRoomEvent | null): StreamDecision | null {
    const event = decoded === undefined ? decodeEvent(room.id, frame) : decoded;
    const position = event && positionOf(event);
    if (!event || !position) {
      log.error({ roomId: room.id }, 'critical frame without a stream position; dropped');
      return null;
    }
    const decision = room.offer(event, position, frame);
    if (decision !== StreamDecision.Deliver) return decision;
    this.#metrics.framesOut.inc({ kind: 'critical' }, room.members.size);
    this.#metrics.fanoutLatency.observe({ class: 'critical' }, Math.max(0, Date.now() - Number(event.ts)) / 1000);
    if (event.moderation?.action === ModerationAction.BAN) this.#kick(room, event.moderation.userId ?? '');
    else if (event.moderation?.action === ModerationAction.SET_BLOCKED_WORDS) void this.#reloadModeration(room);
    return decision;
  }

  /**
   * Offers the frames held while catching up. Returns true when the room is live again,
   * false when they left a gap (the rest is held again and a fill must follow).
   */
  #drainHeld(room: LocalRoom): boolean {
    const held = room.endCatchUp();
    for (let i = 0; i < held.length; i++) {
      const decision = this.#offer(room, held[i]);
      if (decision === StreamDecision.Gap || decision === StreamDecision.Resync) {
        room.startCatchUp(held.slice(i));
        return false;
      }
    }
    return true;
  }

  /** Brings a room up to date from history after a gap or an epoch change. */
  async #fill(room: LocalRoom): Promise<void> {
    this.#metrics.gapFills.inc();
    try {
      for (;;) {
        const answer = await this.#store.recover(room.id, room.position);
        const events = answer.recovered ? answer.frames.map((frame) => decodeEvent(room.id, frame)) : [];
        const offsets = events.map((event) => Number(event?.offset ?? 0));
        if (answer.recovered && room.recovers({ ...answer, offsets })) {
          // Same epoch, or the stream was created after this node saw "no stream" ('' at 0).
          for (let i = 0; i < events.length; i++) this.#offer(room, answer.frames[i], events[i]);
        } else {
          // The stream was reset or trimmed past us: members must resync from a snapshot.
          const snapshot = answer.recovered ? await this.#store.snapshot(room.id) : answer;
          log.warn({ roomId: room.id, epoch: snapshot.epoch, from: room.epoch }, 'stream reset; members resync');
          room.resync(snapshot, await this.#store.loadModeration(room.id));
          room.publishLocal(encodeServerFrame({ resync: { room: room.id, epoch: snapshot.epoch } }));
        }
        if (this.#drainHeld(room)) return;
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
      if (room.catchingUp) continue;
      room.startCatchUp([]);
      void this.#fill(room);
    }
  }

  async #reloadModeration(room: LocalRoom): Promise<void> {
    try {
      room.setModeration(await this.#store.loadModeration(room.id));
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

  /**
   * Closes idle rooms, reports presence and reactions of all the others in one batch (one
   * script call per stats partition, RoomStore.reportStats), publishes changed stats.
   */
  async #statsTick(): Promise<void> {
    if (this.#statsRunning || this.#closed) return;
    this.#statsRunning = true;
    try {
      const now = Date.now();
      const live: LocalRoom[] = [];
      for (const room of [...this.#rooms.values()]) {
        if (room.idleLongerThan(this.#options.lingerMs, now)) this.#closeRoom(room);
        else live.push(room);
      }
      // Viewers are distinct users on this node, not sockets (several tabs count once).
      const reports = live.map((room) => ({ roomId: room.id, viewers: room.users, reactions: room.takeReactions() }));
      const totals = await this.#store.reportStats(this.#options.nodeId, reports);
      for (let i = 0; i < live.length; i++) {
        const room = live[i];
        const t = totals.get(room.id);
        if (!t) {
          room.returnReactions(reports[i].reactions);
          continue;
        }
        const stats = room.updateStats(t);
        if (!stats) continue;
        room.publishLocal(encodeServerFrame({ event: { room: room.id, ts: now, stats } }));
        this.#metrics.framesOut.inc({ kind: 'stats' }, room.members.size);
      }
    } catch (error) {
      log.warn({ err: error }, 'stats tick failed');
    } finally {
      this.#statsRunning = false;
    }
  }

  /** Stops serving a room; its presence leaves the totals with the next stats report (it is no longer in it). */
  #closeRoom(room: LocalRoom): void {
    const channel = this.#keys.roomChannel(room.id);
    this.#rooms.delete(room.id);
    this.#byChannel.delete(channel);
    this.#metrics.rooms.set(this.#rooms.size);
    void this.#subscriber.sunsubscribe(channel).catch(() => undefined);
  }
}

function decodeEvent(roomId: string, frame: Uint8Array): flashcast.IRoomEvent | null {
  try {
    return flashcast.ServerFrame.decode(frame).event ?? null;
  } catch (error) {
    log.error({ err: error, roomId }, 'undecodable critical frame');
    return null;
  }
}

/** A critical event's stream position, or null when it has none (a bug upstream). */
function positionOf(event: flashcast.IRoomEvent): StreamPosition | null {
  const offset = Number(event.offset);
  return event.epoch && Number.isSafeInteger(offset) && offset >= 1 ? { epoch: event.epoch, offset } : null;
}
