import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgDatabase } from '../db/PgDatabase.js';
import { PaymentAttempts, PaymentNotFoundError, type NewAttempt } from './PaymentAttempts.js';
import type { SettleJob } from './SettlementQueue.js';
import { newSchemaDb } from '../../test/commerce/helpers.js';

let db: PgDatabase;
let drop: () => Promise<void>;
let attempts: PaymentAttempts;
beforeAll(async () => {
  ({ db, drop } = await newSchemaDb(4));
  attempts = new PaymentAttempts(db);
}, 60_000);
afterAll(async () => drop());

const T0 = Date.parse('2030-01-01T00:00:00Z');

function attempt(orderId: string, over: Partial<NewAttempt> = {}): NewAttempt {
  const job = { orderId, paymentKey: `pay.${orderId}`, dealId: 'd1', buyerId: 'bob', totalAmount: 1999, currency: 'USD' } as SettleJob;
  return {
    orderId, paymentKey: `pay.${orderId}`, provider: 'sandbox', buyerId: 'bob', method: 'bnpl', instalments: 3, saveMethod: false,
    expiresAt: T0 + 600_000, limitAt: T0 + 1_800_000, job, ...over,
  };
}

describe('PaymentAttempts (real PostgreSQL): each notification applied once, each transition once', () => {
  it('opens one attempt per order; the same order again answers the first', async () => {
    const a = await attempts.open(attempt('o_open'));
    expect(a).toMatchObject({ created: true, attempt: { status: 'pending', action: null, method: 'bnpl', expiresAt: T0 + 600_000, job: { orderId: 'o_open' } } });
    const b = await attempts.open(attempt('o_open', { method: 'card', instalments: null }));
    expect(b).toMatchObject({ created: false, attempt: { method: 'bnpl' } });
    await expect(attempts.open(attempt('o_bad', { expiresAt: T0 + 2_000_000 }))).rejects.toThrow(TypeError);
  });

  it('a replayed notification id is answered as a duplicate and changes nothing, whatever it says', async () => {
    await attempts.open(attempt('o_replay'));
    await attempts.setAction('o_replay', { type: 'approval', url: '/pay/1' });
    const captured = { id: 'evt_1', paymentKey: 'pay.o_replay', type: 'captured' as const, reference: 'ref-1' };
    const first = await attempts.applyNotification('sandbox', captured, 600_000, T0);
    expect(first).toMatchObject({ duplicate: false, applied: true, attempt: { status: 'captured', reference: 'ref-1' } });
    const replay = await attempts.applyNotification('sandbox', captured, 600_000, T0);
    expect(replay).toMatchObject({ duplicate: true, applied: false, attempt: { status: 'captured', reference: 'ref-1' } });
    // The same id with another outcome (not something a provider sends, but nothing may change it).
    const twisted = await attempts.applyNotification('sandbox', { ...captured, type: 'declined', reason: 'x' }, 600_000, T0);
    expect(twisted).toMatchObject({ duplicate: true, attempt: { status: 'captured' } });
    // Another id with a conflicting outcome: the first final outcome stands.
    const late = await attempts.applyNotification('sandbox', { id: 'evt_2', paymentKey: 'pay.o_replay', type: 'declined', reason: 'x' }, 600_000, T0);
    expect(late).toMatchObject({ duplicate: false, applied: false, attempt: { status: 'captured' } });
    // Ids are per provider.
    expect((await db.query("SELECT provider, id FROM payment_notifications WHERE payment_key = 'pay.o_replay' ORDER BY id")).rows)
      .toEqual([{ provider: 'sandbox', id: 'evt_1' }, { provider: 'sandbox', id: 'evt_2' }]);
  });

  it('a notification for an unknown payment (or another provider\'s) records nothing, so the provider\'s retry applies later', async () => {
    const n = { id: 'evt_early', paymentKey: 'pay.o_later', type: 'captured' as const, reference: 'ref-early' };
    await expect(attempts.applyNotification('sandbox', n, 600_000, T0)).rejects.toBeInstanceOf(PaymentNotFoundError);
    await attempts.open(attempt('o_later'));
    await expect(attempts.applyNotification('stripe', n, 600_000, T0)).rejects.toBeInstanceOf(PaymentNotFoundError);
    expect(await attempts.applyNotification('sandbox', n, 600_000, T0)).toMatchObject({ duplicate: false, applied: true, attempt: { status: 'captured' } });
  });

  it('"pending" moves the deadline to now + step, never back and never past the limit; expiry happens once, only past the deadline', async () => {
    await attempts.open(attempt('o_hold'));
    const pending = (id: string, now: number) => attempts.applyNotification('sandbox', { id, paymentKey: 'pay.o_hold', type: 'pending' }, 600_000, now);
    expect((await pending('p1', T0 + 300_000)).attempt.expiresAt).toBe(T0 + 900_000);
    expect((await pending('p2', T0 + 100_000)).attempt.expiresAt).toBe(T0 + 900_000); // never back
    expect((await pending('p3', T0 + 1_500_000)).attempt.expiresAt).toBe(T0 + 1_800_000); // capped at the limit
    expect(await attempts.expire('o_hold', T0 + 1_799_999)).toMatchObject({ expired: false, attempt: { status: 'pending' } });
    expect(await attempts.expire('o_hold', T0 + 1_800_000)).toMatchObject({ expired: true, attempt: { status: 'expired' } });
    expect(await attempts.expire('o_hold', T0 + 1_900_000)).toMatchObject({ expired: false, attempt: { status: 'expired' } });
    // Expired: a later "pending" changes nothing; a capture is noted (settlement refunds it), once.
    expect((await pending('p4', T0 + 1_850_000)).applied).toBe(false);
    const capture = await attempts.applyNotification('sandbox', { id: 'c1', paymentKey: 'pay.o_hold', type: 'captured', reference: 'ref-late' }, 600_000);
    expect(capture).toMatchObject({ applied: true, attempt: { status: 'expired', reference: 'ref-late' } });
    const again = await attempts.applyNotification('sandbox', { id: 'c2', paymentKey: 'pay.o_hold', type: 'captured', reference: 'ref-other' }, 600_000);
    expect(again).toMatchObject({ applied: false, attempt: { reference: 'ref-late' } });
  });

  it('an answer given at once is recorded with the step; a notification that came first stays in effect', async () => {
    await attempts.open(attempt('o_now'));
    expect(await attempts.setAction('o_now', { type: 'none', result: { status: 'declined', reason: 'card_declined' } }))
      .toMatchObject({ status: 'declined', action: 'none', reason: 'card_declined' });
    await attempts.open(attempt('o_race'));
    await attempts.applyNotification('sandbox', { id: 'r1', paymentKey: 'pay.o_race', type: 'captured', reference: 'ref-r' }, 600_000);
    expect(await attempts.setAction('o_race', { type: 'redirect', url: '/pay/2' })).toMatchObject({ status: 'captured', action: null });
    const many = await attempts.forOrders(['o_now', 'o_race', 'o_none']);
    expect([...many.keys()].sort()).toEqual(['o_now', 'o_race']);
    expect(PaymentAttempts.view(many.get('o_now')!)).toEqual({ provider: 'sandbox', status: 'declined', action: 'none', url: null, expires_at: new Date(T0 + 600_000).toISOString() });
  });
});
