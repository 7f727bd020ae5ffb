/**
 * One room as one gateway node sees it: its members here, its position in the room's
 * critical stream with a ring of recent frames, its cached state, and its chat fan-out.
 */
import type { WebSocket } from 'uWebSockets.js';
import { flashcast, ModerationAction, RoomPhase } from '../../protocol/index.js';
import { StreamCursor, StreamDecision, type RecoveryAnswer, type StreamPosition } from '../../protocol/StreamCursor.js';
import { snapshotFromFields, snapshotOpFor, type ModerationState, type RecoverResult, type SnapshotResult } from './RoomStore.js';
import type { SocketData } from './SocketData.js';
import { ChatSampler } from './ChatSampler.js';
import { TokenBucket } from '../../common/TokenBucket.js';
import type { TopicBatcher } from './TopicBatcher.js';

/** Number of chat bucket topics per room (sampling granularity). */
export const CHAT_BUCKETS = 8;

interface RingEntry {
  offset: number;
  frame: Uint8Array;
}

export interface LocalRoomOptions {
  chatPerViewerPerSecond: number;
  liteChatPerSecond: number;
  ringSize: number;
  /** Viewer chat lines/s this node admits into Redis for the room, at most (FLASHCAST_ROOM_CHAT_INGRESS_PER_S). */
  chatIngressPerSecond: number;
  /**
   * Viewer chat lines/s the whole room admits over every node (FLASHCAST_ROOM_CHAT_PER_S): a
   * node takes its viewers' share of it (chatShare), refreshed with every stats report.
   */
  roomChatPerSecond: number;
}

/**
 * A room as one gateway node sees it: its local members, its position in the
 * room's critical stream (a StreamCursor), a ring of recent critical frames (to bridge
 * joins), cached moderation settings, phase and stats, and the chat samplers. Every
 * field is its own; RoomHub and the socket parts change it through its methods.
 *
 * Topics: `r/<room>` carries critical events, host/moderator chat and stats to
 * every member; `c/<room>` carries viewer chat to every non-lite member when the
 * room is calm; `c/<room>/<bucket>` carries sampled chat when it is busy;
 * `l/<room>` carries the low-rate chat of Lite members. Every publication goes through the
 * node's TopicBatcher (frames of one topic within its window travel as one message).
 */
export class LocalRoom {
  readonly id: string;
  readonly topic: string;
  readonly chatTopic: string;
  readonly liteTopic: string;
  readonly bucketTopics: string[];
  readonly #members = new Set<WebSocket<SocketData>>();
  /** Members per user: a user's several sockets are one viewer. */
  readonly #userSockets = new Map<string, number>();
  /** Position of the last critical event published to this node's sockets. */
  readonly #cursor = new StreamCursor();
  /**
   * Critical frames held while the position is uncertain (opening, or a gap being filled
   * from history); null when delivering live.
   */
  #catchUpQueue: Buffer[] | null = [];
  #phase: flashcast.RoomPhase = RoomPhase.ROOM_PHASE_UNSPECIFIED;
  #moderation: ModerationState = { mutes: new Map(), bans: new Map(), slowModeSeconds: 0, words: [] };
  #stats: flashcast.IRoomStats = { viewers: 0, reactions: [] };
  readonly #pendingReactions = new Map<number, number>();
  /** Reaction totals last reported, to compute deltas. */
  readonly #reactionTotals = new Map<number, number>();
  #lastStatsSent = '';
  /** Mirror of the room snapshot as of the cursor (field -> latest event). */
  #snapshotFields = new Map<string, flashcast.IRoomEvent>();
  /** When the last member left (0 while it has members). */
  #emptySince: number;

  readonly #batcher: TopicBatcher;
  readonly #ring: (RingEntry | undefined)[];
  #ringNext = 0;
  readonly #chatSampler: ChatSampler;
  /**
   * Viewer chat this node admits to Redis for the room: its share of the room-wide rate
   * (chatShare). Beyond it no viewer could read more anyway (sampling), so the excess is
   * acknowledged to its sender only.
   */
  readonly #chatIngress: TokenBucket;
  readonly #chatIngressCap: number;
  readonly #roomChatPerSecond: number;
  readonly #liteSampler: ChatSampler;

  /**
   * The viewer chat lines/s one node admits for a room: the room-wide rate split over the
   * nodes in proportion to their viewers (each viewer's line has the same chance wherever it
   * connected, and the nodes' shares add up to the room-wide rate, however many there are),
   * never above the per-node cap. `viewers` is this node's, `roomViewers` the room's total as
   * the last stats report gave it (this node's included).
   */
  static chatShare(limits: Pick<LocalRoomOptions, 'chatIngressPerSecond' | 'roomChatPerSecond'>, viewers: number, roomViewers: number): number {
    const mine = Math.max(1, viewers);
    return Math.min(limits.chatIngressPerSecond, (limits.roomChatPerSecond * mine) / Math.max(mine, roomViewers));
  }

  /** The topic of a room's privileged members on a node (host and ops: the live dashboard). */
  static hostTopic(roomId: string): string {
    return `h/${roomId}`;
  }

  /** A room without a position yet: critical frames queue until `open`. */
  constructor(batcher: TopicBatcher, id: string, options: LocalRoomOptions, now = Date.now()) {
    this.#batcher = batcher;
    this.id = id;
    this.topic = `r/${id}`;
    this.chatTopic = `c/${id}`;
    this.liteTopic = `l/${id}`;
    this.bucketTopics = Array.from({ length: CHAT_BUCKETS }, (_, i) => `c/${id}/${i}`);
    this.#ring = new Array(options.ringSize);
    this.#chatSampler = new ChatSampler(options.chatPerViewerPerSecond, CHAT_BUCKETS);
    this.#liteSampler = new ChatSampler(options.liteChatPerSecond, 1);
    this.#chatIngressCap = options.chatIngressPerSecond;
    this.#roomChatPerSecond = options.roomChatPerSecond;
    const rate = LocalRoom.chatShare(options, 1, 1);
    this.#chatIngress = new TokenBucket(rate, Math.max(1, rate * 2));
    this.#emptySince = now;
  }

  /** This node's member sockets (added and removed through addMember / removeMember). */
  get members(): ReadonlySet<WebSocket<SocketData>> {
    return this.#members;
  }

  /** Distinct users among the members: the viewers this node reports. */
  get users(): number {
    return this.#userSockets.size;
  }

  /** The stream's epoch as delivered here ('' before the room has a stream). */
  get epoch(): string {
    return this.#cursor.epoch;
  }

  /** Offset of the last critical event published to this node's sockets. */
  get offset(): number {
    return this.#cursor.offset;
  }

  /** The position delivered here, or null before `open`. */
  get position(): StreamPosition | null {
    return this.#cursor.position;
  }

  /** True while critical frames are held (opening, or filling a gap). */
  get catchingUp(): boolean {
    return this.#catchUpQueue !== null;
  }

  get phase(): flashcast.RoomPhase {
    return this.#phase;
  }

  /** Viewers and reaction counts as last reported. */
  get stats(): Readonly<flashcast.IRoomStats> {
    return this.#stats;
  }

  /** Adds a member socket of a user. */
  addMember(ws: WebSocket<SocketData>, userId: string): void {
    if (this.#members.has(ws)) return;
    this.#members.add(ws);
    this.#userSockets.set(userId, (this.#userSockets.get(userId) ?? 0) + 1);
    this.#emptySince = 0;
  }

  /** Removes a member socket of a user (no-op if it is not a member). */
  removeMember(ws: WebSocket<SocketData>, userId: string, now = Date.now()): void {
    if (!this.#members.delete(ws)) return;
    const left = (this.#userSockets.get(userId) ?? 1) - 1;
    if (left > 0) this.#userSockets.set(userId, left);
    else this.#userSockets.delete(userId);
    if (this.#members.size === 0) this.#emptySince = now;
  }

  /** True if the room has had no members for longer than `lingerMs`. */
  idleLongerThan(lingerMs: number, now = Date.now()): boolean {
    return this.#members.size === 0 && this.#emptySince > 0 && now - this.#emptySince > lingerMs;
  }

  /** Positions a new room: the stream's snapshot, moderation and stats as read from Redis. */
  open(snapshot: SnapshotResult, moderation: ModerationState, stats: { viewers: number; reactions: Map<number, number> }): void {
    for (const [kind, total] of stats.reactions) this.#reactionTotals.set(kind, total);
    this.#stats = { viewers: stats.viewers, reactions: [] };
    this.#shareChat(stats.viewers);
    this.resync(snapshot, moderation);
  }

  /**
   * Offers a critical event: the cursor decides (see StreamCursor); a `Deliver` applies it
   * to the cached state, remembers it in the ring and publishes it to every member.
   */
  offer(event: flashcast.IRoomEvent, position: StreamPosition, frame: Uint8Array): StreamDecision {
    const decision = this.#cursor.accept(position);
    if (decision !== StreamDecision.Deliver) return decision;
    this.#apply(event);
    this.#ring[this.#ringNext] = { offset: position.offset, frame };
    this.#ringNext = (this.#ringNext + 1) % this.#ring.length;
    this.#batcher.publish(this.topic, frame);
    return decision;
  }

  /** Holds a critical frame while catching up; false when delivering live. */
  hold(frame: Buffer): boolean {
    if (this.#catchUpQueue === null) return false;
    this.#catchUpQueue.push(frame);
    return true;
  }

  /** Starts catching up: `frames` (and every critical frame until `endCatchUp`) are held. */
  startCatchUp(frames: Buffer[]): void {
    this.#catchUpQueue = frames;
  }

  /** Ends catching up; returns the held frames, oldest first. */
  endCatchUp(): Buffer[] {
    const queue = this.#catchUpQueue ?? [];
    this.#catchUpQueue = null;
    return queue;
  }

  /** True if a recovery answer continues this node's position (StreamCursor.isRecovered). */
  recovers(answer: RecoveryAnswer): boolean {
    return StreamCursor.isRecovered(this.#cursor.position, answer);
  }

  /** Takes the given snapshot and position (the stream was reset or trimmed past us). */
  resync(snapshot: SnapshotResult, moderation: ModerationState): void {
    this.#cursor.reset({ epoch: snapshot.epoch, offset: snapshot.offset });
    this.#snapshotFields = snapshot.fields;
    const phase = snapshot.fields.get('state')?.state?.phase;
    if (phase) this.#phase = phase;
    this.#moderation = moderation;
    this.#ring.fill(undefined);
    this.#ringNext = 0;
  }

  /** Replaces the cached moderation settings (after a change of blocked words). */
  setModeration(moderation: ModerationState): void {
    this.#moderation = moderation;
  }

  /**
   * Answers a join from this node's memory (no Redis round trip: a reconnect storm of a
   * whole room costs the room's node nothing but CPU): the snapshot for a fresh join
   * (`position` null), the ring's frames for a recovery in this node's epoch. Null when
   * Redis must answer (catching up, another epoch, frames no longer in the ring).
   */
  answer(position: StreamPosition | null): RecoverResult | null {
    if (this.catchingUp) return null;
    // (An epoch of '' means the room has no stream yet: a fresh join gets an empty snapshot at 0.)
    if (!position) return { recovered: false, snapshot: this.snapshot(), fields: this.#snapshotFields, offset: this.offset, epoch: this.epoch };
    if (position.epoch !== this.epoch) return null;
    const frames = this.framesAfter(position.offset);
    if (!frames) return null;
    // Frames after the client's position up to this node's; a client ahead of this
    // node gets none and drops the duplicates that follow.
    return { recovered: true, frames: frames as Buffer[], offset: Math.max(this.offset, position.offset), epoch: this.epoch };
  }

  /** Critical frames after `offset` still in the ring (oldest first), or null if some are gone. */
  framesAfter(offset: number): Uint8Array[] | null {
    if (offset >= this.offset) return [];
    const out: RingEntry[] = [];
    for (const entry of this.#ring) if (entry && entry.offset > offset) out.push(entry);
    out.sort((a, b) => a.offset - b.offset);
    if (out.length !== this.offset - offset || out[0]?.offset !== offset + 1) return null;
    return out.map((e) => e.frame);
  }

  /** The room's state as of the cursor, served to fresh joins without a Redis round trip. */
  snapshot(): flashcast.IRoomSnapshot {
    return snapshotFromFields(this.#snapshotFields);
  }

  /** Counts reactions until the next stats report. */
  addReactions(kind: number, count: number): void {
    this.#pendingReactions.set(kind, (this.#pendingReactions.get(kind) ?? 0) + count);
  }

  /** The reactions counted since the last report (and forgets them). */
  takeReactions(): Map<number, number> {
    const deltas = new Map(this.#pendingReactions);
    this.#pendingReactions.clear();
    return deltas;
  }

  /** Puts back reactions whose report failed. */
  returnReactions(deltas: Map<number, number>): void {
    for (const [kind, count] of deltas) this.addReactions(kind, count);
  }

  /**
   * Takes the room's totals from a stats report. Returns the stats to publish to the
   * members, or null when nothing changed since the last published (or nobody is here).
   */
  updateStats(totals: { viewers: number; reactions: Map<number, number> }): flashcast.IRoomStats | null {
    const reactions: flashcast.IReactionCount[] = [];
    for (const [kind, total] of totals.reactions) {
      const before = this.#reactionTotals.get(kind) ?? total;
      reactions.push({ kind, total, delta: Math.max(0, total - before) });
      this.#reactionTotals.set(kind, total);
    }
    reactions.sort((a, b) => Number(a.kind) - Number(b.kind));
    this.#stats = { viewers: totals.viewers, reactions };
    this.#shareChat(totals.viewers);
    const signature = `${totals.viewers}|${reactions.map((r) => `${r.kind}:${r.total}`).join(',')}`;
    if (signature === this.#lastStatsSent || this.#members.size === 0) return null;
    this.#lastStatsSent = signature;
    return this.#stats;
  }

  /** Takes a token of the room's viewer-chat ingress; false when the room's chat is saturated. */
  admitChat(): boolean {
    return this.#chatIngress.take();
  }

  /** Viewer chat lines/s this node admits for the room now (its share, LocalRoom.chatShare). */
  get chatIngressPerSecond(): number {
    return this.#chatIngress.rate;
  }

  /** Re-splits the room-wide chat rate after a stats report (a burst of at most two seconds' share). */
  #shareChat(roomViewers: number): void {
    const limits = { chatIngressPerSecond: this.#chatIngressCap, roomChatPerSecond: this.#roomChatPerSecond };
    const rate = LocalRoom.chatShare(limits, this.users, roomViewers);
    if (rate !== this.#chatIngress.rate) this.#chatIngress.setRate(rate, Math.max(1, rate * 2));
  }

  /**
   * Fans out a viewer chat frame: to everyone when the room is calm, to a share of
   * the buckets when busy. Returns how many buckets were skipped (0..CHAT_BUCKETS).
   */
  deliverChat(frame: Uint8Array, now: number): number {
    const lite = this.#liteSampler.next(now);
    if (lite === null || lite.length > 0) this.#batcher.publish(this.liteTopic, frame);
    const buckets = this.#chatSampler.next(now);
    if (buckets === null) {
      this.#batcher.publish(this.chatTopic, frame);
      return 0;
    }
    for (const b of buckets) this.#batcher.publish(this.bucketTopics[b], frame);
    return CHAT_BUCKETS - buckets.length;
  }

  /** Publishes a frame to every member on this node, Lite included (host chat, stats, resync); not through Redis. */
  publishLocal(frame: Uint8Array): void {
    this.#batcher.publish(this.topic, frame);
  }

  /**
   * Sends now what waits in the room's topics (TopicBatcher.flush), before a socket subscribes
   * or leaves: a joining socket gets the frames up to its answer directly and later ones through
   * the topics, each once; a leaving one gets what was published while it was a member.
   */
  flush(): void {
    this.#batcher.flush(this.topic);
    this.#batcher.flush(LocalRoom.hostTopic(this.id));
    this.#batcher.flush(this.chatTopic);
    this.#batcher.flush(this.liteTopic);
    for (const topic of this.bucketTopics) this.#batcher.flush(topic);
  }

  /** True if the user is banned now. */
  isBanned(userId: string, now = Date.now()): boolean {
    const until = this.#moderation.bans.get(userId);
    return until !== undefined && (until === 0 || until > now);
  }

  /** True if the user is muted now. */
  isMuted(userId: string, now = Date.now()): boolean {
    const until = this.#moderation.mutes.get(userId);
    return until !== undefined && (until === 0 || until > now);
  }

  /** Slow mode: seconds a viewer waits between chat messages (0 = off). */
  get slowModeSeconds(): number {
    return this.#moderation.slowModeSeconds;
  }

  /** The first blocked word the text contains, if any. */
  blockedWordIn(text: string): string | null {
    if (this.#moderation.words.length === 0) return null;
    const lower = text.toLowerCase();
    for (const word of this.#moderation.words) if (word && lower.includes(word)) return word;
    return null;
  }

  /** Applies a critical event's effect on the cached room state and snapshot. */
  #apply(event: flashcast.IRoomEvent): void {
    const op = snapshotOpFor(event);
    if (op?.set) this.#snapshotFields.set(op.set, event);
    else if (op?.del) this.#snapshotFields.delete(op.del);
    if (event.state) {
      this.#phase = event.state.phase ?? RoomPhase.ROOM_PHASE_UNSPECIFIED;
    } else if (event.moderation) {
      const m = event.moderation;
      const userId = m.userId ?? '';
      const until = m.seconds ? Number(event.ts) + m.seconds * 1000 : 0;
      const moderation = this.#moderation;
      switch (m.action) {
        case ModerationAction.MUTE:
          moderation.mutes.set(userId, until);
          break;
        case ModerationAction.UNMUTE:
          moderation.mutes.delete(userId);
          break;
        case ModerationAction.BAN:
          moderation.bans.set(userId, until);
          break;
        case ModerationAction.UNBAN:
          moderation.bans.delete(userId);
          break;
        case ModerationAction.SLOW_MODE:
          moderation.slowModeSeconds = m.seconds ?? 0;
          break;
        default:
          break;
      }
    }
  }
}
