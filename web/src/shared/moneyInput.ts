/**
 * Money typed by a person: a decimal string in a currency ("12.5" USD) to integer minor units
 * (1250) through the one exponent table (protocol/currency.ts), and back for editing. Input
 * only: what a buyer pays is always computed by the server.
 */
import { CURRENCY_EXPONENTS } from '../../../protocol/currency.js';

/** The currency's minor-unit exponent (2 for USD, 0 for JPY, 3 for KWD); undefined when unknown. */
export function currencyExponent(currency: string): number | undefined {
  return Object.hasOwn(CURRENCY_EXPONENTS, currency) ? CURRENCY_EXPONENTS[currency] : undefined;
}

/** Why a typed amount was refused. */
export type MoneyInputError = 'format' | 'decimals' | 'currency' | 'range';

/**
 * "12.5" or "12,5" in USD → 1250. No digit grouping: "1,500" (a thousand five hundred, or
 * one and a half?) and "1,500.00" are refused. More decimals than the currency has (12.345 USD, 10.5 JPY) are refused,
 * never rounded. Negative amounts and amounts beyond Number.MAX_SAFE_INTEGER minor units too.
 */
export function toMinorUnits(text: string, currency: string): { amount: number } | { error: MoneyInputError } {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) return { error: 'currency' };
  const m = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!m || /^\s*\d+,\d{3}\s*$/.test(text)) return { error: 'format' };
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  if (fraction.length > exponent) return { error: 'decimals' };
  const digits = `${m[1]}${fraction.padEnd(exponent, '0')}`.replace(/^0+(?=\d)/, '');
  const amount = Number(digits);
  if (!Number.isSafeInteger(amount)) return { error: 'range' };
  return { amount };
}

/** 1250 USD → "12.50"; 1500 JPY → "1500": the plain decimal a form shows for editing. */
export function fromMinorUnits(amount: number, currency: string): string {
  const exponent = currencyExponent(currency) ?? 2;
  if (exponent === 0) return String(amount);
  const s = String(Math.abs(amount)).padStart(exponent + 1, '0');
  return `${amount < 0 ? '-' : ''}${s.slice(0, -exponent)}.${s.slice(-exponent)}`;
}
