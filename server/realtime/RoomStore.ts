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
import { HashSlot } from '../../common/HashSlot.js';
import { logger } from '../../common/logger.js';

const log = logger('RoomStore');
const SCRIPT_DIR = assetPath(import.meta.url, '../redis/scripts');
const scripts = {
  publish: RedisScript.fromFile('publish-3.lua', SCRIPT_DIR),
  chat: RedisScript.fromFile('chat-2.lua', SCRIPT_DIR),
  recover: RedisScript.fromFile('recover-3.lua', SCRIPT_DIR),
  stats: RedisScript.fromFile('stats-3.lua', SCRIPT_DIR),
};

/** How long a node's presence counts stand without a report (it died), and how long stats keys live. */
const PRESENCE_LIFETIME_MS = 5_000;
const STATS_TTL_S = 3_600;

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
  /**
   * Stats partitions (default 1): presence and reaction totals live in this many hash slots,
   * and a node's stats report costs one script call per partition it has rooms in. On Redis
   * Cluster, the number of masters (docs/scaling.md). Every gateway must use the same value.
   */
  statsPartitions?: number;
}

/** A room's viewers and reaction totals over all nodes. */
export interface RoomTotals {
  viewers: number;
  reactions: Map<number, number>;
}

/** One room in a node's stats report: its viewers on the node and reactions since the last report. */
export interface StatsReport {
  roomId: string;
  viewers: number;
  reactions: Map<number, number>;
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
  /** Per stats partition: its key prefix (ending with its hash tag) and its three script keys. */
  readonly #partitions: { prefix: string; keys: [string, string] }[];
  /** Per node: the stats partitions it reported rooms in last time (each gets one more, empty, report when its rooms are gone). */
  readonly #reported = new Map<string, Set<number>>();

  constructor(redis: RedisClient, options: RoomStoreOptions) {
    this.#redis = redis;
    this.#options = { maxRecover: 1000, statsPartitions: 1, ...options };
    this.#keys = new RedisKeys(options.prefix);
    const parts = this.#options.statsPartitions;
    if (!Number.isInteger(parts) || parts < 1 || parts > 1024) throw new TypeError('statsPartitions must be an integer in [1, 1024]');
    this.#partitions = Array.from({ length: parts }, (_, p) => {
      // Partition p's tag hashes into the p-th of `parts` equal slot ranges: with one partition per
      // master of a cluster made by `redis-cli --cluster create`, one partition per master.
      const prefix = `${options.prefix}:{${HashSlot.tagInRange(parts === 1 ? 'st' : `st:${p}`, p, parts)}}:`;
      return { prefix, keys: [`${prefix}presence`, `${prefix}presence:nodes`] };
    });
  }

  /**
   * The stats partition of a room: the slot range its own keys are in, so that with one
   * partition per master its stats live on the master that has its stream.
   */
  statsPartition(roomId: string): number {
    return this.#partitions.length === 1 ? 0 : HashSlot.range(HashSlot.of(this.#keys.roomChannel(roomId)), this.#partitions.length);
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

  /**
   * Reports this node's viewers (distinct users) and reaction deltas for all its rooms, and
   * returns each room's totals over all live nodes: one script call per stats partition, not
   * one per room. The report is the node's full set of rooms: rooms left out of it leave the
   * totals. A room whose partition could not be reported is missing from the answer (its
   * reactions should be reported again next time).
   */
  async reportStats(nodeId: string, reports: StatsReport[]): Promise<Map<string, RoomTotals>> {
    const byPartition = new Map<number, StatsReport[]>();
    for (const r of reports) {
      const p = this.statsPartition(r.roomId);
      const list = byPartition.get(p);
      if (list) list.push(r);
      else byPartition.set(p, [r]);
    }
    // A partition whose rooms are all gone gets one empty report: the node's entries leave it.
    let reported = this.#reported.get(nodeId);
    if (!reported) this.#reported.set(nodeId, (reported = new Set()));
    for (const p of reported) if (!byPartition.has(p)) byPartition.set(p, []);
    const out = new Map<string, RoomTotals>();
    const now = Date.now();
    await Promise.all([...byPartition].map(async ([p, rooms]) => {
      const part = this.#partitions[p];
      const args: string[] = [nodeId, String(now), String(PRESENCE_LIFETIME_MS), String(STATS_TTL_S), part.prefix];
      for (const r of rooms) {
        let deltas = '';
        for (const [kind, delta] of r.reactions) if (delta > 0) deltas += `${deltas ? ',' : ''}${kind}:${delta}`;
        args.push(`${r.roomId}|${r.viewers}|${deltas}`);
      }
      let reply: (number | string[])[];
      try {
        reply = await scripts.stats.run<(number | string[])[]>(this.#redis, [...part.keys, `${part.prefix}presence:${nodeId}`], args);
      } catch (error) {
        // Its rooms are missing from the answer; the partition is reported again next time.
        log.warn({ err: error, partition: p, rooms: rooms.length }, 'stats report failed');
        return;
      }
      if (rooms.length > 0) reported.add(p);
      else reported.delete(p);
      rooms.forEach((r, i) => out.set(r.roomId, { viewers: Number(reply[2 * i]), reactions: reactionTotals(reply[2 * i + 1] as string[]) }));
    }));
    return out;
  }

  /** A room's totals as last reported by the nodes (reads only). */
  async readStats(roomId: string): Promise<RoomTotals> {
    const part = this.#partitions[this.statsPartition(roomId)];
    const [[, viewers], [, flat]] = (await this.#redis
      .multi()
      .hget(part.keys[0], roomId)
      .hgetall(`${part.prefix}reactions:${roomId}`)
      .exec()) as [[null, string | null], [null, Record<string, string>]];
    const reactions = new Map<number, number>();
    for (const [kind, total] of Object.entries(flat ?? {})) reactions.set(Number(kind), Number(total));
    return { viewers: Number(viewers ?? 0), reactions };
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

/** Reaction totals from a flat HGETALL reply (kind, total, ...). */
function reactionTotals(flat: string[]): Map<number, number> {
  const reactions = new Map<number, number>();
  for (let i = 0; i < flat.length; i += 2) reactions.set(Number(flat[i]), Number(flat[i + 1]));
  return reactions;
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
