import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { flashcast, ModerationAction, RoomPhase } from '../../protocol/index.js';
import { snapshotFromFields, snapshotOpFor, type ModerationState } from './RoomStore.js';
import type { SocketData } from './SocketData.js';
import { ChatSampler } from './ChatSampler.js';
import { TokenBucket } from '../../common/TokenBucket.js';

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
  chatIngressPerSecond: number;
}

/**
 * A room as one gateway node sees it: its local members, its position in the
 * room's critical stream, a ring of recent critical frames (to bridge joins),
 * cached moderation settings and phase, and the chat samplers.
 *
 * Topics: `r/<room>` carries critical events, host/moderator chat and stats to
 * every member; `c/<room>` carries viewer chat to every non-lite member when the
 * room is calm; `c/<room>/<bucket>` carries sampled chat when it is busy;
 * `l/<room>` carries the low-rate chat of Lite members.
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

  epoch = '';
  /** Offset of the last critical event published to this node's sockets. */
  offset = 0;
  phase: flashcast.RoomPhase = RoomPhase.ROOM_PHASE_UNSPECIFIED;
  moderation: ModerationState = { mutes: new Map(), bans: new Map(), slowModeSeconds: 0, words: [] };
  stats: flashcast.IRoomStats = { viewers: 0, reactions: [] };
  readonly pendingReactions = new Map<number, number>();
  /** Reaction totals last reported, to compute deltas. */
  readonly reactionTotals = new Map<number, number>();
  /** Mirror of the room snapshot as of `offset` (field -> latest event). */
  snapshotFields = new Map<string, flashcast.IRoomEvent>();
  /** Set while a gap is being filled; critical messages queue here meanwhile. */
  fillQueue: Buffer[] | null = null;
  /** When the last member left (for the unsubscribe linger). */
  emptySince = 0;
  lastStatsSent = '';

  readonly #app: TemplatedApp;
  readonly #ring: (RingEntry | undefined)[];
  #ringNext = 0;
  readonly #chatSampler: ChatSampler;
  /**
   * Viewer chat this node admits to Redis for the room. Beyond it no viewer could
   * read more anyway (sampling), so the excess is acknowledged to its sender only.
   */
  readonly chatIngress: TokenBucket;
  readonly #liteSampler: ChatSampler;

  constructor(app: TemplatedApp, id: string, options: LocalRoomOptions) {
    this.#app = app;
    this.id = id;
    this.topic = `r/${id}`;
    this.chatTopic = `c/${id}`;
    this.liteTopic = `l/${id}`;
    this.bucketTopics = Array.from({ length: CHAT_BUCKETS }, (_, i) => `c/${id}/${i}`);
    this.#ring = new Array(options.ringSize);
    this.#chatSampler = new ChatSampler(options.chatPerViewerPerSecond, CHAT_BUCKETS);
    this.#liteSampler = new ChatSampler(options.liteChatPerSecond, 1);
    this.chatIngress = new TokenBucket(options.chatIngressPerSecond, options.chatIngressPerSecond * 2);
  }

  /** This node's member sockets (added and removed through addMember / removeMember). */
  get members(): ReadonlySet<WebSocket<SocketData>> {
    return this.#members;
  }

  /** Distinct users among the members: the viewers this node reports. */
  get users(): number {
    return this.#userSockets.size;
  }

  /** Adds a member socket of a user. */
  addMember(ws: WebSocket<SocketData>, userId: string): void {
    if (this.#members.has(ws)) return;
    this.#members.add(ws);
    this.#userSockets.set(userId, (this.#userSockets.get(userId) ?? 0) + 1);
  }

  /** Removes a member socket of a user (no-op if it is not a member). */
  removeMember(ws: WebSocket<SocketData>, userId: string): void {
    if (!this.#members.delete(ws)) return;
    const left = (this.#userSockets.get(userId) ?? 1) - 1;
    if (left > 0) this.#userSockets.set(userId, left);
    else this.#userSockets.delete(userId);
  }

  /** Publishes a critical frame to every member and remembers it in the ring. */
  deliverCritical(offset: number, frame: Uint8Array): void {
    this.offset = offset;
    this.#ring[this.#ringNext] = { offset, frame };
    this.#ringNext = (this.#ringNext + 1) % this.#ring.length;
    this.#app.publish(this.topic, frame, true);
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

  /** The room's state as of `offset`, served to fresh joins without a Redis round trip. */
  snapshot(): flashcast.IRoomSnapshot {
    return snapshotFromFields(this.snapshotFields);
  }

  /** Forgets the stream position (epoch changed) and takes the given snapshot. */
  reset(epoch: string, offset: number, fields: Map<string, flashcast.IRoomEvent>): void {
    this.epoch = epoch;
    this.offset = offset;
    this.snapshotFields = fields;
    const phase = fields.get('state')?.state?.phase;
    if (phase) this.phase = phase;
    this.#ring.fill(undefined);
    this.#ringNext = 0;
  }

  /**
   * Fans out a viewer chat frame: to everyone when the room is calm, to a share of
   * the buckets when busy. Returns how many buckets were skipped (0..CHAT_BUCKETS).
   */
  deliverChat(frame: Uint8Array, now: number): number {
    const lite = this.#liteSampler.next(now);
    if (lite === null || lite.length > 0) this.#app.publish(this.liteTopic, frame, true);
    const buckets = this.#chatSampler.next(now);
    if (buckets === null) {
      this.#app.publish(this.chatTopic, frame, true);
      return 0;
    }
    for (const b of buckets) this.#app.publish(this.bucketTopics[b], frame, true);
    return CHAT_BUCKETS - buckets.length;
  }

  /** Host / moderator chat: every member, Lite included. */
  deliverPriority(frame: Uint8Array): void {
    this.#app.publish(this.topic, frame, true);
  }

  /** Applies a critical event's effect on the cached room state and snapshot. */
  applyEvent(event: flashcast.IRoomEvent): void {
    const op = snapshotOpFor(event);
    if (op?.set) this.snapshotFields.set(op.set, event);
    else if (op?.del) this.snapshotFields.delete(op.del);
    if (event.state) {
      this.phase = event.state.phase ?? RoomPhase.ROOM_PHASE_UNSPECIFIED;
    } else if (event.moderation) {
      const m = event.moderation;
      const userId = m.userId ?? '';
      const until = m.seconds ? Number(event.ts) + m.seconds * 1000 : 0;
      switch (m.action) {
        case ModerationAction.MUTE:
          this.moderation.mutes.set(userId, until);
          break;
        case ModerationAction.UNMUTE:
          this.moderation.mutes.delete(userId);
          break;
        case ModerationAction.BAN:
          this.moderation.bans.set(userId, until);
          break;
        case ModerationAction.UNBAN:
          this.moderation.bans.delete(userId);
          break;
        case ModerationAction.SLOW_MODE:
          this.moderation.slowModeSeconds = m.seconds ?? 0;
          break;
        default:
          break;
      }
    }
  }

  /** True if the user is banned now. */
  isBanned(userId: string, now = Date.now()): boolean {
    const until = this.moderation.bans.get(userId);
    return until !== undefined && (until === 0 || until > now);
  }

  /** True if the user is muted now. */
  isMuted(userId: string, now = Date.now()): boolean {
    const until = this.moderation.mutes.get(userId);
    return until !== undefined && (until === 0 || until > now);
  }

  /** The first blocked word the text contains, if any. */
  blockedWordIn(text: string): string | null {
    if (this.moderation.words.length === 0) return null;
    const lower = text.toLowerCase();
    for (const word of this.moderation.words) if (word && lower.includes(word)) return word;
    return null;
  }
}
