import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../common/config.js';
import { RoomEvent, type FlashcastClient, type flashcast } from '../../client-sdk/index.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { JWT_SECRET, waitFor } from '../helpers/env.js';
import { ARTIFACTS, phone, seedSale, shopSite, startWebStack, waitForState, type WebStack } from './webStack.js';

/**
 * `<flashcast-live>` on a shop's own site (another origin than the gateway's), as docs/web.md
 * says to embed it: one script tag and the element, no attributes but the room. The gateway
 * lists the shop's origin (FLASHCAST_CORS_ORIGINS) and its token endpoint
 * (FLASHCAST_TOKEN_ENDPOINT, a path on the shop's site): the element asks it, with the shop's
 * cookies, for its signed-in user's token, and that user chats. A site the gateway does not
 * list cannot load the element's script, call the API or open a socket.
 */
const ROOM = 'embed-room';

let stack: WebStack;
let browser: Browser;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  const base = loadConfig({ FLASHCAST_JWT_SECRET: JWT_SECRET });
  stack = await startWebStack({
    config: { web: { ...base.web, tokenEndpoint: '/flashcast-token' } },
    // The shop's sessions: the cookie names its user; the shop mints that user's Flashcast token (its server holds the secret).
    site: { tokenFor: (session) => mint({ sub: `shop-user-${session}`, role: 'viewer', name: session === 'alice' ? 'Alice' : session, region: 'SG' }) },
  });
  await seedSale(stack, ROOM, { countdownSeconds: 1, stock: 10, durationSeconds: 900 });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await stack?.close();
});

describe.skipIf(!chromiumAvailable())('the element embedded on a shop\'s site', () => {
  it('on a listed origin: the shop\'s token endpoint signs its user in, who chats', async () => {
    const other = sdkClient(stack.gw.url, await mint({ sub: 'embed-other', role: 'viewer' }));
    clients.push(other);
    await other.connect();
    const room = await other.join(ROOM);
    const heard: flashcast.IChatMessage[] = [];
    room.on(RoomEvent.Chat, (m) => heard.push(m));

    const context = await phone(browser);
    await context.addCookies([{ name: 'shop_session', value: 'alice', url: stack.site.url }]);
    const page = await context.newPage();
    const calls: string[] = [];
    page.on('request', (r) => calls.push(`${r.method()} ${new URL(r.url()).origin === stack.site.url ? 'shop' : 'gateway'} ${new URL(r.url()).pathname}`));
    // No token, no server: the element talks to the origin its script came from.
    await page.goto(`${stack.site.url}/test-embed.html?room=${ROOM}&lang=en`);
    const state = await waitForState(page, (s) => s.status === 'live', 'live');
    expect(state).toMatchObject({ userId: 'shop-user-alice', guest: false });
    expect(calls).toContain('GET gateway /v1/web/config');
    expect(calls).toContain('POST shop /flashcast-token');
    expect(calls).not.toContain('POST gateway /v1/guest-tokens');
    await page.locator('[data-testid="chat-input"]').fill('hi from the shop page');
    await page.locator('[data-testid="chat-send"]').tap();
    await waitFor(() => heard.find((m) => m.text === 'hi from the shop page'), 10_000, 'line delivered');
    expect(heard.find((m) => m.text === 'hi from the shop page')?.name).toBe('Alice');
    // The public reads the card needs cross the origin too (deal price, FX).
    expect(calls.some((c) => c.startsWith('GET gateway /v1/deals/'))).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}embed-shop.png` });
    await context.close();
  }, 60_000);

  it('on a shop not signed in: a guest, who is asked to sign in at the shop to chat', async () => {
    const context = await phone(browser);
    const page = await context.newPage();
    await page.goto(`${stack.site.url}/test-embed.html?room=${ROOM}&lang=en`);
    const state = await waitForState(page, (s) => s.status === 'live', 'live');
    expect(state.guest).toBe(true);
    const asked = page.evaluate(() => new Promise((resolve) => document.addEventListener('flashcast-signin-required', (e) => resolve((e as CustomEvent).detail), { once: true })));
    await page.locator('[data-testid="sign-in"]').tap();
    expect(await asked).toEqual({ reason: 'chat', tokenEndpoint: '/flashcast-token', dev: false });
    expect(await page.locator('[data-testid="sign-in-sheet"] p').first().innerText()).toBe('Sign in to the shop, then come back here.');
    // The shopper signs in on the shop's site, then says so: the element asks the endpoint again.
    await context.addCookies([{ name: 'shop_session', value: 'bob', url: stack.site.url }]);
    await page.locator('[data-testid="sign-in-submit"]').tap();
    expect((await waitForState(page, (s) => s.status === 'live' && !s.guest, 'signed in')).userId).toBe('shop-user-bob');
    await context.close();
  }, 60_000);

  it('on an origin the gateway does not list: the script loads (it is public) but neither the API nor a socket answers', async () => {
    const stranger = await shopSite();
    stranger.setGateway(stack.gw.http);
    try {
      const context = await phone(browser);
      const page = await context.newPage();
      const opened: string[] = [];
      page.on('websocket', (ws) => opened.push(ws.url()));
      await page.goto(`${stranger.url}/test-embed.html?room=${ROOM}&token=${await mint({ sub: 'stranger', role: 'viewer' })}`);
      // The element says it cannot reach the live (and will try again later); it opened no socket.
      expect(await waitForState(page, (s) => s.status === 'error', 'error')).toMatchObject({ error: 'UNAVAILABLE' });
      expect(opened).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}embed-unlisted.png` });
      const attempts = await page.evaluate(async (gateway) => {
        const api = await fetch(`${gateway}/v1/web/config`).then(() => 'read', (e: Error) => e.name);
        const socket = await new Promise<string>((resolve) => {
          const ws = new WebSocket(`${gateway.replace(/^http/, 'ws')}/ws`);
          ws.onopen = () => resolve('open');
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        });
        return { api, socket };
      }, stack.gw.http);
      expect(attempts).toEqual({ api: 'TypeError', socket: 'closed 1006' });
      await context.close();
    } finally {
      await stranger.close();
    }
  }, 60_000);
});
