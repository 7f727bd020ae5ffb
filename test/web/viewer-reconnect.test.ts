import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomEvent, type FlashcastClient, type Room } from '../../client-sdk/index.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/env.js';
import { GatewayProcess } from '../helpers/GatewayProcess.js';
import { startGateway } from '../helpers/InProcessGateway.js';
import { ARTIFACTS, PG_URL, dropSchema, openViewer, phone, seedSale, shopSite, waitForState, type WebStack } from './webStack.js';

/**
 * The gateway a viewer's page is connected to is killed (SIGKILL) during a flash deal while
 * buyers on another gateway keep buying; it comes back on the same address. The page shows it is
 * reconnecting, resumes from its stream offset, and ends with the right stock and every
 * purchase in its "just bought" ticker exactly once, in order: the same positions a viewer
 * that never lost its connection saw.
 */
const ROOM = 'reconnect-room';

let prefix = '';
let schema = '';
let a: Awaited<ReturnType<typeof startGateway>>;
let b: GatewayProcess | null = null;
let bPort = 0;
let site: Awaited<ReturnType<typeof shopSite>>;
let browser: Browser;
let context: BrowserContext;
const clients: FlashcastClient[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Gateway B: a `flashcast gateway` process on the same Redis prefix and PostgreSQL schema, at a fixed port. */
function startB(): Promise<GatewayProcess> {
  return GatewayProcess.start({
    REDIS_URL, FLASHCAST_REDIS_PREFIX: prefix, DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, PORT: String(bPort),
    FLASHCAST_CORS_ORIGINS: site.url, FLASHCAST_DRAIN_MS: '0',
  });
}

beforeAll(async () => {
  prefix = uniquePrefix('wr');
  schema = `t_webr_${randomBytes(6).toString('hex')}`;
  site = await shopSite();
  // Gateway A: commerce and the settlement workers, where the buyers are.
  a = await startGateway({ redisPrefix: prefix, databaseUrl: PG_URL, databaseSchema: schema, corsOrigins: [site.url] }, { commerce: true, settlement: true });
  bPort = await freePort();
  b = await startB();
  site.setGateway(b.http);
  browser = await launchChromium();
  context = await phone(browser);
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await b?.kill();
  await site?.close();
  await a?.close();
  await deletePrefix(prefix);
  await dropSchema(schema);
});

/** A buyer on gateway A with a saved card and an address: one tap settles. */
async function buyerOnA(i: number): Promise<{ room: Room }> {
  const token = await mint({ sub: `rbuyer-${i}`, role: 'viewer', name: `Buyer${i}`, region: 'US' });
  const saved = await fetch(`${a.http}/v1/me/payment-method`, {
    method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'card', token: 'tok_visa' }),
  });
  expect(saved.status).toBe(204);
  const client = sdkClient(a.url, token);
  clients.push(client);
  await client.addresses().add({ name: `Buyer ${i}`, phone: '+14155550100', line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' });
  await client.connect();
  return { room: await client.join(ROOM) };
}

const tickerOf = (page: Page) => waitForState(page, () => true, 'state').then((s) => s.ticker as { buyers: number; units: number; offsets: number[] });

describe.skipIf(!chromiumAvailable())('the viewer across a gateway crash', () => {
  it('shows reconnecting, then resumes with the right stock and no gap or duplicate in the ticker', async () => {
    const stack = { gw: a } as unknown as WebStack;
    const sale = await seedSale(stack, ROOM, { countdownSeconds: 1, stock: 40, durationSeconds: 900, perBuyerLimit: 5 });

    // A viewer that never loses its connection (on A): the reference.
    const reference = sdkClient(a.url, await mint({ sub: 'reference', role: 'viewer' }));
    clients.push(reference);
    await reference.connect();
    const refRoom = await reference.join(ROOM);
    const refOffsets: number[] = [];
    let refBuyers = 0;
    refRoom.on(RoomEvent.Purchase, (p) => {
      refOffsets.push(refRoom.offset);
      refBuyers += Math.max(1, p.buyers ?? 1);
    });

    // The page watches through B.
    const token = await mint({ sub: 'watcher', role: 'viewer', name: 'Watcher', region: 'US' });
    const page = await openViewer(context, site.url, { room: ROOM, token, lang: 'en' });
    await waitForState(page, (s) => s.product?.deal?.phase === 'live', 'the deal live');

    const buyers = await Promise.all(Array.from({ length: 8 }, (_, i) => buyerOnA(i)));
    // Before the crash: three buyers.
    for (const { room } of buyers.slice(0, 3)) await room.buy({ productId: sale.productId, dealId: sale.dealId });
    await waitFor(async () => (await tickerOf(page)).buyers >= 3 && refBuyers >= 3, 20_000, 'three purchases seen');

    // B dies without a word; the page says it is reconnecting.
    await b!.kill();
    await page.locator('[data-testid="reconnecting"]').waitFor({ timeout: 20_000 });
    expect((await waitForState(page, (s) => s.status === 'reconnecting', 'reconnecting')).status).toBe('reconnecting');
    await page.screenshot({ path: `${ARTIFACTS}reconnecting.png` });

    // Meanwhile five more buy on A (one twice).
    for (const { room } of buyers.slice(3)) await room.buy({ productId: sale.productId, dealId: sale.dealId });
    await buyers[7].room.buy({ productId: sale.productId, dealId: sale.dealId });
    await waitFor(() => refBuyers >= 9, 30_000, 'every purchase in the reference ticker');
    const offline = await tickerOf(page);
    expect(offline.buyers).toBeLessThan(refBuyers);

    // B comes back at the same address: the page resumes from its offset.
    b = await startB();
    const back = await waitForState(page, (s) => s.status === 'live' && s.ticker.buyers === refBuyers, 'resumed with every purchase', 40_000);
    expect(await page.locator('[data-testid="reconnecting"]').count()).toBe(0);
    // No gap, no duplicate: exactly the positions the reference saw, in order.
    expect(back.ticker.offsets).toEqual(refOffsets);
    expect(new Set(back.ticker.offsets).size).toBe(back.ticker.offsets.length);
    // The right stock: the reference's, and PostgreSQL's.
    const refStock = Number(refRoom.state.inventory.get(sale.dealId)?.available);
    const { rows } = await a.node.commerce!.db.query<{ sold: string }>('SELECT count(*)::int AS sold FROM orders WHERE deal_id = $1', [sale.dealId]);
    expect(refStock).toBe(40 - Number(rows[0].sold));
    await waitForState(page, (s) => s.product?.deal?.available === refStock, 'the page shows the stock');
    expect(await page.locator('[data-testid="stock"]').first().getAttribute('data-available')).toBe(String(refStock));
    expect(await page.locator('[data-testid="ticker-total"]').innerText()).toBe(`${refBuyers} people bought`);
    await page.screenshot({ path: `${ARTIFACTS}reconnected.png` });
  }, 120_000);
});
