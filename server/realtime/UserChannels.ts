/**
 * Private channels of users: delivers a user's private messages (order updates) to that
 * user's following sockets on this node, subscribing the user's Redis channel while any follows.
 */
import type { RedisClient } from '../../common/RedisConnections.js';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { logger } from '../../common/logger.js';
import type { RedisKeys } from '../../common/keys.js';
import type { SocketData } from './SocketData.js';

const log = logger('UserChannels');

/** The sharded channel of a user's private messages (same slot as the user's keys). */
export function userChannel(keys: RedisKeys, userId: string): string {
  return `${keys.prefix}:{u:${userId}}:ch`;
}

/**
 * Private messages to one user's sockets, wherever they are connected: a node
 * subscribes to a user's channel only while that user has a socket there that
 * follows it (a buyer with an order in flight), and publishes each message to
 * the uWS topic `u/<user>` once.
 */
export class UserChannels {
  readonly #app: TemplatedApp;
  readonly #subscriber: RedisClient;
  readonly #keys: RedisKeys;
  readonly #followers = new Map<string, Set<WebSocket<SocketData>>>();
  /** Subscribed user channel -> its uWS topic (every sharded message is looked up here). */
  readonly #topics = new Map<string, string>();

  constructor(app: TemplatedApp, subscriber: RedisClient, keys: RedisKeys) {
    this.#app = app;
    this.#subscriber = subscriber;
    this.#keys = keys;
    subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      const topic = this.#topics.get(channel.toString());
      if (topic) this.#app.publish(topic, message, true);
    });
  }

  /** Starts delivering the socket's user's private messages to it. */
  async follow(ws: WebSocket<SocketData>): Promise<void> {
    const data = ws.getUserData();
    const userId = data.principal?.userId;
    if (!userId || data.closed) return;
    let set = this.#followers.get(userId);
    if (set?.has(ws)) return;
    ws.subscribe(`u/${userId}`);
    if (!set) {
      set = new Set();
      this.#followers.set(userId, set);
      const channel = userChannel(this.#keys, userId);
      this.#topics.set(channel, `u/${userId}`);
      set.add(ws);
      await this.#subscriber.ssubscribe(channel).catch((err) => log.warn({ err, userId }, 'ssubscribe failed'));
      return;
    }
    set.add(ws);
  }

  /** Called when a socket closes. */
  drop(ws: WebSocket<SocketData>): void {
    const userId = ws.getUserData().principal?.userId;
    const set = userId ? this.#followers.get(userId) : undefined;
    if (!set || !set.delete(ws) || set.size > 0) return;
    this.#followers.delete(userId!);
    const channel = userChannel(this.#keys, userId!);
    this.#topics.delete(channel);
    this.#subscriber.sunsubscribe(channel).catch(() => undefined);
  }
}
