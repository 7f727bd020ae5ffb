/**
 * Flash-sale benchmark: N buyers (default 20,000) race for M units (default 1,000).
 *
 *   npx tsx load-tests/bench/flashsale.ts      or, after `npx tsc -p tsconfig.json`,   node dist/load-tests/bench/flashsale.js
 *
 * Env: BENCH_BUYERS, BENCH_UNITS, BENCH_ROUNDS (default 3), BENCH_SLICES (default 10), BENCH_CONCURRENCY (taps in flight, default 64),
 * BENCH_SETTLE_CONCURRENCY (settlement worker and no-op worker concurrency, default 256; pg pool 16), REDIS_URL,
 * DATABASE_URL (PostgreSQL; PGlite if set to '').
 *
 * Each round opens two fresh deals and runs:
 *   1. the ceiling: N trivial EVALSHA calls at the same in-flight concurrency C as the taps,
 *   2. the race: N buyers through checkout.reserve (validation, deal lookup, saved method, Lua: hold + settle job in the
 *      deal's outbox), C in flight, and
 *   2b. the first-time race: N other buyers, none with a saved method (never seen before), on the second deal: the same
 *      path up to the hold (the saved-method lookup is Redis only), then, for winners, the lookup in PostgreSQL after
 *      the hold and the next step,
 *      interleaved in BENCH_SLICES slices (ceiling slice, race slice, first-time slice, ...) so all see the same background load;
 * (before round 1 a warm-up — EVALSHA calls, a small deal raced and settled, no-op jobs — is run and not measured)
 *   3. settlement of the round's winners into the database (capture, order rows, sale), SC jobs in flight;
 *   4. the ceiling of 3: as many BullMQ no-op jobs at the same worker concurrency.
 * Ratios are taken within a round; the JSON line reports medians over rounds. Why C = 64: docs/flash-sales.md.
 *
 * `--buckets 1,3`: instead, one hot product whose deal's stock is split over 1, 3, ... buckets (HotProductBench.ts):
 * taps/s, Redis's own cost per tap, and the projected taps/s per shard and cluster size. REDIS_CLUSTER_NODES: on that
 * cluster; else a private redis-server (`--shared-redis`: REDIS_URL).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { RedisKeys } from '../../common/keys.js';
import { openDatabase } from '../../server/db/openDatabase.js';
import { CommerceService } from '../../server/commerce/CommerceService.js';
import { SettlementService } from '../../server/settlement/SettlementService.js';
import { SandboxPaymentProvider } from '../../server/settlement/SandboxPaymentProvider.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import type { RoomBroadcaster } from '../../server/commerce/RoomBroadcaster.js';
import type { Principal } from '../../common/auth/TokenService.js';
import { HotProductBench } from './HotProductBench.js';

const env = process.env;
const N = Number(env.BENCH_BUYERS ?? 20_000);
const M = Number(env.BENCH_UNITS ?? 1_000);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3));
const SLICES = Math.max(1, Number(env.BENCH_SLICES ?? 10));
const C = Number(env.BENCH_CONCURRENCY ?? 64);
const SC = Number(env.BENCH_SETTLE_CONCURRENCY ?? 256);
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const quiet: RoomBroadcaster = { publish: async () => 0, publishInventory: () => undefined };

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

interface RaceResult {
  perS: number;
  p50: number;
  p99: number;
}

/** Latencies and busy time of a closed-loop phase run in slices. */
class Phase {
  readonly lat: Float64Array;
  count = 0;
  ms = 0;

  constructor(total: number) {
    this.lat = new Float64Array(total);
  }

  result(): RaceResult {
    const lat = this.lat.subarray(0, this.count).sort();
    return { perS: (this.count / this.ms) * 1000, p50: pct(lat, 50), p99: pct(lat, 99) };
  }
}

/**
 * Closed loop: `concurrency` callers, each starting its next call as soon as the previous one
 * answers, for calls `from` to `to - 1`. Every call's latency counts.
 */
async function race(phase: Phase, from: number, to: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = from;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= to) return;
      const s = performance.now();
      await fn(i);
      phase.lat[phase.count++] = performance.now() - s;
    }
  }));
  phase.ms += performance.now() - t0;
}

/**
 * Runs each phase over `count` calls, in turn by slices of `count / slices` calls (A, B, C, A, B,
 * C, ...), so that all see the same background load on a shared machine.
 */
async function interleave(count: number, slices: number, concurrency: number, ...fns: ((i: number) => Promise<unknown>)[]): Promise<RaceResult[]> {
  const phases = fns.map(() => new Phase(count));
  const step = Math.ceil(count / slices);
  for (let from = 0; from < count; from += step) {
    const to = Math.min(count, from + step);
    for (let p = 0; p < fns.length; p++) await race(phases[p], from, to, concurrency, fns[p]);
  }
  return phases.map((p) => p.result());
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** `--buckets 1,3 [--shared-redis]`: the hot-product bench. */
function hotProductArgs(argv: string[]): { buckets: number[]; sharedRedis: boolean } | null {
  const i = argv.indexOf('--buckets');
  if (i < 0) return null;
  const buckets = (argv[i + 1] ?? '').split(',').map(Number);
  if (buckets.length === 0 || buckets.some((b) => !Number.isInteger(b) || b < 1 || b > 32)) throw new TypeError('--buckets takes counts from 1 to 32, e.g. --buckets 1,3');
  return { buckets, sharedRedis: argv.includes('--shared-redis') };
}

async function main(): Promise<void> {
  const hot = hotProductArgs(process.argv.slice(2));
  if (hot) {
    const units = Number(env.BENCH_UNITS ?? env.BENCH_BUYERS ?? 20_000);
    await HotProductBench.run({
      ...hot, buyers: Number(env.BENCH_BUYERS ?? 20_000), units, rounds: Math.max(1, Number(env.BENCH_ROUNDS ?? 3)), slices: SLICES,
      concurrency: C, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES || undefined,
    });
    return;
  }
  const run = randomUUID().slice(0, 8);
  const prefix = `bench:${run}`;
  const schema = `bench_${run}`;
  const keys = new RedisKeys(prefix);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
  const db = await openDatabase({ databaseUrl: DATABASE_URL || undefined, schema, max: 16 });
  // The bench taps through Checkout directly (no rooms, no bans).
  const commerce = await CommerceService.create({ redis, connection, keys, db, broadcaster: quiet, bans: async () => false, runWorkers: false });
  const reservation = await Reservation.create(redis, keys);
  console.log(`flashsale: ${N} buyers, ${M} units, ${ROUNDS} rounds; ${C} taps in flight; settlement concurrency ${SC}; db ${db.kind}`);
  try {
    // ---- setup: a shop; every buyer of the race has a saved card (one-tap checkout; the Redis mirror of saved
    // methods, as PaymentMethods.save writes it); the first-time buyers of each round have none and were never seen
    const shop = await commerce.catalog.createShop({ ownerUserId: 'host', name: 'Bench', currency: 'USD', country: 'US' });
    const pipe = redis.pipeline();
    for (let i = 0; i < N; i++) pipe.set(keys.global(`pm:u${i}`), 'card|tok_visa');
    await pipe.exec();
    const principals: Principal[] = Array.from({ length: N }, (_, i) => ({ userId: `u${i}`, name: `Buyer ${i}`, role: 'viewer', rooms: null, region: 'US', exp: 0 }));
    const sha = (await redis.script('LOAD', "return redis.call('EXISTS', KEYS[1])")) as string;
    const ceilKey = keys.deal('ceiling', 'k');
    // ---- warm-up, not measured (JIT, connections, caches), as a long-running server is: EVALSHA calls; a small
    // deal raced and settled through the same code; BullMQ no-op jobs
    await race(new Phase(5000), 0, 5000, C, () => redis.evalsha(sha, 1, ceilKey));
    {
      const wN = Math.min(N, 4000);
      const wM = Math.min(M, 1000);
      const product = await commerce.catalog.createProduct(shop.id, { titles: { en: 'Warm-up item' }, images: [], price: { amount: 2500, currency: 'USD' }, stock: wM });
      await commerce.catalog.addToShowcase('room1', product.id);
      await commerce.deals.create('room1', 'host', {
        productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: wM, perBuyerLimit: 2, countdownSeconds: 0, durationSeconds: 600,
      });
      let held = 0;
      await race(new Phase(wN), 0, wN, C, async (i) => {
        const r = await commerce.checkout.reserve(principals[i], { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: `warm-${i}` });
        if (!r.code) held++;
      });
      const settlement = await SettlementService.create({ redis, connection, keys, db, provider: new SandboxPaymentProvider(db), broadcaster: quiet, worker: { concurrency: SC }, sweepHolds: false });
      let settled = 0;
      await new Promise<void>((resolve) => {
        const done = () => ++settled >= held && resolve();
        settlement.worker.on('orderpaid', done);
        settlement.worker.on('orderfailed', done);
      });
      await settlement.close();
      const q = new Queue('{bench-noop-warm}', { connection, prefix: `${prefix}:bull` });
      await q.addBulk(Array.from({ length: held }, (_, i) => ({ name: 'noop', data: { i }, opts: { jobId: `w${i}`, removeOnComplete: true } })));
      let n = 0;
      const w = new Worker('{bench-noop-warm}', async () => undefined, { connection, prefix: `${prefix}:bull`, concurrency: SC });
      await new Promise<void>((resolve) => w.on('completed', () => ++n >= held && resolve()));
      await w.close();
      await q.obliterate({ force: true });
      await q.close();
      console.log(`warm-up: ${wN} taps, ${held} orders settled, ${held} no-op jobs (not measured)`);
    }

    const rounds: { ceiling: RaceResult; reserve: RaceResult; first: RaceResult; settledPerS: number; noopPerS: number }[] = [];
    const firstCodes = new Map<string, number>();
    let oversold = 0;
    let lost = 0;
    let soldUnits = 0;
    let stockLeft = 0;
    const codes = new Map<string, number>();
    for (let round = 1; round <= ROUNDS; round++) {
      const product = await commerce.catalog.createProduct(shop.id, { titles: { en: `Bench item ${round}` }, images: [], price: { amount: 2500, currency: 'USD' }, stock: M });
      await commerce.catalog.addToShowcase('room1', product.id);
      const deal = await commerce.deals.create('room1', 'host', {
        productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: M, perBuyerLimit: 2, countdownSeconds: 0, durationSeconds: 600,
      });
      const firstProduct = await commerce.catalog.createProduct(shop.id, { titles: { en: `First-time item ${round}` }, images: [], price: { amount: 2500, currency: 'USD' }, stock: M });
      await commerce.catalog.addToShowcase('room1', firstProduct.id);
      const firstDeal = await commerce.deals.create('room1', 'host', {
        productId: firstProduct.id, price: { amount: 1999, currency: 'USD' }, totalStock: M, perBuyerLimit: 2, countdownSeconds: 0, durationSeconds: 600,
      });
      const newcomers: Principal[] = Array.from({ length: N }, (_, i) => ({ userId: `f${round}-${i}`, name: `Newcomer ${i}`, role: 'viewer', rooms: null, region: 'US', exp: 0 }));

      // ---- 1. ceiling, 2. race, 2b. first-time race: same concurrency, interleaved in slices
      const winners: string[] = [];
      const winnerLat: number[] = [];
      const firstWinnerLat: number[] = [];
      let firstHeld = 0;
      const [ceiling, reserve, first] = await interleave(N, SLICES, C, () => redis.evalsha(sha, 1, ceilKey), async (i) => {
        const s0 = performance.now();
        const r = await commerce.checkout.reserve(principals[i], { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: `tap-${round}-${i}` });
        const code = r.code || 'OK';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (!r.code) {
          winners.push(r.orderId!);
          winnerLat.push(performance.now() - s0);
        }
      }, async (i) => {
        const s0 = performance.now();
        const r = await commerce.checkout.reserve(newcomers[i], { roomId: 'room1', productId: firstProduct.id, quantity: 1, idempotencyKey: `first-${round}-${i}` });
        const code = r.code || (r.nextStep ? 'OK_NEXT_STEP' : 'OK');
        firstCodes.set(code, (firstCodes.get(code) ?? 0) + 1);
        if (!r.code) {
          firstHeld += Number(r.quantity);
          firstWinnerLat.push(performance.now() - s0);
        }
      });
      const wl = Float64Array.from(winnerLat).sort();
      const fwl = Float64Array.from(firstWinnerLat).sort();
      // The winners' jobs go from the outbox to BullMQ in the background; settlement is timed from a full queue.
      await commerce.outbox.drain();
      console.log(`round ${round} reserve: ${reserve.perS.toFixed(0)}/s, p50 ${reserve.p50.toFixed(2)} ms, p99 ${reserve.p99.toFixed(2)} ms | ` +
        `EVALSHA ceiling ${ceiling.perS.toFixed(0)}/s, p50 ${ceiling.p50.toFixed(2)} ms, p99 ${ceiling.p99.toFixed(2)} ms | ratio ${(reserve.perS / ceiling.perS).toFixed(3)} (C=${C}); ` +
        `winners (hold + settle job in the outbox) p50 ${pct(wl, 50).toFixed(2)} ms, p99 ${pct(wl, 99).toFixed(2)} ms`);
      console.log(`round ${round} first-time taps: ${first.perS.toFixed(0)}/s, p50 ${first.p50.toFixed(2)} ms, p99 ${first.p99.toFixed(2)} ms | ` +
        `ratio ${(first.perS / ceiling.perS).toFixed(3)} vs EVALSHA, ${(first.perS / reserve.perS).toFixed(3)} vs saved-card taps; ` +
        `winners (hold, then the method looked up in PostgreSQL, next step) p50 ${pct(fwl, 50).toFixed(2)} ms, p99 ${pct(fwl, 99).toFixed(2)} ms`);

      // ---- 3. settlement: the winners' jobs are in BullMQ; start the workers on the paused queue (start-up is not
      // timed, as for the no-op workers below), then resume and time until every order is paid
      const provider = new SandboxPaymentProvider(db);
      await commerce.queue.settle.pause();
      const settlement = await SettlementService.create({ redis, connection, keys, db, provider, broadcaster: quiet, worker: { concurrency: SC }, sweepHolds: false });
      let finished = 0;
      const allSettled = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 300_000);
        const done = () => {
          if (++finished >= winners.length) {
            clearTimeout(timer);
            resolve();
          }
        };
        settlement.worker.on('orderpaid', done);
        settlement.worker.on('orderfailed', done);
      });
      const t0 = performance.now();
      await commerce.queue.settle.resume();
      await allSettled;
      const settledPerS = (winners.length / (performance.now() - t0)) * 1000;
      await settlement.close();

      // ---- 4. ceiling: BullMQ no-op jobs through one queue at the same worker concurrency, timed the same way
      const noopName = `{bench-noop-${round}}`;
      const bullPrefix = `${prefix}:bull`;
      const noopQueue = new Queue(noopName, { connection, prefix: bullPrefix });
      await noopQueue.pause();
      await noopQueue.addBulk(Array.from({ length: winners.length }, (_, i) => ({ name: 'noop', data: { i }, opts: { jobId: `n${i}`, removeOnComplete: true } })));
      let done = 0;
      const noopWorker = new Worker(noopName, async () => undefined, { connection, prefix: bullPrefix, concurrency: SC });
      const allDone = new Promise<void>((resolve) => noopWorker.on('completed', () => ++done >= winners.length && resolve()));
      await noopWorker.waitUntilReady();
      const n0 = performance.now();
      await noopQueue.resume();
      await allDone;
      const noopPerS = (winners.length / (performance.now() - n0)) * 1000;
      await noopWorker.close();
      await noopQueue.obliterate({ force: true });
      await noopQueue.close();
      console.log(`round ${round} settlement: ${winners.length} orders = ${settledPerS.toFixed(0)}/s | BullMQ no-op ${noopPerS.toFixed(0)} jobs/s | ratio ${(settledPerS / noopPerS).toFixed(3)} (concurrency ${SC})`);

      // ---- invariants of the round
      const stats = await reservation.stats(deal.id);
      const committed = Object.values(await reservation.committedBy(deal.id));
      const available = await reservation.available(deal.id);
      const { rows } = await db.query<{ id: string }>("SELECT id FROM orders WHERE status = 'paid' AND deal_id = $1", [deal.id]);
      const paidIds = new Set(rows.map((r) => r.id));
      oversold += Math.max(0, stats.units + available - M) + Math.max(0, winners.length - M) + Math.max(0, rows.length - M)
        + committed.filter((u) => u > 2).length;
      lost += winners.filter((id) => !paidIds.has(id)).length;
      soldUnits += stats.units;
      stockLeft += available;
      // First-time deal: every unit held once, none twice.
      const firstAvailable = await reservation.available(firstDeal.id);
      oversold += Math.max(0, firstHeld - M) + Math.max(0, firstHeld + firstAvailable - M) + (firstAvailable < 0 ? 1 : 0);
      rounds.push({ ceiling, reserve, first, settledPerS, noopPerS });
    }
    const dup = Number((await db.query<{ n: number }>('SELECT (count(*) - count(DISTINCT (buyer_id, idempotency_key)))::int8 AS n FROM orders')).rows[0].n);
    const dupCaptures = Number((await db.query<{ n: number }>("SELECT (count(*) - count(DISTINCT idempotency_key))::int8 AS n FROM sandbox_payments")).rows[0].n);
    const dupPayments = Number((await db.query<{ n: number }>('SELECT (count(*) - count(DISTINCT order_id))::int8 AS n FROM payments')).rows[0].n);
    const m = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
    console.log(`answers over ${ROUNDS} rounds: ${JSON.stringify(Object.fromEntries(codes))}; first-time taps: ${JSON.stringify(Object.fromEntries(firstCodes))}`);
    const result = {
      buyers: N, units: M, rounds: ROUNDS, concurrency: C, settle_concurrency: SC,
      reserve_per_s: Math.round(m((r) => r.reserve.perS)),
      reserve_p50_ms: r2(m((r) => r.reserve.p50)),
      reserve_p99_ms: r2(m((r) => r.reserve.p99)),
      evalsha_ceiling_per_s: Math.round(m((r) => r.ceiling.perS)),
      evalsha_p50_ms: r2(m((r) => r.ceiling.p50)),
      evalsha_p99_ms: r2(m((r) => r.ceiling.p99)),
      ratio_vs_evalsha: +m((r) => r.reserve.perS / r.ceiling.perS).toFixed(3),
      first_tap_per_s: Math.round(m((r) => r.first.perS)),
      first_tap_p50_ms: r2(m((r) => r.first.p50)),
      first_tap_p99_ms: r2(m((r) => r.first.p99)),
      first_tap_ratio_vs_evalsha: +m((r) => r.first.perS / r.ceiling.perS).toFixed(3),
      first_tap_ratio_vs_saved: +m((r) => r.first.perS / r.reserve.perS).toFixed(3),
      settled_per_s: Math.round(m((r) => r.settledPerS)),
      bullmq_noop_per_s: Math.round(m((r) => r.noopPerS)),
      settle_ratio_vs_noop: +m((r) => r.settledPerS / r.noopPerS).toFixed(3),
      sold_units: soldUnits,
      stock_left: stockLeft,
      oversold,
      lost_orders: lost,
      duplicate_orders: dup + dupCaptures + dupPayments,
      db: db.kind,
    };
    console.log(JSON.stringify(result));
  } finally {
    await commerce.close();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
      cursor = next;
      if (batch.length) await redis.del(...batch);
    } while (cursor !== '0');
    await db.close();
    if (db.kind === 'pg') {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    redis.disconnect();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
