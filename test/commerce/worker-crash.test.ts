import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, waitFor, PG_URL, REDIS_URL } from './helpers.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { JWT_SECRET } from '../helpers/env.js';

let s: Stack;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await s?.close();
});

/** A real settlement worker process (TypeScript run through tsx). */
function spawnWorker(stack: Stack, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/settlement/main.ts'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      ...process.env, VITEST: '', LOG_LEVEL: 'error', REDIS_URL, DATABASE_URL: PG_URL, DATABASE_SCHEMA: stack.schema,
      FLASHCAST_JWT_SECRET: JWT_SECRET, FLASHCAST_REDIS_PREFIX: stack.prefix, SETTLEMENT_LOCK_MS: '2000', SETTLEMENT_STALLED_MS: '1000', ...env,
    },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve(child) : reject(new Error(String(m)))));
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
}

describe('settlement worker process SIGKILLed mid-job', () => {
  it('after recovery: exactly one order and one capture per tap', async () => {
    s = await startStack({ settle: false });
    const { product, deal } = await seedDeal(s, { dealStock: 20, limit: 1 });
    const first = await spawnWorker(s, { SANDBOX_ANSWER_DELAY_MS: '60000' });
    const buyers = ['b1', 'b2', 'b3', 'b4', 'b5'];
    const orders: string[] = [];
    for (const b of buyers) {
      await s.commerce.methods.save(b, { type: 'card', token: 'tok_visa' });
      const r = await s.commerce.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'tap' });
      expect(r.code).toBe('');
      orders.push(r.orderId!);
    }
    // Every payment captured at the provider, none answered yet: kill the worker now.
    await waitFor(async () => (await s.db.query('SELECT 1 FROM sandbox_payments')).rows.length === 5, 30_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    // Each order row was claimed (`pending`) before its capture; none is paid yet.
    expect((await s.db.query<{ status: string }>('SELECT status FROM orders')).rows.map((r) => r.status)).toEqual(Array(5).fill('pending'));

    await spawnWorker(s, {});
    await waitFor(async () => (await s.db.query("SELECT 1 FROM orders WHERE status = 'paid'")).rows.length === 5, 40_000, 200);
    const count = async (sql: string) => Number((await s.db.query<{ n: number }>(sql)).rows[0].n);
    expect(await count('SELECT count(*)::int8 AS n FROM orders')).toBe(5);
    expect(await count('SELECT count(*)::int8 AS n FROM payments')).toBe(5);
    expect(await count("SELECT count(*)::int8 AS n FROM sandbox_payments WHERE kind = 'capture'")).toBe(5);
    expect(await count('SELECT count(DISTINCT provider_ref)::int8 AS n FROM payments')).toBe(5);
    const res = await Reservation.create(s.redis, s.keys);
    await waitFor(async () => (await res.stats(deal.id)).orders === 5);
    expect(await res.stats(deal.id)).toMatchObject({ orders: 5, units: 5 });
    for (const id of orders) expect((await res.order(deal.id, id))?.state).toBe('S');
  }, 90_000);
});
