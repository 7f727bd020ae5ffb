import { InvalidAmountError, InvalidCurrencyError } from './errors.js';

/** ISO 4217 minor-unit exponents for the currencies we settle in. */
const EXPONENTS: Readonly<Record<string, number>> = {
  // 0 decimals
  JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, UGX: 0, XOF: 0, XAF: 0, PYG: 0, HUF: 2,
  // 3 decimals
  KWD: 3, BHD: 3, OMR: 3, JOD: 3, TND: 3, LYD: 3, IQD: 3,
  // 2 decimals
  USD: 2, EUR: 2, GBP: 2, CHF: 2, CAD: 2, AUD: 2, NZD: 2, CNY: 2, HKD: 2, SGD: 2, TWD: 2,
  INR: 2, IDR: 2, MYR: 2, PHP: 2, THB: 2, BRL: 2, MXN: 2, ARS: 2, COP: 2, PEN: 2, ZAR: 2,
  NGN: 2, KES: 2, EGP: 2, AED: 2, SAR: 2, QAR: 2, ILS: 2, TRY: 2, PLN: 2, CZK: 2, SEK: 2,
  NOK: 2, DKK: 2, RON: 2, BGN: 2, UAH: 2, PKR: 2, BDT: 2,
};

/** Largest amount of minor units we accept anywhere (fits int64 and JS safe integers). */
export const MAX_MINOR_UNITS = Number.MAX_SAFE_INTEGER;

/**
 * Currency facts and integer money arithmetic. Money is always an integer count of the
 * currency's minor unit plus its ISO 4217 code; no floating point touches an amount.
 */
export class Currency {
  private constructor() {}

  /** True for a currency code this server knows. */
  static isKnown(code: unknown): code is string {
    return typeof code === 'string' && Object.hasOwn(EXPONENTS, code);
  }

  /** Throws InvalidCurrencyError unless `code` is a known ISO 4217 code. */
  static assert(code: unknown): string {
    if (!Currency.isKnown(code)) throw new InvalidCurrencyError(code);
    return code;
  }

  /** Minor-unit exponent: JPY 0, USD 2, KWD 3. */
  static exponent(code: string): number {
    return EXPONENTS[Currency.assert(code)];
  }

  /** Throws InvalidAmountError unless `amount` is a safe non-negative integer. */
  static assertAmount(amount: unknown): number {
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) throw new InvalidAmountError();
    return amount;
  }

  /** `unit * quantity`, refusing results that are not safe integers. */
  static multiply(unit: number, quantity: number): number {
    const total = unit * quantity;
    if (!Number.isSafeInteger(total)) throw new InvalidAmountError('amount overflow');
    return total;
  }

  /** `amount * bps / 10000`, rounded half up, in integer arithmetic. */
  static applyBasisPoints(amount: number, bps: number): number {
    const v = (BigInt(amount) * BigInt(bps) * 2n + 10_000n) / 20_000n;
    return Number(v);
  }

  /** Formats minor units for humans: (123456, 'KWD') -> "123.456 KWD". */
  static format(amount: number, code: string): string {
    const e = Currency.exponent(code);
    const neg = amount < 0;
    const s = String(Math.abs(amount)).padStart(e + 1, '0');
    const text = e === 0 ? s : `${s.slice(0, -e)}.${s.slice(-e)}`;
    return `${neg ? '-' : ''}${text} ${code}`;
  }
}
