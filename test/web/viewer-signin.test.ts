import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomEvent, flashcast, type FlashcastClient } from '../../client-sdk/index.js';
import { TokenService } from '../../common/auth/TokenService.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { waitFor } from '../helpers/env.js';
import { ARTIFACTS, liveState, phone, seedSale, startWebStack, waitForState, type Sale, type WebStack } from './webStack.js';

/**
 * The standalone watch page as a newcomer meets it (served by the gateway, no token anywhere):
 * a guest watches and sends hearts; chatting or buying asks to sign in, which on a development
 * server is a name (POST /v1/dev/tokens); then the viewer chats (others see the name), stays
 * signed in across a reload (this tab only), is told when a moderator mutes them, and signs out;
 * a remembered sign-in the server refuses is forgotten.
 */
const ROOM = 'signin-room';

let stack: WebStack;
let browser: Browser;
let sale: Sale;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  stack = await startWebStack({ dev: true });
  sale = await seedSale(stack, ROOM, { countdownSeconds: 1, stock: 10, durationSeconds: 900 });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await stack?.close();
});

const testId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`).first();

describe.skipIf(!chromiumAvailable())('watching as a guest, then signing in', () => {
  it('a guest watches and reacts; chat and buy ask to sign in; a name signs in; chat; mute; sign out', async () => {
    // Another viewer in the room, through the SDK, sees what the page does.
    const other = sdkClient(stack.gw.url, await mint({ sub: 'other', role: 'viewer', name: 'Other' }));
    clients.push(other);
    await other.connect();
    const room = await other.join(ROOM);
    const lines: flashcast.IChatMessage[] = [];
    room.on(RoomEvent.Chat, (m) => lines.push(m));

    const context = await phone(browser);
    const page = await context.newPage();
    await page.goto(`${stack.gw.http}/watch/?room=${ROOM}&lang=en`);
    const guest = await waitForState(page, (s) => s.status === 'live', 'guest live');
    expect(guest.guest).toBe(true);
    expect(guest.userId).toMatch(/^guest:/);
    expect(await testId(page, 'sign-in').innerText()).toBe('Sign in to chat');
    expect(await page.locator('[data-testid="chat-input"]').count()).toBe(0);

    // Hearts are for everyone.
    await testId(page, 'react').tap();
    await testId(page, 'react').tap();
    await waitFor(() => (room.state.reactions.get(flashcast.ReactionKind.HEART) ?? 0) >= 2, 10_000, 'hearts counted');

    // Buying as a guest asks to sign in (nothing is held).
    await waitForState(page, (s) => s.buy.enabled, 'buy enabled');
    await testId(page, 'buy').tap();
    await testId(page, 'sign-in-form').waitFor();
    expect(await page.locator('#fc-signin-title').innerText()).toBe('Sign in to buy');
    expect(await page.locator('[data-testid="checkout"]').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}signin-dev.png` });
    await testId(page, 'sign-in-name').fill('Maya');
    await testId(page, 'sign-in-region').selectOption('TH');
    await testId(page, 'sign-in-submit').tap();
    const signedIn = await waitForState(page, (s) => s.status === 'live' && !s.guest, 'signed in');
    expect(signedIn.userId).toMatch(/^maya-[a-z0-9]{4}$/);

    // Chat: the page shows its own line, the other viewer sees it with the name.
    await testId(page, 'chat-input').fill('Hello from Maya');
    await testId(page, 'chat-send').tap();
    await waitFor(() => lines.find((l) => l.text === 'Hello from Maya'), 10_000, 'line delivered');
    expect(lines.find((l) => l.text === 'Hello from Maya')).toMatchObject({ name: 'Maya', userId: signedIn.userId });
    await page.locator('[data-testid="chat-list"] li.own', { hasText: 'Hello from Maya' }).waitFor();
    expect(await testId(page, 'chat-input').inputValue()).toBe('');
    // And the other way round.
    await room.sendChat('Welcome Maya');
    await page.locator('[data-testid="chat-list"] li', { hasText: 'Welcome Maya' }).waitFor();

    // The tab remembers the sign-in.
    await page.reload();
    expect((await waitForState(page, (s) => s.status === 'live', 'reloaded')).userId).toBe(signedIn.userId);

    // The host mutes Maya: the page says so and the input is off.
    const host = sdkClient(stack.gw.url, sale.hostToken);
    clients.push(host);
    await host.connect();
    const hostRoom = await host.join(ROOM);
    await hostRoom.moderate({ action: flashcast.ModerationAction.MUTE, userId: signedIn.userId, seconds: 300 });
    await page.locator('[data-testid="chat-input"][disabled]').waitFor();
    expect(await testId(page, 'chat-input').getAttribute('placeholder')).toBe('You are muted');
    await page.screenshot({ path: `${ARTIFACTS}signin-muted.png` });

    // Sign out: a guest again.
    await testId(page, 'settings').tap();
    await testId(page, 'sign-out').tap();
    expect((await waitForState(page, (s) => s.status === 'live' && s.guest, 'guest again')).userId).toMatch(/^guest:/);
    expect(other.state).toBe('connected');
    expect((await liveState(page)).room).toBe(ROOM);

    // A remembered sign-in the server no longer accepts (here: signed with another secret) is forgotten: a guest again.
    const forged = new TokenService('another-secret-0123456789abcdef').mintSync({ sub: 'ghost', role: 'viewer' });
    await page.evaluate(([key, token]) => sessionStorage.setItem(key, token), [`flashcast:${stack.gw.http}:viewer:${ROOM}`, forged] as const); // TokenSource's key
    await page.reload();
    expect((await waitForState(page, (s) => s.status === 'live', 'live after a refused token')).guest).toBe(true);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), `flashcast:${stack.gw.http}:viewer:${ROOM}`)).toBeNull();
    await context.close();
  }, 90_000);
});
