import { existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, FlashcastRequestError, RoomEvent, flashcast, type FlashcastClient, type Room } from '../../client-sdk/index.js';
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
 * once the countdown is over and the dashboard shows the order; the host mutes, deletes a
 * line, sets blocked words and slow mode, bans, ends the deal, unpins and gets an OBS stream
 * key; a moderator signs in to the same page and lifts the mute. Screenshots: test/artifacts/web/, and
 * with UPDATE_SCREENSHOTS=1, the README's docs/img/studio.png.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const PAGES = join(ROOT, 'dist', 'public');
const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'web');
/** `UPDATE_SCREENSHOTS=1` also writes the README's screenshot (docs/img). */
const DOCS_IMG = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'img') : null;
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
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema, usingDevSecret: true }, { commerce: true, settlement: true });
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

/** The code a chat line is refused with; tried a few times, as the gateway applies a new moderation setting just after announcing it. */
async function refusedChat(room: Room, text: string): Promise<string> {
  for (let i = 0; ; i++) {
    const error = await room.sendChat(text).then(() => null, (e: FlashcastRequestError) => e);
    if (error || i === 20) return error?.code ?? 'accepted';
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!chromiumAvailable())('the host studio', () => {
  it('signs in, opens a shop, goes live, pins, runs a deal the dashboard follows, and moderates the chat', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${gw.http}/studio/?room=${ROOM}`);

    // Sign in: the development form mints a host token for the room.
    await byId(page, 'signin-user').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'studio-signin.png') });
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
    await page.screenshot({ path: join(ARTIFACTS, 'studio-setup.png') });
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
    if (DOCS_IMG) await page.screenshot({ path: join(DOCS_IMG, 'studio.png') });
    await line.locator('[data-testid="chat-mute"]').click();
    await byId(page, 'restricted-row', '[data-user-id="studio-bea"][data-kind="mute"]').waitFor();
    const muted = await room.sendChat('Hello?').catch((e: FlashcastRequestError) => e);
    expect(muted).toBeInstanceOf(FlashcastRequestError);
    expect((muted as FlashcastRequestError).code).toBe('MUTED');

    // Blocked words: another buyer's line containing one is refused (once the gateway has reloaded the list).
    await byId(page, 'blocked-words').fill('fake, scam');
    await byId(page, 'blocked-words-save').click();
    await byId(page, 'mod-status').waitFor();
    const cy = await buyer('studio-cy', 'Cy');
    const cyRoom = await cy.client.join(ROOM);
    const cyModeration: flashcast.IModerationEvent[] = [];
    cyRoom.on(RoomEvent.Moderation, (m) => cyModeration.push(m));
    expect(await refusedChat(cyRoom, 'this is a SCAM')).toBe('BLOCKED_WORD');

    // Delete a line: everyone is told, and it leaves the host's chat.
    const first = await cyRoom.sendChat('first!');
    await cyRoom.sendChat('second');
    const firstLine = byId(page, 'chat-line', `[data-message-id="${first.id}"]`);
    await firstLine.locator('[data-testid="chat-delete"]').click();
    await waitFor(() => cyModeration.some((m) => m.action === flashcast.ModerationAction.DELETE_MESSAGE && m.messageId === first.id), 5000, 'deletion seen');
    await firstLine.waitFor({ state: 'detached' });

    // Slow mode: one line every 10 s.
    await byId(page, 'slow-mode').selectOption('10');
    await waitFor(() => cyRoom.state.slowModeSeconds === 10, 5000, 'slow mode seen');
    await cyRoom.sendChat('third');
    const slow = await cyRoom.sendChat('fourth').catch((e: FlashcastRequestError) => e);
    expect((slow as FlashcastRequestError).code).toBe('SLOW_MODE');

    // Ban: the buyer is put out of the room.
    const left = new Promise<flashcast.LeftReason>((resolve) => cyRoom.on(RoomEvent.Left, resolve));
    await byId(page, 'chat-line', '[data-user-id="studio-cy"]').first().locator('[data-testid="chat-ban"]').click();
    expect(await left).toBe(flashcast.LeftReason.LEFT_BANNED);
    await byId(page, 'restricted-row', '[data-user-id="studio-cy"][data-kind="ban"]').waitFor();

    // End the deal and unpin: the buyer's room follows.
    await byId(page, 'deal-row', `[data-deal-id="${dealId}"]`).locator('[data-testid="deal-end"]').click();
    await byId(page, 'deal-row', `[data-deal-id="${dealId}"][data-phase="ENDED"]`).waitFor();
    await waitFor(() => room.state.inventory.get(dealId)?.phase === flashcast.DealPhase.DEAL_ENDED, 5000, 'deal ended for the buyer');
    await row.locator('[data-testid="unpin"]').click();
    await waitFor(() => room.state.pinned === null, 5000, 'unpin seen by the buyer');

    // OBS: the room's WHIP URL and a stream key.
    await byId(page, 'obs-get-key').click();
    expect(await byId(page, 'obs-whip-url').inputValue()).toBe(`${gw.http}/whip/${ROOM}`);
    expect((await byId(page, 'obs-stream-key').inputValue()).split('.')).toHaveLength(3);

    // A moderator signs in to the same page: chat and moderation only, with who is muted or banned; lifts the mute.
    const modContext = await browser.newContext({ viewport: { width: 800, height: 900 } });
    const modPage = await modContext.newPage();
    modPage.on('pageerror', (e) => pageErrors.push(`moderator: ${String(e)}`));
    await modPage.goto(`${gw.http}/studio/?room=${ROOM}`);
    await byId(modPage, 'signin-user').fill('studio-mod');
    await byId(modPage, 'signin-role').selectOption('moderator');
    await byId(modPage, 'signin-submit').click();
    await byId(modPage, 'studio-moderator').waitFor();
    expect(await byId(modPage, 'studio-user').getAttribute('data-role')).toBe('moderator');
    expect(await byId(modPage, 'announce-send').count()).toBe(0);
    await byId(modPage, 'restricted-row', '[data-user-id="studio-cy"][data-kind="ban"]').waitFor();
    const unmuted = new Promise<void>((resolve) => room.on(RoomEvent.Moderation, (m) => m.action === flashcast.ModerationAction.UNMUTE && resolve()));
    await byId(modPage, 'restricted-row', '[data-user-id="studio-bea"][data-kind="mute"]').locator('[data-testid="unmute"]').click();
    await unmuted;
    await room.sendChat('Thanks!');
    await byId(modPage, 'chat-line', '[data-user-id="studio-bea"]').waitFor();
    await byId(page, 'restricted-row', '[data-user-id="studio-bea"]').waitFor({ state: 'detached' });
    await modContext.close();

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
