import { Currency } from './Currency.js';

/** One buy-now-pay-later instalment, in minor units. */
export interface Instalment {
  seq: number;
  amount: number;
  currency: string;
  /** Due date, ms since the epoch. */
  dueAt: number;
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
}
