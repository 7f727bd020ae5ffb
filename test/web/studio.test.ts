import { existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, FlashcastRequestError, RoomEvent, flashcast, type FlashcastClient } from '../../client-sdk/index.js';
import { SfuService } from '../../sfu/SfuService.js';
import { chromiumAvailable, launchChromium, serveStatic } from '../helpers/browser.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';
import { startGateway } from '../helpers/InProcessGateway.js';

/**
 * The host studio in Chromium, served by a real gateway (commerce, settlement, an SFU; real
 * Redis, PostgreSQL, mediasoup): a host signs in with the development form, opens a shop and
 * a product, goes live with Chromium's fake camera (three simulcast layers reach the SFU),
 * builds the showcase, pins, schedules a flash deal; a scripted buyer (the SDK in Node) buys
 * once the countdown is over and the dashboard shows the order; the host mutes the buyer from
 * the chat, sets blocked words, and gets an OBS stream key. Screenshots: test/artifacts/, and
 * the README's docs/img/studio.png.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const PAGES = join(ROOT, 'dist', 'public');
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_studio_${randomBytes(6).toString('hex')}`;
const ROOM = 'studio-live';
const HOST = 'studio-host';

const SCARF_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 80"><rect width="80" height="80" fill="#2b1a1f"/>
<path d="M18 14h44l-6 22 10 30H48l-6-24-8 24H14l12-30z" fill="#e0314b"/><path d="M18 14h44l-3 10H21z" fill="#ff6b81"/></svg>`;

let gw: Awaited<ReturnType<typeof startGateway>>;
let sfu: SfuService;
let images: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  if (!existsSync(join(PAGES, 'studio', 'studio.js'))) throw new Error('the pages are not built: run `npm run build` (or `npm run build:web`) first');
  mkdirSync(ARTIFACTS, { recursive: true });
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema, usingDevSecret: true }, { commerce: true, settlement: true, pages: PAGES });
  sfu = await SfuService.create({ workers: 1, rtcMinPort: 43000, rtcMaxPort: 43499 });
  gw.node.attachSfu(sfu);
  images = await serveStatic({ '/scarf.svg': ['image/svg+xml', SCARF_SVG] });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await images?.close();
  sfu?.close();
  await gw?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** An element by its data-testid (Playwright's CSS engine pierces the pages' open shadow roots). */
const byId = (page: Page, id: string, extra = '') => page.locator(`[data-testid="${id}"]${extra}`);

async function buyer(sub: string, name: string): Promise<{ client: FlashcastClient; token: string }> {
  const token = await mint({ sub, role: 'viewer', name, region: 'US' });
  const saved = await fetch(`${gw.http}/v1/me/payment-method`, {
    method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'card', token: 'tok_visa' }),
  });
  expect(saved.status).toBe(204);
  const client = sdkClient(gw.url, token);
  clients.push(client);
  await client.connect();
  return { client, token };
}

describe.skipIf(!chromiumAvailable())('the host studio', () => {
  it('signs in, opens a shop, goes live, pins, runs a deal the dashboard follows, and moderates the chat', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${gw.http}/studio/?room=${ROOM}`);

    // Sign in: the development form mints a host token for the room.
    await byId(page, 'signin-user').fill(HOST);
    await byId(page, 'signin-name').fill('Sam Host');
    expect(await byId(page, 'signin-room').inputValue()).toBe(ROOM);
    await byId(page, 'signin-submit').click();

    // No shop yet: open one and add a product (the price is typed as a decimal).
    await byId(page, 'shop-name').fill('Sam\'s Scarves');
    await byId(page, 'shop-currency').selectOption('USD');
    await byId(page, 'shop-create').click();
    await byId(page, 'product-title').fill('Red silk scarf');
    await byId(page, 'product-price').fill('29.99');
    await byId(page, 'product-stock').fill('50');
    await byId(page, 'product-image').fill(`${images.url}/scarf.svg`);
    await byId(page, 'product-add').click();
    await byId(page, 'product-row').waitFor();
    const commerce = gw.node.commerce!;
    const [shop] = await commerce.catalog.shopsOf(HOST);
    expect(shop).toMatchObject({ name: 'Sam\'s Scarves', currency: 'USD', ownerUserId: HOST });
    const [product] = (await commerce.catalog.productsOf(shop.id, { limit: 10 })).products;
    expect(product).toMatchObject({ titles: { en: 'Red silk scarf' }, price: { amount: 2999, currency: 'USD' }, stock: 50 });
    await byId(page, 'setup-done').click();
    await byId(page, 'studio').waitFor();
    await byId(page, 'connection-state', '[data-state="connected"]').waitFor();

    // Go live with the fake camera: audio and three simulcast video layers reach the SFU; the room is LIVE.
    await byId(page, 'live-title').fill('Spring scarves');
    await byId(page, 'go-live').click();
    await byId(page, 'live-state', '[data-state="live"]').waitFor({ timeout: 20_000 });
    const media = await waitFor(async () => (await sfu.rooms()).find((r) => r.id === ROOM && r.producers.size === 2), 10_000, 'host producers');
    const video = [...media.producers.values()].find((p) => p.kind === 'video')!;
    expect(video.producer.type).toBe('simulcast');
    expect(video.producer.rtpParameters.encodings).toHaveLength(3);
    await byId(page, 'room-phase', '[data-phase="ROOM_LIVE"]').waitFor();

    // A buyer is in the room before the sale.
    const bea = await buyer('studio-bea', 'Bea');
    const room = await bea.client.join(ROOM);
    expect(room.state.phase).toBe(flashcast.RoomPhase.ROOM_LIVE);
    expect(room.state.title).toBe('Spring scarves');

    // Showcase from the catalog, then pin: the buyer sees the card the server built.
    await byId(page, 'catalog-row', `[data-product-id="${product.id}"]`).locator('[data-testid="showcase-add"]').click();
    const row = byId(page, 'showcase-row', `[data-product-id="${product.id}"]`);
    await row.locator('[data-testid="pin"]').click();
    await row.locator('[data-testid="pinned"]').waitFor();
    await waitFor(() => room.state.pinned?.productId === product.id, 5000, 'pin seen by the buyer');
    expect(room.state.pinned).toMatchObject({ title: 'Red silk scarf', imageUrl: `${images.url}/scarf.svg` });

    // Schedule a flash deal: 10 s countdown, 1 minute, 5 units, 2 per buyer, at 19.99.
    await byId(page, 'deal-product').selectOption(product.id);
    await byId(page, 'deal-price').fill('19.99');
    await byId(page, 'deal-stock').fill('5');
    await byId(page, 'deal-limit').fill('2');
    await byId(page, 'deal-countdown').fill('10');
    await byId(page, 'deal-duration').fill('1');
    await byId(page, 'deal-create').click();
    const dealRow = byId(page, 'deal-row', '[data-phase="SCHEDULED"]');
    await dealRow.waitFor();
    const dealId = (await dealRow.getAttribute('data-deal-id'))!;
    const deal = await commerce.deals.get(dealId);
    expect(deal).toMatchObject({ productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 5, perBuyerLimit: 2, countdownSeconds: 10, durationSeconds: 60 });

    // When the countdown is over the studio shows the deal live; the buyer taps and is paid.
    await byId(page, 'deal-row', `[data-deal-id="${dealId}"][data-phase="LIVE"]`).waitFor({ timeout: 20_000 });
    await waitFor(() => room.state.inventory.get(dealId)?.phase === flashcast.DealPhase.DEAL_LIVE, 10_000, 'deal live for the buyer');
    const paid = new Promise<flashcast.IOrderUpdate>((resolve) => bea.client.on(ClientEvent.OrderUpdate, (u) => u.status === flashcast.CheckoutStatus.CHECKOUT_PAID && resolve(u)));
    const order = await room.buy({ productId: product.id, quantity: 2 });
    expect(order.status).toBe(flashcast.CheckoutStatus.CHECKOUT_SETTLING);
    expect(Number(order.total?.amount)).toBe(3998);
    expect((await paid).orderId).toBe(order.orderId);

    // The dashboard shows the order: GMV, orders, units.
    await byId(page, 'dash-orders', '[data-value="1"]').waitFor({ timeout: 10_000 });
    await byId(page, 'dash-units', '[data-value="2"]').waitFor();
    expect(await byId(page, 'dash-gmv').getAttribute('data-amount')).toBe('3998');
    expect(await byId(page, 'dash-gmv').textContent()).toContain('39.98');
    await byId(page, 'deal-row', `[data-deal-id="${dealId}"]`).getByText('3/5 left').waitFor();

    // The buyer chats; the host sees the line and mutes the buyer from it.
    await room.sendChat('Love the red one!');
    const line = byId(page, 'chat-line', '[data-user-id="studio-bea"]');
    await line.waitFor();
    expect(await line.textContent()).toContain('Love the red one!');
    await page.screenshot({ path: join(ARTIFACTS, 'studio-live.png') });
    await page.screenshot({ path: join(ROOT, 'docs', 'img', 'studio.png') });
    await line.locator('[data-testid="chat-mute"]').click();
    await byId(page, 'restricted-row', '[data-user-id="studio-bea"][data-kind="mute"]').waitFor();
    const muted = await room.sendChat('Hello?').catch((e: FlashcastRequestError) => e);
    expect(muted).toBeInstanceOf(FlashcastRequestError);
    expect((muted as FlashcastRequestError).code).toBe('MUTED');

    // Blocked words: another buyer's line containing one is refused.
    await byId(page, 'blocked-words').fill('fake, scam');
    await byId(page, 'blocked-words-save').click();
    await byId(page, 'mod-status').waitFor();
    const cy = await buyer('studio-cy', 'Cy');
    const cyRoom = await cy.client.join(ROOM);
    const blocked = await cyRoom.sendChat('this is a SCAM').catch((e: FlashcastRequestError) => e);
    expect((blocked as FlashcastRequestError).code).toBe('BLOCKED_WORD');

    // OBS: the room's WHIP URL and a stream key.
    await byId(page, 'obs-get-key').click();
    expect(await byId(page, 'obs-whip-url').inputValue()).toBe(`${gw.http}/whip/${ROOM}`);
    expect((await byId(page, 'obs-stream-key').inputValue()).split('.')).toHaveLength(3);

    // Ending the live stream closes the producers and marks the room ended.
    const states: flashcast.RoomPhase[] = [];
    room.on(RoomEvent.State, (s) => states.push(s.phase ?? 0));
    await byId(page, 'end-live').click();
    await byId(page, 'live-state', '[data-state="off"]').waitFor();
    await waitFor(async () => ((await sfu.rooms()).find((r) => r.id === ROOM)?.producers.size ?? 0) === 0, 10_000, 'producers closed');
    await waitFor(() => states.includes(flashcast.RoomPhase.ROOM_ENDED), 5000, 'room ended');

    // The same studio on a phone: one column.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, 'studio-phone.png'), fullPage: true });
    const camera = await byId(page, 'go-live').boundingBox();
    const deals = await byId(page, 'deal-form').boundingBox();
    expect(camera!.x + camera!.width).toBeLessThanOrEqual(390);
    expect(deals!.y).toBeGreaterThan(camera!.y);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 120_000);
});
