import { Redis } from 'ioredis';
import { encodeServerFrame } from '../protocol/index.js';
import { Policy } from '../common/auth/Policy.js';
import { TokenService, type Principal } from '../common/auth/TokenService.js';
import { CommerceService } from './commerce/CommerceService.js';
import { runCloseSteps } from '../common/closeSteps.js';
import { logger } from '../common/logger.js';
import type { Config } from '../common/config.js';
import type { Database } from './db/Database.js';
import { openDatabase } from './db/openDatabase.js';
import { HttpRouter } from '../common/http/HttpRouter.js';
import { registerRoomRoutes } from './http/RoomApi.js';
import { Gateway } from './realtime/Gateway.js';
import { RedisOrderNotifier } from './realtime/UserChannels.js';
import { SandboxPaymentProvider } from './settlement/SandboxPaymentProvider.js';
import { SettlementService } from './settlement/SettlementService.js';
import { attachSfu } from './attachSfu.js';
import { RemoteSfu } from '../sfu/RemoteSfu.js';
import { sfuConfigFromEnv } from '../sfu/SfuConfig.js';
import { SfuService } from '../sfu/SfuService.js';

const log = logger('GatewayNode');

export interface GatewayNodeOptions {
  /**
   * Run the commerce API (catalog, deals, checkout, dashboard) in this process.
   * Needs a database: PostgreSQL at config.databaseUrl, else embedded PGlite.
   */
  commerce?: boolean;
  /** Also run the settlement workers here (the all-in-one `flashcast start`). */
  settlement?: boolean;
  /**
   * Live video: 'in-process' runs mediasoup workers here (one per core); 'remote'
   * talks to `flashcast sfu` processes through Redis; false (default) serves no media.
   */
  sfu?: 'in-process' | 'remote' | false;
}

/**
 * A gateway process's parts wired together: Redis connections (commands and
 * pub/sub), tokens, the HTTP router with its routes, the Gateway, and optionally
 * the commerce service and settlement workers.
 */
export class GatewayNode {
  readonly gateway: Gateway;
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly router: HttpRouter;
  readonly tokens: TokenService;
  readonly commerce: CommerceService | null;
  readonly settlement: SettlementService | null;
  readonly sfu: SfuService | RemoteSfu | null;
  readonly #db: Database | null;
  #closePromise: Promise<void> | null = null;

  private constructor(parts: {
    gateway: Gateway;
    redis: Redis;
    subscriber: Redis;
    router: HttpRouter;
    tokens: TokenService;
    commerce: CommerceService | null;
    settlement: SettlementService | null;
    sfu: SfuService | RemoteSfu | null;
    db: Database | null;
  }) {
    this.gateway = parts.gateway;
    this.redis = parts.redis;
    this.subscriber = parts.subscriber;
    this.router = parts.router;
    this.tokens = parts.tokens;
    this.commerce = parts.commerce;
    this.settlement = parts.settlement;
    this.sfu = parts.sfu;
    this.#db = parts.db;
  }

  /** Connects to Redis (and the database when commerce runs here) and starts listening. */
  static async create(config: Config, redisUrl: string, options: GatewayNodeOptions = {}): Promise<GatewayNode> {
    const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2, connectionName: `fc-gw-${config.nodeId}` });
    const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: `fc-gw-sub-${config.nodeId}` });
    for (const conn of [redis, subscriber]) conn.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    let gateway: Gateway | null = null;
    let db: Database | null = null;
    let commerce: CommerceService | null = null;
    let settlement: SettlementService | null = null;
    let sfu: SfuService | RemoteSfu | null = null;
    try {
      await Promise.all([waitReady(redis), waitReady(subscriber)]);
      const tokens = new TokenService(config.jwtSecret);
      const router = new HttpRouter();
      gateway = await Gateway.create({ config, redis, subscriber, tokens, router });
      const g = gateway;
      if (options.commerce) {
        db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, schema: config.databaseSchema, max: 20 });
        const connection = { url: redisUrl, maxRetriesPerRequest: null };
        commerce = await CommerceService.create({
          redis,
          connection,
          keys: g.store.keys,
          db,
          broadcaster: g.publisher,
          bans: (roomId, userId) => g.store.isBanned(roomId, userId),
          viewerCount: (roomId) => g.hub.viewers(roomId),
        });
        wireCommerce(g, commerce);
        commerce.registerRoutes(router);
        if (options.settlement) {
          settlement = await SettlementService.create({
            redis,
            connection,
            keys: g.store.keys,
            db,
            provider: new SandboxPaymentProvider(db, SandboxPaymentProvider.optionsFromEnv(process.env)),
            broadcaster: g.publisher,
            notifier: new RedisOrderNotifier(redis, g.store.keys),
            sweepHolds: false,
          });
        }
      }
      if (options.sfu === 'in-process') sfu = await SfuService.create(sfuConfigFromEnv(process.env));
      else if (options.sfu === 'remote') sfu = await RemoteSfu.create({ redisUrl, prefix: config.redisPrefix });
      if (sfu) attachSfu(g, router, sfu);
      registerRoomRoutes(router, g.control, g.store);
      return new GatewayNode({ gateway: g, redis, subscriber, router, tokens, commerce, settlement, sfu, db });
    } catch (error) {
      sfu?.close();
      await settlement?.close().catch(() => undefined);
      await commerce?.close().catch(() => undefined);
      await gateway?.close().catch(() => undefined);
      await db?.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      throw error;
    }
  }

  /**
   * Drains clients, finishes in-flight settlement jobs, then closes the gateway,
   * the database and the Redis connections. Every step runs; idempotent.
   */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      await runCloseSteps(log, [
        ['gateway drain', () => this.gateway.drain()],
        ['settlement', () => this.settlement?.close()],
        ['commerce', () => this.commerce?.close()],
        ['gateway', () => this.gateway.close()],
        ['sfu', () => this.sfu?.close()],
        ['database', () => this.#db?.close()],
        ['redis', () => Promise.allSettled([this.redis.quit(), this.subscriber.quit()])],
      ]);
    })();
    return this.#closePromise;
  }
}

/**
 * Pins build their card from the catalog; socket `buy` frames go to checkout (the gateway has
 * already asked the policy for checkout.buy: joined, not banned); the room's host and ops get
 * its live dashboard.
 */
function wireCommerce(gateway: Gateway, commerce: CommerceService): void {
  gateway.control.setCardSource({ card: (roomId, productId, locale) => commerce.pinCard(roomId, productId, locale) });
  gateway.handle('buy', async (principal, frame) => {
    const buy = frame.buy!;
    const buyResult = await commerce.checkout.reserve(principal, {
      roomId: buy.room ?? '',
      productId: buy.productId ?? '',
      quantity: buy.quantity ?? 0,
      idempotencyKey: buy.idempotencyKey ?? '',
      dealId: buy.dealId || undefined,
      displayCurrency: buy.displayCurrency || undefined,
    });
    return { buyResult };
  });
  const seesDashboard = (roomId: string, principal: Principal) => Policy.decide(principal, 'room.dashboard', { roomId }).allow;
  gateway.on('memberjoined', (roomId, principal) => {
    if (seesDashboard(roomId, principal)) commerce.dashboard.watch(roomId);
  });
  gateway.on('memberleft', (roomId, principal) => {
    if (seesDashboard(roomId, principal)) commerce.dashboard.unwatch(roomId);
  });
  commerce.dashboard.on('stats', (roomId, stats) => {
    gateway.publishToHosts(roomId, encodeServerFrame({ event: { room: roomId, ts: Date.now(), dashboard: stats } }));
  });
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
