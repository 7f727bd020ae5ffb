import { Redis } from 'ioredis';
import uWS from 'uWebSockets.js';
import { encodeServerFrame } from '../protocol/index.js';
import { Policy } from '../common/auth/Policy.js';
import { TokenService, type Principal } from '../common/auth/TokenService.js';
import { CommerceApi } from './commerce/CommerceApi.js';
import { CommerceService } from './commerce/CommerceService.js';
import { runCloseSteps } from '../common/closeSteps.js';
import { logger } from '../common/logger.js';
import type { Config } from '../common/config.js';
import { RedisKeys } from '../common/keys.js';
import type { Database } from './db/Database.js';
import { openDatabase } from './db/openDatabase.js';
import { ApiDocs } from '../common/http/ApiDocs.js';
import { HttpRouter } from '../common/http/HttpRouter.js';
import { PgIdempotencyStore } from './http/PgIdempotencyStore.js';
import { registerRoomRoutes } from './http/RoomApi.js';
import { GatewayMetrics } from './metrics/GatewayMetrics.js';
import { ChatIngress } from './realtime/ChatIngress.js';
import { FloodGuard } from './realtime/FloodGuard.js';
import { FrameDispatcher } from './realtime/FrameDispatcher.js';
import { HttpAdapter } from './realtime/HttpAdapter.js';
import { RedisOrderNotifier } from './realtime/RedisOrderNotifier.js';
import { RoomControl } from './realtime/RoomControl.js';
import { RoomHub } from './realtime/RoomHub.js';
import { RoomMembership } from './realtime/RoomMembership.js';
import { RoomPublisher } from './realtime/RoomPublisher.js';
import { RoomStore } from './realtime/RoomStore.js';
import { registerRoomFrames } from './realtime/roomFrames.js';
import { SlowConsumerPolicy } from './realtime/SlowConsumerPolicy.js';
import { SocketSender } from './realtime/SocketSender.js';
import { SocketTransport } from './realtime/SocketTransport.js';
import { UserChannels } from './realtime/UserChannels.js';
import { SandboxPaymentProvider } from './settlement/SandboxPaymentProvider.js';
import { SandboxHostedPage } from './settlement/SandboxHostedPage.js';
import { SettlementApi } from './settlement/SettlementApi.js';
import { SettlementService } from './settlement/SettlementService.js';
import { WebhookApi } from './webhooks/WebhookApi.js';
import { attachSfu } from './attachSfu.js';
import { RemoteSfu } from '../sfu/RemoteSfu.js';
import { sfuConfigFrom } from '../sfu/SfuConfig.js';
import type { MediaBackend } from '../sfu/SfuService.js';
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

/** The realtime parts of a node, built together (see `buildRealtime`). */
interface Realtime {
  metrics: GatewayMetrics;
  store: RoomStore;
  publisher: RoomPublisher;
  control: RoomControl;
  hub: RoomHub;
  membership: RoomMembership;
  frames: FrameDispatcher;
  slowConsumers: SlowConsumerPolicy;
  transport: SocketTransport;
  http: HttpAdapter;
}

/**
 * A gateway process, and the one place that builds it: Redis connections (commands and
 * pub/sub), tokens, the HTTP router with its routes (its OpenAPI document at /openapi.json and
 * /docs, its Idempotency-Key store in PostgreSQL when commerce runs), the realtime parts (room store,
 * publisher, control, hub, membership, chat ingress, flood guard, slow-consumer policy,
 * frame dispatcher, socket transport, HTTP adapter), and optionally the commerce service,
 * the settlement workers and the media plane. Each part gets its collaborators through
 * its options.
 */
export class GatewayNode {
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly router: HttpRouter;
  readonly tokens: TokenService;
  /** Publishes critical events to this node's rooms (what the HTTP API, commerce and settlement use). */
  readonly publisher: RoomPublisher;
  readonly commerce: CommerceService | null;
  readonly settlement: SettlementService | null;
  readonly sfu: SfuService | RemoteSfu | null;
  readonly #config: Config;
  readonly #realtime: Realtime;
  readonly #db: Database | null;
  readonly #idempotency: PgIdempotencyStore | null;
  readonly #provider: SandboxPaymentProvider | null;
  #drainPromise: Promise<void> | null = null;
  #closePromise: Promise<void> | null = null;

  private constructor(parts: {
    config: Config;
    realtime: Realtime;
    redis: Redis;
    subscriber: Redis;
    router: HttpRouter;
    tokens: TokenService;
    commerce: CommerceService | null;
    settlement: SettlementService | null;
    sfu: SfuService | RemoteSfu | null;
    db: Database | null;
    idempotency: PgIdempotencyStore | null;
    provider: SandboxPaymentProvider | null;
  }) {
    this.#config = parts.config;
    this.#realtime = parts.realtime;
    this.publisher = parts.realtime.publisher;
    this.redis = parts.redis;
    this.subscriber = parts.subscriber;
    this.router = parts.router;
    this.tokens = parts.tokens;
    this.commerce = parts.commerce;
    this.settlement = parts.settlement;
    this.sfu = parts.sfu;
    this.#db = parts.db;
    this.#idempotency = parts.idempotency;
    this.#provider = parts.provider;
  }

  /** Connects to Redis (and the database when commerce runs here) and starts listening. */
  static async create(config: Config, redisUrl: string, options: GatewayNodeOptions = {}): Promise<GatewayNode> {
    const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2, connectionName: `fc-gw-${config.nodeId}` });
    const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: `fc-gw-sub-${config.nodeId}` });
    for (const conn of [redis, subscriber]) conn.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    let realtime: Realtime | null = null;
    let db: Database | null = null;
    let commerce: CommerceService | null = null;
    let settlement: SettlementService | null = null;
    let sfu: SfuService | RemoteSfu | null = null;
    let idempotency: PgIdempotencyStore | null = null;
    let provider: SandboxPaymentProvider | null = null;
    try {
      await Promise.all([waitReady(redis), waitReady(subscriber)]);
      const tokens = new TokenService(config.jwtSecret);
      const router = new HttpRouter();
      new ApiDocs().register(router);
      const keys = new RedisKeys(config.redisPrefix);
      realtime = buildRealtime(config, { redis, subscriber, tokens, router, keys });
      await realtime.transport.listen();
      const rt = realtime;
      if (options.commerce) {
        db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, schema: config.databaseSchema, max: 20 });
        idempotency = new PgIdempotencyStore(db);
        router.setIdempotencyStore(idempotency);
        const connection = { url: redisUrl, maxRetriesPerRequest: null };
        // The payment provider: first confirmations create payments here, its notifications come
        // here, and its hosted page is served here (docs/payments.md).
        const sandbox = new SandboxPaymentProvider(db, { ...config.sandbox, secret: config.payments.sandboxSecret, pageUrl: config.publicUrl ?? '' });
        provider = sandbox;
        commerce = await CommerceService.create({
          redis,
          connection,
          keys,
          db,
          broadcaster: rt.publisher,
          bans: (roomId, userId) => rt.store.isBanned(roomId, userId),
          viewerCount: (roomId) => rt.hub.viewers(roomId),
          payments: { providers: [sandbox], options: config.payments },
        });
        wireCommerce(rt, commerce);
        new CommerceApi(commerce).register(router);
        new SandboxHostedPage(sandbox, SandboxHostedPage.routerSender(router)).register(router);
        new SettlementApi({ connection, keys }).register(router);
        const shops = commerce.catalog;
        new WebhookApi({ db, shopOwner: async (id) => (await shops.getShop(id)).ownerUserId, allowPrivate: config.webhooks.allowPrivate }).register(router);
        if (options.settlement) {
          settlement = await SettlementService.create({
            redis,
            connection,
            keys,
            db,
            provider: sandbox,
            broadcaster: rt.publisher,
            notifier: new RedisOrderNotifier(redis, keys),
            sweepHolds: false,
            webhooks: config.webhooks,
          });
        }
      }
      if (options.sfu === 'in-process') sfu = await SfuService.create(sfuConfigFrom(config));
      else if (options.sfu === 'remote') sfu = await RemoteSfu.create({ redisUrl, prefix: config.redisPrefix });
      if (sfu) attachSfu({ frames: rt.frames, sessions: rt.transport, registry: rt.metrics.registry, router }, sfu);
      registerRoomRoutes(router, rt.control, rt.store);
      return new GatewayNode({ config, realtime: rt, redis, subscriber, router, tokens, commerce, settlement, sfu, db, idempotency, provider });
    } catch (error) {
      sfu?.close();
      await idempotency?.close();
      await settlement?.close().catch(() => undefined);
      await commerce?.close().catch(() => undefined);
      await provider?.close().catch(() => undefined);
      if (realtime) await closeRealtime(realtime);
      await db?.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      throw error;
    }
  }

  /** The port the gateway listens on (HTTP and WebSocket). */
  get port(): number {
    return this.#realtime.transport.port;
  }

  /** This node's name (presence, logs, `connected.nodeId`). */
  get nodeId(): string {
    return this.#config.nodeId;
  }

  /**
   * Wires a media backend into this node (what `sfu` in the options does at create):
   * `media` frames, media events to sessions, WHIP and SFU metrics. Returns the detach.
   */
  attachSfu(sfu: MediaBackend): () => void {
    const rt = this.#realtime;
    return attachSfu({ frames: rt.frames, sessions: rt.transport, registry: rt.metrics.registry, router: this.router }, sfu);
  }

  /**
   * Graceful drain: stop accepting, tell every client to reconnect elsewhere (spread over
   * FLASHCAST_DRAIN_MS), then send pending room events. Idempotent.
   */
  drain(): Promise<void> {
    this.#drainPromise ??= (async () => {
      await this.#realtime.transport.drain();
      await this.#realtime.publisher.flush();
    })();
    return this.#drainPromise;
  }

  /**
   * Drains clients, finishes in-flight settlement jobs, then closes the gateway,
   * the database and the Redis connections. Every step runs; idempotent.
   */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      await runCloseSteps(log, [
        ['gateway drain', () => this.drain()],
        ['settlement', () => this.settlement?.close()],
        ['commerce', () => this.commerce?.close()],
        ['payment provider', () => this.#provider?.close()],
        ['realtime', () => closeRealtime(this.#realtime)],
        ['sfu', () => this.sfu?.close()],
        ['idempotency keys', () => this.#idempotency?.close()],
        ['database', () => this.#db?.close()],
        ['redis', () => Promise.allSettled([this.redis.quit(), this.subscriber.quit()])],
      ]);
    })();
    return this.#closePromise;
  }
}

/**
 * Builds the realtime parts bottom-up, each with its collaborators and its limits from the
 * config; registers the `/ws` handlers, the built-in frames and the HTTP side on one uWS app.
 */
function buildRealtime(
  config: Config,
  io: { redis: Redis; subscriber: Redis; tokens: TokenService; router: HttpRouter; keys: RedisKeys },
): Realtime {
  const { redis, subscriber, tokens, router, keys } = io;
  const app = uWS.App();
  const metrics = new GatewayMetrics();
  const store = new RoomStore(redis, { prefix: config.redisPrefix, historySize: config.historySize, historyTtlSeconds: config.historyTtlSeconds });
  const publisher = new RoomPublisher(store);
  const control = new RoomControl(store, publisher);
  const hub = new RoomHub({
    app,
    subscriber,
    store,
    keys,
    metrics,
    nodeId: config.nodeId,
    chatPerViewerPerSecond: config.chatPerViewerPerSecond,
    liteChatPerSecond: config.liteChatPerSecond,
    chatIngressPerSecond: config.roomChatIngressPerSecond,
    batchWindowMs: config.batchWindowMs,
  });
  const users = new UserChannels(app, subscriber, keys);
  const sender = new SocketSender(metrics);
  const guard = new FloodGuard({
    frameRate: config.frameRate,
    chatRate: config.chatRate,
    staffChatRate: config.staffChatRate,
    reactRate: config.reactRate,
    joinRate: config.joinRate,
    badFramesBeforeClose: config.badFramesBeforeClose,
    floodViolations: config.floodViolations,
    floodWindowMs: config.floodWindowMs,
    sender,
    metrics,
  });
  const membership = new RoomMembership({ hub, store, guard, sender, maxRoomsPerConnection: config.maxRoomsPerConnection });
  const chat = new ChatIngress({ membership, store, guard, metrics });
  const slowConsumers = new SlowConsumerPolicy({
    laggingBytes: config.laggingBytes,
    maxBackpressure: config.maxBackpressure,
    sweepMs: config.sweepMs,
    membership,
    sender,
    metrics,
  });
  const frames = new FrameDispatcher({ hub, users, guard, sender, metrics });
  registerRoomFrames(frames, { membership, chat, control });
  const transport = new SocketTransport({
    app,
    host: config.host,
    port: config.port,
    nodeId: config.nodeId,
    maxFrameBytes: config.maxFrameBytes,
    idleTimeoutSeconds: config.idleTimeoutSeconds,
    maxBackpressure: config.maxBackpressure,
    maxConnectionsPerUser: config.maxConnectionsPerUser,
    drainMs: config.drainMs,
    batchWindowMs: config.batchWindowMs,
    tokens,
    frames,
    membership,
    slowConsumers,
    users,
    guard,
    sender,
    metrics,
  });
  const http = new HttpAdapter({
    app,
    router,
    tokens,
    metrics,
    nodeId: config.nodeId,
    maxBodyBytes: config.maxBodyBytes,
    ready: () => transport.accepting && redis.status === 'ready',
  });
  return { metrics, store, publisher, control, hub, membership, frames, slowConsumers, transport, http };
}

/** Closes the realtime parts: sockets, the sweep, pending publications, room subscriptions. */
async function closeRealtime(rt: Realtime): Promise<void> {
  await runCloseSteps(log, [
    ['sockets', () => rt.transport.close()],
    ['slow consumers', () => rt.slowConsumers.close()],
    ['publisher', () => rt.publisher.close()],
    ['hub', () => rt.hub.close()],
  ]);
}

/**
 * Pins build their card from the catalog; socket `buy` frames go to checkout (the gateway has
 * already asked the policy for checkout.buy: joined, not banned); the room's host and ops get
 * its live dashboard.
 */
function wireCommerce(rt: Realtime, commerce: CommerceService): void {
  rt.control.setCardSource({ card: (roomId, productId, locale) => commerce.pinCard(roomId, productId, locale) });
  // A buyer hears about its orders on its private channel: the session follows it before
  // the order exists, so no update can be missed.
  rt.frames.register(
    'buy',
    async (frame, { principal }) => {
      const buy = frame.buy!;
      const buyResult = await commerce.checkout.reserve(principal, {
        roomId: buy.room ?? '',
        productId: buy.productId ?? '',
        quantity: buy.quantity ?? 0,
        idempotencyKey: buy.idempotencyKey ?? '',
        dealId: buy.dealId || undefined,
        displayCurrency: buy.displayCurrency || undefined,
        addressId: buy.addressId || undefined,
      });
      return { buyResult };
    },
    { followUser: true },
  );
  const seesDashboard = (roomId: string, principal: Principal) => Policy.decide(principal, 'room.dashboard', { roomId }).allow;
  rt.membership.on('memberjoined', (roomId, principal) => {
    if (seesDashboard(roomId, principal)) commerce.dashboard.watch(roomId);
  });
  rt.membership.on('memberleft', (roomId, principal) => {
    if (seesDashboard(roomId, principal)) commerce.dashboard.unwatch(roomId);
  });
  commerce.dashboard.on('stats', (roomId, stats) => {
    rt.hub.publishToHosts(roomId, encodeServerFrame({ event: { room: roomId, ts: Date.now(), dashboard: stats } }));
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
