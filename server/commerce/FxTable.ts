import type { Database } from '../db/Database.js';
import { Currency } from './Currency.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { FxRateMissingError } from './errors.js';
import { convertMinor, type FxConversion, type FxRate } from '../../protocol/fx.js';

export type { FxConversion, FxRate } from '../../protocol/fx.js';

const RATE_RE = /^(?:0|[1-9]\d{0,11})(?:\.\d{1,12})?$/;

/**
 * The FX table buyers see display prices from: loaded from and saved to `fx_rates`, validated.
 * Conversion is protocol/fx.ts (exact rational arithmetic, half up), shared with the pages.
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

  /** Converts minor units of `from` into minor units of `to` (protocol/fx.ts). Throws FxRateMissingError. */
  convert(amount: number, from: string, to: string): FxConversion {
    Currency.assertAmount(amount);
    Currency.assert(from);
    Currency.assert(to);
    const converted = convertMinor((base, quote) => this.#rates.get(`${base}>${quote}`), amount, from, to);
    if (!converted) throw new FxRateMissingError(from, to);
    if (!Number.isSafeInteger(converted.amount)) throw new InvalidArgumentError('converted amount overflows');
    return converted;
  }
}
