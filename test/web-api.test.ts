import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, flashcast } from '../protocol/index.js';
import { TokenService } from '../common/auth/TokenService.js';
import { DEV_SECRET, loadConfig, type WebTokenSettings } from '../common/config.js';
import { SfuService } from '../sfu/SfuService.js';
import { JWT_SECRET, REDIS_URL, waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { RawClient, mint } from './helpers/clients.js';
import { WebhookReceiver } from './helpers/WebhookReceiver.js';

/**
 * The routes the browser pages need, on real gateways (Redis, PostgreSQL, settlement workers,
 * mediasoup): the pages' config; development tokens (only on the public development secret);
 * guest tokens and what the policy lets a guest do over HTTP and the socket; stream keys as
 * OBS's WHIP bearer and nothing else; the studio's lists (shops, a catalog page by page, a
 * room's deals); the ops console's rooms and overview.
 */

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_web_${randomBytes(6).toString('hex')}`;
const R = 'web-r';
const O = 'web-o';
const WEB: WebTokenSettings = loadConfig({ FLASHCAST_JWT_SECRET: JWT_SECRET }).web;
const TOKEN_ENDPOINT = 'https://shop.example/account/flashcast-token';

let gw: Awaited<ReturnType<typeof startGateway>>;
/** A gateway on the public development secret, guests off, a tight mint rate, a public URL. */
let dev: Awaited<ReturnType<typeof startGateway>>;
const devTokens = new TokenService(DEV_SECRET);
let sfu: SfuService;
let receiver: WebhookReceiver;
let configBeforeVideo: any;
const sockets: RawClient[] = [];
const tok = {} as Record<'hostR' | 'hostO' | 'modR' | 'viewer' | 'buyer' | 'sellerA' | 'sellerB' | 'ops', string>;
let rid = 1;

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':');
/** What OBS's WHIP output sends, reduced to one Opus section. */
const SDP_OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=setup:actpass',
  'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
  'a=ssrc:2222 cname:obs', '',
].join('\r\n');

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function call(base: string, method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const json = body !== undefined && typeof body !== 'string';
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : json ? JSON.stringify(body) : (body as string),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* SDP */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
const api = (method: string, path: string, token: string | null, body?: unknown, headers?: Record<string, string>) => call(gw.http, method, path, token, body, headers);
const refusal = (a: Answer) => [a.status, a.body?.error?.code];

async function socket(token: string): Promise<RawClient> {
  const c = await RawClient.open(gw.url, token);
  sockets.push(c);
  await c.next((f) => f.msg === 'connected' || f.msg === 'error');
  return c;
}

/** Sends a frame; resolves to its error code, or 'ok'. */
async function ask(c: RawClient, frame: flashcast.IClientFrame): Promise<string> {
  const r = ++rid;
  c.send({ v: 1, rid: r, ...frame });
  const reply = await c.reply(r);
  return reply.msg === 'error' ? reply.error!.code! : 'ok';
}

beforeAll(async () => {
  receiver = await WebhookReceiver.create();
  receiver.answer = () => 503;
  gw = await startGateway(
    {
      databaseUrl: PG_URL, databaseSchema: schema, web: { ...WEB, tokenEndpoint: TOKEN_ENDPOINT },
      webhooks: { attempts: 1, backoffMs: 10, timeoutMs: 2_000, concurrency: 4, allowPrivate: true },
    },
    { commerce: true, settlement: true },
  );
  configBeforeVideo = (await api('GET', '/v1/web/config', null)).body;
  sfu = await SfuService.create({ workers: 1, rtcMinPort: 47000, rtcMaxPort: 47499 });
  gw.node.attachSfu(sfu);
  dev = await startGateway({
    jwtSecret: DEV_SECRET, usingDevSecret: true, devMode: true, publicUrl: 'https://live.example.com',
    web: { ...WEB, guests: false, tokenRate: { perSecond: 0.001, burst: 4 } },
  });
  tok.hostR = await mint({ sub: 'web-host-r', role: 'host', rooms: [R], name: 'Host R', region: 'US' });
  tok.hostO = await mint({ sub: 'web-host-o', role: 'host', rooms: [O] });
  tok.modR = await mint({ sub: 'web-mod-r', role: 'moderator', rooms: [R] });
  tok.viewer = await mint({ sub: 'web-viewer', role: 'viewer', name: 'Vi', region: 'US' });
  tok.buyer = await mint({ sub: 'web-buyer', role: 'viewer', name: 'Bu', region: 'US' });
  tok.sellerA = await mint({ sub: 'web-seller-a', role: 'seller' });
  tok.sellerB = await mint({ sub: 'web-seller-b', role: 'seller' });
  tok.ops = await mint({ sub: 'web-ops', role: 'ops' });
}, 60_000);

afterAll(async () => {
  for (const c of sockets) c.close();
  await dev?.close();
  await gw?.close();
  sfu?.close();
  await receiver?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('GET /v1/web/config', () => {
  it('tells the pages what this server offers: dev sign-in, guests, the shop token endpoint, video', async () => {
    const paths = { wsPath: '/ws', whipPath: '/whip' };
    expect(configBeforeVideo).toEqual({ dev: false, guests: true, tokenEndpoint: TOKEN_ENDPOINT, video: false, ...paths });
    // an SFU attached: video on
    expect((await api('GET', '/v1/web/config', null)).body).toEqual({ ...configBeforeVideo, video: true });
    expect((await call(dev.http, 'GET', '/v1/web/config', null)).body).toEqual({ dev: true, guests: false, tokenEndpoint: null, video: false, ...paths });
  });
});

describe('POST /v1/dev/tokens', () => {
  it('is 404 DEV_ONLY on a server with a real secret', async () => {
    const r = await api('POST', '/v1/dev/tokens', null, { user: 'ana', role: 'ops' });
    expect(refusal(r)).toEqual([404, ErrorCode.DevOnly]);
  });

  it('mints tokens on the development secret, validated as `flashcast token`, rate-limited per address', async () => {
    const mintDev = (body: unknown) => call(dev.http, 'POST', '/v1/dev/tokens', null, body);
    const host = await mintDev({ user: 'studio-ana', role: 'host', rooms: [R], name: 'Ana', region: 'ID', ttlSeconds: 3600 });
    expect(host.status).toBe(201);
    expect(host.body).toMatchObject({ userId: 'studio-ana', role: 'host' });
    expect(host.body.expiresAt - Date.now()).toBeGreaterThan(3_500_000);
    expect(host.body.expiresAt - Date.now()).toBeLessThanOrEqual(3_600_000 + 5_000);
    expect(devTokens.verifySync(host.body.token)).toMatchObject({ userId: 'studio-ana', role: 'host', rooms: [R], name: 'Ana', region: 'ID' });
    // the token works on that server: a socket opens with its role
    const c = await RawClient.open(dev.url, host.body.token);
    sockets.push(c);
    expect((await c.next((f) => f.msg === 'connected' || f.msg === 'error')).connected?.role).toBe(flashcast.Role.HOST);
    // TokenService's rules (in the handler: each of these takes a token from the bucket)
    expect(refusal(await mintDev({ user: 'h', role: 'host' }))).toEqual([400, ErrorCode.InvalidArgument]);
    expect(refusal(await mintDev({ user: 's', role: 'seller', rooms: ['*'] }))).toEqual([400, ErrorCode.InvalidArgument]);
    // the body's schema (before the handler: no token taken)
    expect(refusal(await mintDev({ user: 'v', role: 'viewer', ttlSeconds: 86_401 }))).toEqual([400, ErrorCode.InvalidArgument]);
    expect(refusal(await mintDev({ user: 'v', role: 'admin' }))).toEqual([400, ErrorCode.InvalidArgument]);
    expect(refusal(await mintDev({ user: 'bad id!', role: 'viewer' }))).toEqual([400, ErrorCode.InvalidArgument]);
    const viewer = await mintDev({ user: 'studio-vi', role: 'viewer', rooms: ['*'] });
    expect(viewer.status).toBe(201);
    expect(devTokens.verifySync(viewer.body.token).rooms).toBeNull();
    // the fifth from this address within the burst of 4: 429 with retry-after
    const limited = await mintDev({ user: 'studio-x', role: 'viewer' });
    expect(refusal(limited)).toEqual([429, ErrorCode.RateLimited]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // X-Forwarded-For from a peer that is not a trusted proxy is ignored: no fresh bucket by asking
    const spoofed = await call(dev.http, 'POST', '/v1/dev/tokens', null, { user: 'studio-x', role: 'viewer' }, { 'x-forwarded-for': '203.0.113.50' });
    expect(refusal(spoofed)).toEqual([429, ErrorCode.RateLimited]);
  });

  it('behind a trusted load balancer, limits each client by the address the balancer saw', async () => {
    // This test's requests come from 127.0.0.1, trusted here as a balancer would be.
    const proxied = await startGateway({
      jwtSecret: DEV_SECRET, usingDevSecret: true, devMode: true, trustedProxies: ['127.0.0.1', '::1'],
      web: { ...WEB, guests: false, tokenRate: { perSecond: 0.001, burst: 1 } },
    });
    try {
      const from = (forwardedFor: string) => call(proxied.http, 'POST', '/v1/dev/tokens', null, { user: 'lb-v', role: 'viewer' }, { 'x-forwarded-for': forwardedFor });
      expect((await from('203.0.113.1')).status).toBe(201);
      expect(refusal(await from('203.0.113.1'))).toEqual([429, ErrorCode.RateLimited]);
      expect((await from('203.0.113.2')).status).toBe(201); // another client behind the same balancer
      // A client that writes its own header gets it prepended to, not replaced: still its bucket.
      expect(refusal(await from('198.51.100.77, 203.0.113.2'))).toEqual([429, ErrorCode.RateLimited]);
      expect(refusal(await from('garbage, 203.0.113.1'))).toEqual([429, ErrorCode.RateLimited]);
    } finally {
      await proxied.close();
    }
  });
});

describe('guest tokens', () => {
  it('are refused with GUESTS_OFF where guests are off', async () => {
    expect(refusal(await call(dev.http, 'POST', '/v1/guest-tokens', null, { room: R }))).toEqual([403, ErrorCode.GuestsOff]);
  });

  it('a guest watches, reads chat and reacts in its one room; chat, buying and /v1/me answer SIGN_IN_REQUIRED', async () => {
    const first = await api('POST', '/v1/guest-tokens', null, { room: R });
    expect(first.status).toBe(201);
    expect(first.body.userId).toMatch(/^guest:[A-Za-z0-9_-]{12}$/);
    expect(first.body.expiresAt - Date.now()).toBeGreaterThan((WEB.guestTtlSeconds - 60) * 1000);
    expect(first.body.expiresAt - Date.now()).toBeLessThanOrEqual(WEB.guestTtlSeconds * 1000 + 5_000);
    const second = await api('POST', '/v1/guest-tokens', null, { room: R });
    expect(second.body.userId).not.toBe(first.body.userId);
    expect(refusal(await api('POST', '/v1/guest-tokens', null, { room: 'no room!' }))).toEqual([400, ErrorCode.InvalidArgument]);
    expect(gw.node.tokens.verifySync(first.body.token)).toMatchObject({ role: 'viewer', rooms: [R], guest: true });
    const guest = first.body.token as string;

    const g = await socket(guest);
    const v = await socket(tok.viewer);
    expect(await ask(g, { join: { room: R } })).toBe('ok');
    expect(await ask(v, { join: { room: R } })).toBe('ok');
    expect(await ask(g, { join: { room: O } })).toBe(ErrorCode.RoomNotAllowed);
    expect(await ask(g, { chat: { room: R, text: 'hello from a guest' } })).toBe(ErrorCode.SignInRequired);
    expect(await ask(g, { buy: { room: R, productId: 'any', quantity: 1, idempotencyKey: 'guest-tap' } })).toBe(ErrorCode.SignInRequired);
    expect(await ask(g, { react: { room: R, kind: flashcast.ReactionKind.HEART, count: 1 } })).toBe('ok');
    expect(await ask(g, { media: { room: R, capabilities: {} } })).not.toBe(ErrorCode.SignInRequired);
    // the guest reads the room's chat; its own line never reached anyone
    expect(await ask(v, { chat: { room: R, text: 'hello from a viewer' } })).toBe('ok');
    await g.next((f) => f.event?.chat?.text === 'hello from a viewer');
    expect(v.frames.some((f) => f.event?.chat?.text === 'hello from a guest')).toBe(false);
    // its reaction counts
    await v.next((f) => (f.event?.stats?.reactions ?? []).some((r) => r.kind === flashcast.ReactionKind.HEART && Number(r.total) >= 1));

    // over HTTP: reads of its room yes; the buyer's routes no
    expect((await api('GET', `/v1/rooms/${R}/showcase`, guest)).status).toBe(200);
    const refused = [
      await api('POST', '/v1/checkout', guest, { roomId: R, productId: 'any', quantity: 1, idempotencyKey: 'guest-http' }),
      await api('GET', '/v1/me/orders', guest),
      await api('GET', '/v1/me/addresses', guest),
      await api('PUT', '/v1/me/payment-method', guest, { type: 'card', token: 'tok_visa' }),
      await api('POST', '/v1/deals/d_x/orders/o_x/confirm', guest, { method: 'card' }),
      await api('GET', '/v1/me/shops', guest),
      await api('POST', `/v1/rooms/${R}/stream-keys`, guest),
    ];
    expect(refused.map(refusal)).toEqual(refused.map(() => [401, ErrorCode.SignInRequired]));
    // a guest of R is no guest of O
    expect(refusal(await api('GET', `/v1/rooms/${O}/showcase`, guest))).toEqual([403, ErrorCode.RoomNotAllowed]);
  });
});

describe('stream keys', () => {
  it('the room host (or ops) gets the WHIP URL and a key; nobody else', async () => {
    const key = await api('POST', `/v1/rooms/${R}/stream-keys`, tok.hostR);
    expect(key.status).toBe(201);
    expect(key.body.whipUrl).toBe(`${gw.http}/whip/${R}`);
    expect(key.body.expiresAt - Date.now()).toBeGreaterThan((WEB.streamKeyTtlSeconds - 60) * 1000);
    expect(gw.node.tokens.verifySync(key.body.streamKey)).toMatchObject({ userId: 'web-host-r', role: 'host', rooms: [R], scope: 'ingest' });
    expect((await api('POST', `/v1/rooms/${R}/stream-keys`, tok.hostR, undefined, { 'x-forwarded-proto': 'https' })).body.whipUrl).toBe(`${gw.http.replace('http:', 'https:')}/whip/${R}`);
    expect((await api('POST', `/v1/rooms/${R}/stream-keys`, tok.ops)).status).toBe(201);
    // FLASHCAST_PUBLIC_URL wins over the request's host
    const host = devTokens.mintSync({ sub: 'studio-ana', role: 'host', rooms: [R] });
    expect((await call(dev.http, 'POST', `/v1/rooms/${R}/stream-keys`, host)).body.whipUrl).toBe(`https://live.example.com/whip/${R}`);
    const refused = [
      await api('POST', `/v1/rooms/${R}/stream-keys`, tok.viewer),
      await api('POST', `/v1/rooms/${R}/stream-keys`, tok.hostO),
      await api('POST', `/v1/rooms/${R}/stream-keys`, tok.modR),
      await api('POST', `/v1/rooms/${R}/stream-keys`, tok.sellerA),
      await api('POST', `/v1/rooms/${R}/stream-keys`, null),
    ];
    expect(refused.map(refusal)).toEqual([
      [403, ErrorCode.Forbidden], [403, ErrorCode.Forbidden], [403, ErrorCode.Forbidden], [403, ErrorCode.Forbidden], [401, ErrorCode.Unauthorized],
    ]);
  });

  it('OBS publishes with the key over WHIP and ends its session; the key is INGEST_ONLY anywhere else', async () => {
    const { streamKey } = (await api('POST', `/v1/rooms/${R}/stream-keys`, tok.hostR)).body as { streamKey: string };
    // OBS's WHIP output: POST the offer with the key as the bearer
    const whip = await api('POST', `/whip/${R}`, streamKey, SDP_OFFER, { 'content-type': 'application/sdp' });
    expect(whip.status, JSON.stringify(whip.body)).toBe(201);
    expect(whip.headers.get('content-type')).toContain('application/sdp');
    expect(String(whip.body)).toMatch(/^v=0\r\n/);
    const location = whip.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/whip/${R}/`));
    // the room's media now has the ingest's producer
    const room = (await sfu.rooms()).find((r) => r.id === R)!;
    expect([...room.producers.values()].map((p) => [p.source, p.userId])).toContainEqual(['whip', 'web-host-r']);
    // another room: the host rules still hold
    expect(refusal(await api('POST', `/whip/${O}`, streamKey, SDP_OFFER, { 'content-type': 'application/sdp' }))).toEqual([403, ErrorCode.Forbidden]);
    // anything but WHIP, public routes included: 403 INGEST_ONLY
    const misuse = [
      await api('GET', `/v1/rooms/${R}`, streamKey),
      await api('POST', `/v1/rooms/${R}/announcements`, streamKey, { text: 'hijacked' }),
      await api('POST', `/v1/rooms/${R}/stream-keys`, streamKey),
      await api('GET', `/v1/rooms/${R}/dashboard`, streamKey),
      await api('GET', '/v1/web/config', streamKey),
      await api('GET', '/openapi.json', streamKey),
    ];
    expect(misuse.map(refusal)).toEqual(misuse.map(() => [403, ErrorCode.IngestOnly]));
    // the socket: an error frame, then the terminal close
    const c = await RawClient.open(gw.url, streamKey);
    sockets.push(c);
    expect(await c.closed).toBe(CloseCode.Unauthorized);
    expect(c.frames.find((f) => f.msg === 'error')?.error?.code).toBe(ErrorCode.IngestOnly);
    // OBS stops: DELETE with the same key
    expect((await api('DELETE', location, streamKey)).status).toBe(200);
    await waitFor(() => ![...room.producers.values()].some((p) => p.source === 'whip'), 5_000, 'the ingest closed');
  });
});

describe("the studio's lists", () => {
  it('GET /v1/me/shops: the shops the caller owns', async () => {
    const a1 = await api('POST', '/v1/shops', tok.sellerA, { name: 'A one', currency: 'USD', country: 'US' });
    const a2 = await api('POST', '/v1/shops', tok.sellerA, { name: 'A two', currency: 'IDR', country: 'ID' });
    expect((await api('GET', '/v1/me/shops', tok.sellerA)).body).toEqual({ shops: [a1.body, a2.body] });
    expect((await api('GET', '/v1/me/shops', tok.sellerB)).body).toEqual({ shops: [] });
    expect(refusal(await api('GET', '/v1/me/shops', tok.viewer))).toEqual([403, ErrorCode.Forbidden]);
    expect(refusal(await api('GET', '/v1/me/shops', tok.modR))).toEqual([403, ErrorCode.Forbidden]);
  });

  it('GET /v1/shops/{shop}/products: newest first, page by page, each page once; the shop\'s seller or ops only', async () => {
    const shop = (await api('POST', '/v1/shops', tok.sellerA, { name: 'Paged', currency: 'USD', country: 'US' })).body;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await api('POST', `/v1/shops/${shop.id}/products`, tok.sellerA, {
        titles: { en: `Item ${i}` }, images: i === 0 ? [] : [`https://img.example/${i}.jpg`], price: { amount: 1000 + i, currency: 'USD' }, stock: 10 * i,
      });
      ids.push(p.body.id);
    }
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Answer = await api('GET', `/v1/shops/${shop.id}/products?limit=2${cursor ? `&cursor=${cursor}` : ''}`, tok.sellerA);
      expect(page.status).toBe(200);
      expect(page.body.products.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.products);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((p) => p.id)).toEqual([...ids].reverse());
    expect(seen[4]).toEqual({ id: ids[0], shopId: shop.id, titles: { en: 'Item 0' }, images: [], price: { amount: 1000, currency: 'USD' }, stock: 0, minPrice: null });
    expect(seen[0]).toMatchObject({ images: ['https://img.example/4.jpg'], price: { amount: 1004, currency: 'USD' }, stock: 40 });
    expect((await api('GET', `/v1/shops/${shop.id}/products`, tok.ops)).body.products).toHaveLength(5);
    const other = (await api('POST', '/v1/shops', tok.sellerB, { name: 'B', currency: 'USD', country: 'US' })).body;
    const foreign = (await api('POST', `/v1/shops/${other.id}/products`, tok.sellerB, { titles: { en: 'B' }, price: { amount: 1, currency: 'USD' }, stock: 1 })).body;
    expect(refusal(await api('GET', `/v1/shops/${shop.id}/products`, tok.sellerB))).toEqual([403, ErrorCode.Forbidden]);
    expect(refusal(await api('GET', `/v1/shops/${shop.id}/products`, tok.viewer))).toEqual([403, ErrorCode.Forbidden]);
    expect(refusal(await api('GET', `/v1/shops/${shop.id}/products?cursor=${foreign.id}`, tok.sellerA))).toEqual([400, ErrorCode.InvalidArgument]);
    expect(refusal(await api('GET', `/v1/shops/${shop.id}/products?limit=0`, tok.sellerA))).toEqual([400, ErrorCode.InvalidArgument]);
    expect(refusal(await api('GET', '/v1/shops/no-such-shop/products', tok.ops))).toEqual([404, 'SHOP_NOT_FOUND']);
  });
});

describe("a room's deals, and the ops console", () => {
  let active = '';

  it("GET /v1/rooms/{room}/deals: each deal's phase, sales, stock, limits and regions, for the room's staff and ops", async () => {
    const commerce = gw.node.commerce!;
    const shop = await commerce.catalog.createShop({ ownerUserId: 'web-host-r', name: 'Host R shop', currency: 'USD', country: 'US' });
    // a failing merchant endpoint: deal.started is delivered once, refused, and gives up (FLASHCAST_WEBHOOK_ATTEMPTS=1)
    expect((await api('POST', `/v1/shops/${shop.id}/webhooks`, tok.hostR, { url: receiver.url('/hooks'), events: ['deal.started'] })).status).toBe(201);
    const products = [];
    for (const title of ['Live', 'Soon', 'Over']) {
      const p = await commerce.catalog.createProduct(shop.id, { titles: { en: title }, images: [], price: { amount: 5000, currency: 'USD' }, stock: 100 });
      await commerce.catalog.addToShowcase(R, p.id);
      products.push(p);
    }
    const terms = { price: { amount: 3000, currency: 'USD' }, totalStock: 10, perBuyerLimit: 2, durationSeconds: 600 };
    const live = await commerce.deals.create(R, 'web-host-r', { ...terms, productId: products[0].id, countdownSeconds: 0, allowedRegions: ['US', 'ID'] });
    const soon = await commerce.deals.create(R, 'web-host-r', { ...terms, productId: products[1].id, countdownSeconds: 300 });
    const over = await commerce.deals.create(R, 'web-host-r', { ...terms, productId: products[2].id, countdownSeconds: 0 });
    await commerce.deals.end(over.id);
    active = live.id;
    // one paid unit of the live deal
    await commerce.methods.save('web-buyer', { type: 'card', token: 'tok_visa' });
    const bought = await commerce.checkout.reserve(gw.node.tokens.verifySync(tok.buyer), { roomId: R, productId: products[0].id, quantity: 1, idempotencyKey: 'web-1' });
    expect(bought.code).toBe('');
    const deals = await waitFor(async () => {
      const r = await api('GET', `/v1/rooms/${R}/deals`, tok.hostR);
      return r.body.deals?.find((d: any) => d.id === live.id)?.soldUnits === 1 ? r.body.deals : null;
    }, 15_000, 'the sale counted');
    expect(deals.map((d: any) => [d.id, d.phase])).toEqual([[over.id, 'ended'], [soon.id, 'countdown'], [live.id, 'active']]);
    expect(deals[2]).toMatchObject({
      productId: products[0].id, price: { amount: 3000, currency: 'USD' }, totalStock: 10, soldUnits: 1, available: 9, perBuyerLimit: 2,
      allowedRegions: ['US', 'ID'], startsAt: live.startsAt, endsAt: live.endsAt, status: 'active', kind: 'flash',
    });
    expect(deals[1]).toMatchObject({ soldUnits: 0, available: 10, startsAt: soon.startsAt });
    expect(deals[0]).toMatchObject({ soldUnits: 0, available: null, status: 'ended' });
    expect((await api('GET', `/v1/rooms/${R}/deals?limit=1`, tok.modR)).body.deals.map((d: any) => d.id)).toEqual([over.id]);
    expect((await api('GET', `/v1/rooms/${R}/deals`, tok.ops)).status).toBe(200);
    expect((await api('GET', `/v1/rooms/${O}/deals`, tok.hostO)).body).toEqual({ deals: [] });
    expect(refusal(await api('GET', `/v1/rooms/${R}/deals`, tok.viewer))).toEqual([403, ErrorCode.Forbidden]);
    expect(refusal(await api('GET', `/v1/rooms/${R}/deals`, tok.hostO))).toEqual([403, ErrorCode.Forbidden]);
  });

  it('GET /v1/ops/rooms: viewers per node, a publishing host, the running deal', async () => {
    const host = await socket(tok.hostR);
    const viewer = await socket(tok.buyer);
    expect(await ask(host, { join: { room: R } })).toBe('ok');
    expect(await ask(viewer, { join: { room: R } })).toBe('ok');
    const whip = await api('POST', `/whip/${R}`, tok.hostR, SDP_OFFER, { 'content-type': 'application/sdp' });
    expect(whip.status).toBe(201);
    try {
      const room = await waitFor(async () => {
        const r = await api('GET', '/v1/ops/rooms', tok.ops);
        const found = r.body.rooms?.find((x: any) => x.roomId === R);
        return found?.publishing && found.viewers >= 2 ? found : null;
      }, 15_000, 'room R reported');
      expect(room.viewersByNode).toEqual([{ nodeId: gw.node.nodeId, viewers: room.viewers }]);
      expect(room.activeDealId).toBe(active);
      expect(refusal(await api('GET', '/v1/ops/rooms', tok.hostR))).toEqual([403, ErrorCode.Forbidden]);
    } finally {
      await api('DELETE', whip.headers.get('location')!, tok.hostR);
    }
    // the ingest gone, the room is no longer publishing
    await waitFor(async () => (await api('GET', '/v1/ops/rooms', tok.ops)).body.rooms.find((x: any) => x.roomId === R)?.publishing === false, 15_000, 'not publishing');
  });

  it('GET /v1/ops/overview: messages and deliveries per second from the gateway metrics; failed jobs and deliveries', async () => {
    // a poison refund job (an order without a refund: the worker throws; one attempt)
    const refunds = new Queue('{refund}', { connection: { url: REDIS_URL }, prefix: `${gw.prefix}:bull` });
    try {
      await refunds.add('refund', { orderId: 'web-no-such-order' }, { attempts: 1, jobId: 'web-poison' });
    } finally {
      await refunds.close();
    }
    const c = await socket(tok.viewer);
    expect(await ask(c, { join: { room: R } })).toBe('ok');
    const overview = await waitFor(async () => {
      // traffic within the node's interval: reactions in, the room's stats out to its members
      c.send({ v: 1, rid: ++rid, react: { room: R, kind: flashcast.ReactionKind.FIRE, count: 1 } });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const r = await api('GET', '/v1/ops/overview', tok.ops);
      const node = r.body.nodes?.find((n: any) => n.nodeId === gw.node.nodeId);
      const ready = node && node.messagesPerSecond > 0 && node.deliveriesPerSecond > 0 && r.body.failedSettlementJobs >= 1 && r.body.failedWebhookDeliveries >= 1;
      return ready ? r.body : null;
    }, 20_000, 'an overview with traffic and failures');
    const node = overview.nodes.find((n: any) => n.nodeId === gw.node.nodeId);
    expect(node.connections).toBeGreaterThanOrEqual(1);
    expect(node.rooms).toBeGreaterThanOrEqual(1);
    // the counts are what the replay routes list
    expect(overview.failedSettlementJobsByQueue).toEqual({ settle: 0, commission: 0, refund: 1 });
    expect(overview.failedSettlementJobs).toBe(1);
    const listed = await api('GET', '/v1/ops/settlement/failed?queue=refund', tok.ops);
    expect(listed.body.jobs.map((j: any) => j.jobId)).toEqual(['web-poison']);
    const failed = await api('GET', '/v1/ops/webhooks/deliveries?status=failed', tok.ops);
    expect(overview.failedWebhookDeliveries).toBe(failed.body.deliveries.length);
    expect(failed.body.deliveries[0]).toMatchObject({ eventType: 'deal.started', status: 'failed' });
    // the dev gateway (no commerce) reports its node, without settlement or webhook counts
    const bare = await waitFor(async () => {
      const r = await call(dev.http, 'GET', '/v1/ops/overview', devTokens.mintSync({ sub: 'o', role: 'ops' }));
      return r.body.nodes?.some((n: any) => n.nodeId === dev.node.nodeId) ? r.body : null;
    }, 10_000, 'the dev node reported');
    expect(bare).toMatchObject({ failedSettlementJobs: null, failedSettlementJobsByQueue: null, failedWebhookDeliveries: null });
    expect(refusal(await api('GET', '/v1/ops/overview', tok.sellerA))).toEqual([403, ErrorCode.Forbidden]);
  });
});
