import { afterEach, describe, expect, it } from 'vitest';
import { flashcast } from '../../protocol/index.js';
import { startStack, seedDeal, type Stack } from './stack.js';
import { principal, sleep, waitFor } from './helpers.js';
import { RecordingNotifier } from './faults/RecordingNotifier.js';
import type { Principal } from '../../common/auth/TokenService.js';

/**
 * The asynchronous payment step, in process, against real Redis, PostgreSQL and a BullMQ
 * settlement worker: a first-time buyer confirms, the sandbox answers with a hosted step, the
 * buyer acts on the page (served by the router), the sandbox's signed notification comes back
 * through `POST /v1/payments/sandbox/notifications`, and settlement records the outcome.
 */
let s: Stack;
afterEach(async () => {
  await s?.close();
});

const { CheckoutStatus } = flashcast;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function stack(over: Parameters<typeof startStack>[0] = {}) {
  const notifier = new RecordingNotifier();
  s = await startStack({ notifier, ...over });
  const { product, deal } = await seedDeal(s, { price: 1999, dealStock: 5, limit: 2 });
  return { notifier, product, deal };
}

/** A first tap (no saved method): RESERVED with CONFIRM_PAYMENT. */
async function tap(buyer: Principal, productId: string, key = 'k1') {
  const r = await s.commerce.checkout.reserve(buyer, { roomId: 'room1', productId, quantity: 1, idempotencyKey: key });
  expect(r).toMatchObject({ code: '', status: CheckoutStatus.CHECKOUT_RESERVED });
  return r;
}

const confirm = (buyer: Principal, r: flashcast.IBuyResult, body: Record<string, unknown>) =>
  s.call('POST', `/v1/deals/${r.dealId}/orders/${r.orderId}/confirm`, buyer, body);
const view = (url: string) => s.raw('GET', url, '');
const submit = (url: string, form: Record<string, string>) => s.raw('POST', url, new URLSearchParams(form).toString(), FORM);
const orderRow = async (id: string) => (await s.db.query<any>('SELECT status, fail_code, payment_method FROM orders WHERE id = $1', [id])).rows[0];
const soldUnits = async (dealId: string) => Number((await s.db.query<any>('SELECT sold_units FROM deals WHERE id = $1', [dealId])).rows[0].sold_units);
const available = async (dealId: string) => (await s.call('GET', `/v1/deals/${dealId}`, null)).body.inventory.available as number;

describe('asynchronous payment step (sandbox hosted page, signed notifications, settlement)', () => {
  it('card on the hosted page: confirm → redirect → test card → signed notification → PAID, once', async () => {
    const { notifier, product, deal } = await stack();
    const bob = principal('bob');
    const r = await tap(bob, product.id);
    // The next step is a code with parameters; the fallback text names no API path and no raw timestamp.
    expect(r.nextStep).toMatchObject({ code: 'CONFIRM_PAYMENT', orderId: r.orderId, dealId: deal.id, expiresAt: r.holdExpiresAt, methods: ['card', 'wallet', 'bnpl'] });
    expect(r.nextStep!.message).not.toMatch(/\/v1\/|\d{4}-\d{2}-\d{2}T/);
    const three = r.nextStep!.instalmentOptions!.find((o) => o.count === 3)!;
    expect(three.instalments!.map((i) => Number(i.amount!.amount))).toEqual([667, 666, 666]);

    const c = await confirm(bob, r, { method: 'card', returnUrl: 'https://shop.example/thanks' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'CHECKOUT_RESERVED', orderId: r.orderId, nextStep: { code: 'COMPLETE_PAYMENT', provider: 'sandbox', methods: ['card'] } });
    const url: string = c.body.nextStep.url;
    expect(url).toMatch(/^\/v1\/payments\/sandbox\/pay\/ps_[0-9a-f]{32}$/);
    // The hold now lasts for the step, beyond the tap's hold; the units are claimed in PostgreSQL.
    expect(Number(c.body.holdExpiresAt)).toBeGreaterThan(Number(r.holdExpiresAt));
    expect(await orderRow(r.orderId!)).toMatchObject({ status: 'pending', payment_method: 'card' });
    expect(await soldUnits(deal.id)).toBe(1);
    // Confirming again answers the same step (same page, no second payment).
    expect((await confirm(bob, r, { method: 'card' })).body.nextStep.url).toBe(url);
    expect((await confirm(bob, r, { method: 'bnpl' })).body.error.code).toBe('PAYMENT_IN_PROGRESS');

    const page = await view(url);
    expect(page.status).toBe(200);
    expect(page.raw).toContain('Pay 19.99 USD by card');
    expect(page.raw).not.toMatch(/<script|https?:\/\/(?!shop\.example)/); // no scripts, no external assets
    const wrong = await submit(url, { card_number: '1234 5678 9012 3456' });
    expect([wrong.status, wrong.raw.includes('not a test card')]).toEqual([400, true]);
    const paid = await submit(url, { card_number: '4242 4242 4242 4242' });
    expect(paid.raw).toContain('data-status="captured"');
    expect(paid.raw).toContain('href="https://shop.example/thanks"');

    await waitFor(() => notifier.of('bob').some((u) => u.status === 'paid'));
    expect(await orderRow(r.orderId!)).toMatchObject({ status: 'paid' });
    const payment = (await s.db.query<any>('SELECT provider, provider_ref, amount FROM payments WHERE order_id = $1', [r.orderId])).rows[0];
    expect(payment).toMatchObject({ provider: 'sandbox', amount: 1999 });
    expect(payment.provider_ref).toMatch(/^sbx_card_/);
    // The buyer's orders: the paid order, with its step.
    const mine = await s.call('GET', '/v1/me/orders', bob);
    expect(mine.body.orders).toHaveLength(1);
    expect(mine.body.orders[0]).toMatchObject({ id: r.orderId, status: 'paid', payment_step: { provider: 'sandbox', status: 'captured', action: 'redirect', url: null } });
    expect((await s.call('GET', '/v1/me/orders', principal('eve'))).body.orders).toEqual([]);
    // The page again: the result, and acting again changes nothing.
    expect((await submit(url, { card_number: '4000 0000 0000 0002' })).raw).toContain('This payment is over.');
    await waitFor(async () => (await s.commerce.deals.get(deal.id)) && s.broadcaster.events.some((e) => e.event.purchase));
    expect(notifier.of('bob').map((u) => u.status)).toEqual(['paid']);
    expect((await confirm(bob, r, { method: 'card' })).body.status).toBe('CHECKOUT_PAID');
  });

  it('a declined test card: the order is declined, the units go back in PostgreSQL and Redis, the buyer is told', async () => {
    const { notifier, product, deal } = await stack();
    const cleo = principal('cleo');
    const r = await tap(cleo, product.id);
    expect(await available(deal.id)).toBe(4);
    const c = await confirm(cleo, r, { method: 'card' });
    const declined = await submit(c.body.nextStep.url, { card_number: '4000000000000002' });
    expect(declined.raw).toContain('data-status="declined"');
    await waitFor(() => notifier.of('cleo').length > 0);
    expect(notifier.of('cleo')).toEqual([expect.objectContaining({ status: 'declined', code: 'PAYMENT_DECLINED', orderId: r.orderId })]);
    expect(await orderRow(r.orderId!)).toMatchObject({ status: 'declined', fail_code: 'PAYMENT_DECLINED' });
    expect(await soldUnits(deal.id)).toBe(0);
    expect(await available(deal.id)).toBe(5);
    expect((await s.db.query('SELECT 1 FROM payments WHERE order_id = $1', [r.orderId])).rows).toHaveLength(0);
    expect((await confirm(cleo, r, { method: 'card' })).body.error.code).toBe('PAYMENT_DECLINED');
  });

  it('3-D Secure: a challenge card, then the challenge page completes (PAID); a 3-D Secure token whose challenge fails is declined', async () => {
    const { notifier, product } = await stack();
    const dina = principal('dina');
    const r = await tap(dina, product.id);
    const url = (await confirm(dina, r, { method: 'card' })).body.nextStep.url;
    const challenge = await submit(url, { card_number: '4000 0000 0000 3220' });
    expect(challenge.raw).toContain('3-D Secure');
    expect((await view(url)).raw).toContain('id="complete-3ds"');
    // Only the challenge's answer is taken now.
    expect((await submit(url, { card_number: '4242424242424242' })).raw).toContain('Finish the 3-D Secure check first.');
    expect((await submit(url, { challenge: 'complete' })).raw).toContain('data-status="captured"');
    await waitFor(() => notifier.of('dina').some((u) => u.status === 'paid'));

    const ed = principal('ed');
    const r2 = await tap(ed, product.id, 'k2');
    const c2 = await confirm(ed, r2, { method: 'card', token: 'tok_3ds' });
    expect(c2.body.nextStep).toMatchObject({ code: 'COMPLETE_PAYMENT' });
    expect((await view(c2.body.nextStep.url)).raw).toContain('Your bank asks you to confirm');
    expect((await submit(c2.body.nextStep.url, { challenge: 'fail' })).raw).toContain('authentication_failed');
    await waitFor(() => notifier.of('ed').length > 0);
    expect(notifier.of('ed')[0]).toMatchObject({ status: 'declined', code: 'PAYMENT_DECLINED' });
  });

  it('BNPL in 3: the page shows each instalment (amount, date); approve → PAID with the schedule; reject → declined, units back', async () => {
    const { notifier, product, deal } = await stack();
    const fay = principal('fay');
    const r = await tap(fay, product.id);
    const c = await confirm(fay, r, { method: 'bnpl', instalments: 3, save: true });
    expect(c.body.nextStep).toMatchObject({ code: 'APPROVE_PAYMENT', provider: 'sandbox', methods: ['bnpl'], instalments: [3] });
    const page = (await view(c.body.nextStep.url)).raw;
    expect(page).toContain('Pay in 3 with Sandbox PayLater');
    const rows = [...page.matchAll(/<tr class="instalment">.*?<time datetime="(\d{4}-\d{2}-\d{2})">.*?<td>([\d.]+) USD<\/td><\/tr>/g)];
    expect(rows.map((m) => m[2])).toEqual(['6.67', '6.66', '6.66']);
    const dates = rows.map((m) => Date.parse(m[1]));
    expect(dates[1] - dates[0]).toBe(30 * 86_400_000);
    expect(dates[2] - dates[1]).toBe(30 * 86_400_000);
    expect((await submit(c.body.nextStep.url, { decision: 'approve' })).raw).toContain('data-status="captured"');
    await waitFor(() => notifier.of('fay').some((u) => u.status === 'paid'));
    const inst = (await s.db.query<{ amount: number }>('SELECT amount FROM instalments WHERE order_id = $1 ORDER BY seq', [r.orderId])).rows;
    expect(inst.map((i) => Number(i.amount))).toEqual([667, 666, 666]);
    // "save": the method the provider returned is saved: the next tap is one step.
    await waitFor(async () => (await s.commerce.methods.get('fay'))?.type === 'bnpl');
    const next = await s.commerce.checkout.reserve(fay, { roomId: 'room1', productId: product.id, quantity: 1, idempotencyKey: 'k2' });
    expect(next.status).toBe(CheckoutStatus.CHECKOUT_SETTLING);

    const gil = principal('gil');
    const r2 = await tap(gil, product.id, 'g1');
    const c2 = await confirm(gil, r2, { method: 'bnpl', instalments: 6 });
    expect((await view(c2.body.nextStep.url)).raw).toContain('Pay in 6');
    expect((await submit(c2.body.nextStep.url, { decision: 'reject' })).raw).toContain('rejected_by_buyer');
    await waitFor(() => notifier.of('gil').length > 0);
    expect(notifier.of('gil')[0]).toMatchObject({ status: 'declined', code: 'PAYMENT_DECLINED' });
    await waitFor(async () => (await soldUnits(deal.id)) === 2); // fay's two orders, not gil's
  });

  it('an approval pending past the limit: extended while pending, then released (PostgreSQL and Redis), buyer told PAYMENT_EXPIRED; a late capture is refunded', async () => {
    const { notifier, product, deal } = await stack({ payments: { stepHoldMs: 800, maxStepHoldMs: 1_800 } });
    const hal = principal('hal');
    const r = await tap(hal, product.id);
    const c = await confirm(hal, r, { method: 'bnpl', instalments: 3 });
    const url = c.body.nextStep.url;
    const before = await s.commerce.steps!.attempts.get(r.orderId!);
    expect(before!.limitAt - before!.expiresAt).toBe(1_000);
    expect(before!.expiresAt).toBeLessThan(before!.limitAt);
    // The buyer opens the approval: the provider says "pending", and the hold moves, never past the limit.
    await sleep(100);
    await view(url);
    const during = await waitFor(async () => {
      const a = await s.commerce.steps!.attempts.get(r.orderId!);
      return a!.expiresAt > before!.expiresAt ? a : null;
    });
    expect(during!.expiresAt).toBeLessThanOrEqual(during!.limitAt);
    expect(await soldUnits(deal.id)).toBe(1);
    // The BNPL application stays "pending" at the provider (its app keeps saying so): each notice
    // moves the deadline again, up to the limit; past the limit the units are released anyway.
    let n = 0;
    while (notifier.of('hal').length === 0) {
      const pending = s.provider.sign(JSON.stringify({
        id: `evt_${(++n).toString(16).padStart(12, '0')}`, type: 'payment.pending', created: Math.floor(Date.now() / 1000), data: { paymentKey: `pay.${r.orderId}` },
      }));
      expect((await s.raw('POST', '/v1/payments/sandbox/notifications', pending.rawBody, pending.headers)).status).toBe(200);
      expect(n).toBeLessThan(100);
      await sleep(150);
    }
    expect(notifier.of('hal')).toEqual([expect.objectContaining({ status: 'failed', code: 'PAYMENT_EXPIRED', orderId: r.orderId })]);
    const after = await s.commerce.steps!.attempts.get(r.orderId!);
    expect(after!.status).toBe('expired');
    // Held until the limit, not one "pending" beyond it.
    expect(after!.expiresAt).toBe(after!.limitAt);
    expect(await orderRow(r.orderId!)).toMatchObject({ status: 'failed', fail_code: 'PAYMENT_EXPIRED' });
    expect(await soldUnits(deal.id)).toBe(0);
    expect(await available(deal.id)).toBe(5);
    // The provider's step was cancelled: approving now is refused.
    expect((await submit(url, { decision: 'approve' })).raw).toContain('data-status="canceled"');
    expect((await confirm(hal, r, { method: 'bnpl', instalments: 3 })).body.error.code).toBe('PAYMENT_EXPIRED');
    // A real provider's capture racing the expiry arrives late: it is refunded, the order stays failed.
    const late = s.provider.sign(JSON.stringify({
      id: 'evt_00000000000000010aaa', type: 'payment.captured', created: Math.floor(Date.now() / 1000),
      data: { paymentKey: `pay.${r.orderId}`, reference: 'sbx_bnpl_late0001' },
    }));
    await s.db.query("INSERT INTO sandbox_payments (idempotency_key, kind, status, ref, amount, currency, method) VALUES ('late-capture', 'capture', 'captured', 'sbx_bnpl_late0001', 1999, 'USD', 'bnpl')");
    const accepted = await s.raw('POST', '/v1/payments/sandbox/notifications', late.rawBody, late.headers);
    expect(accepted).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    await waitFor(async () => (await s.db.query('SELECT 1 FROM payment_voids WHERE order_id = $1', [r.orderId])).rows.length === 1);
    expect(await orderRow(r.orderId!)).toMatchObject({ status: 'failed' });
    expect(notifier.of('hal')).toHaveLength(1);
  });

  it('the provider down at the confirmation: nothing charged; confirming again resumes the same order; if nobody does, the deadline releases the units', async () => {
    const { notifier, product, deal } = await stack({ payments: { stepHoldMs: 1_500, maxStepHoldMs: 1_500 } });
    const kim = principal('kim');
    const lou = principal('lou');
    const rk = await tap(kim, product.id);
    const rl = await tap(lou, product.id, 'l1');
    s.provider.configure({ outage: true });
    for (const [who, r] of [[kim, rk], [lou, rl]] as const) {
      const down = await confirm(who, r, { method: 'card' });
      expect([down.body.error.code, down.body.error.details.orderId]).toEqual(['PAYMENT_UNAVAILABLE', r.orderId]);
    }
    // The units stay held for both (claimed in PostgreSQL), with a deadline.
    expect(await soldUnits(deal.id)).toBe(2);
    s.provider.configure({ outage: false });
    const again = await confirm(kim, rk, { method: 'card' });
    expect(again.body.nextStep).toMatchObject({ code: 'COMPLETE_PAYMENT' });
    expect((await submit(again.body.nextStep.url, { card_number: '4242424242424242' })).raw).toContain('data-status="captured"');
    await waitFor(() => notifier.of('kim').some((u) => u.status === 'paid'));
    // Lou never comes back: released at the deadline, told PAYMENT_EXPIRED; Kim's sale stands.
    await waitFor(() => notifier.of('lou').length > 0, 15_000);
    expect(notifier.of('lou')).toEqual([expect.objectContaining({ status: 'failed', code: 'PAYMENT_EXPIRED' })]);
    expect(await orderRow(rl.orderId!)).toMatchObject({ status: 'failed', fail_code: 'PAYMENT_EXPIRED' });
    expect(await soldUnits(deal.id)).toBe(1);
    expect(await available(deal.id)).toBe(4);
    expect(notifier.of('kim').map((u) => u.status)).toEqual(['paid']);
  });

  it('notifications: a replay is answered and not applied; forged, tampered, stale and unknown ones are refused and change nothing', async () => {
    const { notifier, product } = await stack();
    const ivy = principal('ivy');
    const r = await tap(ivy, product.id);
    await confirm(ivy, r, { method: 'wallet' });
    const body = JSON.stringify({
      id: 'evt_00112233445566778899aabb', type: 'payment.captured', created: Math.floor(Date.now() / 1000),
      data: { paymentKey: `pay.${r.orderId}`, reference: 'sbx_wallet_0011223344' },
    });
    await s.db.query("INSERT INTO sandbox_payments (idempotency_key, kind, status, ref, amount, currency, method) VALUES ($1, 'capture', 'captured', 'sbx_wallet_0011223344', 1999, 'USD', 'wallet')", [`pay.${r.orderId}`]);
    const post = (text: string, headers: Record<string, string>) => s.raw('POST', '/v1/payments/sandbox/notifications', text, headers);
    const signed = s.provider.sign(body);
    const refused = [
      await post(body.replace('sbx_wallet_0011223344', 'sbx_wallet_9999999999'), signed.headers), // tampered
      await post(body, { ...signed.headers, 'flashcast-signature': `v1=${'0'.repeat(64)}` }), // forged
      await post(body, s.provider.sign(body, Date.now() - 600_000).headers), // stale
      await post(body, { 'content-type': 'application/json' }), // unsigned
    ];
    expect(refused.map((x) => [x.status, x.body.error.code])).toEqual(refused.map(() => [400, 'PAYMENT_NOTIFICATION_INVALID']));
    expect((await orderRow(r.orderId!)).status).toBe('pending');
    const first = await post(signed.rawBody, signed.headers);
    expect(first).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    const again = await post(signed.rawBody, s.provider.sign(signed.rawBody).headers); // the same id, signed again
    expect(again).toMatchObject({ status: 200, body: { received: true, duplicate: true } });
    await waitFor(() => notifier.of('ivy').some((u) => u.status === 'paid'));
    expect((await s.db.query('SELECT 1 FROM payment_notifications')).rows).toHaveLength(1);
    // a notification about a payment this server never created, and a provider it does not know
    const stranger = s.provider.sign(body.replace(`pay.${r.orderId}`, 'pay.o_000000000000000000000000').replace('8899aabb', '8899aabc'));
    expect(await post(stranger.rawBody, stranger.headers)).toMatchObject({ status: 404, body: { error: { code: 'PAYMENT_NOT_FOUND' } } });
    expect((await s.raw('POST', '/v1/payments/stripe/notifications', signed.rawBody, signed.headers)).status).toBe(404);
    expect((await view('/v1/payments/sandbox/pay/ps_nope')).status).toBe(404);
    expect(notifier.of('ivy').map((u) => u.status)).toEqual(['paid']);
  });
});
