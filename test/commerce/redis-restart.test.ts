import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, sleep, waitFor } from './helpers.js';
import { Reservation } from '../../server/commerce/Reservation.js';

let s: Stack | null = null;
let redisProc: ChildProcess | null = null;
let dir = '';

afterEach(async () => {
  await s?.close();
  if (redisProc && redisProc.exitCode === null) redisProc.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A persistent Redis (AOF, fsync always) of our own. */
async function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always',
    '--dir', dir, '--save', '', '--protected-mode', 'no'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    const tryConnect = (n: number) => {
      const c = createServer();
      void c;
      import('node:net').then(({ connect }) => {
        const sock = connect(port, '127.0.0.1', () => { sock.destroy(); resolve(); });
        sock.on('error', () => (n > 100 ? reject(new Error('redis did not start')) : setTimeout(() => tryConnect(n + 1), 50)));
      });
    };
    tryConnect(0);
  });
  return p;
}

describe('Redis restarted mid-sale (persistent Redis)', () => {
  it('no oversell, no lost order: every tap answered reserved ends as exactly one paid order', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fc-redis-'));
    const port = await freePort();
    redisProc = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    s = await startStack({ redisUrl: url });
    const { product, deal } = await seedDeal(s, { dealStock: 60, limit: 1 });
    const buyers = Array.from({ length: 300 }, (_, i) => `u${i}`);
    for (const b of buyers) await s.commerce.methods.save(b, { type: 'card', token: 'tok_visa' });

    const results = new Map<string, { code: string; orderId?: string | null }>();
    const tap = async (b: string) => {
      await sleep(Math.random() * 1500);
      for (let i = 0; i < 200; i++) {
        const r = await s!.commerce.checkout.reserve(principal(b), { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: `tap-${b}` });
        if (r.code !== 'UNAVAILABLE') {
          results.set(b, { code: r.code ?? '', orderId: r.orderId });
          return;
        }
        await sleep(100); // same idempotency key on retry
      }
      results.set(b, { code: 'GAVE_UP' });
    };
    const all = Promise.all(buyers.map(tap));
    await sleep(600);
    redisProc.kill('SIGKILL');
    await new Promise((r) => redisProc!.once('exit', r));
    await sleep(500);
    redisProc = await startRedis(port);
    await all;

    const winners = [...results.entries()].filter(([, r]) => r.code === '');
    const codes = new Set([...results.values()].map((r) => r.code));
    expect([...codes].every((c) => c === '' || c === 'SOLD_OUT')).toBe(true);
    expect(winners.length).toBe(60);
    const res = await Reservation.create(s.redis, s.keys);
    expect(await res.available(deal.id)).toBe(0);
    await waitFor(async () => (await s!.db.query("SELECT 1 FROM orders WHERE status = 'paid'")).rows.length >= 60, 60_000, 200);
    await sleep(500);
    const { rows } = await s.db.query<{ id: string; buyer_id: string }>("SELECT id, buyer_id FROM orders WHERE status = 'paid'");
    expect(rows.length).toBe(60); // nothing oversold, nothing duplicated
    expect(new Set(rows.map((r) => r.buyer_id)).size).toBe(60);
    const paid = new Set(rows.map((r) => r.id));
    for (const [, r] of winners) expect(paid.has(r.orderId!)).toBe(true); // no lost order
    expect(Number((await s.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM sandbox_payments WHERE kind = 'capture'")).rows[0].n)).toBe(60);
  }, 120_000);
});
