import { Currency } from './Currency.js';

/** One buy-now-pay-later instalment, in minor units. */
export interface Instalment {
  seq: number;
  amount: number;
  currency: string;
  /** Due date, ms since the epoch. */
  dueAt: number;
}

/**
 * Where an instalment stands: `scheduled` (the buyer still owes it; every instalment starts
 * here), `paid` (collected from the buyer), `cancelled` (a refund took it to 0).
 */
export type InstalmentStatus = 'scheduled' | 'paid' | 'cancelled';

/** An instalment as stored: what applyRefund reads and changes. */
export interface InstalmentState {
  seq: number;
  amount: number;
  status: string;
}

/** What a refund did to a schedule. */
export interface InstalmentRefund<T extends InstalmentState> {
  /** The schedule after the refund, in the order given (changed rows are copies). */
  instalments: T[];
  /** How much the outstanding (scheduled) balance went down. */
  reduced: number;
  /** The part of the refund beyond the outstanding balance: what goes back to the buyer for instalments paid. */
  excess: number;
}

/** BNPL instalment counts offered. */
export const INSTALMENT_COUNTS = [3, 6] as const;
export type InstalmentCount = (typeof INSTALMENT_COUNTS)[number];

/**
 * Splits a total into equal BNPL instalments in minor units. The remainder of the
 * integer division goes one unit at a time to the earliest instalments, so the schedule
 * always sums exactly to the total and no two instalments differ by more than one unit.
 */
export class InstalmentPlan {
  private constructor() {}

  /** Schedule for `total` minor units of `currency` in `count` instalments, the first due at `firstDueAt`. */
  static split(total: number, currency: string, count: number, firstDueAt: number, intervalMs = 30 * 86_400_000): Instalment[] {
    Currency.assert(currency);
    Currency.assertAmount(total);
    if (!(INSTALMENT_COUNTS as readonly number[]).includes(count)) throw new TypeError('instalments must be 3 or 6');
    const base = Math.floor(total / count);
    const remainder = total - base * count;
    const out: Instalment[] = [];
    for (let i = 0; i < count; i++) {
      out.push({ seq: i + 1, amount: base + (i < remainder ? 1 : 0), currency, dueAt: firstDueAt + i * intervalMs });
    }
    return out;
  }

  /**
   * Applies a refund to a schedule, the common BNPL rule: the outstanding balance goes down
   * starting from the LAST scheduled instalment; an instalment brought to 0 is cancelled.
   * `paid` and `cancelled` instalments are never changed. With `fullRefund` (the order is
   * refunded in full) every scheduled instalment is cancelled, whatever the amounts say.
   * Integer arithmetic only; every amount only goes down, so none can overflow. A refund of 0
   * changes nothing.
   */
  static applyRefund<T extends InstalmentState>(instalments: readonly T[], refundAmount: number, fullRefund = false): InstalmentRefund<T> {
    Currency.assertAmount(refundAmount);
    const seqs = new Set<number>();
    for (const i of instalments) {
      Currency.assertAmount(i.amount);
      if (!Number.isSafeInteger(i.seq) || seqs.has(i.seq)) throw new TypeError('instalment seq must be unique integers');
      seqs.add(i.seq);
    }
    const out = instalments.map((i) => i);
    const latestFirst = out.map((_, idx) => idx).sort((a, b) => out[b].seq - out[a].seq);
    let left = refundAmount;
    let reduced = 0;
    for (const idx of latestFirst) {
      if (left === 0 && !fullRefund) break;
      const i = out[idx];
      if (i.status !== 'scheduled') continue;
      const take = fullRefund ? i.amount : Math.min(i.amount, left);
      const amount = i.amount - take;
      out[idx] = { ...i, amount, status: amount === 0 ? 'cancelled' : i.status };
      left = Math.max(0, left - take);
      // Partial: reduced ≤ refundAmount. Full: a sum of stored amounts, clamped rather than imprecise.
      reduced = Math.min(Number.MAX_SAFE_INTEGER, reduced + take);
    }
    return { instalments: out, reduced, excess: left };
  }
}
