import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, launchChromium } from './helpers/browser.js';
import { mint } from './helpers/clients.js';
import { waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';

/**
 * A first-time buyer, end to end in Chromium (a phone-sized page with touch): the shop's page
 * uses the built SDK; the buyer adds a shipping address, taps the pinned product at its
 * regular price (no deal), picks a way to pay from the typed next step, and finishes on the
 * sandbox's hosted page (served by the gateway, opened in a new tab as a phone does); PAID (or
 * the decline) arrives on the buyer's socket. BNPL in 3 (approve), a 3-D Secure card, a
 * declined card. Items 29.99 + shipping 5.00 = 34.99 USD. Screenshots of the hosted page are
 * saved under test/artifacts/.
 */
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_pay_${randomBytes(6).toString('hex')}`;
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const ROOM = 'live-shop';

let gw: Awaited<ReturnType<typeof startGateway>>;
let site: { url: string; close: () => Promise<void> };
let browser: Browser;
let context: BrowserContext;
let productId = '';
const pageErrors: string[] = [];

/** The shop's page: one product card, the SDK, the buyer's choices rendered from the typed next step. */
const PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live shop</title>
<body><article><h1>Red scarf</h1><button id="buy" disabled>Buy now</button></article>
<section id="step"></section><a id="open-step" target="_blank" hidden>Continue to payment</a>
<script type="module">
  import { FlashcastClient, ClientEvent, NextStepCode } from '/sdk.js';
  window.log = { updates: [], steps: [], actions: [], errors: [] };
  const el = (id) => document.getElementById(id);
  window.start = async (wsUrl, token, roomId, productId) => {
    // The page's origin fronts the API (as a shop's site does): the SDK's HTTP calls go there.
    const client = new FlashcastClient({ url: wsUrl, token, httpUrl: location.origin });
    client.on(ClientEvent.OrderUpdate, (u) => window.log.updates.push({ orderId: u.orderId, status: u.status, code: u.code }));
    await client.connect();
    const room = await client.join(roomId);
    window.client = client;
    // A first purchase: where to ship (checked against the country's rules).
    await client.addresses().add({ name: 'Ana Buyer', phone: '+14155550100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' });
    el('buy').onclick = async () => {
      try {
        const result = await room.buy({ productId });
        const step = result.nextStep;
        window.log.steps.push(step && { code: step.code, orderId: step.orderId, methods: step.methods, plans: (step.instalmentOptions || []).map((o) => o.count) });
        window.log.totals = { items: result.itemsTotal, shipping: result.shipping, total: result.total };
        if (!step || step.code !== NextStepCode.ConfirmPayment) return;
        // The app writes its own words from the code and parameters.
        el('step').innerHTML = '';
        const choose = (id, label, request) => {
          const b = document.createElement('button');
          b.id = id;
          b.textContent = label;
          b.onclick = async () => {
            try {
              const action = await client.confirmPayment({ dealId: step.dealId, orderId: step.orderId, ...request });
              window.log.actions.push({ type: action.type, orderId: action.orderId, url: action.url || null });
              if (action.type === 'redirect' || action.type === 'approval') {
                el('open-step').href = action.url;
                el('open-step').hidden = false;
              }
            } catch (e) { window.log.errors.push(e.code || String(e)); }
          };
          el('step').appendChild(b);
        };
        choose('pay-card', 'Card', { method: 'card' });
        for (const plan of step.instalmentOptions) {
          const each = plan.instalments[0].amount;
          choose('pay-bnpl-' + plan.count, 'Pay in ' + plan.count + ' (' + each.amount + ' ' + each.currency + ' first)', { method: 'bnpl', instalments: plan.count });
        }
      } catch (e) { window.log.errors.push(e.code || String(e)); }
    };
    el('buy').disabled = false;
    return client.session.userId;
  };
  window.orders = async () => (await window.client.orders()).map((o) => ({ id: o.id, status: o.status, step: o.payment_step && o.payment_step.status }));
</script></body></html>`;

/** The shop's site: the page and the SDK bundle, and its `/v1/` paths passed to the gateway (the shop's reverse proxy). */
async function shopSite(files: Record<string, [string, string]>, api: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith('/v1/')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type']) if (req.headers[name]) headers[name] = String(req.headers[name]);
        const body = Buffer.concat(chunks);
        fetch(`${api}${req.url}`, { method: req.method, headers, body: body.length > 0 ? body : undefined }).then(async (r) => {
          const out: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) out[k] = v;
          });
          res.writeHead(r.status, out).end(Buffer.from(await r.arrayBuffer()));
        }, () => res.writeHead(502).end());
      });
      return;
    }
    const file = files[path];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

beforeAll(async () => {
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema }, { commerce: true, settlement: true });
  const commerce = gw.node.commerce!;
  const shop = await commerce.catalog.createShop({ ownerUserId: 'shop-host', name: 'Scarves', currency: 'USD', country: 'US' });
  productId = (await commerce.catalog.createProduct(shop.id, {
    titles: { en: 'Red scarf' }, images: ['https://img.example/scarf.jpg'], price: { amount: 2999, currency: 'USD' }, stock: 100,
  })).id;
  await commerce.catalog.addToShowcase(ROOM, productId);
  // The shop ships for 5.00 anywhere; the host pins the product (no deal: its regular price).
  await commerce.shipping.replace(shop.id, [{ region: '*', amount: 500, freeAbove: null }]);
  const host = await mint({ sub: 'shop-host', role: 'host', rooms: [ROOM] });
  const pinned = await fetch(`${gw.http}/v1/rooms/${ROOM}/pin`, {
    method: 'POST', headers: { authorization: `Bearer ${host}`, 'content-type': 'application/json' }, body: JSON.stringify({ productId }),
  });
  expect(pinned.status).toBe(200);
  site = await shopSite({
    '/': ['text/html', PAGE],
    '/sdk.js': ['text/javascript', await bundleForBrowser('../../client-sdk/index.ts')],
  }, gw.http);
  browser = await launchChromium();
  // A phone: small screen, touch.
  context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await gw?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** A first-time buyer's shop page, connected and in the room. */
async function shopper(userId: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${userId}: ${e.message}`));
  await page.goto(site.url);
  const token = await mint({ sub: userId, role: 'viewer', name: userId, region: 'US' });
  expect(await page.evaluate(([ws, t, r, p]) => (window as any).start(ws, t, r, p), [gw.url, token, ROOM, productId] as const)).toBe(userId);
  return page;
}

/** Taps Buy, then the given payment choice; opens the provider's step in a new tab (as a phone does) and resolves to it. */
async function tapAndChoose(page: Page, choice: string): Promise<{ hosted: Page; orderId: string }> {
  await page.tap('#buy');
  await page.waitForSelector(`#${choice}`);
  const step = await page.evaluate(() => (window as any).log.steps[0]);
  expect(step).toMatchObject({ code: 'CONFIRM_PAYMENT', methods: ['card', 'wallet', 'bnpl'], plans: [3, 6] });
  await page.tap(`#${choice}`);
  await page.waitForSelector('#open-step:not([hidden])');
  const [hosted] = await Promise.all([context.waitForEvent('page'), page.tap('#open-step')]);
  hosted.on('pageerror', (e) => pageErrors.push(`hosted: ${e.message}`));
  await hosted.waitForLoadState();
  return { hosted, orderId: step.orderId };
}

const updatesOf = (page: Page) => page.evaluate(() => (window as any).log.updates as { orderId: string; status: number; code: string }[]);

describe('a first-time buyer pays on the hosted page, in Chromium', () => {
  it('BNPL in 3: the page shows each instalment; approve; PAID arrives on the socket', async () => {
    const page = await shopper('first-bnpl');
    const { hosted, orderId } = await tapAndChoose(page, 'pay-bnpl-3');
    expect(await page.evaluate(() => (window as any).log.actions)).toEqual([{ type: 'approval', orderId, url: expect.stringContaining('/v1/payments/sandbox/pay/ps_') }]);
    expect(await hosted.textContent('h1')).toBe('Pay in 3 with Sandbox PayLater');
    const rows = await hosted.$$eval('#instalments tr.instalment', (trs) => trs.map((tr) => [tr.querySelector('time')!.getAttribute('datetime'), tr.lastElementChild!.textContent]));
    expect(rows.map((r) => r[1])).toEqual(['11.67 USD', '11.66 USD', '11.66 USD']);
    expect(await page.evaluate(() => (window as any).log.totals)).toMatchObject({
      items: { amount: 2999, currency: 'USD' }, shipping: { amount: 500, currency: 'USD' }, total: { amount: 3499, currency: 'USD' },
    });
    expect(rows.every((r) => /^\d{4}-\d{2}-\d{2}$/.test(r[0]!))).toBe(true);
    // Phone-friendly: nothing wider than the screen.
    expect(await hosted.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await hosted.screenshot({ path: `${ARTIFACTS}hosted-page-bnpl.png`, fullPage: true });
    await hosted.tap('#approve');
    await hosted.waitForSelector('#result[data-status="captured"]');
    await waitFor(async () => (await updatesOf(page)).some((u) => u.orderId === orderId), 15_000, 'order update');
    expect(await updatesOf(page)).toEqual([{ orderId, status: 3 /* CHECKOUT_PAID */, code: '' }]);
    expect(await page.evaluate(() => (window as any).orders())).toEqual([{ id: orderId, status: 'paid', step: 'captured' }]);
    const inst = await gw.node.commerce!.db.query<{ amount: number }>('SELECT amount FROM instalments WHERE order_id = $1 ORDER BY seq', [orderId]);
    expect(inst.rows.map((r) => Number(r.amount))).toEqual([1167, 1166, 1166]);
    const order = await gw.node.commerce!.db.query<{ shipping_amount: string; shipping_address: { city: string } }>('SELECT shipping_amount, shipping_address FROM orders WHERE id = $1', [orderId]);
    expect([Number(order.rows[0].shipping_amount), order.rows[0].shipping_address.city]).toEqual([500, 'San Francisco']);
    await hosted.close();
    await page.close();
  });

  it('a 3-D Secure card: card number, the challenge, PAID on the socket', async () => {
    const page = await shopper('first-3ds');
    const { hosted, orderId } = await tapAndChoose(page, 'pay-card');
    expect(await page.evaluate(() => (window as any).log.actions[0].type)).toBe('redirect');
    expect(await hosted.textContent('h1')).toBe('Pay 34.99 USD by card');
    await hosted.screenshot({ path: `${ARTIFACTS}hosted-page-card.png`, fullPage: true });
    await hosted.fill('#card-number', '4000 0000 0000 3220');
    await hosted.tap('#pay');
    await hosted.waitForSelector('#complete-3ds');
    await hosted.screenshot({ path: `${ARTIFACTS}hosted-page-3ds.png`, fullPage: true });
    await hosted.tap('#complete-3ds');
    await hosted.waitForSelector('#result[data-status="captured"]');
    await waitFor(async () => (await updatesOf(page)).some((u) => u.orderId === orderId), 15_000, 'order update');
    expect(await updatesOf(page)).toEqual([{ orderId, status: 3, code: '' }]);
    await hosted.close();
    await page.close();
  });

  it('a declined card: the page says so, the socket hears PAYMENT_DECLINED, the units go back', async () => {
    const page = await shopper('first-declined');
    const { hosted, orderId } = await tapAndChoose(page, 'pay-card');
    await hosted.fill('#card-number', '4000000000000002');
    await hosted.tap('#pay');
    await hosted.waitForSelector('#result[data-status="declined"]');
    expect(await hosted.textContent('#result')).toBe('Payment declined');
    await waitFor(async () => (await updatesOf(page)).some((u) => u.orderId === orderId), 15_000, 'order update');
    expect(await updatesOf(page)).toEqual([{ orderId, status: 4 /* CHECKOUT_FAILED */, code: 'PAYMENT_DECLINED' }]);
    const row = await gw.node.commerce!.db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId]);
    expect(row.rows[0].status).toBe('declined');
    await hosted.close();
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
