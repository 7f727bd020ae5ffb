/**
 * The viewer's budgets (`npm run bench:web`), against a real gateway (commerce, settlement, the
 * SFU in this process; Redis at $REDIS_URL, PostgreSQL at $DATABASE_URL or embedded PGlite)
 * serving the built pages, a host page publishing Chromium's fake camera (1280x720, simulcast),
 * and Debian's Chromium through playwright-core:
 *
 * 1. size: the JavaScript the watch page loads until the first frame (the element's entry and
 *    the chunks it imports to watch, mediasoup-client included), gzipped as the gateway serves
 *    it (level 9), against 120 kB;
 * 2. first frame: a cold page (new browser context) on loopback, from navigation start to the
 *    first decoded video frame the element reports (requestVideoFrameCallback), against 1.5 s;
 *    median of --runs;
 * 3. slow 3G: Chromium's emulation (2 s latency, 400 kbit/s each way) on a shop's page embedding
 *    the element with a returning buyer's token, its WebSocket through ThrottledProxy (the same
 *    2 s round trip and 400 kbit/s: the emulation does not slow sockets, nor WebRTC media): the
 *    element chooses Lite, the 320-wide layer plays, a chat line makes the round trip, and a
 *    tap on the buy button is paid.
 *
 * Prints a table to stderr and one JSON line to stdout, last.
 *
 *   npm run bench:web [-- --runs 7]
 */
import { gzipSync, constants as zlib } from 'node:zlib';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer } from 'node:http';
import { loadConfig } from '../../common/config.js';
import { TokenService } from '../../common/auth/TokenService.js';
import { FlashcastClient, RoomEvent, type WebSocketConstructor } from '../../client-sdk/index.js';
import { ThrottledProxy } from './ThrottledProxy.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const RUNS = Number(arg('runs', '7'));
const SIZE_BUDGET = 120 * 1024;
const FRAME_BUDGET_MS = 1500;
const ROOM = 'bench-live';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url)); // dist/public, next to dist/load-tests
const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: 50_000, uploadThroughput: 50_000, connectionType: 'cellular3g' } as const;

interface State {
  status: string;
  guest: boolean;
  video: { quality: string; hasVideo: boolean; firstFrameMs: number | null };
  buy: { enabled: boolean };
  checkout: { stage: string };
}

const stateOf = (page: Page): Promise<State | null> =>
  page.evaluate(() => (document.querySelector('flashcast-live') as unknown as { state?: State } | null)?.state ?? null).catch(() => null);

async function until<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A shop's site (its own origin): the page embedding the element, set once the gateway and the token are known. */
async function shopSite(): Promise<{ origin: string; setPage: (html: string) => void; close: () => void }> {
  let page = '';
  const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    setPage: (html) => {
      page = html;
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(PUBLIC, 'embed', 'flashcast-live.js'))) throw new Error('dist/public is missing: npm run build');
  // The server's logs stay quiet unless asked for (its modules read LOG_LEVEL when they load).
  process.env.LOG_LEVEL ??= 'warn';
  const { GatewayNode } = await import('../../server/GatewayNode.js');
  const site = await shopSite();
  const secret = randomBytes(24).toString('hex');
  const tokens = new TokenService(secret);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bw${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'flashcast-bench-web-'));
  const schema = `bench_web_${randomBytes(4).toString('hex')}`;
  const config = loadConfig(
    { ...process.env, HOST: '127.0.0.1', PORT: '0', FLASHCAST_JWT_SECRET: secret, FLASHCAST_SFU_WORKERS: '1', FLASHCAST_SFU_RTC_MIN_PORT: '49000', FLASHCAST_SFU_RTC_MAX_PORT: '49499', LOG_LEVEL: 'warn' },
    { redisPrefix: prefix, dataDir, databaseSchema: process.env.DATABASE_URL ? schema : undefined, corsOrigins: [site.origin], drainMs: 0 },
  );
  const node = await GatewayNode.create(config, redisUrl, { commerce: true, settlement: true, sfu: 'in-process' });
  const http = `http://127.0.0.1:${node.port}`;
  const ws = `ws://127.0.0.1:${node.port}/ws`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-background-networking', '--disable-quic', '--no-first-run'],
  });
  const clients: FlashcastClient[] = [];
  const proxies: ThrottledProxy[] = [];
  const WebSocket = (await import('ws')).default as unknown as WebSocketConstructor;
  const sdk = (token: string) => {
    const c = new FlashcastClient({ url: ws, token, WebSocket, httpUrl: http });
    clients.push(c);
    return c;
  };
  try {
    // The sale: a shop, a product in the room's showcase (shipping 5.00), pinned, and a flash deal.
    const commerce = node.commerce!;
    const shop = await commerce.catalog.createShop({ ownerUserId: 'bench-host', name: 'Bench shop', currency: 'USD', country: 'US' });
    const product = await commerce.catalog.createProduct(shop.id, { titles: { en: 'Silk scarf' }, images: [], price: { amount: 2999, currency: 'USD' }, stock: 1000 });
    await commerce.catalog.addToShowcase(ROOM, product.id);
    await commerce.shipping.replace(shop.id, [{ region: '*', amount: 500, freeAbove: null }]);
    await commerce.deals.create(ROOM, 'bench-host', { productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: 500, perBuyerLimit: 5, countdownSeconds: 1, durationSeconds: 1800 });
    const hostToken = tokens.mintSync({ sub: 'bench-host', role: 'host', rooms: [ROOM] });
    const pin = await fetch(`${http}/v1/rooms/${ROOM}/pin`, { method: 'POST', headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ productId: product.id }) });
    if (pin.status !== 200) throw new Error(`pin: ${pin.status}`);

    // The host goes live from a page of the gateway (the SDK's browser build).
    const hostPage = await browser.newPage();
    await hostPage.goto(`${http}/`);
    await hostPage.evaluate(async ([url, token, room]) => {
      const { FlashcastClient: Client } = await import('/sdk/flashcast.js' as string);
      const client = new Client({ url, token });
      await client.connect();
      const joined = await client.join(room);
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720, frameRate: 15 } });
      (window as unknown as { publisher: unknown }).publisher = await joined.publish(stream);
      await joined.setPhase(2, 'Bench live');
    }, [ws, hostToken, ROOM] as const);
    log(`host live; load average ${loadavg()[0].toFixed(2)}`);

    // 1 + 2: cold watch pages (guest viewers, as a newcomer opens /watch/).
    const frames: number[] = [];
    const stages = new Map<string, number[]>();
    let scripts: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const context: BrowserContext = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
      const page = await context.newPage();
      const loaded: string[] = [];
      page.on('response', (r) => {
        const url = new URL(r.url());
        if (url.origin === http && url.pathname.endsWith('.js')) loaded.push(url.pathname);
      });
      await page.goto(`${http}/watch/?room=${ROOM}`);
      const state = await until(async () => {
        const s = await stateOf(page);
        return s?.video.firstFrameMs !== null && s?.video.firstFrameMs !== undefined ? s : null;
      }, 30_000, 'the first frame');
      frames.push(state.video.firstFrameMs!);
      const marks = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return [
          ['html', nav?.responseEnd ?? 0] as const,
          ...performance.getEntriesByType('mark').filter((m) => m.name.startsWith('flashcast:')).map((m) => [m.name.slice(10), m.startTime] as const),
        ];
      });
      for (const [name, at] of marks) stages.set(name, [...(stages.get(name) ?? []), at]);
      if (i === 0) scripts = [...new Set(loaded)];
      await context.close();
    }
    const files = scripts.map((path) => {
      const body = readFileSync(join(PUBLIC, path));
      return { path, raw: body.length, gzip: gzipSync(body, { level: zlib.Z_BEST_COMPRESSION }).length };
    });
    const gzipTotal = files.reduce((n, f) => n + f.gzip, 0);
    log('\nJavaScript loaded to watch (gzip level 9, as served):');
    for (const f of files) log(`  ${f.path.padEnd(48)} ${String(f.raw).padStart(8)} B raw  ${String(f.gzip).padStart(7)} B gzip`);
    log(`  ${'total'.padEnd(48)} ${String(files.reduce((n, f) => n + f.raw, 0)).padStart(8)} B raw  ${String(gzipTotal).padStart(7)} B gzip = ${(gzipTotal / 1024).toFixed(1)} kB (budget 120 kB: ${gzipTotal <= SIZE_BUDGET ? 'within' : 'OVER'})`);
    log(`\nFirst decoded frame after navigation start, cold page on loopback (${RUNS} runs): ${frames.map((f) => f.toFixed(0)).join(', ')} ms`);
    log(`  median ${median(frames).toFixed(0)} ms, min ${Math.min(...frames).toFixed(0)}, max ${Math.max(...frames).toFixed(0)} (budget 1500 ms: ${median(frames) <= FRAME_BUDGET_MS ? 'within' : 'OVER'})`);
    log(`  where the time goes (median ms after navigation start): ${[...stages].map(([name, at]) => `${name} ${median(at).toFixed(0)}`).join(', ')}`);

    // 3: slow 3G, a shop's page, a returning buyer (address and saved card).
    const buyerToken = tokens.mintSync({ sub: 'bench-buyer', role: 'viewer', name: 'Bench', region: 'US' });
    await sdk(buyerToken).addresses().add({ name: 'Bench Buyer', phone: '+14155550100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' });
    const saved = await fetch(`${http}/v1/me/payment-method`, { method: 'PUT', headers: { authorization: `Bearer ${buyerToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'card', token: 'tok_visa' }) });
    if (saved.status !== 204) throw new Error(`payment method: ${saved.status}`);
    const listener = sdk(tokens.mintSync({ sub: 'bench-listener', role: 'viewer' }));
    await listener.connect();
    const listenerRoom = await listener.join(ROOM);
    const heard = new Map<string, number>();
    listenerRoom.on(RoomEvent.Chat, (m) => heard.set(m.text ?? '', performance.now()));

    const proxy = await ThrottledProxy.create({ host: '127.0.0.1', port: node.port }, { latencyMs: SLOW_3G.latency / 2, bytesPerSecond: SLOW_3G.downloadThroughput });
    proxies.push(proxy);
    site.setPage(`<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><style>body{margin:0}flashcast-live{height:100dvh}</style>
<script type="module" src="${http}/embed/flashcast-live.js"></script><flashcast-live room="${ROOM}" token="${buyerToken}" lang="en" server="${proxy.origin}"></flashcast-live>`);
    const context = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', SLOW_3G);
    await page.goto(`${site.origin}/`, { timeout: 120_000 });
    const liveAt = await until(async () => ((await stateOf(page))?.status === 'live' ? page.evaluate(() => performance.now()) : null), 120_000, 'live on slow 3G');
    const slow = await until(async () => {
      const s = await stateOf(page);
      return s?.video.firstFrameMs ? s : null;
    }, 120_000, 'the first frame on slow 3G');
    const stats = () => page.evaluate(() => (document.querySelector('flashcast-live') as unknown as { videoStats(): Promise<{ framesDecoded: number; frameWidth: number } | null> }).videoStats());
    const layer = await until(async () => {
      const s = await stats();
      return s && s.framesDecoded > 10 ? s : null;
    }, 60_000, 'frames on slow 3G');
    const chatText = `slow 3G ${Date.now()}`;
    const chatSent = await page.evaluate(() => performance.now());
    const sentAt = performance.now();
    await page.locator('[data-testid="chat-input"]').fill(chatText);
    await page.locator('[data-testid="chat-send"]').tap();
    await page.locator('[data-testid="chat-list"] li', { hasText: chatText }).waitFor({ timeout: 60_000 });
    const chatEcho = (await page.evaluate(() => performance.now())) - chatSent;
    await until(async () => heard.has(chatText), 60_000, 'the line heard in the room');
    const chatHeard = heard.get(chatText)! - sentAt;
    await until(async () => (await stateOf(page))?.buy.enabled, 60_000, 'buy enabled');
    const tapAt = await page.evaluate(() => performance.now());
    await page.locator('[data-testid="buy"]').tap();
    await until(async () => ((await stateOf(page))?.checkout.stage === 'settling' || (await stateOf(page))?.checkout.stage === 'paid'), 60_000, 'the tap answered');
    const heldMs = (await page.evaluate(() => performance.now())) - tapAt;
    await until(async () => (await stateOf(page))?.checkout.stage === 'paid', 60_000, 'paid on slow 3G');
    const paidMs = (await page.evaluate(() => performance.now())) - tapAt;
    await context.close();

    log(`\nSlow 3G (2000 ms round trip, 400 kbit/s down and up; HTTP by Chromium's emulation, the socket by ThrottledProxy), a shop's page with a returning buyer:`);
    log(`  quality chosen        ${slow.video.quality}`);
    log(`  live (joined)         ${liveAt.toFixed(0)} ms after navigation start`);
    log(`  first frame           ${slow.video.firstFrameMs!.toFixed(0)} ms, layer ${layer.frameWidth} px wide`);
    log(`  chat                  own line shown ${chatEcho.toFixed(0)} ms after the tap, heard in the room ${chatHeard.toFixed(0)} ms`);
    log(`  buy                   held ${heldMs.toFixed(0)} ms after the tap, paid ${paidMs.toFixed(0)} ms`);
    log(`load average ${loadavg()[0].toFixed(2)}`);

    process.stdout.write(`${JSON.stringify({
      bench: 'web',
      js: { files, gzipBytes: gzipTotal, budgetBytes: SIZE_BUDGET, within: gzipTotal <= SIZE_BUDGET },
      firstFrameMs: {
        runs: frames.map(Math.round), median: Math.round(median(frames)), budget: FRAME_BUDGET_MS, within: median(frames) <= FRAME_BUDGET_MS,
        stages: Object.fromEntries([...stages].map(([name, at]) => [name, Math.round(median(at))])),
      },
      slow3g: {
        quality: slow.video.quality, liveMs: Math.round(liveAt), firstFrameMs: Math.round(slow.video.firstFrameMs!), frameWidth: layer.frameWidth,
        chatEchoMs: Math.round(chatEcho), chatHeardMs: Math.round(chatHeard), buyHeldMs: Math.round(heldMs), buyPaidMs: Math.round(paidMs),
      },
      loadavg: loadavg()[0],
    })}\n`);
  } finally {
    for (const c of clients) c.close();
    for (const p of proxies) p.close();
    site.close();
    await browser.close();
    await node.close();
    await cleanup(redisUrl, prefix);
    rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const pg = await import('pg');
      const admin = new pg.default.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }
}

/** Deletes the bench's Redis keys. */
async function cleanup(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

main().then(() => process.exit(0), (error: unknown) => {
  log(String((error as Error)?.stack ?? error));
  process.exit(1);
});
