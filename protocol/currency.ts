/**
 * ISO 4217 minor-unit exponents of the currencies Flashcast settles in: the one table the
 * server (commerce/Currency.ts), the SDK and the pages read. Money on the wire is always an
 * integer count of the minor unit plus the code.
 */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
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

/** True for a currency code Flashcast knows. */
export function isKnownCurrency(code: unknown): code is string {
  return typeof code === 'string' && Object.hasOwn(CURRENCY_EXPONENTS, code);
}

/**
 * Formats an integer amount of minor units for display with Intl (the locale decides the
 * symbol, separators and how many decimals are shown: `id-ID` shows IDR without decimals).
 * Display only: never parse the result back into money.
 */
export function formatMoney(amountMinor: number, currency: string, locale?: string | string[]): string {
  const exponent = CURRENCY_EXPONENTS[currency] ?? 2;
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(amountMinor / 10 ** exponent);
}
