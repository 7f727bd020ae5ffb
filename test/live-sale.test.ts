import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientEvent,
  ErrorCode,
  FlashcastRequestError,
  RoomEvent,
  flashcast,
  type FlashcastClient,
  type Room,
} from '../client-sdk/index.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { mint, sdkClient } from './helpers/clients.js';
import { waitFor } from './helpers/env.js';

/**
 * A whole live sale over real sockets: gateway + commerce + settlement workers
 * in one process (as `flashcast start` runs them) on real Redis and PostgreSQL.
 */
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_sale_${randomBytes(6).toString('hex')}`;
let gw: Awaited<ReturnType<typeof startGateway>>;
const clients: FlashcastClient[] = [];

async function joinAs(sub: string, role: 'viewer' | 'host', roomId: string, region = 'US'): Promise<{ client: FlashcastClient; room: Room; token: string }> {
  const token = await mint({ sub, role, name: `${sub} Doe`, region, rooms: role === 'host' ? [roomId] : undefined });
  const client = sdkClient(gw.url, token);
  clients.push(client);
  await client.connect();
  return { client, room: await client.join(roomId), token };
}

beforeAll(async () => {
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema }, { commerce: true, settlement: true });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('a live flash sale over the socket', () => {
  it('sells exactly the stock, settles saved-card buyers, guides first-time buyers, and everyone watches it live', async () => {
    const roomId = 'live-sale';
    const commerce = gw.node.commerce!;
    const shop = await commerce.catalog.createShop({ ownerUserId: 'host-sale', name: 'Scarves', currency: 'USD', country: 'US' });
    const product = await commerce.catalog.createProduct(shop.id, {
      titles: { en: 'Red scarf' },
      images: ['https://img.example/scarf.jpg'],
      price: { amount: 2999, currency: 'USD' },
      stock: 500,
    });
    await commerce.catalog.addToShowcase(roomId, product.id);

    const host = await joinAs('host-sale', 'host', roomId);
    const dashboards: flashcast.IDashboardStats[] = [];
    host.room.on(RoomEvent.Dashboard, (d) => dashboards.push(d));

    const pin = await fetch(`${gw.http}/v1/rooms/${roomId}/pin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ productId: product.id }),
    });
    expect(pin.status).toBe(200);

    const buyers = await Promise.all(Array.from({ length: 30 }, (_, i) => joinAs(`buyer${i}`, 'viewer', roomId)));
    await waitFor(() => buyers.every((b) => b.room.state.pinned?.productId === product.id), 5000, 'pin seen by all');

    // Half the buyers saved a card before the sale: one tap settles them.
    await Promise.all(
      buyers.slice(0, 15).map(async (b) => {
        const res = await fetch(`${gw.http}/v1/me/payment-method`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'card', token: 'tok_visa' }),
        });
        expect(res.ok).toBe(true);
      }),
    );

    const stock = 20;
    const deal = await commerce.deals.create(roomId, 'host-sale', {
      productId: product.id,
      price: { amount: 1999, currency: 'USD' },
      totalStock: stock,
      perBuyerLimit: 2,
      countdownSeconds: 0,
      durationSeconds: 600,
    });
    const lastStock = buyers.map(() => -1);
    buyers.forEach((b, i) => b.room.on(RoomEvent.Inventory, (inv) => inv.dealId === deal.id && (lastStock[i] = Number(inv.available))));
    const updates: flashcast.IOrderUpdate[] = [];
    buyers.forEach((b) => b.client.on(ClientEvent.OrderUpdate, (u) => updates.push(u)));
    const purchases: flashcast.IPurchaseEvent[] = [];
    buyers[29].room.on(RoomEvent.Purchase, (p) => purchases.push(p));

    // Everyone taps at once, and every tap is retried with the same key (a flaky network).
    const taps = buyers.map(async (b, i) => {
      const key = `tap-${i}`;
      const once = () =>
        b.room.buy({ productId: product.id, quantity: 1, idempotencyKey: key }).then(
          (r) => ({ ok: true as const, r }),
          (e: FlashcastRequestError) => ({ ok: false as const, code: e.code }),
        );
      const [first, retry] = await Promise.all([once(), once()]);
      return { i, first, retry };
    });
    const results = await Promise.all(taps);

    const won = results.filter((x) => x.first.ok);
    expect(won).toHaveLength(stock);
    for (const x of results) {
      if (x.first.ok && x.retry.ok) expect(x.retry.r.orderId).toBe(x.first.r.orderId); // same tap, same order
      if (!x.first.ok) expect(x.first.code).toBe('SOLD_OUT');
    }
    for (const x of won) {
      const r = (x.first as { r: flashcast.IBuyResult }).r;
      expect(Number(r.total?.amount)).toBe(1999);
      if (x.i < 15) {
        expect(r.status).toBe(flashcast.CheckoutStatus.CHECKOUT_SETTLING);
      } else {
        expect(r.status).toBe(flashcast.CheckoutStatus.CHECKOUT_RESERVED);
        expect(r.nextStep?.action).toBeTruthy();
        expect(r.nextStep?.path).toContain(String(r.orderId));
        expect(Number(r.holdExpiresAt)).toBeGreaterThan(Date.now());
      }
    }

    // Every viewer watched the stock reach zero.
    await waitFor(() => lastStock.every((s) => s === 0), 5000, 'stock 0 everywhere');

    // Saved-card winners are paid and told so on their socket.
    const savedWinners = won.filter((x) => x.i < 15).map((x) => (x.first as { r: flashcast.IBuyResult }).r.orderId);
    await waitFor(
      () => savedWinners.every((id) => updates.some((u) => u.orderId === id && u.status === flashcast.CheckoutStatus.CHECKOUT_PAID)),
      15_000,
      'paid updates',
    );
    await waitFor(() => purchases.length > 0, 5000, 'ticker');
    expect(purchases.reduce((n, p) => n + Number(p.quantity), 0)).toBeGreaterThan(0);

    // The host's dashboard shows the sale.
    await waitFor(() => dashboards.some((d) => Number(d.units) >= savedWinners.length), 10_000, 'dashboard units');

    // A viewer cannot buy for a room it is not allowed in, nor with a silly quantity.
    const bad = await buyers[0].room.buy({ productId: product.id, quantity: -3 }).catch((e: FlashcastRequestError) => e);
    expect(bad).toBeInstanceOf(FlashcastRequestError);
    expect((bad as FlashcastRequestError).code).not.toBe(ErrorCode.Internal);
  });

  it('a pinned product without a deal is bought at its regular price in one tap over the socket, and PAID is pushed', async () => {
    const roomId = 'live-regular';
    const commerce = gw.node.commerce!;
    const shop = await commerce.catalog.createShop({ ownerUserId: 'host-reg', name: 'Hats', currency: 'USD', country: 'US' });
    const product = await commerce.catalog.createProduct(shop.id, { titles: { en: 'Hat' }, images: [], price: { amount: 2450, currency: 'USD' }, stock: 2 });
    const unlisted = await commerce.catalog.createProduct(shop.id, { titles: { en: 'Cap' }, images: [], price: { amount: 900, currency: 'USD' }, stock: 2 });
    await commerce.catalog.addToShowcase(roomId, product.id);
    const host = await joinAs('host-reg', 'host', roomId);
    const pin = await fetch(`${gw.http}/v1/rooms/${roomId}/pin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ productId: product.id }),
    });
    expect(pin.status).toBe(200);

    const saved = await joinAs('reg-saved', 'viewer', roomId);
    const saving = await fetch(`${gw.http}/v1/me/payment-method`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${saved.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'card', token: 'tok_visa' }),
    });
    expect(saving.ok).toBe(true);
    const updates: flashcast.IOrderUpdate[] = [];
    saved.client.on(ClientEvent.OrderUpdate, (u) => updates.push(u));
    await waitFor(() => saved.room.state.pinned?.productId === product.id, 5000, 'pin seen');

    const r = await saved.room.buy({ productId: product.id, quantity: 1 });
    expect(r.status).toBe(flashcast.CheckoutStatus.CHECKOUT_SETTLING);
    expect(Number(r.unitPrice?.amount)).toBe(2450);
    expect(Number(r.total?.amount)).toBe(2450);
    await waitFor(() => updates.some((u) => u.orderId === r.orderId && u.status === flashcast.CheckoutStatus.CHECKOUT_PAID), 15_000, 'paid update');

    // A first-time buyer gets the next step; a product not in the room's showcase is not on sale.
    const first = await joinAs('reg-first', 'viewer', roomId);
    const held = await first.room.buy({ productId: product.id, quantity: 1 });
    expect(held.status).toBe(flashcast.CheckoutStatus.CHECKOUT_RESERVED);
    expect(held.nextStep?.path).toContain(String(held.orderId));
    const refused = await first.room.buy({ productId: unlisted.id, quantity: 1 }).catch((e: FlashcastRequestError) => e);
    expect((refused as FlashcastRequestError).code).toBe('NOT_ON_SALE');
    const soldOut = await saved.room.buy({ productId: product.id, quantity: 1 }).catch((e: FlashcastRequestError) => e);
    expect((soldOut as FlashcastRequestError).code).toBe('SOLD_OUT');
  });
});
