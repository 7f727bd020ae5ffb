import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';
import { ARTIFACTS, openViewer, phone, startWebStack, waitForState, type WebStack } from './webStack.js';

/**
 * One live sale, end to end, all in Chromium against a real gateway (commerce, settlement,
 * mediasoup; real Redis and PostgreSQL): the host studio signs in with the development form,
 * opens a shop, goes live with the fake camera, builds the showcase, pins and schedules a flash
 * deal; three viewer elements on a shop's site (another origin) watch — two in auto quality,
 * one in Lite — with frames decoded at each one's resolution, and chat; during the deal one
 * viewer buys in one tap with a saved card and another buys for the first time through the
 * hosted payment step; the studio's dashboard shows both orders; a moderator signs in to the
 * studio and mutes a viewer, whose page then says so and turns its chat input off. Screenshots: test/artifacts/web/e2e-*.
 */
const ROOM = 'e2e-sale';
const HOST = 'e2e-host';

let stack: WebStack;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startWebStack({ sfu: true, dev: true, rtcMinPort: 45000 });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await stack?.close();
});

/** An element by its data-testid (CSS locators pierce the pages' open shadow roots). */
const byId = (page: Page, id: string, extra = '') => page.locator(`[data-testid="${id}"]${extra}`).first();

async function studioPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`studio page error: ${e.message}`));
  await page.goto(`${stack.gw.http}/studio/?room=${ROOM}`);
  await byId(page, 'signin-user').waitFor();
  return page;
}

async function viewer(name: string, quality: 'auto' | 'lite', savedCard: boolean): Promise<{ page: Page; context: BrowserContext; userId: string }> {
  const userId = `e2e-${name.toLowerCase()}`;
  const token = await mint({ sub: userId, role: 'viewer', name, region: 'US' });
  if (savedCard) {
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const address = await fetch(`${stack.gw.http}/v1/me/addresses`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ name, phone: '+1 415 555 0100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US', default: true }),
    });
    expect(address.status, await address.text()).toBe(201);
    const card = await fetch(`${stack.gw.http}/v1/me/payment-method`, { method: 'PUT', headers: auth, body: JSON.stringify({ type: 'card', token: 'tok_visa' }) });
    expect(card.status).toBe(204);
  }
  const context = await phone(browser);
  contexts.push(context);
  const page = await openViewer(context, stack.site.url, { room: ROOM, token, lang: 'en', quality });
  return { page, context, userId };
}

const videoStats = (page: Page) =>
  page.evaluate(() => (document.querySelector('flashcast-live') as unknown as { videoStats(): Promise<{ framesDecoded: number; frameWidth: number } | null> }).videoStats());

describe.skipIf(!chromiumAvailable())('a live sale in the browser, end to end', () => {
  it('studio goes live, pins and runs a deal; three viewers watch, chat and buy; the dashboard shows the orders; a moderator mutes', async () => {
    // --- The studio: sign in, open a shop with a product, go live. ---
    const studio = await studioPage();
    await byId(studio, 'signin-user').fill(HOST);
    await byId(studio, 'signin-name').fill('Sam Host');
    await byId(studio, 'signin-submit').click();
    await byId(studio, 'shop-name').fill('Sam\'s Scarves');
    await byId(studio, 'shop-currency').selectOption('USD');
    await byId(studio, 'shop-create').click();
    await byId(studio, 'product-title').fill('Red silk scarf');
    await byId(studio, 'product-price').fill('29.99');
    await byId(studio, 'product-stock').fill('50');
    await byId(studio, 'product-add').click();
    await byId(studio, 'product-row').waitFor();
    await byId(studio, 'setup-done').click();
    await byId(studio, 'connection-state', '[data-state="connected"]').waitFor();
    const commerce = stack.gw.node.commerce!;
    const [shop] = await commerce.catalog.shopsOf(HOST);
    const [product] = (await commerce.catalog.productsOf(shop.id, { limit: 10 })).products;
    // The shop ships everywhere for 5.00 (what its seller sets up once), so buyers give an address.
    await commerce.shipping.replace(shop.id, [{ region: '*', amount: 500, freeAbove: null }]);
    await byId(studio, 'live-title').fill('Spring scarves');
    await byId(studio, 'go-live').click();
    await byId(studio, 'live-state', '[data-state="live"]').waitFor({ timeout: 20_000 });

    // --- Three viewers on the shop's site (another origin): two auto, one Lite. ---
    const ana = await viewer('Ana', 'auto', true);
    const ben = await viewer('Ben', 'auto', false);
    const lia = await viewer('Lia', 'lite', false);
    for (const [v, minWidth, maxWidth] of [[ana, 640, 1280], [ben, 640, 1280], [lia, 160, 320]] as const) {
      const first = await waitFor(async () => {
        const s = await videoStats(v.page);
        return s && s.framesDecoded > 5 ? s : null;
      }, 30_000, `${v.userId} decodes video`);
      const later = await waitFor(async () => {
        const s = await videoStats(v.page);
        return s && s.framesDecoded > first.framesDecoded + 5 && s.frameWidth >= minWidth && s.frameWidth <= maxWidth ? s : null;
      }, 30_000, `${v.userId}: frames rising at a width in [${minWidth}, ${maxWidth}]`);
      expect(later.framesDecoded).toBeGreaterThan(first.framesDecoded);
    }

    // --- Showcase, pin, and a flash deal from the studio. ---
    await byId(studio, 'catalog-row', `[data-product-id="${product.id}"]`).locator('[data-testid="showcase-add"]').click();
    const row = byId(studio, 'showcase-row', `[data-product-id="${product.id}"]`);
    await row.locator('[data-testid="pin"]').click();
    await row.locator('[data-testid="pinned"]').waitFor();
    await waitForState(ana.page, (s) => s.product?.productId === product.id, 'the pinned card on a viewer');
    await byId(studio, 'deal-product').selectOption(product.id);
    await byId(studio, 'deal-price').fill('19.99');
    await byId(studio, 'deal-stock').fill('10');
    await byId(studio, 'deal-limit').fill('2');
    await byId(studio, 'deal-countdown').fill('10');
    await byId(studio, 'deal-duration').fill('2');
    await byId(studio, 'deal-create').click();
    const dealId = (await byId(studio, 'deal-row', '[data-phase="SCHEDULED"]').getAttribute('data-deal-id'))!;
    await byId(studio, 'deal-row', `[data-deal-id="${dealId}"][data-phase="LIVE"]`).waitFor({ timeout: 30_000 });

    // --- Chat from the viewers, seen by the studio. ---
    for (const v of [ana, ben, lia]) {
      await byId(v.page, 'chat-input').fill(`hi from ${v.userId}`);
      await byId(v.page, 'chat-send').tap();
      await byId(studio, 'chat-line', `[data-user-id="${v.userId}"]`).waitFor();
    }

    // --- Ana buys in one tap with her saved card. ---
    await waitForState(ana.page, (s) => s.buy.enabled && s.product?.deal?.phase === 'live', 'the deal live for Ana');
    await byId(ana.page, 'buy').tap();
    const anaPaid = await waitForState(ana.page, (s) => s.checkout.stage === 'paid', 'Ana paid in one tap', 30_000);

    // --- Ben buys for the first time: address, card, the hosted step in a popup. ---
    await waitForState(ben.page, (s) => s.buy.enabled, 'the buy button for Ben');
    await byId(ben.page, 'buy').tap();
    await byId(ben.page, 'address-form').waitFor();
    await byId(ben.page, 'address-name').fill('Ben Cruz');
    await byId(ben.page, 'address-phone').fill('+1 415 555 0101');
    await byId(ben.page, 'address-line1').fill('2 Market St');
    await byId(ben.page, 'address-city').fill('San Francisco');
    await byId(ben.page, 'address-state').fill('CA');
    await byId(ben.page, 'address-postalCode').fill('94105');
    await byId(ben.page, 'address-country').selectOption('US');
    await byId(ben.page, 'buy').tap();
    await byId(ben.page, 'method-card').tap();
    const [popup] = await Promise.all([ben.context.waitForEvent('page'), byId(ben.page, 'buy').tap()]);
    await popup.waitForSelector('#card-number');
    await popup.fill('#card-number', '4242 4242 4242 4242');
    await popup.tap('#pay');
    const benPaid = await waitForState(ben.page, (s) => s.checkout.stage === 'paid', 'Ben paid through the hosted step', 30_000);

    const { rows } = await commerce.db.query<{ id: string; status: string; buyer_id: string }>(
      'SELECT id, status, buyer_id FROM orders WHERE deal_id = $1 ORDER BY buyer_id', [dealId]);
    expect(rows).toEqual([
      { id: anaPaid.checkout.orderId, status: 'paid', buyer_id: ana.userId },
      { id: benPaid.checkout.orderId, status: 'paid', buyer_id: ben.userId },
    ]);

    // --- The studio's dashboard shows the two orders; the viewers' stock dropped by two. ---
    await byId(studio, 'dash-orders', '[data-value="2"]').waitFor({ timeout: 15_000 });
    await byId(studio, 'dash-units', '[data-value="2"]').waitFor();
    expect(await byId(studio, 'dash-gmv').getAttribute('data-amount')).not.toBe('0');
    await waitForState(lia.page, (s) => s.product?.deal?.available === 8, 'Lia sees 8 left');
    await studio.screenshot({ path: join(ARTIFACTS, 'e2e-studio.png') });
    await lia.page.screenshot({ path: join(ARTIFACTS, 'e2e-lite-viewer.png') });

    // --- A moderator signs in to the studio and mutes Lia; her next line is refused. ---
    const mod = await studioPage();
    await byId(mod, 'signin-user').fill('e2e-mod');
    await byId(mod, 'signin-name').fill('Mo');
    await byId(mod, 'signin-role').selectOption('moderator');
    await byId(mod, 'signin-submit').click();
    await byId(mod, 'studio-moderator').waitFor();
    await byId(lia.page, 'chat-input').fill('one more from Lia');
    await byId(lia.page, 'chat-send').tap();
    const liaLine = byId(mod, 'chat-line', `[data-user-id="${lia.userId}"]`);
    await liaLine.waitFor({ timeout: 15_000 });
    await liaLine.locator('[data-testid="chat-mute"]').click();
    await byId(mod, 'restricted-row', `[data-user-id="${lia.userId}"][data-kind="mute"]`).waitFor();
    // Her page says so and turns the input off (the server's refusal of a muted user's lines is test/web/studio.test.ts's).
    await lia.page.locator('[data-testid="chat-input"][placeholder="You are muted"]').waitFor({ timeout: 10_000 });
    expect(await byId(lia.page, 'chat-input').isDisabled()).toBe(true);
    await lia.page.screenshot({ path: join(ARTIFACTS, 'e2e-muted.png') });
  }, 240_000);
});
