/**
 * What the viewer tests run against: a real gateway (commerce, settlement, optionally the SFU)
 * on real Redis and PostgreSQL, serving the built pages (dist/public, `npm run build:web`); a
 * shop's site on another origin that embeds the element from it (allowed by
 * FLASHCAST_CORS_ORIGINS), a host page that publishes Chromium's fake camera, and helpers to
 * seed a sale and open the element on a phone-sized screen.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Config } from '../../common/config.js';
import { SfuService } from '../../sfu/SfuService.js';
import { mint } from '../helpers/clients.js';
import { startGateway } from '../helpers/InProcessGateway.js';
import { waitFor } from '../helpers/env.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PUBLIC_DIR = fileURLToPath(new URL('../../dist/public/', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/web/', import.meta.url));

/** A page that publishes Chromium's fake camera (1280x720, simulcast) to a room, through the gateway's built SDK. */
function hostPage(gateway: string): string {
  return `<!doctype html><meta charset="utf-8"><title>host</title><body><script type="module">
  import { FlashcastClient } from '${gateway}/sdk/flashcast.js';
  window.goLive = async (token, roomId) => {
    const client = new FlashcastClient({ url: '${gateway.replace(/^http/, 'ws')}/ws', token, backoff: { baseMs: 100, maxMs: 1000 } });
    await client.connect();
    const room = await client.join(roomId);
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720, frameRate: 15 } });
    window.publisher = await room.publish(stream);
    await room.setPhase(2, 'Spring drop');
    return window.publisher.producers.length;
  };
</script>`;
}

/**
 * A shop's page embedding the element from the gateway, with the attributes in its query string
 * (`/test-embed.html?room=…&token=…`), as docs/web.md tells a shop to.
 */
function embedPage(gateway: string, query: URLSearchParams): string {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const attrs = ['room', 'token', 'lang', 'currency', 'quality', 'server'].filter((k) => query.get(k)).map((k) => `${k}="${esc(query.get(k)!)}"`).join(' ');
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>A shop</title><style>html,body{margin:0;background:#000}flashcast-live{height:100dvh}</style>
<script type="module" src="${esc(gateway)}/embed/flashcast-live.js"></script><body><flashcast-live ${attrs}></flashcast-live></body></html>`;
}

/**
 * The shop's site: its own origin, serving the embed and host pages (pointing at the gateway set
 * later) and, with `tokenFor`, its token endpoint `POST /flashcast-token`: the Flashcast token
 * of the user its session cookie names (FLASHCAST_TOKEN_ENDPOINT), 401 without one.
 */
export async function shopSite(options: { tokenFor?: (session: string) => Promise<string> } = {}): Promise<{ url: string; setGateway: (url: string) => void; close: () => Promise<void> }> {
  let gateway = '';
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://shop');
    if (url.pathname === '/flashcast-token' && req.method === 'POST' && options.tokenFor) {
      const session = /(?:^|;\s*)shop_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      if (!session) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"not signed in"}');
      void options.tokenFor(session).then((token) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token })));
      return;
    }
    const html = url.pathname === '/test-embed.html' ? embedPage(gateway, url.searchParams) : url.pathname === '/test-host.html' ? hostPage(gateway) : null;
    if (html === null) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    setGateway: (url) => {
      gateway = url;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface WebStack {
  gw: Awaited<ReturnType<typeof startGateway>>;
  sfu: SfuService | null;
  /** The shop's site, another origin than the gateway's (listed in its FLASHCAST_CORS_ORIGINS). */
  site: { url: string; close: () => Promise<void> };
  schema: string;
  close: () => Promise<void>;
}

/**
 * A gateway with commerce and settlement (and an SFU when `sfu`) serving the built pages, and a
 * shop's site on another origin that it allows (CORS). `dev`: the gateway mints tokens for the
 * pages' sign-in form (as on the development secret).
 */
export async function startWebStack(options: {
  sfu?: boolean; rtcMinPort?: number; dev?: boolean; config?: Partial<Config>; site?: Parameters<typeof shopSite>[0];
} = {}): Promise<WebStack> {
  if (!existsSync(join(PUBLIC_DIR, 'embed', 'flashcast-live.js'))) throw new Error('dist/public is missing: run `npm run build:web` (npm test builds it)');
  const schema = `t_web_${randomBytes(6).toString('hex')}`;
  const site = await shopSite(options.site);
  const gw = await startGateway(
    { databaseUrl: PG_URL, databaseSchema: schema, corsOrigins: [site.url], ...(options.dev ? { usingDevSecret: true } : {}), ...options.config },
    { commerce: true, settlement: true },
  );
  site.setGateway(gw.http);
  let sfu: SfuService | null = null;
  if (options.sfu) {
    const min = options.rtcMinPort ?? 48000;
    sfu = await SfuService.create({ workers: 1, rtcMinPort: min, rtcMaxPort: min + 499 });
    gw.node.attachSfu(sfu);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    gw, sfu, site, schema,
    close: async () => {
      await site.close();
      sfu?.close();
      await gw.close();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}

export interface Sale {
  shopId: string;
  productId: string;
  dealId: string;
  hostToken: string;
}

/**
 * A shop (USD, ships for 5.00 anywhere), a product at 29.99 in the room's showcase, pinned; with
 * `deal`, a flash deal at 19.99 (its countdown and stock as given).
 */
export async function seedSale(stack: WebStack, room: string, deal?: { countdownSeconds: number; stock: number; durationSeconds?: number; perBuyerLimit?: number }): Promise<Sale> {
  const commerce = stack.gw.node.commerce!;
  const owner = `host-${room}`;
  const shop = await commerce.catalog.createShop({ ownerUserId: owner, name: 'Scarves', currency: 'USD', country: 'US' });
  const product = await commerce.catalog.createProduct(shop.id, {
    titles: { en: 'Red silk scarf' }, images: [], price: { amount: 2999, currency: 'USD' }, stock: 500,
  });
  await commerce.catalog.addToShowcase(room, product.id);
  await commerce.shipping.replace(shop.id, [{ region: '*', amount: 500, freeAbove: null }]);
  const hostToken = await mint({ sub: owner, role: 'host', rooms: [room] });
  let dealId = '';
  if (deal) {
    dealId = (await commerce.deals.create(room, owner, {
      productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: deal.stock, perBuyerLimit: deal.perBuyerLimit ?? 2,
      countdownSeconds: deal.countdownSeconds, durationSeconds: deal.durationSeconds ?? 600,
    })).id;
  }
  const pinned = await fetch(`${stack.gw.http}/v1/rooms/${room}/pin`, {
    method: 'POST', headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ productId: product.id }),
  });
  if (pinned.status !== 200) throw new Error(`pin: ${pinned.status} ${await pinned.text()}`);
  return { shopId: shop.id, productId: product.id, dealId, hostToken };
}

/** FX rates for display prices (ops only). */
export async function loadFx(stack: WebStack, rates: { base: string; quote: string; rate: string }[]): Promise<void> {
  const ops = await mint({ sub: 'ops-1', role: 'ops' });
  const res = await fetch(`${stack.gw.http}/v1/fx`, {
    method: 'PUT', headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rates: rates.map((r) => ({ ...r, asOf: Date.now() })) }),
  });
  if (res.status !== 204) throw new Error(`fx: ${res.status} ${await res.text()}`);
}

/** A phone: 360×640, touch. */
export async function phone(browser: Browser, options: { locale?: string } = {}): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: options.locale ?? 'en-US' });
}

export interface ViewerOptions {
  room: string;
  token?: string;
  lang?: string;
  currency?: string;
  quality?: string;
}

/**
 * A page embedding the element with these attributes (as a shop's page does: the token is its
 * signed-in user's); resolves once the element reports `status`.
 */
export async function openViewer(context: BrowserContext, site: string, o: ViewerOptions, status = 'live'): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const query = new URLSearchParams(Object.entries(o).filter(([, v]) => v) as [string, string][]);
  await page.goto(`${site}/test-embed.html?${query}`);
  await waitForState(page, (s) => s.status === status, `status ${status}`);
  return page;
}

/** The element's state (`el.state`). */
export function liveState(page: Page): Promise<Record<string, any>> {
  return page.evaluate(() => (document.querySelector('flashcast-live') as unknown as { state: Record<string, unknown> }).state);
}

export async function waitForState(page: Page, check: (s: Record<string, any>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, any>> {
  return waitFor(async () => {
    const s = await liveState(page).catch(() => null);
    return s && check(s) ? s : null;
  }, timeoutMs, what);
}

/** A host page publishing the fake camera to `room`; resolves once the producers exist. */
export async function goLive(browser: Browser, stack: Pick<WebStack, 'site'>, room: string, hostToken: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${stack.site.url}/test-host.html`);
  await page.evaluate(([t, r]) => (window as any).goLive(t, r), [hostToken, room] as const);
  return page;
}
