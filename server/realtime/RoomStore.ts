/**
 * A room's state in Redis: its critical stream (offsets, epoch, history, snapshot), chat
 * admission, presence and reaction totals, and moderation settings, through Lua scripts.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../common/RedisConnections.js';
import { flashcast } from '../../protocol/index.js';
import type { StreamPosition } from '../../protocol/StreamCursor.js';
import { assetPath } from '../../common/paths.js';
import { RedisKeys } from '../../common/keys.js';
import { RedisScript } from '../../common/RedisScript.js';

const SCRIPT_DIR = assetPath(import.meta.url, '../redis/scripts');
const scripts = {
  publish: RedisScript.fromFile('publish-3.lua', SCRIPT_DIR),
  chat: RedisScript.fromFile('chat-2.lua', SCRIPT_DIR),
  recover: RedisScript.fromFile('recover-3.lua', SCRIPT_DIR),
  stats: RedisScript.fromFile('stats-2.lua', SCRIPT_DIR),
};

/** Class byte in front of every message on a room's pub/sub channel. */
export const MessageClass = {
  /** Viewer chat: sampled in huge rooms. */
  Chat: 0,
  /** Host / moderator chat: always delivered. */
  PriorityChat: 1,
  /** Critical event with {offset, epoch}. */
  Critical: 2,
} as const;

/** How a critical event changes the room snapshot. */
export interface SnapshotOp {
  set?: string;
  del?: string;
}

/** The room's state at a position: the latest event of each kind. */
export type SnapshotResult = {
  recovered: false;
  snapshot: flashcast.IRoomSnapshot;
  fields: Map<string, flashcast.IRoomEvent>;
} & StreamPosition;

/** Result of a recovery attempt: missed frames, or the snapshot when they are gone. */
export type RecoverResult = ({ recovered: true; frames: Buffer[] } & StreamPosition) | SnapshotResult;

export interface RoomStoreOptions {
  prefix: string;
  historySize: number;
  historyTtlSeconds: number;
  /** Most events replayed on recovery; beyond that the client gets a snapshot. */
  maxRecover?: number;
}

export interface ChatAdmission {
  result: 'ok' | 'dup' | 'slow';
  originalId?: string;
  retryAfterMs?: number;
}

/**
 * A room's state in Redis: its critical stream (history with offset/epoch), its
 * snapshot, presence and reaction totals, and moderation settings. Every write
 * that must be atomic is one Lua script over keys of the room's slot.
 */
export class RoomStore {
  readonly #keys: RedisKeys;
  readonly #redis: RedisClient;
  readonly #options: Required<RoomStoreOptions>;

  constructor(redis: RedisClient, options: RoomStoreOptions) {
    this.#redis = redis;
    this.#options = { maxRecover: 1000, ...options };
    this.#keys = new RedisKeys(options.prefix);
  }

  /**
   * Appends a critical event (encoded without offset/epoch) to the room's stream,
   * updates the snapshot and publishes it. Resolves to its position (offset 0 when
   * a versioned event was older than the stored one and so was skipped).
   */
  async publishCritical(roomId: string, event: Uint8Array, snapshot?: SnapshotOp, version = 0): Promise<StreamPosition> {
    const op = snapshot?.set ? 'set' : snapshot?.del ? 'del' : '';
    const field = snapshot?.set ?? snapshot?.del ?? '';
    const [offset, epoch] = await scripts.publish.run<[number, string]>(this.#redis, this.#streamKeys(roomId), [
      this.#keys.roomChannel(roomId),
      Buffer.from(event.buffer, event.byteOffset, event.byteLength),
      this.#options.historySize,
      this.#options.historyTtlSeconds,
      newEpoch(),
      op,
      field,
      version,
    ]);
    return { offset: Number(offset), epoch };
  }

  /** Publishes a best-effort message (chat) as is: class byte + ServerFrame. */
  async publishChat(
    roomId: string,
    payload: Buffer,
    opts: { userId: string; clientMsgId: string; messageId: string; slowModeMs: number },
  ): Promise<ChatAdmission> {
    const dedupKey = this.#keys.room(roomId, `cm:${opts.userId}:${opts.clientMsgId}`);
    const slowKey = this.#keys.room(roomId, `slow:${opts.userId}`);
    const reply = await scripts.chat.run<[string, string | number]>(this.#redis, [dedupKey, slowKey], [
      this.#keys.roomChannel(roomId),
      payload,
      opts.clientMsgId ? 300 : 0,
      opts.slowModeMs,
      opts.messageId,
    ]);
    if (reply[0] === 'dup') return { result: 'dup', originalId: String(reply[1]) };
    if (reply[0] === 'slow') return { result: 'slow', retryAfterMs: Math.max(1, Number(reply[1])) };
    return { result: 'ok' };
  }

  /**
   * Missed events after a position, or the snapshot when they cannot be replayed.
   * Read-only: a room with no stream answers epoch '' at offset 0 and creates nothing.
   */
  async recover(roomId: string, position: StreamPosition | null): Promise<RecoverResult> {
    const reply = await scripts.recover.runBuffer<[number, Buffer, number, Buffer[]]>(
      this.#redis,
      this.#streamKeys(roomId),
      [position?.epoch ?? '', position?.offset ?? 0, position ? '1' : '0', this.#options.maxRecover],
    );
    const offset = Number(reply[0]);
    const epoch = reply[1].toString();
    if (Number(reply[2]) === 1) return { recovered: true, frames: reply[3], offset, epoch };
    const fields = decodeSnapshotFields(reply[3]);
    return { recovered: false, snapshot: snapshotFromFields(fields), fields, offset, epoch };
  }

  /** The room's current snapshot and the position it reflects (epoch '' when it has no stream). */
  async snapshot(roomId: string): Promise<SnapshotResult> {
    return (await this.recover(roomId, null)) as SnapshotResult;
  }

  /** Reports this node's viewers and reaction deltas; returns room totals. */
  async reportStats(
    roomId: string,
    nodeId: string,
    localViewers: number,
    reactionDeltas: Map<number, number>,
  ): Promise<{ viewers: number; reactions: Map<number, number> }> {
    const args: (string | number)[] = [nodeId, localViewers, Date.now(), 5_000, 3_600];
    for (const [kind, delta] of reactionDeltas) args.push(kind, delta);
    const [viewers, totals] = await scripts.stats.run<[number, string[]]>(
      this.#redis,
      [this.#keys.room(roomId, 'presence'), this.#keys.room(roomId, 'reactions')],
      args,
    );
    const reactions = new Map<number, number>();
    for (let i = 0; i < totals.length; i += 2) reactions.set(Number(totals[i]), Number(totals[i + 1]));
    return { viewers: Number(viewers), reactions };
  }

  /** Moderation state of a room: mutes, bans (userId -> until ms, 0 = forever), slow mode, words. */
  async loadModeration(roomId: string): Promise<ModerationState> {
    const [[, hash], [, words]] = (await this.#redis
      .multi()
      .hgetall(this.#keys.room(roomId, 'mod'))
      .smembers(this.#keys.room(roomId, 'words'))
      .exec()) as [[null, Record<string, string>], [null, string[]]];
    const state: ModerationState = { mutes: new Map(), bans: new Map(), slowModeSeconds: 0, words: words ?? [] };
    for (const [field, value] of Object.entries(hash ?? {})) {
      if (field === 'slow') state.slowModeSeconds = Number(value);
      else if (field.startsWith('mute:')) state.mutes.set(field.slice(5), Number(value));
      else if (field.startsWith('ban:')) state.bans.set(field.slice(4), Number(value));
    }
    return state;
  }

  /** Writes one moderation change (before its event is published). */
  async saveModeration(roomId: string, change: ModerationChange): Promise<void> {
    const key = this.#keys.room(roomId, 'mod');
    const ttl = 7 * 24 * 3600;
    const until = change.seconds ? Date.now() + change.seconds * 1000 : 0;
    const multi = this.#redis.multi();
    switch (change.kind) {
      case 'mute':
        multi.hset(key, `mute:${change.userId}`, until);
        break;
      case 'unmute':
        multi.hdel(key, `mute:${change.userId}`);
        break;
      case 'ban':
        multi.hset(key, `ban:${change.userId}`, until);
        break;
      case 'unban':
        multi.hdel(key, `ban:${change.userId}`);
        break;
      case 'slow':
        multi.hset(key, 'slow', change.seconds ?? 0);
        break;
      case 'words': {
        const wordsKey = this.#keys.room(roomId, 'words');
        multi.del(wordsKey);
        if (change.words && change.words.length > 0) multi.sadd(wordsKey, ...change.words);
        multi.expire(wordsKey, ttl);
        break;
      }
    }
    multi.expire(key, ttl);
    await multi.exec();
  }

  /**
   * True if the user is banned in the room now (one HGET on the moderation hash; for callers
   * without the room's LocalRoom, e.g. `POST /v1/checkout`).
   */
  async isBanned(roomId: string, userId: string, now = Date.now()): Promise<boolean> {
    const until = await this.#redis.hget(this.#keys.room(roomId, 'mod'), `ban:${userId}`);
    if (until === null) return false;
    const ms = Number(until);
    return ms === 0 || ms > now;
  }

  #streamKeys(roomId: string): string[] {
    return [this.#keys.room(roomId, 'meta'), this.#keys.room(roomId, 'hist'), this.#keys.room(roomId, 'snap')];
  }
}

export interface ModerationState {
  mutes: Map<string, number>;
  bans: Map<string, number>;
  slowModeSeconds: number;
  words: string[];
}

export interface ModerationChange {
  kind: 'mute' | 'unmute' | 'ban' | 'unban' | 'slow' | 'words';
  userId?: string;
  seconds?: number;
  words?: string[];
}

/**
 * Where a critical event lives in the room snapshot: the latest event of each
 * kind (per product for inventory). Derived from the event itself, so Redis and
 * every node's in-memory mirror agree by construction.
 */
export function snapshotOpFor(event: flashcast.IRoomEvent): SnapshotOp | undefined {
  if (event.pin) return { set: 'pin' };
  if (event.unpin) return { del: 'pin' };
  if (event.inventory) return { set: `inv:${event.inventory.dealId || event.inventory.productId}` };
  if (event.state) return { set: 'state' };
  if (event.announcement) return { set: 'ann' };
  if (event.moderation?.action === flashcast.ModerationAction.SLOW_MODE) return { set: 'slow' };
  return undefined;
}

/** Builds a RoomSnapshot from snapshot fields (field -> decoded RoomEvent). */
export function snapshotFromFields(fields: Map<string, flashcast.IRoomEvent>): flashcast.IRoomSnapshot {
  const snapshot: flashcast.IRoomSnapshot = { inventory: [] };
  for (const [field, event] of fields) {
    if (field === 'state' && event.state) snapshot.state = event.state;
    else if (field === 'pin' && event.pin) snapshot.pin = event.pin;
    else if (field === 'ann' && event.announcement) snapshot.announcement = event.announcement;
    else if (field === 'slow' && event.moderation) snapshot.moderation = { slowModeSeconds: event.moderation.seconds };
    else if (field.startsWith('inv:') && event.inventory) snapshot.inventory!.push(event.inventory);
  }
  snapshot.inventory!.sort((a, b) => String(a.dealId || a.productId).localeCompare(String(b.dealId || b.productId)));
  return snapshot;
}

/** A new random stream epoch (changes when a room's stream is lost and recreated). */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** Decodes the snapshot hash (field -> encoded RoomEvent) into its fields. */
export function decodeSnapshotFields(pairs: Buffer[]): Map<string, flashcast.IRoomEvent> {
  const fields = new Map<string, flashcast.IRoomEvent>();
  for (let i = 0; i < pairs.length; i += 2) {
    try {
      fields.set(pairs[i].toString(), flashcast.RoomEvent.decode(pairs[i + 1]));
    } catch {
      // A corrupt entry is skipped; the next event of its kind replaces it.
    }
  }
  return fields;
}
