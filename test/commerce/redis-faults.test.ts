/**
 * Fault tests for issue #7 "PostgreSQL is the durable authority; Redis is the fast path".
 *
 * Each test runs commerce plus an in-process settlement worker (sandbox provider) on a private
 * redis-server (no AOF, RDB only when the test says SAVE), injects one fault, lets buyers keep
 * tapping as clients would, waits until settlement is quiet, and then checks the totals where
 * they are durable: PostgreSQL (`orders`, `order_lines`, `payments`, `deals`, `products`), the
 * sandbox provider's ledger `sandbox_payments` (what money really moved), and what Redis offers.
 * Final checks are `expect.soft`, so a failing run lists every broken promise, not just the first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, seedDeal, type Stack } from './stack.js';
import { waitFor, sleep } from './helpers.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import { SnapshotRedis } from './faults/SnapshotRedis.js';
import { RecordingNotifier } from './faults/RecordingNotifier.js';
import { dealOrders, moneyAudit, waitQuiet, type MoneyAudit } from './faults/audit.js';
import { buyers, saveCards, tally, tapUntilFinal, FINAL_CODES, type TapOutcome } from './faults/taps.js';

// ---- Names and contracts the rewrite must provide (ASSUMED; change here if the lead names them otherwise) ----

/** `SettlementService.worker` emits this event, with the new state, when its payment-provider circuit breaker changes. */
const BREAKER_EVENT = 'breaker';
/** ASSUMED: the order update telling a buyer the provider was down and nothing was charged. */
const OUTAGE_UPDATE = { status: 'failed', code: 'PAYMENT_UNAVAILABLE' } as const;
/** ASSUMED: the field of that update carrying the retry hint (ms until a retry makes sense, > 0). */
const RETRY_HINT_FIELD = 'retryAfterMs';
/** ASSUMED: the BuyResult code of a tap refused up front while the breaker is open (no hold made). */
const TAP_REFUSED_OUTAGE_CODE = 'PAYMENT_UNAVAILABLE';
/** Redis hold states (Reservation.order): H held, P payment in flight. */
const LIVE_HOLD_STATES = new Set(['H', 'P']);

// ---- Bounds (not timings under test: generous on a shared 2-core machine) ----
const TAP_BOUND_MS = 20_000;
const RELEASE_BOUND_MS = 30_000;
const QUIET = { stableMs: 3_000, timeoutMs: 30_000 };

let s: Stack | null = null;
let redis: SnapshotRedis | null = null;

afterEach(async () => {
  // The stack's cleanup needs its Redis: bring it back if the test stopped while it was down.
  if (redis && !redis.running) await redis.start().catch(() => undefined);
  await s?.close();
  s = null;
  await redis?.close();
  redis = null;
});

/** Starts a private Redis and the stack on it. */
async function start(opts: Parameters<typeof startStack>[0] = {}): Promise<Stack> {
  redis = await SnapshotRedis.create();
  s = await startStack({ ...opts, redisUrl: redis.url });
  return s;
}

/** Every order id the buyers were answered with, and the Redis view of them. */
async function redisHolds(stack: Stack, dealId: string, outcomes: TapOutcome[]): Promise<{ live: number; paying: string[] }> {
  const res = await Reservation.create(stack.redis, stack.keys);
  const ids = new Set(outcomes.map((o) => o.result.orderId).filter((id): id is string => !!id));
  let live = 0;
  const paying: string[] = [];
  for (const id of ids) {
    const h = await res.order(dealId, id);
    if (!h || !LIVE_HOLD_STATES.has(h.state)) continue;
    live += h.quantity;
    if (h.state === 'P') paying.push(id);
  }
  return { live, paying };
}

/** The promises about money that hold after any fault, once settlement is quiet. */
function expectMoneyConsistent(m: MoneyAudit, label: string): void {
  expect.soft(m.captures - m.givenBack, `${label}: captures net of voids/refunds = paid orders`).toBe(m.paidOrders);
  expect.soft(m.capturedAmount - m.givenBackAmount, `${label}: captured amount net of voids/refunds = paid amount`).toBe(m.paidAmount);
  expect.soft(m.unmatchedCaptures, `${label}: every capture that is no paid order is voided/refunded (count)`).toBe(m.givenBack);
  expect.soft(m.unmatchedAmount, `${label}: every capture that is no paid order is voided/refunded (amount)`).toBe(m.givenBackAmount);
  expect.soft(m.paidWithoutCapture, `${label}: every paid order has a capture of its amount`).toBe(0);
  expect.soft(m.sharedCaptures, `${label}: no capture counted for two paid orders`).toBe(0);
}

const SAVED_TAP = (b: string) => `tap-${b}`;

describe('Redis faults: PostgreSQL stays the authority', () => {
  it('Redis restarted from a snapshot taken mid-sale: no oversell, no double capture, every capture matched', async () => {
    const st = await start();
    const { product, deal } = await seedDeal(st, { dealStock: 200, limit: 1 });
    const first = buyers('a', 120);
    const second = buyers('b', 100);
    const newcomers = buyers('c', 100);
    await saveCards(st, [...first, ...second, ...newcomers]);
    const res = await Reservation.create(st.redis, st.keys);

    // 120 sold and settled, then the snapshot.
    const w1 = await Promise.all(first.map((b) => tapUntilFinal(st, b, product.id, SAVED_TAP(b))));
    expect(tally(w1)).toEqual({ '': 120 });
    await waitFor(async () => (await dealOrders(st.db, deal.id)).paidOrders === 120, 30_000, 100);
    await waitFor(async () => (await Promise.all(w1.map((o) => res.order(deal.id, o.result.orderId!)))).every((h) => h?.state === 'S'), 30_000, 100);
    const marker = (m: string) => `${st.prefix}:fault-marker:${m}`;
    await st.redis.set(marker('before-snapshot'), '1');
    await redis!.save();
    await st.redis.set(marker('after-snapshot'), '1');

    // The other 80 sold and settled (20 latecomers told SOLD_OUT).
    const w2 = await Promise.all(second.map((b) => tapUntilFinal(st, b, product.id, SAVED_TAP(b))));
    expect(tally(w2)).toEqual({ '': 80, SOLD_OUT: 20 });
    const lateWinners = w2.filter((o) => o.result.code === '');
    await waitFor(async () => (await dealOrders(st.db, deal.id)).paidOrders === 200, 30_000, 100);
    await waitFor(async () => (await Promise.all(lateWinners.map((o) => res.order(deal.id, o.result.orderId!)))).every((h) => h?.state === 'S'), 30_000, 100);
    const before = await moneyAudit(st.db);
    expect(before).toMatchObject({ captures: 200, paidOrders: 200, unmatchedCaptures: 0 });

    // Crash; Redis comes back from the snapshot, 80 sales short.
    await redis!.kill();
    await redis!.start();
    expect(await st.redis.get(marker('before-snapshot')), 'Redis came back from the snapshot').toBe('1');
    expect(await st.redis.get(marker('after-snapshot')), 'Redis forgot what came after the snapshot').toBeNull();

    // Newcomers tap; every late winner retries with the same idempotency key, interleaved.
    const wave = [
      ...lateWinners.map((o) => ({ b: o.buyer, key: o.key })),
      ...newcomers.map((b) => ({ b, key: SAVED_TAP(b) })),
    ].sort(() => Math.random() - 0.5);
    const w3 = await Promise.all(wave.map(({ b, key }) => tapUntilFinal(st, b, product.id, key, { boundMs: TAP_BOUND_MS, startDelayMs: Math.random() * 1_000 })));
    const quiet = await waitQuiet(st.db, QUIET);

    const orders = await dealOrders(st.db, deal.id);
    const money = await moneyAudit(st.db);
    const holds = await redisHolds(st, deal.id, [...w1, ...w2, ...w3]);
    const available = await res.available(deal.id);
    console.log('snapshot rollback:', JSON.stringify({ w3: tally(w3), statuses: orders.statuses, money, holds: { live: holds.live, paying: holds.paying.length }, available }));

    expect.soft(orders.paidUnits, 'paid units <= deal stock (no oversell)').toBeLessThanOrEqual(200);
    expect.soft(orders.duplicateKeys, 'no (deal, buyer, key) with two paid orders').toBe(0);
    expect.soft([...w1, ...lateWinners].filter((o) => orders.paidByBuyer.get(o.buyer) !== 1).map((o) => o.buyer),
      'buyers from before the crash without exactly one paid order').toEqual([]);
    expectMoneyConsistent(money, 'after rollback');
    expect.soft(money.captures - money.givenBack, 'no money kept beyond the 200 units sold').toBeLessThanOrEqual(200);
    expect.soft(orders.inFlight, 'no order left pending/paying in PostgreSQL').toBe(0);
    expect.soft(holds.paying, 'no order left paying in Redis').toEqual([]);
    expect.soft(available, "Redis's stock = total - paid - live holds").toBe(200 - orders.paidUnits - holds.live);
    expect.soft(available, "Redis's stock is never negative").toBeGreaterThanOrEqual(0);
    expect.soft(quiet, 'settlement went quiet').toBe(true);
  }, 120_000);

  it('Redis restarted empty: the deal recovers by itself, sells exactly the rest, then ends and gives unsold stock back', async () => {
    const DURATION_S = 35;
    const st = await start({ deals: { closeAfterEndMs: 1_000 } });
    const shop = await st.commerce.catalog.createShop({ ownerUserId: 'host1', name: 'Shop', currency: 'USD', country: 'US' });
    const product = (title: string) => st.commerce.catalog.createProduct(shop.id, {
      titles: { en: title }, images: ['https://img.example/1.jpg'], price: { amount: 2999, currency: 'USD' }, stock: 1000,
    });
    const [pA, pB] = [await product('Red scarf'), await product('Blue scarf')];
    await st.commerce.catalog.addToShowcase('room1', pA.id);
    await st.commerce.catalog.addToShowcase('room1', pB.id);
    const create = (productId: string, totalStock: number) => st.commerce.deals.create('room1', 'host1', {
      productId, price: { amount: 1999, currency: 'USD' }, totalStock, perBuyerLimit: 1, countdownSeconds: 0, durationSeconds: DURATION_S,
    });
    const dealA = await create(pA.id, 100);
    const dealB = await create(pB.id, 40); // sells 10 before the crash and nothing after: 30 must go back to the product
    const early = buyers('a', 50);
    const earlyB = buyers('x', 10);
    const late = buyers('c', 150);
    await saveCards(st, [...early, ...earlyB, ...late]);

    const w1 = await Promise.all([
      ...early.map((b) => tapUntilFinal(st, b, pA.id, SAVED_TAP(b))),
      ...earlyB.map((b) => tapUntilFinal(st, b, pB.id, SAVED_TAP(b))),
    ]);
    expect(tally(w1)).toEqual({ '': 60 });
    await waitFor(async () => (await dealOrders(st.db, dealA.id)).paidOrders === 50 && (await dealOrders(st.db, dealB.id)).paidOrders === 10, 30_000, 100);
    await waitQuiet(st.db, { stableMs: 1_000, timeoutMs: 10_000 });
    const marker = `${st.prefix}:fault-marker`;
    await st.redis.set(marker, '1');

    // Crash; Redis comes back with nothing.
    await redis!.kill();
    await redis!.start({ empty: true });
    expect(await st.redis.get(marker), 'Redis came back empty').toBeNull();
    // Redis forgot which product has a live deal; PostgreSQL still refuses a second one on it.
    await expect(create(pA.id, 10)).rejects.toMatchObject({ code: 'DEAL_CONFLICT' });

    // 150 newcomers tap (again while the answer is not final): exactly the 50 left must sell.
    const w2 = await Promise.all(late.map((b) => tapUntilFinal(st, b, pA.id, SAVED_TAP(b), { boundMs: TAP_BOUND_MS, startDelayMs: Math.random() * 500 })));
    const quiet = await waitQuiet(st.db, QUIET);
    const a = await dealOrders(st.db, dealA.id);
    const b = await dealOrders(st.db, dealB.id);
    const money = await moneyAudit(st.db);
    const res = await Reservation.create(st.redis, st.keys);
    console.log('empty restart:', JSON.stringify({ w2: tally(w2), codes: [...new Set(w2.map((o) => o.codes.join('>')))], a: a.statuses, b: b.statuses, money, availableA: await res.available(dealA.id) }));

    expect.soft(w2.filter((o) => FINAL_CODES.has(o.result.code ?? '')).length, 'every newcomer got a final answer (the deal recovered)').toBe(150);
    expect.soft(w2.filter((o) => o.result.code === 'NOT_ON_SALE').length, 'nobody is left with NOT_ON_SALE').toBe(0);
    expect.soft(w2.filter((o) => o.result.code === '').length, 'exactly the 50 units left were sold').toBe(50);
    expect.soft(a.paidUnits, 'deal A: paid units == its stock').toBe(100);
    expect.soft(a.duplicateKeys).toBe(0);
    expect.soft(b.paidUnits, 'deal B: its 10 sales survive').toBe(10);
    expectMoneyConsistent(money, 'after empty restart');
    expect.soft(a.inFlight + b.inFlight, 'no order left pending').toBe(0);
    expect.soft(await res.available(dealA.id), "deal A: Redis's stock = 0").toBe(0);
    expect.soft(quiet, 'settlement went quiet').toBe(true);

    // After the end (plus the close delay): neither deal stays active, unsold stock is back in the catalog
    // (the product's unallocated units plus its regular-price listing's unsold units).
    const closedBy = dealA.endsAt + 1_000 + 15_000;
    const state = async () => {
      const { rows } = await st.db.query<{ id: string; status: string; stock: number }>(
        `SELECT d.id, d.status, p.stock + COALESCE((SELECT l.total_stock - l.sold_units FROM deals l
           WHERE l.product_id = p.id AND l.kind = 'regular' AND l.status <> 'closed'), 0) AS stock
         FROM deals d JOIN products p ON p.id = d.product_id WHERE d.id = ANY($1::text[])`, [[dealA.id, dealB.id]]);
      return new Map(rows.map((r) => [r.id, r]));
    };
    const expectedStock = (dealStock: number, paid: number) => 1000 - dealStock + (dealStock - paid);
    let end = await state();
    while (Date.now() < closedBy) {
      end = await state();
      if (end.get(dealA.id)!.status !== 'active' && end.get(dealB.id)!.status !== 'active'
        && end.get(dealB.id)!.stock === expectedStock(40, b.paidUnits)) break;
      await sleep(500);
    }
    console.log('empty restart, after the end:', JSON.stringify([...end.values()]));
    expect.soft(end.get(dealA.id)!.status, 'deal A left active after its end').not.toBe('active');
    expect.soft(end.get(dealB.id)!.status, 'deal B left active after its end').not.toBe('active');
    expect.soft(end.get(dealA.id)!.stock, 'product A stock = 1000 - paid').toBe(expectedStock(100, a.paidUnits));
    expect.soft(end.get(dealB.id)!.stock, "deal B's 30 unsold units went back to product B").toBe(expectedStock(40, b.paidUnits));
  }, 120_000);

  it('provider outage: holds released, buyers told, nothing captured, breaker trips; after it, a retry with the same key charges once', async () => {
    const notifier = new RecordingNotifier();
    const st = await start({ sandbox: { outage: true }, notifier });
    let breakerOpened = 0;
    st.settlement!.worker.on(BREAKER_EVENT, (state) => void (state === 'open' && breakerOpened++));
    const { product, deal } = await seedDeal(st, { dealStock: 50, limit: 1 });
    const res = await Reservation.create(st.redis, st.keys);
    const people = buyers('u', 30);
    await saveCards(st, people);

    const w1 = await Promise.all(people.map((b) => tapUntilFinal(st, b, product.id, SAVED_TAP(b), { boundMs: 0, startDelayMs: Math.random() * 1_000 })));
    // A tap is either held (and settled later) or, once the breaker is open, refused up front.
    for (const o of w1) expect.soft(['', TAP_REFUSED_OUTAGE_CODE], `${o.buyer}'s first tap`).toContain(o.result.code ?? '');
    const held = w1.filter((o) => o.result.code === '');
    const toldOutage = (o: TapOutcome) => notifier.of(o.buyer).some((u) => u.orderId === o.result.orderId && u.status === OUTAGE_UPDATE.status && u.code === OUTAGE_UPDATE.code);

    // Within a bounded time: every hold back in stock, every held buyer told.
    const settledDown = async () => (await res.available(deal.id)) === 50 && held.every(toldOutage);
    const endRelease = Date.now() + RELEASE_BOUND_MS;
    while (Date.now() < endRelease && !(await settledDown())) await sleep(250);
    const duringOrders = await dealOrders(st.db, deal.id);
    const duringMoney = await moneyAudit(st.db);
    console.log('outage:', JSON.stringify({
      w1: tally(w1), available: await res.available(deal.id), told: held.filter(toldOutage).length, held: held.length, breakerOpened,
      updates: notifier.updates.slice(0, 3), statuses: duringOrders.statuses, captures: duringMoney.captures,
    }));
    expect.soft(await res.available(deal.id), 'every hold released: Redis stock back to the total').toBe(50);
    const update = (o: TapOutcome) => notifier.of(o.buyer).find((x) => x.orderId === o.result.orderId);
    expect.soft(held.filter((o) => !toldOutage(o)).map((o) => o.buyer),
      `held buyers not told ${OUTAGE_UPDATE.status}/${OUTAGE_UPDATE.code}`).toEqual([]);
    expect.soft(held.filter((o) => update(o)?.dealId !== deal.id).map((o) => o.buyer), 'held buyers without an update naming the deal').toEqual([]);
    expect.soft(held.filter((o) => !(Number(update(o)?.[RETRY_HINT_FIELD] ?? 0) > 0)).map((o) => o.buyer),
      `held buyers whose update has no retry hint (${RETRY_HINT_FIELD} > 0)`).toEqual([]);
    expect.soft(notifier.updates.filter((u) => u.update.status === 'paid'), 'nobody told "paid" during the outage').toEqual([]);
    expect.soft(duringMoney.captures, 'nothing captured during the outage').toBe(0);
    expect.soft(duringOrders.paidOrders, 'no paid order during the outage').toBe(0);
    expect.soft(duringOrders.inFlight, 'no order left pending during the outage').toBe(0);
    expect.soft(breakerOpened, `the circuit breaker opened ('${BREAKER_EVENT}' → open)`).toBeGreaterThan(0);

    // The provider is back: every buyer retries with the same key until taken, and is charged exactly once.
    st.provider.configure({ outage: false });
    const bought = new Set(['', 'SOLD_OUT', 'LIMIT_REACHED', 'ENDED']);
    const w2 = await Promise.all(people.map((b) => tapUntilFinal(st, b, product.id, SAVED_TAP(b), { boundMs: 40_000, final: bought })));
    await waitFor(async () => (await dealOrders(st.db, deal.id)).paidOrders >= people.length, 30_000, 250).catch(() => undefined);
    const quiet = await waitQuiet(st.db, QUIET);
    const orders = await dealOrders(st.db, deal.id);
    const money = await moneyAudit(st.db);
    console.log('after outage:', JSON.stringify({ w2: tally(w2), codes: [...new Set(w2.map((o) => o.codes.join('>')))], statuses: orders.statuses, money }));
    expect.soft(people.filter((b) => orders.paidByBuyer.get(b) !== 1), 'buyers without exactly one paid order').toEqual([]);
    expect.soft(money.captures, 'one capture per buyer').toBe(people.length);
    expect.soft(money.givenBack, 'nothing to void').toBe(0);
    expectMoneyConsistent(money, 'after the outage');
    expect.soft(orders.inFlight, 'no order left pending').toBe(0);
    expect.soft(await res.available(deal.id), "Redis's stock = total - paid").toBe(50 - orders.paidUnits);
    expect.soft(quiet, 'settlement went quiet').toBe(true);
  }, 150_000);

  it('a retry settling a (deal, buyer, key) already paid under another order id, after a Redis rollback, is not captured again', async () => {
    const st = await start();
    const { product, deal } = await seedDeal(st, { dealStock: 10, limit: 1 });
    await saveCards(st, ['solo']);
    const marker = `${st.prefix}:fault-marker`;
    await st.redis.set(marker, '1');
    await redis!.save();
    await st.redis.del(marker);

    const t1 = await tapUntilFinal(st, 'solo', product.id, 'k1');
    expect(t1.result.code).toBe('');
    await waitFor(async () => (await dealOrders(st.db, deal.id)).paidOrders === 1, 30_000, 100);
    await waitQuiet(st.db, { stableMs: 1_000, timeoutMs: 10_000 });

    await redis!.kill();
    await redis!.start();
    expect(await st.redis.get(marker), 'Redis came back from the snapshot taken before the purchase').toBe('1');

    const t2 = await tapUntilFinal(st, 'solo', product.id, 'k1', { boundMs: TAP_BOUND_MS });
    const quiet = await waitQuiet(st.db, QUIET);
    const orders = await dealOrders(st.db, deal.id);
    const money = await moneyAudit(st.db);
    const { rows: ledger } = await st.db.query<{ kind: string; status: string }>('SELECT kind, status FROM sandbox_payments');
    const holds = await redisHolds(st, deal.id, [t1, t2]);
    console.log('single rollback:', JSON.stringify({ t2: { code: t2.result.code, status: t2.result.status, sameOrder: t2.result.orderId === t1.result.orderId }, ledger, statuses: orders.statuses, holds }));
    expect.soft(ledger.filter((r) => r.kind === 'capture'), 'the provider was asked to capture exactly once').toHaveLength(1);
    expect.soft(money.givenBack, 'no void needed').toBe(0);
    expect.soft(orders.paidByBuyer.get('solo'), 'one paid order').toBe(1);
    expectMoneyConsistent(money, 'after single rollback');
    expect.soft(orders.inFlight, 'no order left pending').toBe(0);
    expect.soft(holds.paying, 'no order left paying in Redis').toEqual([]);
    expect.soft(await Reservation.create(st.redis, st.keys).then((r) => r.available(deal.id)), "Redis's stock = 10 - 1").toBe(9);
    expect.soft(quiet, 'settlement went quiet').toBe(true);
  }, 90_000);
});
