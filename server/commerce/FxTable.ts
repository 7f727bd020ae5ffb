import type { Database } from '../db/Database.js';
import { Currency } from './Currency.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { FxRateMissingError } from './errors.js';

/** One FX quote: 1 unit of `base` = `rate` units of `quote` (major units), as of `asOf` (ms). */
export interface FxRate {
  base: string;
  quote: string;
  /** Decimal string, e.g. "151.2345". */
  rate: string;
  asOf: number;
}

/** A converted amount, with the rate and its timestamp so the order can record both. */
export interface FxConversion {
  amount: number;
  currency: string;
  rate: string;
  asOf: number;
}

const RATE_RE = /^(?:0|[1-9]\d{0,11})(?:\.\d{1,12})?$/;

/**
 * The FX table buyers see display prices from. Rates are decimal strings; conversion is
 * exact rational arithmetic on BigInt, rounded half up to the target currency's exponent.
 * Direct, inverse and USD-crossed quotes are used, in that order.
 */
export class FxTable {
  readonly #rates = new Map<string, FxRate>();

  /** Builds a table from rates (later entries for the same pair win). */
  constructor(rates: FxRate[] = []) {
    for (const r of rates) this.set(r);
  }

  /** Loads the latest rate per pair from the `fx_rates` table. */
  static async load(db: Database): Promise<FxTable> {
    const { rows } = await db.query<{ base: string; quote: string; rate: string; as_of: string | Date }>(
      'SELECT base, quote, rate::text AS rate, as_of FROM fx_rates',
    );
    return new FxTable(rows.map((r) => ({ base: r.base, quote: r.quote, rate: r.rate, asOf: new Date(r.as_of).getTime() })));
  }

  /** Stores rates durably (upsert per pair). */
  static async save(db: Database, rates: FxRate[]): Promise<void> {
    for (const r of rates) {
      FxTable.validate(r);
      await db.query(
        `INSERT INTO fx_rates (base, quote, rate, as_of) VALUES ($1, $2, $3, $4)
         ON CONFLICT (base, quote) DO UPDATE SET rate = EXCLUDED.rate, as_of = EXCLUDED.as_of`,
        [r.base, r.quote, r.rate, new Date(r.asOf)],
      );
    }
  }

  /** Throws unless the rate is well-formed. */
  static validate(r: FxRate): void {
    Currency.assert(r.base);
    Currency.assert(r.quote);
    if (typeof r.rate !== 'string' || !RATE_RE.test(r.rate) || /^0(\.0*)?$/.test(r.rate)) {
      throw new InvalidArgumentError('rate must be a positive decimal string');
    }
    if (!Number.isSafeInteger(r.asOf) || r.asOf <= 0) throw new InvalidArgumentError('asOf must be a timestamp in ms');
  }

  /** Adds or replaces a pair. */
  set(r: FxRate): void {
    FxTable.validate(r);
    this.#rates.set(`${r.base}>${r.quote}`, { ...r });
  }

  /** All pairs. */
  list(): FxRate[] {
    return [...this.#rates.values()];
  }

  /** Converts minor units of `from` into minor units of `to`. Throws FxRateMissingError. */
  convert(amount: number, from: string, to: string): FxConversion {
    Currency.assertAmount(amount);
    Currency.assert(from);
    Currency.assert(to);
    if (from === to) return { amount, currency: to, rate: '1', asOf: 0 };
    const q = this.#quote(from, to);
    if (!q) throw new FxRateMissingError(from, to);
    // dst_minor = amount * num/den * 10^(e_to - e_from)
    let num = BigInt(amount) * q.num;
    let den = q.den;
    const shift = Currency.exponent(to) - Currency.exponent(from);
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    const rounded = (num * 2n + den) / (den * 2n);
    const out = Number(rounded);
    if (!Number.isSafeInteger(out)) throw new InvalidArgumentError('converted amount overflows');
    return { amount: out, currency: to, rate: q.text, asOf: q.asOf };
  }

  #quote(from: string, to: string): { num: bigint; den: bigint; text: string; asOf: number } | null {
    const direct = this.#rates.get(`${from}>${to}`);
    if (direct) return { ...toRational(direct.rate), text: direct.rate, asOf: direct.asOf };
    const inverse = this.#rates.get(`${to}>${from}`);
    if (inverse) {
      const r = toRational(inverse.rate);
      return { num: r.den, den: r.num, text: `1/${inverse.rate}`, asOf: inverse.asOf };
    }
    if (from !== 'USD' && to !== 'USD') {
      const a = this.#quote(from, 'USD');
      const b = this.#quote('USD', to);
      if (a && b) return { num: a.num * b.num, den: a.den * b.den, text: `${a.text}*${b.text}`, asOf: Math.min(a.asOf, b.asOf) };
    }
    return null;
  }
}

function toRational(rate: string): { num: bigint; den: bigint } {
  const [int, frac = ''] = rate.split('.');
  return { num: BigInt(int + frac), den: 10n ** BigInt(frac.length) };
}
