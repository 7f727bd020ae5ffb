/**
 * Measures what one room message costs Redis: the gateway's own scripts (RoomStore's
 * critical publish and chat admission) run at a room's pace against the server that owns the
 * room's slot, with 1 and then K sharded subscribers on the room's channel (as K gateway
 * nodes holding the room). Redis CPU comes from its `INFO cpu`, less its CPU at rest.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { encodeServerFrame } from '../../protocol/index.js';
import { RedisKeys } from '../../common/keys.js';
import { MessageClass, RoomStore } from '../../server/realtime/RoomStore.js';
import { RoomPublisher } from '../../server/realtime/RoomPublisher.js';
import { announcementText } from './EventScanner.js';

/** What a room message costs Redis, µs of its CPU. */
export interface RedisUnitCosts {
  /** Redis CPU per second at rest (its timers), measured before the messages. */
  atRestUsPerSecond: number;
  /** Per critical message, its script alone (one subscriber's delivery taken out). */
  usPerCritical: number;
  /** Per chat line, its script alone. */
  usPerChat: number;
  /** Per message per subscribed node. */
  usPerMessageNode: number;
  /** The four readings the figures come from: µs per message at 1 and K subscribers. */
  readings: { critical1: number; criticalK: number; chat1: number; chatK: number; subscribers: number; messages: number; rate: number };
}

export interface RedisCalibrationOptions {
  /** A server that owns the calibration room's slot (the one server, or that slot's master). */
  url: string;
  /** Key prefix (unique per run); the keys are deleted afterwards. */
  prefix: string;
  /** Messages per reading. */
  messages: number;
  /**
   * Messages per second of a reading: the room's rate in the run it predicts. Paced, because a
   * Redis woken for each message costs more per message than one kept busy back to back.
   */
  rate: number;
  /** Subscribers of the second reading (K). */
  subscribers: number;
  textBytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Redis's own CPU time, µs (INFO cpu: getrusage of the server). */
async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  return (Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1])) * 1e6;
}

/** The Redis unit costs of the realtime path, measured on a live server. */
export class RedisCalibration {
  /** The room whose slot the calibration uses (so a cluster caller can find its master). */
  static channel(prefix: string): string {
    return new RedisKeys(prefix).roomChannel(RedisCalibration.room);
  }

  static readonly room = 'calibration';

  /** Runs the four readings; closes everything it opened. */
  static async measure(options: RedisCalibrationOptions): Promise<RedisUnitCosts> {
    const redis = new Redis(options.url, { maxRetriesPerRequest: 1 });
    const subscribers: Redis[] = [];
    try {
      const store = new RoomStore(redis, { prefix: options.prefix, historySize: 100, historyTtlSeconds: 120 });
      const publisher = new RoomPublisher(store);
      const channel = RedisCalibration.channel(options.prefix);
      const room = RedisCalibration.room;
      let seq = 0;
      const critical = async (): Promise<void> => {
        await publisher.publish(room, { announcement: { text: announcementText(seq++, options.textBytes) } });
      };
      const chat = async (): Promise<void> => {
        const id = `c${seq++}`;
        const frame = encodeServerFrame({ event: { room, ts: Date.now(), chat: { id, userId: 'u1', name: 'u1', text: announcementText(seq, options.textBytes), clientMsgId: id } } });
        const payload = Buffer.allocUnsafe(frame.length + 1);
        payload[0] = MessageClass.Chat;
        payload.set(frame, 1);
        await store.publishChat(room, payload, { userId: 'u1', clientMsgId: id, messageId: id, slowModeMs: 0 });
      };

      // At rest: the server's own timers, charged to every reading's duration below.
      const rest0 = await redisCpuUs(redis);
      const restStart = performance.now();
      await sleep(2000);
      const atRestUsPerSecond = ((await redisCpuUs(redis)) - rest0) / ((performance.now() - restStart) / 1000);

      const reading = async (send: () => Promise<void>): Promise<number> => {
        for (let i = 0; i < 20; i++) await send(); // warm-up: scripts loaded, buffers sized
        const cpu0 = await redisCpuUs(redis);
        const t0 = performance.now();
        // At the room's pace, as its messages arrive: each pays its own wake-up and writes.
        for (let i = 0; i < options.messages; i++) {
          await send();
          const wait = t0 + ((i + 1) * 1000) / options.rate - performance.now();
          if (wait > 0) await sleep(wait);
        }
        const seconds = (performance.now() - t0) / 1000;
        const cpu = (await redisCpuUs(redis)) - cpu0 - atRestUsPerSecond * seconds;
        return cpu / options.messages;
      };
      const subscribe = async (count: number): Promise<void> => {
        while (subscribers.length < count) {
          const sub = new Redis(options.url, { maxRetriesPerRequest: 1 });
          subscribers.push(sub);
          sub.on('smessageBuffer', () => undefined);
          await sub.ssubscribe(channel);
        }
      };

      await subscribe(1);
      const critical1 = await reading(critical);
      const chat1 = await reading(chat);
      await subscribe(options.subscribers);
      const criticalK = await reading(critical);
      const chatK = await reading(chat);
      await publisher.close();
      const k = options.subscribers;
      const usPerMessageNode = Math.max(0, (criticalK - critical1 + chatK - chat1) / 2 / (k - 1));
      return {
        atRestUsPerSecond,
        usPerCritical: Math.max(0, critical1 - usPerMessageNode),
        usPerChat: Math.max(0, chat1 - usPerMessageNode),
        usPerMessageNode,
        readings: { critical1, criticalK, chat1, chatK, subscribers: k, messages: options.messages, rate: options.rate },
      };
    } finally {
      for (const sub of subscribers) sub.disconnect();
      await deleteKeys(redis, `${options.prefix}:*`).catch(() => undefined);
      redis.disconnect();
    }
  }
}

/** Deletes a prefix's keys on this server (SCAN, bounded). */
async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
}

/** A random key prefix for one run. */
export function runPrefix(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}:fc`;
}
