import { CURRENCY_EXPONENTS } from '../../protocol/currency.js';
import { InvalidAmountError, InvalidCurrencyError } from './errors.js';

const EXPONENTS = CURRENCY_EXPONENTS;

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
