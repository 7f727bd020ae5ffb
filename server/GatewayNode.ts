import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import uWS from 'uWebSockets.js';
import { encodeServerFrame } from '../protocol/index.js';
import { Policy } from '../common/auth/Policy.js';
import { TokenService, type Principal } from '../common/auth/TokenService.js';
import { CommerceApi } from './commerce/CommerceApi.js';
import { CommerceService } from './commerce/CommerceService.js';
import { runCloseSteps } from '../common/closeSteps.js';
import { FlashcastError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import type { Config } from '../common/config.js';
import { RedisKeys } from '../common/keys.js';
import { RedisConnections, type QueueConnection, type RedisClient } from '../common/RedisConnections.js';
import type { Database } from './db/Database.js';
import { openDatabase } from './db/openDatabase.js';
import { ApiDocs } from '../common/http/ApiDocs.js';
import { HttpRouter } from '../common/http/HttpRouter.js';
import { CorsPolicy } from './http/CorsPolicy.js';
import { PgIdempotencyStore } from './http/PgIdempotencyStore.js';
import { OpsApi, type OpsApiOptions } from './http/OpsApi.js';
import { StaticSite } from './http/StaticSite.js';
import { registerRoomRoutes } from './http/RoomApi.js';
import { WebApi } from './http/WebApi.js';
import { ClusterStatus } from './metrics/ClusterStatus.js';
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
import { ClientAddress } from '../common/http/ClientAddress.js';

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
  /**
   * The folder of the built web pages served at `/`, `/watch/`, `/studio/`, `/ops/`, `/embed/`,
   * `/sdk/` (default: dist/public, where `npm run build` puts them); false serves none.
   */
  pages?: string | false;
}

/** The media backend a node serves with now (null: no video), shared with the routes that report it. */
interface MediaSlot {
  backend: MediaBackend | null;
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
 * /docs, its Idempotency-Key store in PostgreSQL when commerce runs; the web pages' config and
 * token routes; the ops console's reads, fed by this node's status report), the realtime parts (room store,
 * publisher, control, hub, membership, chat ingress, flood guard, slow-consumer policy,
 * frame dispatcher, socket transport, HTTP adapter with the CORS policy and the built web
 * pages; TLS when configured), and optionally the commerce service,
 * the settlement workers and the media plane. Each part gets its collaborators through
 * its options.
 */
export class GatewayNode {
  readonly redis: RedisClient;
  readonly subscriber: RedisClient;
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
  /** The media plane serving this node's sessions now (set at create or by attachSfu). */
  readonly #media: MediaSlot;
  /** This node's status report for the ops console, and the cluster's. */
  readonly #status: ClusterStatus;
  readonly #site: StaticSite | null;
  readonly #queue: QueueConnection;
  #drainPromise: Promise<void> | null = null;
  #closePromise: Promise<void> | null = null;

  private constructor(parts: {
    config: Config;
    realtime: Realtime;
    redis: RedisClient;
    subscriber: RedisClient;
    queue: QueueConnection;
    router: HttpRouter;
    tokens: TokenService;
    commerce: CommerceService | null;
    settlement: SettlementService | null;
    sfu: SfuService | RemoteSfu | null;
    db: Database | null;
    idempotency: PgIdempotencyStore | null;
    provider: SandboxPaymentProvider | null;
    media: MediaSlot;
    status: ClusterStatus;
    site: StaticSite | null;
  }) {
    this.#config = parts.config;
    this.#realtime = parts.realtime;
    this.publisher = parts.realtime.publisher;
    this.redis = parts.redis;
    this.subscriber = parts.subscriber;
    this.#queue = parts.queue;
    this.router = parts.router;
    this.tokens = parts.tokens;
    this.commerce = parts.commerce;
    this.settlement = parts.settlement;
    this.sfu = parts.sfu;
    this.#db = parts.db;
    this.#idempotency = parts.idempotency;
    this.#provider = parts.provider;
    this.#media = parts.media;
    this.#status = parts.status;
    this.#site = parts.site;
  }

  /**
   * Connects to Redis (one server or a cluster: `redisUrl`, see common/RedisConnections.ts; and
   * the database when commerce runs here) and starts listening.
   */
  static async create(config: Config, redisUrl: string, options: GatewayNodeOptions = {}): Promise<GatewayNode> {
    const redis = RedisConnections.command(redisUrl, `fc-gw-${config.nodeId}`);
    const subscriber = RedisConnections.subscriber(redisUrl, `fc-gw-sub-${config.nodeId}`);
    const queue = RedisConnections.queue(redisUrl, `fc-gw-bull-${config.nodeId}`);
    for (const conn of [redis, subscriber]) conn.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    let realtime: Realtime | null = null;
    let db: Database | null = null;
    let commerce: CommerceService | null = null;
    let settlement: SettlementService | null = null;
    let sfu: SfuService | RemoteSfu | null = null;
    let idempotency: PgIdempotencyStore | null = null;
    let provider: SandboxPaymentProvider | null = null;
    const media: MediaSlot = { backend: null };
    let status: ClusterStatus | null = null;
    let site: StaticSite | null = null;
    try {
      await Promise.all([RedisConnections.waitReady(redis), RedisConnections.waitReady(subscriber)]);
      const tokens = new TokenService(config.jwtSecret);
      const router = new HttpRouter();
      new ApiDocs().register(router);
      const keys = new RedisKeys(config.redisPrefix);
      new WebApi({ tokens, dev: config.usingDevSecret, web: config.web, publicUrl: config.publicUrl, video: () => media.backend !== null }).register(router);
      site = options.pages === false ? null : await StaticSite.create({ root: options.pages });
      realtime = buildRealtime(config, { redis, subscriber, tokens, router, keys, site });
      await realtime.transport.listen();
      const rt = realtime;
      status = new ClusterStatus({
        redis,
        keys,
        nodeId: config.nodeId,
        metrics: rt.metrics,
        rooms: () => rt.hub.served(),
        publishing: async (roomIds) => (media.backend ? media.backend.publishing(roomIds) : new Set<string>()),
      });
      const clusterStatus = status;
      const ops: OpsApiOptions = { nodes: () => clusterStatus.nodes() };
      if (options.commerce) {
        db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, schema: config.databaseSchema, max: 20 });
        idempotency = new PgIdempotencyStore(db);
        router.setIdempotencyStore(idempotency);
        const connection = queue.connection;
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
        const settlementApi = new SettlementApi({ connection, keys });
        settlementApi.register(router);
        const shops = commerce.catalog;
        const webhookApi = new WebhookApi({ db, shopOwner: async (id) => (await shops.getShop(id)).ownerUserId, allowPrivate: config.webhooks.allowPrivate });
        webhookApi.register(router);
        const deals = commerce.deals;
        ops.activeDeals = (roomIds) => deals.activeInRooms(roomIds);
        ops.failedJobs = () => settlementApi.failedCounts();
        ops.failedDeliveries = () => webhookApi.failedDeliveries();
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
      if (sfu) {
        attachSfu({ frames: rt.frames, sessions: rt.transport, registry: rt.metrics.registry, router }, sfu);
        media.backend = sfu;
      }
      registerRoomRoutes(router, rt.control, rt.store);
      new OpsApi(ops).register(router);
      return new GatewayNode({ config, realtime: rt, redis, subscriber, queue, router, tokens, commerce, settlement, sfu, db, idempotency, provider, media, status, site });
    } catch (error) {
      sfu?.close();
      await idempotency?.close();
      await settlement?.close().catch(() => undefined);
      await commerce?.close().catch(() => undefined);
      await provider?.close().catch(() => undefined);
      await status?.close();
      if (realtime) await closeRealtime(realtime);
      await db?.close().catch(() => undefined);
      await queue.close();
      redis.disconnect();
      subscriber.disconnect();
      throw error;
    }
  }

  /** The port the gateway listens on (HTTP and WebSocket). */
  get port(): number {
    return this.#realtime.transport.port;
  }

  /** True when the built web pages were found and are served. */
  get pagesServed(): boolean {
    return this.#site?.built === true;
  }

  /** True when the port speaks TLS (HTTPS and WSS). */
  get secure(): boolean {
    return this.#config.tls !== undefined;
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
    const detach = attachSfu({ frames: rt.frames, sessions: rt.transport, registry: rt.metrics.registry, router: this.router }, sfu);
    this.#media.backend = sfu;
    return () => {
      detach();
      if (this.#media.backend === sfu) this.#media.backend = null;
    };
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
        ['status report', () => this.#status.close()],
        ['realtime', () => closeRealtime(this.#realtime)],
        ['sfu', () => this.sfu?.close()],
        ['idempotency keys', () => this.#idempotency?.close()],
        ['database', () => this.#db?.close()],
        ['queue connection', () => this.#queue.close()],
        ['redis', () => Promise.allSettled([this.redis.quit(), this.subscriber.quit()])],
      ]);
    })();
    return this.#closePromise;
  }
}

/**
 * The uWS app: with FLASHCAST_TLS_CERT/KEY an SSLApp (the pair is loaded first, so a bad file
 * or a key that does not match the certificate stops the node with a message naming them).
 */
function createApp(config: Config): uWS.TemplatedApp {
  if (!config.tls) return uWS.App();
  const { certFile, keyFile } = config.tls;
  try {
    createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  } catch (error) {
    throw new Error(`FLASHCAST_TLS_CERT=${certFile} / FLASHCAST_TLS_KEY=${keyFile}: ${(error as Error).message}`);
  }
  return uWS.SSLApp({ cert_file_name: certFile, key_file_name: keyFile });
}

/**
 * Builds the realtime parts bottom-up, each with its collaborators and its limits from the
 * config; registers the `/ws` handlers, the built-in frames and the HTTP side on one uWS app.
 */
function buildRealtime(
  config: Config,
  io: { redis: RedisClient; subscriber: RedisClient; tokens: TokenService; router: HttpRouter; keys: RedisKeys; site: StaticSite | null },
): Realtime {
  const { redis, subscriber, tokens, router, keys, site } = io;
  const app = createApp(config);
  const cors = new CorsPolicy({ origins: config.corsOrigins, ownOrigins: config.publicUrl ? [new URL(config.publicUrl).origin] : [] });
  const metrics = new GatewayMetrics();
  const store = new RoomStore(redis, {
    prefix: config.redisPrefix, historySize: config.historySize, historyTtlSeconds: config.historyTtlSeconds, statsPartitions: config.statsPartitions,
  });
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
    roomChatPerSecond: config.roomChatPerSecond,
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
    cors,
    secure: config.tls !== undefined,
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
    cors,
    site,
    clientAddress: new ClientAddress(config.trustedProxies),
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
  // The settlement backlog on this node's /metrics (the queues live in Redis: every commerce node sees the same).
  const { settle, commission, refund } = commerce.queue;
  rt.metrics.watchQueues(
    Object.entries({ settle, commission, refund }).map(([name, queue]) => ({
      name,
      counts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
      oldestWaitingAt: async () => (await queue.getJobs(['waiting'], 0, 0, true))[0]?.timestamp ?? null,
    })),
  );
  // A buyer hears about its orders on its private channel: the session follows it before
  // the order exists, so no update can be missed.
  rt.frames.register(
    'buy',
    async (frame, { principal }) => {
      const buy = frame.buy!;
      const stop = rt.metrics.buyLatency.startTimer();
      let code = 'INTERNAL';
      try {
        const buyResult = await commerce.checkout.reserve(principal, {
          roomId: buy.room ?? '',
          productId: buy.productId ?? '',
          quantity: buy.quantity ?? 0,
          idempotencyKey: buy.idempotencyKey ?? '',
          dealId: buy.dealId || undefined,
          displayCurrency: buy.displayCurrency || undefined,
          addressId: buy.addressId || undefined,
        });
        code = buyResult.code || 'OK';
        return { buyResult };
      } catch (error) {
        if (error instanceof FlashcastError) code = error.code;
        throw error;
      } finally {
        stop();
        rt.metrics.buyResults.inc({ code });
      }
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
