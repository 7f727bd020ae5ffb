import { existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlashcastClient } from '../../client-sdk/index.js';
import { QUEUES } from '../../server/commerce/SettlementQueue.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint, sdkClient } from '../helpers/clients.js';
import { REDIS_URL, waitFor } from '../helpers/env.js';
import { startGateway } from '../helpers/InProcessGateway.js';
import { WebhookReceiver } from '../helpers/WebhookReceiver.js';

/**
 * The ops console in Chromium, served by a real gateway (commerce and settlement workers on
 * real Redis and PostgreSQL): an ops user signs in with the development form and sees the
 * gateway node, a live room with its viewer, a settlement job that failed for good and a
 * webhook delivery a merchant refused; replaying each from the console runs it again (the
 * job is attempted once more; the delivery reaches the merchant, who now accepts it).
 * Screenshots: test/artifacts/web/ and, with UPDATE_SCREENSHOTS=1, the README's docs/img/ops.png.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const PAGES = join(ROOT, 'dist', 'public');
const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'web');
/** `UPDATE_SCREENSHOTS=1` also writes the README's screenshot (docs/img). */
const DOCS_IMG = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'img') : null;
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_ops_${randomBytes(6).toString('hex')}`;
const ROOM = 'ops-room';
const SELLER = 'ops-seller';

let gw: Awaited<ReturnType<typeof startGateway>>;
let receiver: WebhookReceiver;
let refunds: Queue;
let browser: Browser;
const clients: FlashcastClient[] = [];

beforeAll(async () => {
  if (!existsSync(join(PAGES, 'ops', 'ops.js'))) throw new Error('the pages are not built: run `npm run build` (or `npm run build:web`) first');
  mkdirSync(ARTIFACTS, { recursive: true });
  receiver = await WebhookReceiver.create();
  receiver.answer = () => 500;
  gw = await startGateway(
    { databaseUrl: PG_URL, databaseSchema: schema, usingDevSecret: true, webhooks: { attempts: 1, backoffMs: 10, timeoutMs: 2000, concurrency: 2, allowPrivate: true } },
    { commerce: true, settlement: true },
  );
  const url = new URL(REDIS_URL);
  refunds = new Queue(QUEUES.refund, { connection: { host: url.hostname, port: Number(url.port || 6379) }, prefix: `${gw.prefix}:bull` });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await refunds?.close();
  await gw?.close();
  await receiver?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

const byId = (page: Page, id: string, extra = '') => page.locator(`[data-testid="${id}"]${extra}`);

describe.skipIf(!chromiumAvailable())('the ops console', () => {
  it('shows the node, a live room, a failed job and a failed delivery, and replays both', async () => {
    const commerce = gw.node.commerce!;
    // A merchant's webhook endpoint that refuses: the deal.started delivery fails (one attempt).
    const shop = await commerce.catalog.createShop({ ownerUserId: SELLER, name: 'Ops Shop', currency: 'USD', country: 'US' });
    const product = await commerce.catalog.createProduct(shop.id, { titles: { en: 'Lamp' }, images: [], price: { amount: 4500, currency: 'USD' }, stock: 10 });
    await commerce.catalog.addToShowcase(ROOM, product.id);
    const seller = await mint({ sub: SELLER, role: 'seller' });
    const hook = await fetch(`${gw.http}/v1/shops/${shop.id}/webhooks`, {
      method: 'POST', headers: { authorization: `Bearer ${seller}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url('/hooks'), events: ['deal.started'] }),
    });
    expect(hook.status).toBe(201);
    await commerce.deals.create(ROOM, SELLER, { productId: product.id, price: { amount: 3900, currency: 'USD' }, totalStock: 3, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: 600 });
    await receiver.next((h) => h.json?.type === 'deal.started');

    // A refund job for an order with no refund: it fails at its one attempt and waits for ops.
    const jobId = 'refund.ops-missing-order';
    await refunds.add('refund', { orderId: 'ops-missing-order' }, { jobId, attempts: 1, removeOnFail: false });
    await waitFor(async () => (await refunds.getJob(jobId))?.failedReason, 10_000, 'the job failed');

    // A viewer in the room.
    const viewer = sdkClient(gw.url, await mint({ sub: 'ops-viewer', role: 'viewer', name: 'Vi' }));
    clients.push(viewer);
    await viewer.connect();
    await viewer.join(ROOM);

    const context = await browser.newContext({ viewport: { width: 1280, height: 600 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${gw.http}/ops/`);
    await byId(page, 'signin-user').fill('ops-1');
    await byId(page, 'signin-submit').click();

    // The node, the room with its viewer, the failed delivery (the console refreshes itself).
    await byId(page, 'node-row').first().waitFor();
    await byId(page, 'room-row', `[data-room-id="${ROOM}"]`).waitFor({ timeout: 15_000 });
    expect(await byId(page, 'room-row', `[data-room-id="${ROOM}"]`).locator('[data-testid="room-viewers"]').textContent()).toBe('1');
    const delivery = byId(page, 'delivery-row');
    await delivery.waitFor({ timeout: 15_000 });
    expect(await delivery.textContent()).toContain('deal.started');
    expect(await byId(page, 'ops-failed-deliveries').textContent()).toBe('1');

    // The refund queue's failed job.
    await byId(page, 'queue-refund').click();
    const job = byId(page, 'job-row', `[data-job-id="${jobId}"]`);
    await job.waitFor();
    expect(await job.textContent()).toContain('no refund for ops-missing-order');
    await page.screenshot({ path: join(ARTIFACTS, 'ops.png') });
    if (DOCS_IMG) await page.screenshot({ path: join(DOCS_IMG, 'ops.png'), fullPage: true });

    // Replay the job: it is attempted once more (and fails again: there is still no refund).
    const attempts = (await refunds.getJob(jobId))!.attemptsMade;
    await job.locator('[data-testid="job-replay"]').click();
    await byId(page, 'ops-status').waitFor();
    await waitFor(async () => {
      const j = await refunds.getJob(jobId);
      return j && j.attemptsMade > attempts && (await j.isFailed());
    }, 10_000, 'the job ran again');

    // The merchant fixed its endpoint: replaying the delivery delivers it, and it leaves the list.
    receiver.answer = () => 200;
    await delivery.locator('[data-testid="delivery-replay"]').click();
    await waitFor(() => receiver.received.filter((h) => h.json?.type === 'deal.started' && h.answered === 200).length === 1, 15_000, 'delivered on replay');
    await waitFor(async () => (await byId(page, 'delivery-row').count()) === 0, 15_000, 'the delivery left the failed list');
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 90_000);
});
