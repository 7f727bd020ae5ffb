import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import pg from 'pg';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, flashcast } from '../protocol/index.js';
import { ACTIONS, type Action } from '../common/auth/Policy.js';
import type { Principal } from '../common/auth/TokenService.js';
import type { HttpMethod } from '../common/http/HttpRouter.js';
import { FRAME_ACTIONS, type ClientFrameKind } from '../server/realtime/framePolicy.js';
import { SfuService } from '../sfu/SfuService.js';
import { JWT_SECRET, waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { RawClient, mint } from './helpers/clients.js';

/**
 * The authorization matrix: every HTTP route (from `router.routes()`) and every client frame
 * kind (from the `ClientFrame.msg` oneof of protocol/flashcast.proto) against every kind of
 * caller, on a real gateway with commerce, settlement and an SFU (real Redis, PostgreSQL,
 * mediasoup). The expectations are written by hand, per action and caller: a new route or
 * frame without an action, or an action without an expectation row, fails this suite. Callers
 * include a guest of R and a stream key of R, both got from their routes.
 * Then one regression test per authority finding of issue #7.
 */

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_authz_${randomBytes(6).toString('hex')}`;
const R = 'mx-r';
const O = 'mx-o';
const X = 'mx-x';
const Y = 'mx-y';

const CALLERS = ['viewer', 'hostR', 'hostO', 'modR', 'sellerA', 'sellerB', 'affX', 'affY', 'ops', 'banned', 'guest', 'streamKey', 'anon'] as const;
type Caller = (typeof CALLERS)[number];
/** Callers whose token is minted here; the guest's and the stream key's come from their routes (POST /v1/guest-tokens, POST /v1/rooms/R/stream-keys by hostR). */
type Minted = Exclude<Caller, 'anon' | 'guest' | 'streamKey'>;

/** Who each caller is (anon: no token). */
const IDENTITY: Record<Minted, { sub: string; role: Principal['role']; rooms?: string[] }> = {
  viewer: { sub: 'mx-viewer', role: 'viewer' },
  hostR: { sub: 'mx-host-r', role: 'host', rooms: [R] },
  hostO: { sub: 'mx-host-o', role: 'host', rooms: [O] },
  modR: { sub: 'mx-mod-r', role: 'moderator', rooms: [R] },
  sellerA: { sub: 'mx-seller-a', role: 'seller' },
  sellerB: { sub: 'mx-seller-b', role: 'seller' },
  affX: { sub: 'mx-aff-x', role: 'host', rooms: [X] },
  affY: { sub: 'mx-aff-y', role: 'host', rooms: [Y] },
  ops: { sub: 'mx-ops', role: 'ops' },
  banned: { sub: 'mx-banned', role: 'viewer' },
};

// ---------------------------------------------------------------------------
// Expectations, by hand: 'allow', or the stable code of the refusal.
// ---------------------------------------------------------------------------
const U = ErrorCode.Unauthorized;
const F = ErrorCode.Forbidden;
const RNA = ErrorCode.RoomNotAllowed;
const B = ErrorCode.Banned;
const SIR = ErrorCode.SignInRequired;
const IO = ErrorCode.IngestOnly;
const A = 'allow';
type Expect = typeof A | string;

/**
 * Builds a row: every caller `rest` except the listed ones. Unless listed, a guest is told
 * SIGN_IN_REQUIRED and a stream key INGEST_ONLY.
 */
function row(rest: Expect, except: Partial<Record<Caller, Expect>> = {}): Record<Caller, Expect> {
  const limited: Partial<Record<Caller, Expect>> = { guest: SIR, streamKey: IO };
  return Object.fromEntries(CALLERS.map((c) => [c, except[c] ?? limited[c] ?? rest])) as Record<Caller, Expect>;
}

/** Members of room R: everyone whose token reaches R, minus the banned viewer (a guest of R: only where noted). */
const inRoomR = row(A, { hostO: RNA, affX: RNA, affY: RNA, banned: B, anon: U });
/** What a guest of R may do in R too: join, react, watch. */
const guestInRoomR = { ...inRoomR, guest: A };
const hostOfR = row(F, { hostR: A, ops: A, anon: U });
const shopA = row(F, { sellerA: A, ops: A, anon: U });
const anyToken = row(A, { anon: U });
const everyone = row(A, { guest: A });
const opsOnly = row(F, { ops: A, anon: U });

const EXPECT: Record<Action, Record<Caller, Expect>> = {
  session: row(A, { anon: U, guest: A }),
  'room.join': guestInRoomR,
  'room.read': row(A, { hostO: RNA, affX: RNA, affY: RNA, anon: U, guest: A }),
  'room.chat': inRoomR,
  'room.react': guestInRoomR,
  'room.pin': hostOfR,
  'room.announce': hostOfR,
  'room.state': hostOfR,
  'room.dashboard': hostOfR,
  'room.moderate': row(F, { hostR: A, modR: A, ops: A, anon: U }),
  'showcase.read': row(A, { hostO: RNA, affX: RNA, affY: RNA, anon: U, guest: A }),
  'showcase.write': hostOfR,
  'deal.create': row(F, { hostR: A, anon: U }),
  'deal.read': everyone,
  'deal.end': hostOfR,
  'deal.list': row(F, { hostR: A, modR: A, ops: A, anon: U }),
  'shop.create': row(A, { viewer: F, modR: F, banned: F, anon: U }),
  'shop.read': everyone,
  'shop.write': shopA,
  'shop.mine': row(A, { viewer: F, modR: F, banned: F, anon: U }),
  'product.read': everyone,
  'product.write': shopA,
  'product.list': shopA,
  'affiliate.plan.write': shopA,
  'affiliate.plan.read': shopA,
  'affiliate.plan.mine': row(F, { hostR: A, hostO: A, affX: A, affY: A, ops: A, anon: U }),
  'affiliate.balance.read': row(F, { affX: A, ops: A, anon: U }),
  'checkout.buy': inRoomR,
  'checkout.confirm': anyToken,
  'order.read': row(F, { viewer: A, sellerA: A, ops: A, anon: U }),
  'order.refund': row(F, { viewer: A, ops: A, anon: U }),
  'order.returned': shopA,
  'me.read': anyToken,
  'me.write': anyToken,
  // The provider's notification and hosted page take no token (a signature, a session id); a refusal there is not the policy's.
  'payment.notify': everyone,
  'payment.page': everyone,
  'fx.read': everyone,
  'fx.write': opsOnly,
  'ops.read': opsOnly,
  'ops.write': opsOnly,
  'media.consume': guestInRoomR,
  'media.produce': row(F, { hostR: A, anon: U }),
  // The stream key is hostR's: it ingests in R and ends hostR's own sessions, and does nothing else.
  'whip.ingest': row(F, { hostR: A, anon: U, streamKey: A }),
  'whip.end': row(F, { hostR: A, ops: A, anon: U, streamKey: A }),
  'whip.key': hostOfR,
  'api.read': everyone,
  'web.config': everyone,
  // Public to the policy: the dev route answers DEV_ONLY here (a real secret), not a denial.
  'token.dev': everyone,
  'token.guest': everyone,
};

/** Codes that mean "the policy refused". NOT_JOINED is one only for actions that need a joined socket. */
const DENIALS = new Set<string>([U, ErrorCode.TokenExpired, F, RNA, B, ErrorCode.AffiliatePlanRequired, SIR, IO]);
const MEMBERSHIP_ACTIONS = new Set<Action>(['room.chat', 'room.react', 'checkout.buy', 'media.consume']);

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------
let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
const tokens = {} as Record<Exclude<Caller, 'anon'>, string>;
/** Status expected with a refusal code. */
const statusFor = (code: string) => (code === U || code === SIR ? 401 : 403);
const f = {
  shopA: '', shopB: '', pA: 'mx-pa', pA2: 'mx-pa2', pB: 'mx-pb', dealId: '', orderId: '', planX: '', planToClose: '', whipSession: '', webhookId: '',
  addressId: '', paySession: '',
};
/** A valid address (each caller allowed to adds one). */
const ADDRESS = { name: 'Matrix Buyer', phone: '+14155550100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' };
const keepers: RawClient[] = [];
let rid = 1000;

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':');
/** A minimal WHIP offer: one Opus audio section. */
const SDP_OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=setup:actpass',
  'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
  'a=ssrc:1111 cname:matrix', '',
].join('\r\n');

async function http(method: string, path: string, token: string | null, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${gw.http}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* SDP or empty */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

async function socket(caller: Caller): Promise<RawClient> {
  const c = await RawClient.open(gw.url, caller === 'anon' ? null : tokens[caller]);
  await c.next((fr) => fr.msg === 'connected' || fr.msg === 'error');
  return c;
}

/** Sends a frame and resolves to its answer: the error code, or 'ok'. */
async function ask(c: RawClient, frame: flashcast.IClientFrame): Promise<string> {
  const r = ++rid;
  c.send({ v: 1, rid: r, ...frame });
  const reply = await c.reply(r);
  return reply.msg === 'error' ? reply.error!.code! : 'ok';
}

beforeAll(async () => {
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema }, { commerce: true, settlement: true });
  sfu = await SfuService.create({ workers: 1, rtcMinPort: 46000, rtcMaxPort: 46999 });
  gw.node.attachSfu(sfu);
  for (const c of Object.keys(IDENTITY) as Minted[]) tokens[c] = await mint({ ...IDENTITY[c], name: c, region: 'US' });
  const commerce = gw.node.commerce!;
  const shopA = await commerce.catalog.createShop({ ownerUserId: IDENTITY.sellerA.sub, name: 'Shop A', currency: 'USD', country: 'US' });
  const shopB = await commerce.catalog.createShop({ ownerUserId: IDENTITY.sellerB.sub, name: 'Shop B', currency: 'USD', country: 'US' });
  f.shopA = shopA.id;
  f.shopB = shopB.id;
  const product = (id: string, title: string) => ({ id, titles: { en: title }, images: ['https://img.example/a.jpg'], price: { amount: 2999, currency: 'USD' }, stock: 100 });
  await commerce.catalog.createProduct(shopA.id, product(f.pA, 'Bag A'));
  await commerce.catalog.createProduct(shopA.id, product(f.pA2, 'Bag A2'));
  await commerce.catalog.createProduct(shopB.id, product(f.pB, 'Bag B'));
  // Shop A lets the host of R sell pA, and creator X sell pA2; a third plan is there to be closed.
  await commerce.plans.create(shopA.id, { productId: f.pA, creatorId: IDENTITY.hostR.sub, commissionBps: 500, minDealPrice: { amount: 1000, currency: 'USD' } });
  f.planX = (await commerce.plans.create(shopA.id, { productId: f.pA2, creatorId: IDENTITY.affX.sub, commissionBps: 1500, minDealPrice: { amount: 2000, currency: 'USD' } })).id;
  f.planToClose = (await commerce.plans.create(shopA.id, { productId: f.pA2, creatorId: 'mx-nobody', commissionBps: 100, minDealPrice: { amount: 100, currency: 'USD' } })).id;
  await commerce.catalog.addToShowcase(R, f.pA);
  const deal = await commerce.deals.create(R, IDENTITY.hostR.sub, {
    productId: f.pA, price: { amount: 1999, currency: 'USD' }, totalStock: 50, perBuyerLimit: 3, countdownSeconds: 0, durationSeconds: 900,
  });
  expect(deal).toMatchObject({ commissionBps: 500, shopId: shopA.id });
  f.dealId = deal.id;
  // The viewer's paid order of pA (shop A).
  await commerce.methods.save(IDENTITY.viewer.sub, { type: 'card', token: 'tok_visa' });
  const viewerPrincipal = gw.node.tokens.verifySync(tokens.viewer);
  const bought = await commerce.checkout.reserve(viewerPrincipal, { roomId: R, productId: f.pA, quantity: 1, idempotencyKey: 'mx-fixture' });
  expect(bought.code).toBe('');
  f.orderId = bought.orderId!;
  await waitFor(async () => (await commerce.db.query("SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'", [f.orderId])).rows.length === 1, 15_000, 'paid order');
  // The viewer's address, for the DELETE route (only its owner finds it: others get 404, after the policy allowed them).
  f.addressId = (await commerce.addresses.add(IDENTITY.viewer.sub, ADDRESS)).id;
  // A first-time buyer's hosted payment page (the sandbox's), for the page routes.
  const first = { ...viewerPrincipal, userId: 'mx-first-time' };
  const held = await commerce.checkout.reserve(first, { roomId: R, productId: f.pA, quantity: 1, idempotencyKey: 'mx-first' });
  const step = await commerce.checkout.confirm(first, { dealId: held.dealId!, orderId: held.orderId!, method: 'card' });
  expect(step.nextStep?.code).toBe('COMPLETE_PAYMENT');
  f.paySession = step.nextStep!.url!.split('/').pop()!;
  // The banned viewer, banned in R by its host.
  const ban = await http('POST', `/v1/rooms/${R}/moderation`, tokens.hostR, { action: 'BAN', userId: IDENTITY.banned.sub });
  expect(ban.status, JSON.stringify(ban.body)).toBe(200);
  // Someone stays in R throughout, so R's ban list is cached on this node.
  const keeper = await RawClient.open(gw.url, await mint({ sub: 'mx-keeper', role: 'viewer' }));
  keepers.push(keeper);
  await keeper.next((fr) => fr.msg === 'connected');
  expect(await ask(keeper, { join: { room: R } })).toBe('ok');
  // A WHIP ingest by R's host, for the DELETE route.
  const whip = await http('POST', `/whip/${R}`, tokens.hostR, SDP_OFFER, 'application/sdp');
  expect(whip.status, JSON.stringify(whip.body)).toBe(201);
  f.whipSession = whip.headers.get('location')!.split('/').pop()!;
  // A webhook endpoint of shop A, for the DELETE route.
  const hook = await http('POST', `/v1/shops/${f.shopA}/webhooks`, tokens.sellerA, { url: 'https://hooks.example/flashcast', events: ['order.paid'] });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  f.webhookId = hook.body.id;
  // A guest of R and a stream key of R (hostR's), from their routes.
  const guest = await http('POST', '/v1/guest-tokens', null, { room: R });
  expect(guest.status, JSON.stringify(guest.body)).toBe(201);
  tokens.guest = guest.body.token;
  const key = await http('POST', `/v1/rooms/${R}/stream-keys`, tokens.hostR);
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  tokens.streamKey = key.body.streamKey;
}, 60_000);

afterAll(async () => {
  for (const k of keepers) k.close();
  await gw?.close();
  sfu?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

// ---------------------------------------------------------------------------
// Requests: a valid one for every route and every frame kind.
// ---------------------------------------------------------------------------
type HttpCase = { params: () => Record<string, string>; body?: (c: Caller) => unknown; contentType?: string };

const roomParams = () => ({ roomId: R });
const REQUESTS: Record<string, HttpCase> = {
  'GET /v1/rooms/:roomId': { params: roomParams },
  'POST /v1/rooms/:roomId/pin': { params: roomParams, body: () => ({ productId: f.pA }) },
  'DELETE /v1/rooms/:roomId/pin/:productId': { params: () => ({ roomId: R, productId: f.pA }) },
  'POST /v1/rooms/:roomId/announcements': { params: roomParams, body: () => ({ text: 'hello' }) },
  'PUT /v1/rooms/:roomId/state': { params: roomParams, body: () => ({ phase: 'LIVE', title: 'Matrix' }) },
  'POST /v1/rooms/:roomId/moderation': { params: roomParams, body: () => ({ action: 'MUTE', userId: 'mx-nobody', seconds: 1 }) },
  'GET /v1/rooms/:roomId/moderation': { params: roomParams },
  'POST /v1/shops': { params: () => ({}), body: (c) => ({ name: `Shop of ${c}`, currency: 'USD', country: 'US' }) },
  'GET /v1/shops/:shopId': { params: () => ({ shopId: f.shopA }) },
  'POST /v1/shops/:shopId/products': { params: () => ({ shopId: f.shopA }), body: () => ({ titles: { en: 'New' }, price: { amount: 100, currency: 'USD' }, stock: 1 }) },
  'GET /v1/products/:productId': { params: () => ({ productId: f.pA }) },
  'PATCH /v1/products/:productId': { params: () => ({ productId: f.pA }), body: () => ({ titles: { en: 'Bag A' } }) },
  'PUT /v1/products/:productId/stock': { params: () => ({ productId: f.pA }), body: () => ({ stock: 100 }) },
  'POST /v1/shops/:shopId/affiliate-plans': {
    params: () => ({ shopId: f.shopA }),
    body: () => ({ productId: f.pA2, creatorId: 'mx-nobody', commissionBps: 100, minDealPrice: { amount: 100, currency: 'USD' } }),
  },
  'GET /v1/shops/:shopId/affiliate-plans': { params: () => ({ shopId: f.shopA }) },
  'PUT /v1/shops/:shopId/return-shipping-rates': { params: () => ({ shopId: f.shopA }), body: () => ({ region: '*', amount: 500 }) },
  'GET /v1/shops/:shopId/return-shipping-rates': { params: () => ({ shopId: f.shopA }) },
  'POST /v1/shops/:shopId/affiliate-plans/:planId/close': { params: () => ({ shopId: f.shopA, planId: f.planToClose }) },
  'GET /v1/me/affiliate-plans': { params: () => ({}) },
  'GET /v1/rooms/:roomId/showcase': { params: roomParams },
  'PUT /v1/rooms/:roomId/showcase': { params: roomParams, body: () => ({ productIds: [f.pA] }) },
  'POST /v1/rooms/:roomId/showcase': { params: roomParams, body: () => ({ productId: f.pA }) },
  'POST /v1/rooms/:roomId/deals': {
    params: roomParams,
    body: () => ({ productId: f.pA, price: { amount: 1500, currency: 'USD' }, totalStock: 5, perBuyerLimit: 1, countdownSeconds: 10, durationSeconds: 60 }),
  },
  'GET /v1/deals/:dealId': { params: () => ({ dealId: f.dealId }) },
  'POST /v1/deals/:dealId/end': { params: () => ({ dealId: f.dealId }) },
  'POST /v1/checkout': { params: () => ({}), body: (c) => ({ roomId: R, productId: f.pA, quantity: 1, idempotencyKey: `mx-http-${c}` }) },
  'POST /v1/deals/:dealId/orders/:orderId/confirm': { params: () => ({ dealId: f.dealId, orderId: f.orderId }), body: () => ({ method: 'card', token: 'tok_visa' }) },
  'GET /v1/orders/:orderId': { params: () => ({ orderId: f.orderId }) },
  'GET /v1/me/orders': { params: () => ({}) },
  // Unsigned: refused by the provider's signature check (400), after the policy let it through.
  'POST /v1/payments/:provider/notifications': { params: () => ({ provider: 'sandbox' }), body: () => ({ id: 'evt_0', type: 'payment.pending' }) },
  'GET /v1/payments/sandbox/pay/:sessionId': { params: () => ({ sessionId: f.paySession }) },
  'POST /v1/payments/sandbox/pay/:sessionId': { params: () => ({ sessionId: f.paySession }), body: () => 'card_number=1', contentType: 'application/x-www-form-urlencoded' },
  'PUT /v1/me/payment-method': { params: () => ({}), body: () => ({ type: 'card', token: 'tok_visa' }) },
  'DELETE /v1/me/payment-method': { params: () => ({}) },
  'PUT /v1/me/preferences': { params: () => ({}), body: () => ({ hideInTicker: false }) },
  'GET /v1/me/addresses': { params: () => ({}) },
  'POST /v1/me/addresses': { params: () => ({}), body: () => ADDRESS },
  'DELETE /v1/me/addresses/:addressId': { params: () => ({ addressId: f.addressId }) },
  // An empty table: shop A keeps selling without shipping, as the other fixtures expect.
  'PUT /v1/shops/:shopId/shipping-rates': { params: () => ({ shopId: f.shopA }), body: () => ({ rates: [] }) },
  'GET /v1/shops/:shopId/shipping-rates': { params: () => ({ shopId: f.shopA }) },
  'POST /v1/orders/:orderId/refunds': { params: () => ({ orderId: f.orderId }), body: () => ({ reason: 'unwanted' }) },
  'POST /v1/orders/:orderId/returned': { params: () => ({ orderId: f.orderId }) },
  'GET /v1/fx': { params: () => ({}) },
  'PUT /v1/fx': { params: () => ({}), body: () => ({ rates: [{ base: 'USD', quote: 'EUR', rate: '0.9', asOf: Date.now() }] }) },
  'GET /v1/affiliates/:creatorId/balance': { params: () => ({ creatorId: IDENTITY.affX.sub }) },
  'GET /v1/rooms/:roomId/dashboard': { params: roomParams },
  'GET /v1/ops/settlement/failed': { params: () => ({}) },
  'POST /v1/ops/settlement/failed/:jobId/replay': { params: () => ({ jobId: 'mx-no-such-job' }) },
  'POST /v1/shops/:shopId/webhooks': { params: () => ({ shopId: f.shopA }), body: () => ({ url: 'https://hooks.example/flashcast', events: ['order.paid'] }) },
  'GET /v1/shops/:shopId/webhooks': { params: () => ({ shopId: f.shopA }) },
  'DELETE /v1/shops/:shopId/webhooks/:webhookId': { params: () => ({ shopId: f.shopA, webhookId: f.webhookId }) },
  'GET /v1/ops/webhooks/deliveries': { params: () => ({}) },
  'POST /v1/ops/webhooks/deliveries/:deliveryId/replay': { params: () => ({ deliveryId: 'mx-no-such-delivery' }) },
  'POST /whip/:roomId': { params: roomParams, body: () => SDP_OFFER, contentType: 'application/sdp' },
  'DELETE /whip/:roomId/:resourceId': { params: () => ({ roomId: R, resourceId: f.whipSession }) },
  'GET /openapi.json': { params: () => ({}) },
  'GET /docs': { params: () => ({}) },
  'GET /v1/web/config': { params: () => ({}) },
  'POST /v1/dev/tokens': { params: () => ({}), body: () => ({ user: 'mx-dev', role: 'ops' }) },
  'POST /v1/guest-tokens': { params: () => ({}), body: () => ({ room: R }) },
  'POST /v1/rooms/:roomId/stream-keys': { params: roomParams },
  'GET /v1/me/shops': { params: () => ({}) },
  'GET /v1/shops/:shopId/products': { params: () => ({ shopId: f.shopA }) },
  'GET /v1/rooms/:roomId/deals': { params: roomParams },
  'GET /v1/ops/rooms': { params: () => ({}) },
  'GET /v1/ops/overview': { params: () => ({}) },
};

const FRAMES: Record<ClientFrameKind, (c: Caller) => flashcast.IClientFrame> = {
  ping: () => ({ ping: { clientTime: 1 } }),
  join: () => ({ join: { room: R } }),
  leave: () => ({ leave: { room: R } }),
  chat: () => ({ chat: { room: R, text: 'hi' } }),
  react: () => ({ react: { room: R, kind: flashcast.ReactionKind.HEART, count: 1 } }),
  moderate: () => ({ moderate: { room: R, action: flashcast.ModerationAction.MUTE, userId: 'mx-nobody', seconds: 1 } }),
  pin: () => ({ pin: { room: R, product: { productId: f.pA } } }),
  unpin: () => ({ unpin: { room: R, productId: f.pA } }),
  roomState: () => ({ roomState: { room: R, phase: flashcast.RoomPhase.ROOM_LIVE, title: 'Matrix' } }),
  announce: () => ({ announce: { room: R, text: 'hello' } }),
  buy: (c) => ({ buy: { room: R, productId: f.pA, quantity: 1, idempotencyKey: `mx-ws-${c}` } }),
  media: () => ({ media: { room: R, capabilities: {} } }),
};

/** Denied callers first: an allowed call may change what the next one finds (an ended WHIP session). */
const ordered = (action: Action) => [...CALLERS].sort((a, b) => Number(EXPECT[action][a] === A) - Number(EXPECT[action][b] === A));

function check(what: string, action: Action, caller: Caller, got: { status?: number; code: string }): string | null {
  const want = EXPECT[action][caller];
  const denied = DENIALS.has(got.code) || (got.code === ErrorCode.NotJoined && MEMBERSHIP_ACTIONS.has(action));
  if (want === A) {
    if (denied || got.status === 401 || got.status === 403) return `${what} × ${caller}: expected allowed, got ${got.status ?? ''} ${got.code}`;
    return null;
  }
  if (got.code !== want) return `${what} × ${caller}: expected ${want}, got ${got.status ?? ''} ${got.code}`;
  if (got.status !== undefined && got.status !== statusFor(want)) return `${what} × ${caller}: expected status ${statusFor(want)}, got ${got.status}`;
  return null;
}

describe('authorization matrix', () => {
  it('every route and frame declares an action, and every action has an expectation for every caller', () => {
    const routes = gw.node.router.routes();
    expect(routes.length).toBeGreaterThan(30);
    for (const r of routes) {
      expect(ACTIONS, `${r.method} ${r.pattern}`).toContain(r.action);
      expect(REQUESTS[`${r.method} ${r.pattern}`], `no request fixture for ${r.method} ${r.pattern}`).toBeDefined();
    }
    const root = protobuf.loadSync(fileURLToPath(new URL('../protocol/flashcast.proto', import.meta.url)));
    const kinds = (root.lookupType('flashcast.ClientFrame').oneofs.msg.oneof as string[]).slice().sort();
    expect(Object.keys(FRAME_ACTIONS).sort()).toEqual(kinds);
    expect(Object.keys(FRAMES).sort()).toEqual(kinds);
    for (const kind of kinds) expect(ACTIONS).toContain(FRAME_ACTIONS[kind as ClientFrameKind]);
    for (const action of ACTIONS) {
      expect(EXPECT[action], `no expectation row for ${action}`).toBeDefined();
      expect(Object.keys(EXPECT[action]).sort()).toEqual([...CALLERS].sort());
    }
  });

  it('HTTP: every route × every caller', async () => {
    const failures: string[] = [];
    let requests = 0;
    for (const route of gw.node.router.routes()) {
      const key = `${route.method} ${route.pattern}`;
      const req = REQUESTS[key];
      const params = req.params();
      const path = route.pattern.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
      for (const caller of ordered(route.action)) {
        const res = await http(route.method as HttpMethod, path, caller === 'anon' ? null : tokens[caller], req.body?.(caller), req.contentType);
        requests++;
        if (res.status >= 500) failures.push(`${key} × ${caller}: ${res.status} ${JSON.stringify(res.body)}`);
        const code = res.status >= 400 ? String((res.body as any)?.error?.code ?? res.status) : 'ok';
        const failure = check(key, route.action, caller, { status: res.status, code });
        if (failure) failures.push(failure);
      }
    }
    expect(failures).toEqual([]);
    expect(requests).toBe(gw.node.router.routes().length * CALLERS.length);
  }, 120_000);

  it('socket: every frame kind × every caller', async () => {
    const failures: string[] = [];
    for (const kind of Object.keys(FRAME_ACTIONS) as ClientFrameKind[]) {
      const action = FRAME_ACTIONS[kind];
      for (const caller of ordered(action)) {
        const c = await socket(caller);
        try {
          let code: string;
          if (caller === 'anon' || caller === 'streamKey') {
            // No token, or a stream key: the connection is refused before any frame (error frame, then close 4500).
            expect(await c.closed).toBe(CloseCode.Unauthorized);
            code = c.frames.find((fr) => fr.msg === 'error')?.error?.code ?? 'none';
          } else {
            // Join R first when the caller can (its frames then act as a member's).
            if (kind !== 'join' && kind !== 'ping') await ask(c, { join: { room: R } });
            code = await ask(c, FRAMES[kind](caller));
          }
          const failure = check(`frame ${kind}`, action, caller, { code });
          if (failure) failures.push(failure);
        } finally {
          c.close();
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

// ---------------------------------------------------------------------------
// Regression tests: one per "Authority" finding of issue #7.
// ---------------------------------------------------------------------------
describe('authority findings of issue #7', () => {
  it("another shop's product cannot reach a showcase or a deal; price 0 with commission 10000 is refused", async () => {
    const commerce = gw.node.commerce!;
    const stockBefore = (await commerce.catalog.getProduct(f.pB)).stock;
    const add = await http('POST', `/v1/rooms/${O}/showcase`, tokens.hostO, { productId: f.pB });
    expect([add.status, add.body.error.code]).toEqual([403, ErrorCode.AffiliatePlanRequired]);
    const replace = await http('PUT', `/v1/rooms/${O}/showcase`, tokens.hostO, { productIds: [f.pB] });
    expect([replace.status, replace.body.error.code]).toEqual([403, ErrorCode.AffiliatePlanRequired]);
    // Even with the product in the showcase (state from before the fix), no deal.
    await commerce.catalog.addToShowcase(O, f.pB);
    const attack = { productId: f.pB, price: { amount: 0, currency: 'USD' }, totalStock: 5, perBuyerLimit: 5, countdownSeconds: 10, durationSeconds: 60 };
    const withCommission = await http('POST', `/v1/rooms/${O}/deals`, tokens.hostO, { ...attack, commissionBps: 10_000 });
    expect([withCommission.status, withCommission.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
    const deal = await http('POST', `/v1/rooms/${O}/deals`, tokens.hostO, attack);
    expect([deal.status, deal.body.error.code]).toEqual([403, ErrorCode.AffiliatePlanRequired]);
    await expect(commerce.deals.create(O, IDENTITY.hostO.sub, attack)).rejects.toMatchObject({ code: ErrorCode.AffiliatePlanRequired });
    expect((await commerce.catalog.getProduct(f.pB)).stock).toBe(stockBefore);
    // (its regular-price listing, opened with the showcase entry, sells at the shop's own price)
    expect((await commerce.db.query("SELECT 1 FROM deals WHERE product_id = $1 AND kind = 'flash'", [f.pB])).rows).toHaveLength(0);
  });

  it("a creator sells another shop's product only under that shop's plan, at its price and commission", async () => {
    // Y has no plan on pA2.
    const noPlan = await http('POST', `/v1/rooms/${Y}/showcase`, tokens.affY, { productId: f.pA2 });
    expect([noPlan.status, noPlan.body.error.code]).toEqual([403, ErrorCode.AffiliatePlanRequired]);
    // X has one: it sees it, showcases pA2, and deals at or above the plan's minimum.
    const mine = await http('GET', '/v1/me/affiliate-plans', tokens.affX);
    expect(mine.body.plans.map((p: { id: string }) => p.id)).toContain(f.planX);
    expect((await http('POST', `/v1/rooms/${X}/showcase`, tokens.affX, { productId: f.pA2 })).status).toBe(204);
    const terms = { productId: f.pA2, totalStock: 3, perBuyerLimit: 1, countdownSeconds: 10, durationSeconds: 60 };
    const cheap = await http('POST', `/v1/rooms/${X}/deals`, tokens.affX, { ...terms, price: { amount: 1999, currency: 'USD' } });
    expect([cheap.status, cheap.body.error.code]).toEqual([409, 'PRICE_BELOW_FLOOR']);
    const ok = await http('POST', `/v1/rooms/${X}/deals`, tokens.affX, { ...terms, price: { amount: 2000, currency: 'USD' } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ commissionBps: 1500, planId: f.planX, shopId: f.shopA, creatorId: IDENTITY.affX.sub });
    // The shop closes the plan: no new deal under it.
    expect((await http('POST', `/v1/shops/${f.shopA}/affiliate-plans/${f.planX}/close`, tokens.sellerA)).status).toBe(200);
    await gw.node.commerce!.deals.end(ok.body.id);
    const closed = await http('POST', `/v1/rooms/${X}/deals`, tokens.affX, { ...terms, price: { amount: 5000, currency: 'USD' } });
    expect([closed.status, closed.body.error.code]).toEqual([403, ErrorCode.AffiliatePlanRequired]);
  });

  it('moderators moderate and nothing else, over HTTP as over the socket', async () => {
    const mod = tokens.modR;
    const refused = [
      await http('POST', `/v1/rooms/${R}/deals`, mod, { productId: f.pA, price: { amount: 1500, currency: 'USD' }, totalStock: 1, perBuyerLimit: 1, countdownSeconds: 10, durationSeconds: 60 }),
      await http('PUT', `/v1/rooms/${R}/showcase`, mod, { productIds: [] }),
      await http('DELETE', `/v1/rooms/${R}/pin/${f.pA}`, mod),
      await http('POST', `/v1/deals/${f.dealId}/end`, mod),
      await http('GET', `/v1/rooms/${R}/dashboard`, mod),
      await http('POST', `/v1/rooms/${R}/announcements`, mod, { text: 'x' }),
    ];
    expect(refused.map((r) => [r.status, r.body.error.code])).toEqual(refused.map(() => [403, ErrorCode.Forbidden]));
    expect((await gw.node.commerce!.catalog.showcase(R)).map((p) => p.id)).toContain(f.pA);
    expect((await http('POST', `/v1/rooms/${R}/moderation`, mod, { action: 'MUTE', userId: 'mx-nobody', seconds: 1 })).status).toBe(200);
    const c = await socket('modR');
    try {
      expect(await ask(c, { announce: { room: R, text: 'x' } })).toBe(ErrorCode.Forbidden);
      expect(await ask(c, { moderate: { room: R, action: flashcast.ModerationAction.UNMUTE, userId: 'mx-nobody' } })).toBe('ok');
    } finally {
      c.close();
    }
  });

  it('a socket pin takes only the product id: a fake "Rolex" card or an unknown product is never broadcast', async () => {
    const watcher = await socket('viewer');
    const host = await socket('hostR');
    try {
      expect(await ask(watcher, { join: { room: R } })).toBe('ok');
      const seen = watcher.frames.length;
      const rolex = { title: 'Rolex', price: { amount: 1, currency: 'USD' }, dealPrice: { amount: 1, currency: 'USD' }, dealId: 'd_made_up' };
      expect(await ask(host, { pin: { room: R, product: { productId: 'rolex-1', ...rolex } } })).toBe('PRODUCT_NOT_FOUND');
      expect(await ask(host, { pin: { room: R, product: { productId: f.pB, ...rolex } } })).toBe('NOT_IN_SHOWCASE');
      expect(await ask(host, { pin: { room: R, product: { productId: f.pA, ...rolex } } })).toBe('ok');
      // The first pin the watcher sees is pA's catalog card, with the deal the server found.
      const pinned = await watcher.next((fr) => watcher.frames.indexOf(fr) >= seen && !!fr.event?.pin);
      const card = pinned.event!.pin!.product!;
      expect(card).toMatchObject({ productId: f.pA, title: 'Bag A', price: { amount: 2999, currency: 'USD' } });
      const deal = await gw.node.commerce!.deals.get(f.dealId);
      if (deal.status === 'active') expect(card).toMatchObject({ dealId: f.dealId, dealPrice: { amount: 1999, currency: 'USD' } });
      else expect(card.dealId).toBe('');
      expect(watcher.frames.slice(seen).filter((fr) => fr.event?.pin)).toHaveLength(1);
      // The same over HTTP: one route, one body, no client card fields.
      const legacy = await http('POST', `/v1/rooms/${R}/pin`, tokens.hostR, { product: { productId: f.pA, title: 'Rolex' } });
      expect([legacy.status, legacy.body.error.code]).toEqual([400, ErrorCode.InvalidArgument]);
      expect(gw.node.router.routes().filter((r) => r.method === 'POST' && r.pattern.endsWith('/pin'))).toHaveLength(1);
    } finally {
      watcher.close();
      host.close();
    }
  });

  it('"*" means every room only for viewer and ops tokens: a host token with "*" is refused', async () => {
    expect(() => gw.node.tokens.mintSync({ sub: 'h', role: 'host', rooms: ['*'] })).toThrow(TypeError);
    const forged = await new SignJWT({ role: 'host', rooms: ['*'] })
      .setProtectedHeader({ alg: 'HS256' }).setSubject('mx-star').setIssuer('flashcast').setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const res = await http('POST', `/v1/rooms/${R}/announcements`, forged, { text: 'x' });
    expect([res.status, res.body.error.code]).toEqual([401, ErrorCode.Unauthorized]);
    const c = await RawClient.open(gw.url, forged);
    expect(await c.closed).toBe(CloseCode.Unauthorized);
    const star = await mint({ sub: 'mx-star-viewer', role: 'viewer', rooms: ['*'] });
    const v = await RawClient.open(gw.url, star);
    try {
      await v.next((fr) => fr.msg === 'connected');
      expect(await ask(v, { join: { room: 'any-room-at-all' } })).toBe('ok');
    } finally {
      v.close();
    }
  });

  it('a banned user cannot buy: over HTTP, and over a socket that never joined', async () => {
    const res = await http('POST', '/v1/checkout', tokens.banned, { roomId: R, productId: f.pA, quantity: 1, idempotencyKey: 'banned-http' });
    expect([res.status, res.body.error.code]).toEqual([403, ErrorCode.Banned]);
    const c = await socket('banned');
    try {
      expect(await ask(c, { buy: { room: R, productId: f.pA, quantity: 1, idempotencyKey: 'banned-ws' } })).toBe(ErrorCode.Banned);
      expect(await ask(c, { join: { room: R } })).toBe(ErrorCode.Banned);
    } finally {
      c.close();
    }
    // A socket that never joined cannot buy either (its room's ban list is not consulted then).
    const other = await RawClient.open(gw.url, await mint({ sub: 'mx-never-joined', role: 'viewer' }));
    try {
      await other.next((fr) => fr.msg === 'connected');
      expect(await ask(other, { buy: { room: R, productId: f.pA, quantity: 1, idempotencyKey: 'nj' } })).toBe(ErrorCode.NotJoined);
    } finally {
      other.close();
    }
    const orders = await gw.node.commerce!.db.query('SELECT 1 FROM orders WHERE buyer_id = $1', [IDENTITY.banned.sub]);
    expect(orders.rows).toHaveLength(0);
  });
});
