import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgDatabase } from '../db/PgDatabase.js';
import { SandboxPaymentProvider } from './SandboxPaymentProvider.js';
import { NotificationSignature } from '../commerce/NotificationSignature.js';
import type { PaymentRequest } from '../commerce/PaymentProvider.js';
import { newSchemaDb } from '../../test/commerce/helpers.js';

let db: PgDatabase;
let drop: () => Promise<void>;
let sandbox: SandboxPaymentProvider;
const SECRET = 'sandbox-unit-secret-0123456789';
beforeAll(async () => {
  ({ db, drop } = await newSchemaDb(4));
  sandbox = new SandboxPaymentProvider(db, { secret: SECRET, pageUrl: 'https://live.example.com' });
}, 60_000);
afterAll(async () => {
  await sandbox.close();
  await drop();
});

const TOLERANCE = 300_000;
const request = (key: string, over: Partial<PaymentRequest> = {}): PaymentRequest => ({
  idempotencyKey: key, orderId: key.slice(4), amount: 1999, currency: 'USD', method: 'card', buyerId: 'bob', expiresAt: Date.now() + 600_000, ...over,
});
const body = (over: Record<string, unknown> = {}) => JSON.stringify({
  id: 'evt_0123456789ab', type: 'payment.captured', created: 1, data: { paymentKey: 'pay.o_1', reference: 'sbx_card_1' }, ...over,
});
const verify = (rawBody: string, headers: Record<string, string>, now = Date.now()) => sandbox.verifyNotification({ rawBody, headers, now, toleranceMs: TOLERANCE });

describe('SandboxPaymentProvider: notifications (signature, timestamp, body)', () => {
  it('parses a notification it signed', () => {
    const n = sandbox.sign(body());
    expect(verify(n.rawBody, n.headers)).toEqual([{ id: 'evt_0123456789ab', paymentKey: 'pay.o_1', type: 'captured', reference: 'sbx_card_1', reason: undefined, methodToken: undefined }]);
  });

  it('refuses a tampered body, another secret, a stale timestamp, an unsigned or malformed notification', () => {
    const n = sandbox.sign(body());
    const otherProvider = new SandboxPaymentProvider(db, { secret: 'another-secret-0123456789' });
    const other = otherProvider.sign(body());
    void otherProvider.close();
    const refusals: [string, Record<string, string>, string][] = [
      [n.rawBody.replace('sbx_card_1', 'sbx_card_2'), n.headers, 'mismatch'],
      [other.rawBody, other.headers, 'mismatch'],
      [n.rawBody, sandbox.sign(n.rawBody, Date.now() - TOLERANCE - 5_000).headers, 'stale'],
      [n.rawBody, {}, 'missing'],
    ];
    for (const [raw, headers, reason] of refusals) {
      expect(() => verify(raw, headers), reason).toThrowError(expect.objectContaining({ code: 'PAYMENT_NOTIFICATION_INVALID', status: 400, reason }));
    }
    // Signed, but not a sandbox notification.
    for (const bad of ['not json', body({ type: 'refund.created' }), body({ id: 'nope' }), body({ data: { paymentKey: 'pay.o_1' } })]) {
      const signed = sandbox.sign(bad);
      expect(() => verify(signed.rawBody, signed.headers), bad).toThrowError(expect.objectContaining({ reason: 'body' }));
    }
    // The headers are Flashcast's HMAC-SHA256 over "<timestamp>.<raw body>".
    const t = Number(n.headers['flashcast-timestamp']);
    expect(n.headers['flashcast-signature']).toBe(NotificationSignature.sign(SECRET, t, n.rawBody));
  });
});

describe('SandboxPaymentProvider: createPayment and the hosted step (real PostgreSQL)', () => {
  it('a token is captured at once; the same key answers the same capture', async () => {
    const a = await sandbox.createPayment(request('pay.o_tok', { token: 'tok_visa' }));
    expect(a).toMatchObject({ type: 'none', result: { status: 'captured' } });
    expect(await sandbox.createPayment(request('pay.o_tok', { token: 'tok_visa' }))).toEqual(a);
    expect(await sandbox.createPayment(request('pay.o_dec', { token: 'tok_decline' }))).toEqual({ type: 'none', result: { status: 'declined', reason: 'card_declined' } });
    expect(await sandbox.cancelPayment('pay.o_tok')).toEqual(a.type === 'none' ? a.result : null);
  });

  it('no token: a card page (redirect), a BNPL or wallet approval; the same key answers the same page', async () => {
    const card = await sandbox.createPayment(request('pay.o_card'));
    expect(card).toMatchObject({ type: 'redirect', url: expect.stringMatching(/^https:\/\/live\.example\.com\/v1\/payments\/sandbox\/pay\/ps_[0-9a-f]{32}$/) });
    expect(await sandbox.createPayment(request('pay.o_card'))).toEqual(card);
    expect(await sandbox.createPayment(request('pay.o_bnpl', { method: 'bnpl', instalments: 3 }))).toMatchObject({ type: 'approval' });
    expect(await sandbox.createPayment(request('pay.o_wallet', { method: 'wallet' }))).toMatchObject({ type: 'approval' });
    expect(await sandbox.createPayment(request('pay.o_3ds', { token: 'tok_3ds' }))).toMatchObject({ type: 'redirect' });
    expect(await sandbox.createPayment(request('pay.o_big', { method: 'bnpl', instalments: 3, amount: 100_000_01 })))
      .toEqual({ type: 'none', result: { status: 'declined', reason: 'bnpl_not_approved' } });
  });

  it('the buyer and the merchant racing: whoever is first ends the payment, once', async () => {
    const approval = await sandbox.createPayment(request('pay.o_race', { method: 'bnpl', instalments: 3 }));
    const id = (approval as { url: string }).url.split('/').pop()!;
    const [cancel, act] = await Promise.all([sandbox.cancelPayment('pay.o_race'), sandbox.act(id, { kind: 'approval', decision: 'approve' })]);
    if (cancel.status === 'canceled') {
      expect(act!.notification).toBeNull();
      expect(act!.result.error).toBe('This payment is over.');
    } else {
      expect(cancel).toEqual({ status: 'captured', reference: act!.result.session.reference });
      expect(JSON.parse(act!.notification!.rawBody)).toMatchObject({ type: 'payment.captured', data: { paymentKey: 'pay.o_race' } });
    }
    const ledger = await db.query("SELECT status FROM sandbox_payments WHERE idempotency_key = 'pay.o_race'");
    expect(ledger.rows).toHaveLength(cancel.status === 'canceled' ? 0 : 1);
    // "pending" once, when the buyer first opens a waiting step.
    const other = await sandbox.createPayment(request('pay.o_view', { method: 'wallet' }));
    const vid = (other as { url: string }).url.split('/').pop()!;
    const pending = await sandbox.viewed(vid);
    expect(JSON.parse(pending!.rawBody)).toMatchObject({ type: 'payment.pending', data: { paymentKey: 'pay.o_view' } });
    expect(verify(pending!.rawBody, pending!.headers)).toMatchObject([{ type: 'pending', paymentKey: 'pay.o_view' }]);
    expect(await sandbox.viewed(vid)).toBeNull();
  });
});
