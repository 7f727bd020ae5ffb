/**
 * FX conversion of money in minor units: the one rule the server (commerce/FxTable.ts, which
 * prices display totals) and the pages (a card's price in the buyer's currency, from
 * `GET /v1/fx`) both use. Rates are decimal strings; the arithmetic is exact (BigInt
 * rationals), rounded half up to the target currency's exponent. Direct, inverse and
 * USD-crossed quotes are used, in that order.
 */
import { CURRENCY_EXPONENTS } from './currency.js';

/** One FX quote: 1 unit of `base` = `rate` units of `quote` (major units), as of `asOf` (ms). */
export interface FxRate {
  base: string;
  quote: string;
  /** Decimal string, e.g. "151.2345". */
  rate: string;
  asOf: number;
}

/** A converted amount, with the rate and its timestamp so an order can record both. */
export interface FxConversion {
  amount: number;
  currency: string;
  rate: string;
  asOf: number;
}

interface Quote {
  num: bigint;
  den: bigint;
  text: string;
  asOf: number;
}

/** The rate for one pair (`base>quote`), if the table has it. */
export type FxLookup = (base: string, quote: string) => FxRate | undefined;

/** A lookup over a list of rates (later entries for the same pair win). */
export function fxLookup(rates: readonly FxRate[]): FxLookup {
  const byPair = new Map(rates.map((r) => [`${r.base}>${r.quote}`, r]));
  return (base, quote) => byPair.get(`${base}>${quote}`);
}

/**
 * Converts `amount` minor units of `from` into minor units of `to`; null when no quote links
 * them. The amount may exceed Number.MAX_SAFE_INTEGER for huge inputs: callers that store it
 * check `Number.isSafeInteger`.
 */
export function convertMinor(lookup: FxLookup, amount: number, from: string, to: string): FxConversion | null {
  if (from === to) return { amount, currency: to, rate: '1', asOf: 0 };
  const q = quoteOf(lookup, from, to);
  if (!q) return null;
  // dst_minor = amount * num/den * 10^(e_to - e_from)
  let num = BigInt(amount) * q.num;
  let den = q.den;
  const shift = (CURRENCY_EXPONENTS[to] ?? 2) - (CURRENCY_EXPONENTS[from] ?? 2);
  if (shift >= 0) num *= 10n ** BigInt(shift);
  else den *= 10n ** BigInt(-shift);
  const rounded = (num * 2n + den) / (den * 2n);
  return { amount: Number(rounded), currency: to, rate: q.text, asOf: q.asOf };
}

function quoteOf(lookup: FxLookup, from: string, to: string): Quote | null {
  const direct = lookup(from, to);
  if (direct) return { ...toRational(direct.rate), text: direct.rate, asOf: direct.asOf };
  const inverse = lookup(to, from);
  if (inverse) {
    const r = toRational(inverse.rate);
    return { num: r.den, den: r.num, text: `1/${inverse.rate}`, asOf: inverse.asOf };
  }
  if (from !== 'USD' && to !== 'USD') {
    const a = quoteOf(lookup, from, 'USD');
    const b = quoteOf(lookup, 'USD', to);
    if (a && b) return { num: a.num * b.num, den: a.den * b.den, text: `${a.text}*${b.text}`, asOf: Math.min(a.asOf, b.asOf) };
  }
  return null;
}

function toRational(rate: string): { num: bigint; den: bigint } {
  const [int, frac = ''] = rate.split('.');
  return { num: BigInt(int + frac), den: 10n ** BigInt(frac.length) };
}
