import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomEvent, type FlashcastClient, type flashcast } from '../../client-sdk/index.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';
import { ThrottledProxy } from '../../load-tests/bench/ThrottledProxy.js';
import { ARTIFACTS, goLive, phone, seedSale, startWebStack, waitForState, type Sale, type WebStack } from './webStack.js';

/**
 * A phone on a slow 3G connection (Chromium's emulation: 2 s latency, 400 kbit/s each way, for
 * HTTP; the same on the WebSocket through ThrottledProxy, which the emulation does not slow):
 * the element starts in Lite on its own (the Network Information API says 2G/3G), plays the
 * smallest layer (320 px wide from a 1280x720 camera), chat goes both ways, and the buy button
 * works: a returning buyer's one tap is paid. On a fast connection auto plays a bigger layer and
 * the quality switcher moves to Lite, then audio only.
 */
const ROOM = 'lite-room';
const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: 50_000, uploadThroughput: 50_000, connectionType: 'cellular3g' } as const;

let stack: WebStack;
let browser: Browser;
let sale: Sale;
let proxy: ThrottledProxy;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  stack = await startWebStack({ sfu: true, rtcMinPort: 48500 });
  sale = await seedSale(stack, ROOM, { countdownSeconds: 1, stock: 10, durationSeconds: 900 });
  proxy = await ThrottledProxy.create({ host: '127.0.0.1', port: Number(new URL(stack.gw.http).port) }, { latencyMs: SLOW_3G.latency / 2, bytesPerSecond: SLOW_3G.downloadThroughput });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  proxy?.close();
  await browser?.close();
  await stack?.close();
});

const testId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`).first();

describe.skipIf(!chromiumAvailable())('the viewer on slow 3G', () => {
  it('chooses Lite by itself, plays the smallest layer, chats and buys', async () => {
    const host = await goLive(browser, stack, ROOM, sale.hostToken);
    // A returning buyer: an address and a saved card.
    const token = await mint({ sub: 'lite-buyer', role: 'viewer', name: 'Lite', region: 'US' });
    const me = sdkClient(stack.gw.url, token);
    clients.push(me);
    await me.addresses().add({ name: 'Lite Buyer', phone: '+14155550100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' });
    const saved = await fetch(`${stack.gw.http}/v1/me/payment-method`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'card', token: 'tok_visa' }),
    });
    expect(saved.status).toBe(204);
    const other = sdkClient(stack.gw.url, await mint({ sub: 'lite-other', role: 'viewer', name: 'Other' }));
    clients.push(other);
    await other.connect();
    const otherRoom = await other.join(ROOM);
    const heard: flashcast.IChatMessage[] = [];
    otherRoom.on(RoomEvent.Chat, (m) => heard.push(m));

    const context = await phone(browser);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', SLOW_3G);
    // The script comes from the gateway; the API and the socket through the slow proxy (`server`).
    await page.goto(`${stack.site.url}/test-embed.html?${new URLSearchParams({ room: ROOM, token, lang: 'en', server: proxy.origin })}`, { timeout: 60_000 });
    expect(await page.evaluate(() => (navigator as Navigator & { connection?: { effectiveType: string } }).connection?.effectiveType)).toMatch(/^(slow-2g|2g|3g)$/);
    const live = await waitForState(page, (s) => s.status === 'live' && s.video.hasVideo, 'live with video', 90_000);
    expect(live.video.quality).toBe('lite');
    expect(await testId(page, 'quality-badge').innerText()).toBe('Lite');

    // The smallest layer plays.
    const stats = () => page.evaluate(() => (document.querySelector('flashcast-live') as unknown as { videoStats(): Promise<{ framesDecoded: number; frameWidth: number } | null> }).videoStats());
    await waitFor(async () => ((await stats())?.framesDecoded ?? 0) > 5, 60_000, 'frames decoded');
    await waitFor(async () => (await stats())?.frameWidth === 320, 30_000, 'the 320-wide layer');
    const before = (await stats())!.framesDecoded;
    await waitFor(async () => ((await stats())?.framesDecoded ?? 0) > before, 20_000, 'still decoding');

    // Chat both ways.
    await testId(page, 'chat-input').fill('hello from 3G');
    await testId(page, 'chat-send').tap();
    await waitFor(() => heard.some((m) => m.text === 'hello from 3G'), 30_000, 'the line reached the room');
    await otherRoom.sendChat('welcome, slow phone');
    await page.locator('[data-testid="chat-list"] li', { hasText: 'welcome, slow phone' }).waitFor({ timeout: 30_000 });

    // The buy button: one tap, paid.
    await waitForState(page, (s) => s.buy.enabled, 'buy enabled', 30_000);
    await testId(page, 'buy').tap();
    const paid = await waitForState(page, (s) => s.checkout.stage === 'paid', 'paid', 60_000);
    expect(paid.checkout.orderId).toMatch(/^o_/);
    await page.screenshot({ path: `${ARTIFACTS}viewer-slow-3g.png` });
    await context.close();
    await host.close();
  }, 240_000);

  it('on a fast connection: auto plays a bigger layer, the switcher moves to Lite and audio only', async () => {
    const host = await goLive(browser, stack, ROOM, sale.hostToken);
    const token = await mint({ sub: 'fast-viewer', role: 'viewer', name: 'Nadia', region: 'MY' });
    const context = await phone(browser);
    const page = await context.newPage();
    await page.goto(`${stack.site.url}/test-embed.html?${new URLSearchParams({ room: ROOM, token, lang: 'en' })}`);
    const live = await waitForState(page, (s) => s.status === 'live' && s.video.hasVideo, 'live with video', 30_000);
    expect(live.video.quality).toBe('auto');
    expect(live.roomPhase).toBe('live');
    expect(await testId(page, 'live-badge').innerText()).toBe('LIVE');
    const stats = () => page.evaluate(() => (document.querySelector('flashcast-live') as unknown as { videoStats(): Promise<{ framesDecoded: number; frameWidth: number } | null> }).videoStats());
    await waitFor(async () => ((await stats())?.frameWidth ?? 0) >= 640, 30_000, 'auto above the lowest layer');
    await waitForState(page, (s) => s.video.firstFrameMs !== null, 'a first frame');

    // A purchase and a chat line, as a viewer sees a live sale.
    const buyer = sdkClient(stack.gw.url, await mint({ sub: 'fast-buyer', role: 'viewer', name: 'Rina', region: 'ID' }));
    clients.push(buyer);
    await buyer.addresses().add({ name: 'Rina', phone: '+6281234567890', line1: 'Jl. Merdeka 10', city: 'Jakarta', state: 'DKI Jakarta', postalCode: '10110', country: 'ID' });
    const saved = await fetch(`${stack.gw.http}/v1/me/payment-method`, {
      method: 'PUT', headers: { authorization: `Bearer ${await mint({ sub: 'fast-buyer', role: 'viewer' })}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'card', token: 'tok_visa' }),
    });
    expect(saved.status).toBe(204);
    await buyer.connect();
    const buyerRoom = await buyer.join(ROOM);
    await buyerRoom.sendChat('Is it real silk?');
    await buyerRoom.buy({ productId: sale.productId, dealId: sale.dealId });
    await page.locator('[data-testid="ticker"] li', { hasText: 'Rina (ID) just bought' }).waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="chat-list"] li', { hasText: 'Is it real silk?' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}viewer-live.png` });

    // The switcher: Lite pins the smallest layer, audio only drops the video (the poster says so).
    await testId(page, 'settings').tap();
    await testId(page, 'quality-lite').tap();
    await waitFor(async () => (await stats())?.frameWidth === 320, 20_000, 'Lite at 320');
    expect(await testId(page, 'quality-lite').getAttribute('aria-pressed')).toBe('true');
    await testId(page, 'quality-audio').tap();
    await waitForState(page, (s) => s.video.quality === 'audio' && !s.video.hasVideo, 'audio only');
    expect(await testId(page, 'offline').innerText()).toContain('Audio only');
    await context.close();
    await host.close();
  }, 120_000);
});
