import { describe, expect, it } from 'vitest';
import { InstalmentPlan, type InstalmentState } from './InstalmentPlan.js';

const MAX = Number.MAX_SAFE_INTEGER;
const sum = (xs: { amount: number }[]) => xs.reduce((s, i) => s + i.amount, 0);
const scheduled = (amounts: number[], paid = 0): InstalmentState[] =>
  amounts.map((amount, i) => ({ seq: i + 1, amount, status: i < paid ? 'paid' : 'scheduled' }));

describe('InstalmentPlan.split', () => {
  it('splits into 3 or 6 instalments summing exactly to the total, in JPY, USD and KWD', () => {
    for (const currency of ['JPY', 'USD', 'KWD']) {
      for (const total of [0, 1, 2, 5, 100, 1001, 99_999, 123_456_789, MAX]) {
        for (const n of [3, 6]) {
          const plan = InstalmentPlan.split(total, currency, n, 0);
          expect(plan).toHaveLength(n);
          expect(plan.reduce((s, i) => s + BigInt(i.amount), 0n)).toBe(BigInt(total));
          expect(Math.max(...plan.map((i) => i.amount)) - Math.min(...plan.map((i) => i.amount))).toBeLessThanOrEqual(1);
          expect(plan.every((i) => Number.isSafeInteger(i.amount) && i.amount >= 0 && i.currency === currency)).toBe(true);
        }
      }
    }
    expect(InstalmentPlan.split(1000, 'JPY', 3, 0).map((i) => i.amount)).toEqual([334, 333, 333]);
    expect(InstalmentPlan.split(100, 'USD', 6, 0).map((i) => i.amount)).toEqual([17, 17, 17, 17, 16, 16]);
    expect(() => InstalmentPlan.split(1000, 'USD', 4, 0)).toThrow();
    expect(() => InstalmentPlan.split(-1, 'USD', 3, 0)).toThrow();
  });
});

describe('InstalmentPlan.applyRefund', () => {
  it('reduces the outstanding balance from the last instalment, cancelling those brought to 0', () => {
    const plan = scheduled([17, 17, 17, 17, 16, 16]);
    const r = InstalmentPlan.applyRefund(plan, 20);
    expect(r.instalments.map((i) => [i.amount, i.status])).toEqual([
      [17, 'scheduled'], [17, 'scheduled'], [17, 'scheduled'], [17, 'scheduled'], [12, 'scheduled'], [0, 'cancelled'],
    ]);
    expect(r).toMatchObject({ reduced: 20, excess: 0 });
    expect(sum(r.instalments)).toBe(80);
    // the input is not changed
    expect(plan.map((i) => i.amount)).toEqual([17, 17, 17, 17, 16, 16]);
  });

  it('a refund of the whole balance cancels every instalment', () => {
    for (const [total, currency] of [[3027, 'JPY'], [2500, 'USD'], [6150, 'KWD']] as const) {
      const plan = InstalmentPlan.split(total, currency, 6, 0).map((i) => ({ ...i, status: 'scheduled' }));
      const r = InstalmentPlan.applyRefund(plan, total);
      expect(r.instalments.every((i) => i.status === 'cancelled' && i.amount === 0)).toBe(true);
      expect(r).toMatchObject({ reduced: total, excess: 0 });
      expect(r.instalments[0]).toMatchObject({ currency, seq: 1 }); // other fields are kept
    }
  });

  it('paid instalments are never changed; what the refund leaves over goes back to the buyer', () => {
    const r = InstalmentPlan.applyRefund(scheduled([334, 333, 333], 1), 1000);
    expect(r.instalments.map((i) => [i.amount, i.status])).toEqual([[334, 'paid'], [0, 'cancelled'], [0, 'cancelled']]);
    expect(r).toMatchObject({ reduced: 666, excess: 334 });
    const all = InstalmentPlan.applyRefund(scheduled([334, 333, 333], 3), 500);
    expect(all).toMatchObject({ reduced: 0, excess: 500 });
    expect(all.instalments.every((i) => i.status === 'paid')).toBe(true);
  });

  it('cancelled instalments stay as they are, and unknown statuses are left alone', () => {
    const plan = [
      { seq: 1, amount: 50, status: 'scheduled' }, { seq: 2, amount: 50, status: 'scheduled' },
      { seq: 3, amount: 0, status: 'cancelled' }, { seq: 4, amount: 30, status: 'disputed' },
    ];
    const r = InstalmentPlan.applyRefund(plan, 60);
    expect(r.instalments.map((i) => [i.amount, i.status])).toEqual([[40, 'scheduled'], [0, 'cancelled'], [0, 'cancelled'], [30, 'disputed']]);
    expect(r).toMatchObject({ reduced: 60, excess: 0 });
  });

  it('a full refund cancels every scheduled instalment even when the amounts disagree', () => {
    const r = InstalmentPlan.applyRefund(scheduled([400, 400, 400], 1), 500, true);
    expect(r.instalments.map((i) => [i.amount, i.status])).toEqual([[400, 'paid'], [0, 'cancelled'], [0, 'cancelled']]);
    expect(r).toMatchObject({ reduced: 800, excess: 0 });
    expect(InstalmentPlan.applyRefund(scheduled([1, 1]), 5, true)).toMatchObject({ reduced: 2, excess: 3 });
  });

  it('a refund of 0 changes nothing; zero-amount instalments reached by a refund are cancelled', () => {
    const plan = scheduled([1, 0, 0]);
    expect(InstalmentPlan.applyRefund(plan, 0)).toEqual({ instalments: plan, reduced: 0, excess: 0 });
    expect(InstalmentPlan.applyRefund(plan, 1).instalments.map((i) => i.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('orders by seq, not by position, and keeps the given order', () => {
    const plan = [{ seq: 3, amount: 10, status: 'scheduled' }, { seq: 1, amount: 10, status: 'scheduled' }, { seq: 2, amount: 10, status: 'scheduled' }];
    const r = InstalmentPlan.applyRefund(plan, 15);
    expect(r.instalments.map((i) => [i.seq, i.amount, i.status])).toEqual([[3, 0, 'cancelled'], [1, 10, 'scheduled'], [2, 5, 'scheduled']]);
  });

  it('refuses bad amounts and duplicate seqs', () => {
    for (const bad of [-1, 1.5, NaN, MAX + 1]) {
      expect(() => InstalmentPlan.applyRefund(scheduled([10]), bad)).toThrow(/amount/);
      expect(() => InstalmentPlan.applyRefund(scheduled([bad]), 1)).toThrow(/amount/);
    }
    expect(() => InstalmentPlan.applyRefund([{ seq: 1, amount: 1, status: 'scheduled' }, { seq: 1, amount: 1, status: 'scheduled' }], 1)).toThrow(TypeError);
  });

  it('never overflows at Number.MAX_SAFE_INTEGER', () => {
    const big = scheduled([MAX, MAX]);
    const r = InstalmentPlan.applyRefund(big, MAX);
    expect(r.instalments.map((i) => i.amount)).toEqual([MAX, 0]);
    expect(r).toMatchObject({ reduced: MAX, excess: 0 });
    const full = InstalmentPlan.applyRefund(big, MAX, true);
    expect(full.instalments.map((i) => i.status)).toEqual(['cancelled', 'cancelled']);
    expect(Number.isSafeInteger(full.reduced)).toBe(true);
    expect(InstalmentPlan.applyRefund(scheduled([1]), MAX)).toMatchObject({ reduced: 1, excess: MAX - 1 });
  });

  it('holds its invariants for every refund of 3- and 6-part plans in JPY, USD and KWD', () => {
    const broken: string[] = [];
    let cases = 0;
    for (const currency of ['JPY', 'USD', 'KWD']) {
      for (const total of [0, 1, 5, 7, 100, 1001]) {
        for (const n of [3, 6]) {
          for (let paid = 0; paid <= n; paid++) {
            const plan = InstalmentPlan.split(total, currency, n, 0).map((i, idx) => ({ ...i, status: idx < paid ? 'paid' : 'scheduled' }));
            const outstanding = sum(plan.filter((i) => i.status === 'scheduled'));
            for (let refund = 0; refund <= total + 2; refund++) {
              const r = InstalmentPlan.applyRefund(plan, refund);
              const after = r.instalments;
              cases++;
              // amounts: non-negative integers that sum exactly
              let ok = after.every((i) => Number.isSafeInteger(i.amount) && i.amount >= 0)
                && r.reduced + r.excess === refund
                && r.reduced === Math.min(refund, outstanding)
                && sum(after.filter((i) => i.status === 'scheduled')) === outstanding - r.reduced
                && sum(after) === total - r.reduced;
              // paid ones untouched; a cancelled one is at 0; amounts only go down
              for (let k = 0; k < n; k++) {
                if (plan[k].status === 'paid' && after[k] !== plan[k]) ok = false;
                if (after[k].status === 'cancelled' && after[k].amount !== 0) ok = false;
                if (after[k].amount > plan[k].amount) ok = false;
              }
              // from the last: once a scheduled instalment keeps a balance, every earlier one is untouched
              let kept = false;
              for (let k = n - 1; k >= 0; k--) {
                if (plan[k].status !== 'scheduled') continue;
                if (kept && after[k] !== plan[k]) ok = false;
                if (after[k].status === 'scheduled' && after[k].amount > 0) kept = true;
              }
              if (refund > 0 && refund >= outstanding && after.some((i) => i.status === 'scheduled')) ok = false;
              if (!ok) broken.push(`${currency} ${total}/${n} paid ${paid} refund ${refund}: ${JSON.stringify(after.map((i) => [i.amount, i.status]))}`);
            }
          }
        }
      }
    }
    expect(broken.slice(0, 5)).toEqual([]);
    expect(cases).toBeGreaterThan(10_000);
  });
});
