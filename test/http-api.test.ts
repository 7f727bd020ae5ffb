import { randomBytes, randomUUID } from 'node:crypto';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/index.js';
import { Policy } from '../common/auth/Policy.js';
import { ERROR_CODES } from '../common/http/HttpErrors.js';
import { openApiPath, undocumentedRoutes, type OpenApiDocument } from '../common/http/openApi.js';
import { SfuService } from '../sfu/SfuService.js';
import { chromiumAvailable, launchChromium } from './helpers/browser.js';
import { waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { mint } from './helpers/clients.js';

/**
 * The HTTP contract, on a real gateway (commerce, settlement, an SFU; real Redis, PostgreSQL,
 * mediasoup, Chromium): every route is in the OpenAPI document served at /openapi.json; the
 * answers of a representative flow (shop, product, plan, deal, checkout, order, refund, and
 * refusals) match the schemas the document declares, checked with a JSON Schema validator
 * built from the document itself; `Idempotency-Key` holds on the real routes; /docs renders.
 */

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_api_${randomBytes(6).toString('hex')}`;
const R = 'api-r';

let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
let doc: OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();
const tok = {} as Record<'host' | 'seller' | 'buyer' | 'saver' | 'ops' | 'viewer', string>;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** `/a/b` → `~1a~1b` (JSON Pointer escaping). */
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * What is wrong with an answer according to the document: an undocumented route or status,
 * an undeclared content type, a body where none is declared, or a body its JSON Schema refuses.
 */
function contractErrors(method: string, path: string, res: Pick<Answer, 'status' | 'headers' | 'text'>): string[] {
  const where = `${method} ${path} → ${res.status}`;
  const match = gw.node.router.match(method, path);
  if (!match || 'allowed' in match) return [`${where}: no such route`];
  const template = openApiPath(match.route.pattern);
  const op = doc.paths[template]?.[method.toLowerCase()] as { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> } | undefined;
  if (!op) return [`${where}: not in the document`];
  const status = String(res.status);
  const declared = op.responses[status] ?? (res.status >= 500 ? op.responses.default : undefined);
  if (!declared) return [`${where}: status not in the document (${Object.keys(op.responses).join(', ')})`];
  if (!declared.content) return res.text === '' ? [] : [`${where}: a body where the document declares none`];
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  const media = declared.content[type];
  if (!media) return [`${where}: content-type ${type} not declared (${Object.keys(declared.content).join(', ')})`];
  if (!media.schema) return [];
  const ref = `openapi.json#/${pointer('paths', template, method.toLowerCase(), 'responses', op.responses[status] ? status : 'default', 'content', type, 'schema')}`;
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return [`${where}: body is not JSON`];
  }
  return validate(body) ? [] : [`${where}: ${ajv.errorsText(validate.errors)} in ${res.text.slice(0, 300)}`];
}

const violations: string[] = [];
/** Operations answered with a 2xx that matched the document. */
const covered = new Set<string>();

/** One request over HTTP; its answer is checked against the document (failures collected in `violations`). */
async function call(method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const json = body !== undefined && typeof body !== 'string';
  const res = await fetch(`${gw.http}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : json ? JSON.stringify(body) : (body as string),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  const answer = { status: res.status, headers: res.headers, text, body: parsed };
  const bare = path.split('?')[0];
  const errors = contractErrors(method, bare, answer);
  violations.push(...errors);
  const match = gw.node.router.match(method, bare);
  if (errors.length === 0 && res.status < 300 && match && !('allowed' in match)) covered.add(`${method} ${match.route.pattern}`);
  return answer;
}

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':');
const SDP_OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=setup:actpass',
  'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
  'a=ssrc:1111 cname:contract', '',
].join('\r\n');

beforeAll(async () => {
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema }, { commerce: true, settlement: true });
  sfu = await SfuService.create({ workers: 1, rtcMinPort: 38000, rtcMaxPort: 38499 });
  gw.node.attachSfu(sfu);
  tok.host = await mint({ sub: 'api-host', role: 'host', rooms: [R], name: 'Host', region: 'US' });
  tok.seller = await mint({ sub: 'api-seller', role: 'seller', name: 'Seller', region: 'US' });
  tok.buyer = await mint({ sub: 'api-buyer', role: 'viewer', name: 'Bea Buyer', region: 'US' });
  tok.saver = await mint({ sub: 'api-saver', role: 'viewer', name: 'Sam Saver', region: 'US' });
  tok.viewer = await mint({ sub: 'api-viewer', role: 'viewer', name: 'Vic', region: 'US' });
  tok.ops = await mint({ sub: 'api-ops', role: 'ops', name: 'Ops' });
  const res = await fetch(`${gw.http}/openapi.json`);
  doc = (await res.json()) as OpenApiDocument;
  ajv.addSchema(doc, 'openapi.json');
}, 60_000);

afterAll(async () => {
  await gw?.close();
  sfu?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('the OpenAPI document', () => {
  it('has every registered route, with its policy action, token requirement and, for creating POSTs, Idempotency-Key', async () => {
    const routes = gw.node.router.routes();
    expect(routes.length).toBeGreaterThan(40);
    expect(undocumentedRoutes(routes, doc)).toEqual([]);
    const creating = ['POST /v1/shops', 'POST /v1/shops/:shopId/products', 'POST /v1/shops/:shopId/affiliate-plans', 'POST /v1/rooms/:roomId/deals', 'POST /v1/checkout', 'POST /v1/orders/:orderId/refunds'];
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.pattern)][r.method.toLowerCase()] as any;
      const name = `${r.method} ${r.pattern}`;
      expect(op['x-policy'], name).toMatchObject({ action: r.action, public: Policy.isPublic(r.action) });
      expect(op.security, name).toEqual(Policy.isPublic(r.action) ? [] : [{ bearer: [] }]);
      expect(Object.keys(op.responses).some((s) => s.startsWith('2')), name).toBe(true);
      if (creating.includes(name)) expect(op['x-idempotent'], name).toBe(true);
    }
    expect((doc.components.schemas.ErrorCode as { enum: string[] }).enum).toEqual(ERROR_CODES);
    // served as JSON, and valid for its own declared answer
    const again = await call('GET', '/openapi.json', null);
    expect(again.body).toEqual(doc);
  });

  it('/docs renders it in Chromium: every operation and schema, the only script allowed by the CSP, no error', async () => {
    const page = await call('GET', '/docs', null);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    if (!chromiumAvailable()) return;
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const problems: string[] = [];
      tab.on('pageerror', (e) => problems.push(e.message));
      tab.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      tab.on('request', (r) => {
        if (!r.url().startsWith(`${gw.http}/docs`)) problems.push(`fetched ${r.url()}`);
      });
      await tab.goto(`${gw.http}/docs#post_v1_checkout`);
      await tab.waitForSelector('details.op');
      const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      expect(await tab.locator('details.op').count()).toBe(operations);
      expect(await tab.locator('[id^="schema-"]').count()).toBe(Object.keys(doc.components.schemas).length);
      expect(await tab.locator('#post_v1_checkout').getAttribute('open')).not.toBeNull();
      expect(await tab.locator('#post_v1_checkout').innerText()).toContain('checkout.buy');
      expect(await tab.locator('#codes').innerText()).toContain(`(${ERROR_CODES.length})`);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('real answers match their declared schemas', () => {
  it('a representative flow: shop, product, plan, showcase, deal, checkout, order, refund, room and ops routes, and refusals', async () => {
    const commerce = gw.node.commerce!;
    // --- catalog ---
    const shop = await call('POST', '/v1/shops', tok.host, { name: 'Contract Shop', currency: 'USD', country: 'US' }, { 'idempotency-key': randomUUID() });
    expect(shop.status).toBe(201);
    const shopId = shop.body.id as string;
    expect((await call('GET', `/v1/shops/${shopId}`, null)).status).toBe(200);
    const product = await call('POST', `/v1/shops/${shopId}/products`, tok.host, {
      titles: { en: 'Scarf', fr: 'Écharpe' }, images: ['https://img.example/s.jpg'], price: { amount: 2500, currency: 'USD' }, stock: 100,
    });
    expect(product.status).toBe(201);
    const productId = product.body.id as string;
    expect((await call('GET', `/v1/products/${productId}`, null)).body.minPrice).toBeNull();
    expect((await call('PATCH', `/v1/products/${productId}`, tok.host, { minPrice: 1000 })).body.minPrice).toBe(1000);
    expect((await call('PUT', `/v1/products/${productId}/stock`, tok.host, { stock: 120 })).status).toBe(204);
    expect((await call('PUT', `/v1/shops/${shopId}/return-shipping-rates`, tok.host, { region: '*', amount: 500 })).status).toBe(200);
    expect((await call('GET', `/v1/shops/${shopId}/return-shipping-rates`, tok.host)).body.rates).toHaveLength(1);
    // --- affiliate plans (a seller's shop) ---
    const sellerShop = await call('POST', '/v1/shops', tok.seller, { name: 'Seller Shop', currency: 'USD', country: 'US' });
    const sellerProduct = await call('POST', `/v1/shops/${sellerShop.body.id}/products`, tok.seller, { titles: { en: 'Hat' }, price: { amount: 3000, currency: 'USD' }, stock: 10 });
    const plan = await call('POST', `/v1/shops/${sellerShop.body.id}/affiliate-plans`, tok.seller, {
      productId: sellerProduct.body.id, creatorId: 'api-host', commissionBps: 800, minDealPrice: { amount: 2000, currency: 'USD' },
    });
    expect(plan.status).toBe(201);
    expect((await call('GET', `/v1/shops/${sellerShop.body.id}/affiliate-plans`, tok.seller)).body.plans).toHaveLength(1);
    expect((await call('GET', '/v1/me/affiliate-plans', tok.host)).body.plans).toHaveLength(1);
    // --- shipping: a buyer's address book, a shop's rates ---
    const address = await call('POST', '/v1/me/addresses', tok.viewer, {
      name: 'Vic Viewer', phone: '+6281234567890', line1: 'Jl. Sudirman 1', city: 'Jakarta', state: 'DKI Jakarta', postalCode: '10220', country: 'ID',
    });
    expect(address.status).toBe(201);
    expect((await call('GET', '/v1/me/addresses', tok.viewer)).body.addresses).toHaveLength(1);
    expect((await call('DELETE', `/v1/me/addresses/${address.body.id}`, tok.viewer)).status).toBe(204);
    expect((await call('PUT', `/v1/shops/${sellerShop.body.id}/shipping-rates`, tok.seller, { rates: [] })).status).toBe(200);
    expect((await call('GET', `/v1/shops/${sellerShop.body.id}/shipping-rates`, tok.seller)).body.rates).toEqual([]);
    // --- webhooks: an endpoint added and removed (nothing is ever delivered from this test) ---
    const hook = await call('POST', `/v1/shops/${sellerShop.body.id}/webhooks`, tok.seller, { url: 'https://hooks.example.com/flashcast', events: ['deal.ended'] });
    expect(hook.status).toBe(201);
    expect((await call('GET', `/v1/shops/${sellerShop.body.id}/webhooks`, tok.seller)).body.webhooks).toHaveLength(1);
    expect((await call('DELETE', `/v1/shops/${sellerShop.body.id}/webhooks/${hook.body.id}`, tok.seller)).status).toBe(204);
    expect((await call('GET', '/v1/ops/webhooks/deliveries', tok.ops)).body.deliveries).toEqual([]);
    expect((await call('POST', `/v1/shops/${sellerShop.body.id}/affiliate-plans/${plan.body.id}/close`, tok.seller)).body.status).toBe('closed');
    // --- showcase, a deal made over HTTP, and a live one to buy from ---
    expect((await call('PUT', `/v1/rooms/${R}/showcase`, tok.host, { productIds: [productId] })).status).toBe(204);
    expect((await call('POST', `/v1/rooms/${R}/showcase`, tok.host, { productId })).status).toBe(204);
    expect((await call('GET', `/v1/rooms/${R}/showcase`, tok.viewer)).body.products).toHaveLength(1);
    const scheduled = await call('POST', `/v1/rooms/${R}/deals`, tok.host, {
      productId, price: { amount: 2000, currency: 'USD' }, totalStock: 5, perBuyerLimit: 1, countdownSeconds: 10, durationSeconds: 60,
    });
    expect(scheduled.status).toBe(201);
    expect((await call('GET', `/v1/deals/${scheduled.body.id}`, null)).body.inventory.phase).toBe('DEAL_SCHEDULED');
    expect((await call('POST', `/v1/deals/${scheduled.body.id}/end`, tok.host)).status).toBe(204);
    const live = await commerce.deals.create(R, 'api-host', {
      productId, price: { amount: 2000, currency: 'USD' }, totalStock: 20, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 600,
    });
    expect((await call('GET', `/v1/deals/${live.id}`, null)).body.inventory.phase).toBe('DEAL_LIVE');
    // --- room routes ---
    expect((await call('POST', `/v1/rooms/${R}/pin`, tok.host, { productId })).status).toBe(200);
    expect((await call('POST', `/v1/rooms/${R}/announcements`, tok.host, { text: 'Scarves, 20% off' })).status).toBe(200);
    expect((await call('PUT', `/v1/rooms/${R}/state`, tok.host, { phase: 'LIVE', title: 'Contract live' })).status).toBe(200);
    expect((await call('POST', `/v1/rooms/${R}/moderation`, tok.host, { action: 'SLOW_MODE', seconds: 0 })).status).toBe(200);
    expect((await call('POST', `/v1/rooms/${R}/moderation`, tok.host, { action: 'MUTE', userId: 'api-viewer', seconds: 600 })).status).toBe(200);
    expect((await call('POST', `/v1/rooms/${R}/moderation`, tok.host, { action: 'SET_BLOCKED_WORDS', words: ['Spam', 'scam'] })).status).toBe(200);
    const moderation = await call('GET', `/v1/rooms/${R}/moderation`, tok.host);
    expect(moderation.body).toMatchObject({ slowModeSeconds: 0, words: ['scam', 'spam'], bans: [], mutes: [{ userId: 'api-viewer' }] });
    expect(moderation.body.mutes[0].until).toBeGreaterThan(Date.now());
    expect((await call('POST', `/v1/rooms/${R}/moderation`, tok.host, { action: 'UNMUTE', userId: 'api-viewer' })).status).toBe(200);
    expect((await call('POST', `/v1/rooms/${R}/moderation`, tok.host, { action: 'SET_BLOCKED_WORDS', words: [] })).status).toBe(200);
    expect((await call('GET', `/v1/rooms/${R}`, tok.viewer)).body.roomId).toBe(R);
    expect((await call('DELETE', `/v1/rooms/${R}/pin/${productId}`, tok.host)).status).toBe(200);
    // --- a first-time buyer: hold, confirm, paid ---
    const hold = await call('POST', '/v1/checkout', tok.buyer, { roomId: R, productId, quantity: 1, idempotencyKey: 'api-tap-1', displayCurrency: 'USD' });
    expect(hold.status).toBe(200);
    expect(hold.body).toMatchObject({ status: 'CHECKOUT_RESERVED', nextStep: { action: 'confirm_payment' } });
    const orderId = hold.body.orderId as string;
    const confirmed = await call('POST', `/v1/deals/${live.id}/orders/${orderId}/confirm`, tok.buyer, { method: 'card', token: 'tok_visa' }, { 'idempotency-key': `confirm-${orderId}` });
    expect(confirmed.body.status).toBe('CHECKOUT_SETTLING');
    const paid = await waitFor(async () => {
      const o = await call('GET', `/v1/orders/${orderId}`, tok.buyer);
      return o.body.status === 'paid' ? o : null;
    }, 15_000, 'paid order');
    expect(paid.body).toMatchObject({ id: orderId, total_amount: 2000, currency: 'USD', lines: [{ quantity: 1 }] });
    // --- a returning buyer with a saved method ---
    expect((await call('PUT', '/v1/me/payment-method', tok.saver, { type: 'card', token: 'tok_visa' })).status).toBe(204);
    expect((await call('PUT', '/v1/me/preferences', tok.saver, { hideInTicker: true })).status).toBe(204);
    const tap = await call('POST', '/v1/checkout', tok.saver, { roomId: R, productId, quantity: 1, idempotencyKey: 'api-tap-2' });
    expect(tap.body.status).toBe('CHECKOUT_SETTLING');
    expect((await call('DELETE', '/v1/me/payment-method', tok.saver)).status).toBe(204);
    // --- refund and return ---
    const refund = await call('POST', `/v1/orders/${orderId}/refunds`, tok.buyer, { reason: 'unwanted' }, { 'idempotency-key': `refund-${orderId}` });
    expect(refund.status).toBe(201);
    const replayed = await call('POST', `/v1/orders/${orderId}/refunds`, tok.buyer, { reason: 'unwanted' }, { 'idempotency-key': `refund-${orderId}` });
    expect([replayed.status, replayed.body, replayed.headers.get('idempotent-replayed')]).toEqual([201, refund.body, 'true']);
    if (refund.body.status === 'awaiting_return') expect((await call('POST', `/v1/orders/${orderId}/returned`, tok.host)).status).toBe(204);
    // --- FX, balances, dashboard, ops ---
    expect((await call('PUT', '/v1/fx', tok.ops, { rates: [{ base: 'USD', quote: 'EUR', rate: '0.92', asOf: Date.now() }] })).status).toBe(204);
    expect((await call('GET', '/v1/fx', null)).body.rates.length).toBeGreaterThan(0);
    expect((await call('GET', '/v1/affiliates/api-host/balance', tok.host)).status).toBe(200);
    expect((await call('GET', `/v1/rooms/${R}/dashboard`, tok.host)).body.room).toBe(R);
    expect((await call('GET', '/v1/ops/settlement/failed?queue=refund', tok.ops)).status).toBe(200);
    // --- WHIP: an SDP answer, then the session ended ---
    const whip = await call('POST', `/whip/${R}`, tok.host, SDP_OFFER, { 'content-type': 'application/sdp' });
    expect(whip.status).toBe(201);
    expect((await call('DELETE', whip.headers.get('location')!, tok.host)).status).toBe(200);
    // --- the web pages: config, a guest token, a stream key; the studio's lists; the ops console ---
    expect((await call('GET', '/v1/web/config', null)).body).toMatchObject({ dev: false, guests: true, video: true });
    expect((await call('POST', '/v1/guest-tokens', null, { room: R })).status).toBe(201);
    expect((await call('POST', `/v1/rooms/${R}/stream-keys`, tok.host)).body.whipUrl).toBe(`${gw.http}/whip/${R}`);
    expect((await call('GET', '/v1/me/shops', tok.host)).body.shops.map((s: { id: string }) => s.id)).toEqual([shopId]);
    expect((await call('GET', `/v1/shops/${shopId}/products?limit=1`, tok.host)).body).toMatchObject({ products: [{ id: productId }], nextCursor: null });
    expect((await call('GET', `/v1/rooms/${R}/deals`, tok.host)).body.deals.map((d: { id: string }) => d.id)).toEqual([live.id, scheduled.body.id]);
    expect((await call('GET', '/v1/ops/rooms', tok.ops)).status).toBe(200);
    expect((await call('GET', '/v1/ops/overview', tok.ops)).body.failedSettlementJobs).toBe(0);

    // --- refusals: each in the one error shape, with a documented status and a listed code ---
    const refusals = [
      await call('POST', '/v1/checkout', tok.buyer, { roomId: R, productId, quantity: 1, idempotencyKey: 'api-tap-3' }), // limit 1
      await call('GET', '/v1/orders/no-such-order', tok.buyer),
      await call('GET', `/v1/orders/${orderId}`, tok.saver),
      await call('POST', '/v1/shops', null, { name: 'x', currency: 'USD', country: 'US' }),
      await call('POST', '/v1/shops', tok.host, { name: 'x', currency: 'USD', country: 'usa' }),
      await call('POST', '/v1/shops', tok.host, { name: 'x', currency: 'XXX', country: 'US' }),
      await call('POST', `/v1/orders/${orderId}/refunds`, tok.buyer, { reason: 'unwanted' }, { 'idempotency-key': `refund-${orderId}`, 'x-note': 'same key' }),
      await call('POST', `/v1/orders/${orderId}/refunds`, tok.buyer, { reason: 'quality' }, { 'idempotency-key': `refund-${orderId}` }),
      await call('POST', '/v1/ops/settlement/failed/no-such-job/replay', tok.ops),
      await call('GET', '/v1/ops/settlement/failed?queue=nope', tok.ops),
      await call('POST', `/whip/${R}`, tok.host, SDP_OFFER, { 'content-type': 'text/plain' }),
      await call('DELETE', `/whip/${R}/no-such-session`, tok.host),
      await call('GET', '/v1/rooms/never-opened', tok.viewer),
      await call('POST', '/v1/dev/tokens', null, { user: 'api-dev', role: 'ops' }),
    ];
    expect(refusals.map((r) => [r.status, r.body?.error?.code])).toEqual([
      [409, 'LIMIT_REACHED'],
      [404, 'ORDER_NOT_FOUND'],
      [403, ErrorCode.Forbidden],
      [401, ErrorCode.Unauthorized],
      [400, ErrorCode.InvalidArgument],
      [400, 'INVALID_CURRENCY'],
      [201, undefined], // a replay: the same body again
      [422, ErrorCode.IdempotencyKeyReused],
      [404, 'JOB_NOT_FOUND'],
      [400, ErrorCode.InvalidArgument],
      [415, ErrorCode.InvalidArgument],
      [404, ErrorCode.NotFound],
      [404, ErrorCode.RoomNotFound],
      [404, ErrorCode.DevOnly],
    ]);
    expect(refusals[0].body.error.details).toMatchObject({ code: 'LIMIT_REACHED', productId });

    expect(violations).toEqual([]);
    // The flow reached every route of the API with a 2xx that matched the document, but the
    // replays of a poison job and of a webhook delivery (there is none here: the first's 404 is checked above),
    // and development tokens (DEV_ONLY here, checked above; minted by test/web-api.test.ts on the development secret).
    const all = gw.node.router.routes().map((r) => `${r.method} ${r.pattern}`);
    // The asynchronous payment routes are driven end to end by test/commerce/payments.test.ts and
    // test/browser-checkout.test.ts (a provider's signed notifications, the sandbox's HTML page).
    expect(all.filter((r) => !covered.has(r)).sort()).toEqual([
      'GET /v1/me/orders', 'GET /v1/payments/sandbox/pay/:sessionId', 'POST /v1/dev/tokens', 'POST /v1/ops/settlement/failed/:jobId/replay',
      'POST /v1/ops/webhooks/deliveries/:deliveryId/replay', 'POST /v1/payments/:provider/notifications', 'POST /v1/payments/sandbox/pay/:sessionId',
    ]);
  }, 90_000);

  it('the check fails on an answer that does not match (a field of the wrong type, an undeclared field, an undeclared status)', async () => {
    const order = await call('GET', '/v1/orders/no-such-order', tok.buyer);
    expect(order.status).toBe(404);
    const real = (await gw.node.commerce!.db.query<{ id: string }>("SELECT id FROM orders WHERE status = 'paid' LIMIT 1")).rows[0];
    const ok = await fetch(`${gw.http}/v1/orders/${real.id}`, { headers: { authorization: `Bearer ${tok.ops}` } });
    const text = await ok.text();
    expect(contractErrors('GET', `/v1/orders/${real.id}`, { status: 200, headers: ok.headers, text })).toEqual([]);
    const tampered = (change: (o: any) => void) => {
      const o = JSON.parse(text);
      change(o);
      return contractErrors('GET', `/v1/orders/${real.id}`, { status: 200, headers: ok.headers, text: JSON.stringify(o) });
    };
    expect(tampered((o) => (o.total_amount = String(o.total_amount)))[0]).toMatch(/total_amount must be integer/);
    expect(tampered((o) => (o.shipping = { country: 'US' }))[0]).toMatch(/must NOT have additional properties/);
    expect(tampered((o) => delete o.status)[0]).toMatch(/must have required property 'status'/);
    expect(tampered((o) => (o.lines[0].quantity = -0.5))[0]).toMatch(/quantity must be integer/);
    expect(contractErrors('GET', `/v1/orders/${real.id}`, { status: 418, headers: ok.headers, text })[0]).toMatch(/status not in the document/);
    expect(contractErrors('GET', `/v1/orders/${real.id}`, { status: 404, headers: ok.headers, text: '{"error":{"code":"NOPE","message":"x"}}' })[0]).toMatch(/allowed values/);
    expect(contractErrors('PUT', '/v1/fx', { status: 204, headers: ok.headers, text: '{}' })[0]).toMatch(/declares none/);
  });
});

describe('Idempotency-Key on the real routes', () => {
  it('concurrent creates with one key make one shop; the others wait (409) or get its answer', async () => {
    const key = randomUUID();
    const body = { name: `Race ${key.slice(0, 8)}`, currency: 'USD', country: 'US' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1/shops', tok.seller, body, { 'idempotency-key': key })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 201 || s === 409), statuses.join()).toBe(true);
    const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.code).toBe(ErrorCode.IdempotencyKeyInUse);
    const rows = await gw.node.commerce!.db.query('SELECT id FROM shops WHERE name = $1', [body.name]);
    expect(rows.rows.map((r) => r.id)).toEqual([...ids]);
    const late = await call('POST', '/v1/shops', tok.seller, body, { 'idempotency-key': key });
    expect([late.status, late.body.id, late.headers.get('idempotent-replayed')]).toEqual([201, [...ids][0], 'true']);
    // the same key from another caller is another key; another body from this caller is refused
    expect((await call('POST', '/v1/shops', tok.host, body, { 'idempotency-key': key })).body.id).not.toBe([...ids][0]);
    expect((await call('POST', '/v1/shops', tok.seller, { ...body, country: 'FR' }, { 'idempotency-key': key })).status).toBe(422);
    expect(violations).toEqual([]);
  });

  it('a checkout retried with the key replays the same BuyResult; without a header nothing changes', async () => {
    const commerce = gw.node.commerce!;
    const p = await commerce.catalog.createProduct((await commerce.catalog.createShop({ ownerUserId: 'api-host', name: 'Tap shop', currency: 'USD', country: 'US' })).id, {
      titles: { en: 'Cap' }, images: [], price: { amount: 1500, currency: 'USD' }, stock: 10,
    });
    await commerce.catalog.addToShowcase(R, p.id);
    await commerce.deals.create(R, 'api-host', { productId: p.id, price: { amount: 1000, currency: 'USD' }, totalStock: 5, perBuyerLimit: 2, countdownSeconds: 0, durationSeconds: 600 });
    const tap = { roomId: R, productId: p.id, quantity: 1, idempotencyKey: 'cap-tap' };
    const first = await call('POST', '/v1/checkout', tok.viewer, tap, { 'idempotency-key': 'cap-http' });
    const second = await call('POST', '/v1/checkout', tok.viewer, tap, { 'idempotency-key': 'cap-http' });
    expect(first.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const plain = await call('POST', '/v1/checkout', tok.viewer, tap);
    expect(plain.headers.get('idempotent-replayed')).toBeNull();
    expect(plain.body.orderId).toBe(first.body.orderId);
    expect(violations).toEqual([]);
  });
});
