import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/env.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { bundleForBrowser, launchChromium, serveStatic } from './helpers/browser.js';
import { mint } from './helpers/clients.js';
import { uniquePrefix } from './helpers/env.js';

/**
 * The SDK in a real browser (headless Chromium, native WebSocket): join, receive
 * critical events, and resume on the other node when the first one drains.
 */
let a: Awaited<ReturnType<typeof startGateway>>;
let b: Awaited<ReturnType<typeof startGateway>>;
let site: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;
let page: Page;

const PAGE = `<!doctype html><meta charset="utf-8"><title>Flashcast SDK</title>
<script type="module">
  import { FlashcastClient, ClientEvent, RoomEvent } from '/sdk.js';
  window.log = { offsets: [], chats: [], disconnects: [], pinned: null, snapshot: null };
  window.start = async (urls, token, roomId) => {
    const client = new FlashcastClient({ urls, token, backoff: { baseMs: 50, maxMs: 300 } });
    client.on(ClientEvent.Disconnected, (d) => window.log.disconnects.push(d.code));
    await client.connect();
    const room = await client.join(roomId);
    window.log.snapshot = room.state.announcement ? room.state.announcement.text : null;
    room.on(RoomEvent.Announcement, () => window.log.offsets.push(room.offset));
    room.on(RoomEvent.Pin, (p) => { window.log.pinned = p.product.productId; window.log.offsets.push(room.offset); });
    room.on(RoomEvent.Chat, (m, { own }) => window.log.chats.push(m.text + (own ? '*' : '')));
    window.room = room;
    return { userId: client.session.userId, offset: room.offset };
  };
</script>`;

beforeAll(async () => {
  const prefix = uniquePrefix('br');
  a = await startGateway({ redisPrefix: prefix });
  b = await startGateway({ redisPrefix: prefix });
  site = await serveStatic({
    '/': ['text/html', PAGE],
    '/sdk.js': ['text/javascript', await bundleForBrowser('../../client-sdk/index.ts')],
  });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error', error));
  await page.goto(site.url);
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await a?.close();
  await b?.close().catch(() => undefined);
});

describe('SDK in Chromium', () => {
  it('joins with a snapshot, receives events and chats, and resumes on another node after a drain', async () => {
    const roomId = 'browser-room';
    const publisher = a.node.publisher;
    await publisher.publish(roomId, { announcement: { text: 'welcome' } });
    const token = await mint({ sub: 'browser-viewer', role: 'viewer', name: 'Bea' });
    const started = await page.evaluate(([urls, t, r]) => (window as any).start(urls, t, r), [[a.url, b.url], token, roomId] as const);
    expect(started).toEqual({ userId: 'browser-viewer', offset: 1 });
    expect(await page.evaluate(() => (window as any).log.snapshot)).toBe('welcome');

    await publisher.publish(roomId, { pin: { product: { productId: 'sneaker-7', title: 'Sneaker' } } });
    await page.evaluate(() => (window as any).room.sendChat('hello from chromium'));
    await waitFor(async () => (await page.evaluate(() => (window as any).log.pinned)) === 'sneaker-7');
    expect(await page.evaluate(() => (window as any).log.chats)).toEqual(['hello from chromium*']);

    // Node A drains; events keep coming while the browser moves to node B.
    const draining = a.node.drain();
    for (let i = 0; i < 30; i++) await publisher.publish(roomId, { announcement: { text: `n${i}` } });
    await draining;
    await waitFor(async () => (await page.evaluate(() => (window as any).log.offsets.length)) === 31, 15_000, 'browser resumed');
    const log = await page.evaluate(() => (window as any).log);
    expect(log.offsets).toEqual(Array.from({ length: 31 }, (_, i) => i + 2));
    expect(log.disconnects).toEqual([4000]);
  });
});
