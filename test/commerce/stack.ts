import type { ConnectionOptions } from 'bullmq';
import { RedisConnections, type RedisClient } from '../../common/RedisConnections.js';
import { CommerceApi } from '../../server/commerce/CommerceApi.js';
import { CommerceService } from '../../server/commerce/CommerceService.js';
import { SettlementService } from '../../server/settlement/SettlementService.js';
import { SandboxPaymentProvider, type SandboxOptions } from '../../server/settlement/SandboxPaymentProvider.js';
import { SandboxHostedPage } from '../../server/settlement/SandboxHostedPage.js';
import type { PaymentStepOptions } from '../../server/commerce/PaymentSteps.js';
import { HttpRouter, type HttpMethod } from '../../common/http/HttpRouter.js';
import { RoomStore } from '../../server/realtime/RoomStore.js';
import { RoomControl } from '../../server/realtime/RoomControl.js';
import { registerRoomRoutes } from '../../server/http/RoomApi.js';
import type { Principal } from '../../common/auth/TokenService.js';
import type { RedisKeys } from '../../common/keys.js';
import type { PgDatabase } from '../../server/db/PgDatabase.js';
import type { RoomBroadcaster } from '../../server/commerce/RoomBroadcaster.js';
import type { OutboxMoverOptions } from '../../server/commerce/OutboxMover.js';
import type { OrderNotifier } from '../../server/realtime/OrderNotifier.js';
import type { FlashDealsOptions } from '../../server/commerce/FlashDeals.js';
import { WebhookApi } from '../../server/webhooks/WebhookApi.js';
import type { WebhookServiceOptions } from '../../server/webhooks/WebhookService.js';
import { RecordingBroadcaster, deletePrefix, newRedis, newSchemaDb, uniqueKeys, REDIS_URL } from './helpers.js';

export interface Stack {
  redis: RedisClient;
  /** The BullMQ connection of the stack's queues and workers (one server: options; a cluster: a shared connection). */
  connection: ConnectionOptions;
  keys: RedisKeys;
  prefix: string;
  db: PgDatabase;
  schema: string;
  broadcaster: RecordingBroadcaster;
  /** The rooms' state in Redis (moderation: bans apply to buying). */
  rooms: RoomStore;
  commerce: CommerceService;
  settlement: SettlementService | null;
  provider: SandboxPaymentProvider;
  router: HttpRouter;
  call: (method: HttpMethod, path: string, principal: Principal | null, body?: unknown) => Promise<{ status: number; body: any }>;
  /** A request with a raw body and headers (a provider notification, a form post), through the router as the gateway sends it. */
  raw: (method: HttpMethod, path: string, text: string, headers?: Record<string, string>) => Promise<{ status: number; body: any; raw: string }>;
  close: () => Promise<void>;
}

/** Gateway-side commerce plus (optionally) an in-process settlement worker, on a fresh prefix and schema. */
export async function startStack(opts: {
  redisUrl?: string; settle?: boolean; holdMs?: number; returnWindowMs?: number; sandbox?: Partial<SandboxOptions>; concurrency?: number;
  /** Where broadcasts go after being recorded (default: recorded only). Built on the stack's Redis and prefix. */
  room?: (redis: RedisClient, prefix: string) => RoomBroadcaster;
  outbox?: Partial<OutboxMoverOptions>;
  /** Receives the settlement worker's order updates (default: none). */
  notifier?: OrderNotifier;
  deals?: Partial<FlashDealsOptions>;
  /** Webhook delivery in the settlement worker (default: private addresses allowed, outbox polled every 100 ms). */
  webhooks?: Partial<WebhookServiceOptions>;
  /** The asynchronous payment step (default on, as in a gateway); false: confirmations capture synchronously. */
  payments?: Partial<PaymentStepOptions> | false;
} = {}): Promise<Stack> {
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const redis = newRedis(redisUrl);
  const { prefix, keys } = uniqueKeys();
  const { db, schema, drop } = await newSchemaDb(20);
  const broadcaster = new RecordingBroadcaster(opts.room?.(redis, prefix) ?? null);
  const queue = RedisConnections.queue(redisUrl, 'fc-test-bull');
  const connection = queue.connection;
  const rooms = new RoomStore(redis, { prefix, historySize: 100, historyTtlSeconds: 600 });
  const provider = new SandboxPaymentProvider(db, { secret: 'stack-sandbox-secret-0123456789', ...opts.sandbox });
  const payments = opts.payments === false ? null : {
    providers: [provider],
    options: { stepHoldMs: 10 * 60_000, maxStepHoldMs: 30 * 60_000, notificationToleranceMs: 300_000, ...opts.payments },
  };
  const commerce = await CommerceService.create({
    redis, connection, keys, db, broadcaster, bans: (roomId, userId) => rooms.isBanned(roomId, userId), viewerCount: () => 10, checkout: { holdMs: opts.holdMs ?? 60_000 }, dashboardIntervalMs: 100,
    outbox: opts.outbox, deals: opts.deals, payments,
  });
  const settlement = opts.settle === false ? null : await SettlementService.create({
    redis, connection, keys, db, provider, broadcaster, tickerWindowMs: 50, notifier: opts.notifier,
    worker: { returnWindowMs: opts.returnWindowMs ?? 14 * 86_400_000, concurrency: opts.concurrency ?? 32 },
    webhooks: { allowPrivate: true, relay: { pollIntervalMs: 100 }, ...opts.webhooks },
  });
  const router = new HttpRouter();
  new CommerceApi(commerce).register(router);
  new WebhookApi({ db, shopOwner: async (id) => (await commerce.catalog.getShop(id)).ownerUserId, allowPrivate: true }).register(router);
  // The sandbox's hosted page, sending its signed notifications through this router (as a gateway does).
  new SandboxHostedPage(provider, SandboxHostedPage.routerSender(router)).register(router);
  // The room routes (pin, moderation...) as the gateway mounts them, publishing to the recorder.
  const control = new RoomControl(rooms, broadcaster);
  control.setCardSource({ card: (roomId, productId, locale) => commerce.pinCard(roomId, productId, locale) });
  registerRoomRoutes(router, control, rooms);
  /** One request through the router's dispatch (ids, policy, the one error shape), as the gateway sends it. */
  const call = async (method: HttpMethod, path: string, principal: Principal | null, body?: unknown) => {
    const [p, q = ''] = path.split('?');
    const r = await router.dispatch({ method, path: p, query: new URLSearchParams(q), body, principal, remoteAddress: '127.0.0.1' });
    return { status: r.status, body: r.body as any };
  };
  const raw = async (method: HttpMethod, path: string, text: string, headers: Record<string, string> = {}) => {
    const [p, q = ''] = path.split('?');
    const r = await router.dispatch({ method, path: p, query: new URLSearchParams(q), text, headers, principal: null, remoteAddress: '127.0.0.1' });
    return { status: r.status, body: r.body as any, raw: typeof r.raw === 'string' ? r.raw : '' };
  };
  return {
    redis, connection, keys, prefix, db, schema, broadcaster, rooms, commerce, settlement, provider, router, call, raw,
    close: async () => {
      await settlement?.close();
      await commerce.close();
      await queue.close();
      await provider.close();
      await deletePrefix(redis, prefix);
      redis.disconnect();
      await drop();
    },
  };
}

/**
 * A shop (USD), a product with `stock` units in room `room1`'s showcase, and a live deal on it
 * by `host1`. The shop is host1's own (no commission), unless `commissionBps` is given: then it
 * is `seller1`'s shop, which opens an affiliate plan for host1 at that commission.
 */
export async function seedDeal(s: Stack, o: {
  stock?: number; dealStock?: number; limit?: number; countdown?: number; price?: number; regions?: string[]; commissionBps?: number; buckets?: number;
} = {}) {
  const affiliate = o.commissionBps !== undefined;
  const shop = await s.commerce.catalog.createShop({ ownerUserId: affiliate ? 'seller1' : 'host1', name: 'Shop', currency: 'USD', country: 'US' });
  const product = await s.commerce.catalog.createProduct(shop.id, {
    titles: { en: 'Red scarf' }, images: ['https://img.example/1.jpg'], price: { amount: 2999, currency: 'USD' }, stock: o.stock ?? 1000,
  });
  const plan = affiliate
    ? await s.commerce.plans.create(shop.id, { productId: product.id, creatorId: 'host1', commissionBps: o.commissionBps!, minDealPrice: { amount: 0, currency: 'USD' } })
    : null;
  await s.commerce.catalog.addToShowcase('room1', product.id);
  const deal = await s.commerce.deals.create('room1', 'host1', {
    productId: product.id, price: { amount: o.price ?? 1999, currency: 'USD' }, totalStock: o.dealStock ?? 100,
    perBuyerLimit: o.limit ?? 2, countdownSeconds: o.countdown ?? 0, durationSeconds: 600, allowedRegions: o.regions, buckets: o.buckets,
  });
  return { shop, product, deal, plan };
}
