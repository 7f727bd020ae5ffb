import { Redis } from 'ioredis';
import { TokenService } from './auth/TokenService.js';
import { logger } from './common/logger.js';
import type { Config } from './config.js';
import { HttpRouter } from './http/HttpRouter.js';
import { registerRoomRoutes } from './http/RoomApi.js';
import { Gateway } from './realtime/Gateway.js';

const log = logger('GatewayNode');

/**
 * A gateway process's parts wired together: Redis connections (commands and
 * pub/sub), tokens, the HTTP router with its routes, and the Gateway.
 */
export class GatewayNode {
  readonly gateway: Gateway;
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly router: HttpRouter;
  readonly tokens: TokenService;
  #closePromise: Promise<void> | null = null;

  private constructor(gateway: Gateway, redis: Redis, subscriber: Redis, router: HttpRouter, tokens: TokenService) {
    this.gateway = gateway;
    this.redis = redis;
    this.subscriber = subscriber;
    this.router = router;
    this.tokens = tokens;
  }

  /** Connects to Redis and starts the gateway on config.port. */
  static async create(config: Config, redisUrl: string): Promise<GatewayNode> {
    const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2, connectionName: `fc-gw-${config.nodeId}` });
    const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: `fc-gw-sub-${config.nodeId}` });
    for (const conn of [redis, subscriber]) conn.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    try {
      await Promise.all([waitReady(redis), waitReady(subscriber)]);
      const tokens = new TokenService(config.jwtSecret);
      const router = new HttpRouter();
      const gateway = await Gateway.create({ config, redis, subscriber, tokens, router });
      registerRoomRoutes(router, gateway.control, gateway.store);
      return new GatewayNode(gateway, redis, subscriber, router, tokens);
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      throw error;
    }
  }

  /** Drains clients, then closes the gateway and the Redis connections. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      await this.gateway.close().catch((err) => log.error({ err }, 'gateway close failed'));
      await Promise.allSettled([this.redis.quit(), this.subscriber.quit()]);
    })();
    return this.#closePromise;
  }
}

/** Resolves when the connection is ready; rejects after 10 s. */
export function waitReady(conn: Redis): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis not reachable within 10 s')), 10_000);
    conn.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
