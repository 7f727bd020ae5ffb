/**
 * Page languages: message catalogs per locale, chosen from the browser (or an explicit
 * `lang`), switchable at run time. Numbers, money and dates go through Intl with the chosen
 * locale. A message is a string with `{name}` placeholders; a key with `_one`/`_other`
 * (and other CLDR plural categories) variants is chosen by Intl.PluralRules on `{count}`.
 */
import { formatMoney } from '../../../protocol/currency.js';

export type Messages = Readonly<Record<string, string>>;

/** Locale tag → messages. The first entry is the fallback for missing keys and languages. */
export type Catalogs = Readonly<Record<string, Messages>>;

type Listener = () => void;

export class I18n {
  readonly #catalogs: Catalogs;
  readonly #fallback: string;
  readonly #listeners = new Set<Listener>();
  #locale: string;

  constructor(catalogs: Catalogs, preferred: readonly string[] = I18n.browserLanguages()) {
    const tags = Object.keys(catalogs);
    if (tags.length === 0) throw new TypeError('I18n needs at least one catalog');
    this.#catalogs = catalogs;
    this.#fallback = tags[0];
    this.#locale = I18n.pick(tags, preferred) ?? this.#fallback;
  }

  /** The browser's preferred languages (navigator.languages), or [] outside a browser. */
  static browserLanguages(): string[] {
    return typeof navigator === 'undefined' ? [] : [...(navigator.languages ?? [navigator.language])].filter(Boolean);
  }

  /**
   * The best of `available` for `preferred`: an exact tag, then the same language (with the
   * script for Chinese: zh-CN, zh-SG and zh-Hans-* → zh-Hans), in preference order.
   */
  static pick(available: readonly string[], preferred: readonly string[]): string | undefined {
    const lower = new Map(available.map((tag) => [tag.toLowerCase(), tag]));
    for (const wanted of preferred) {
      const tag = wanted.toLowerCase();
      const exact = lower.get(tag);
      if (exact) return exact;
      if (tag.startsWith('zh')) {
        const hant = /-(hant|tw|hk|mo)\b/.test(tag);
        const zh = lower.get(hant ? 'zh-hant' : 'zh-hans');
        if (zh) return zh;
        continue;
      }
      const language = tag.split('-')[0];
      const same = available.find((a) => a.toLowerCase().split('-')[0] === language);
      if (same) return same;
    }
    return undefined;
  }

  get locale(): string {
    return this.#locale;
  }

  /** The locale tags with a catalog. */
  get locales(): string[] {
    return Object.keys(this.#catalogs);
  }

  /** Switches language; listeners (the elements) re-render. Unknown tags are ignored. */
  setLocale(tag: string): void {
    const picked = I18n.pick(this.locales, [tag]);
    if (!picked || picked === this.#locale) return;
    this.#locale = picked;
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` on every language switch; returns the unsubscribe. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True when the current or the fallback language has `key`. */
  has(key: string): boolean {
    return this.#lookup(key) !== undefined;
  }

  /** The message for `key` in the current language (fallback language, then the key itself). */
  t(key: string, params: Readonly<Record<string, string | number>> = {}): string {
    const count = params.count;
    let resolved = key;
    if (typeof count === 'number') {
      const category = new Intl.PluralRules(this.#locale).select(count);
      resolved = this.#lookup(`${key}_${category}`) !== undefined ? `${key}_${category}` : `${key}_other`;
    }
    const message = this.#lookup(resolved) ?? this.#lookup(key) ?? key;
    return message.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = params[name];
      if (value === undefined) return whole;
      return typeof value === 'number' ? this.number(value) : value;
    });
  }

  /** A number in the current language. */
  number(value: number, options?: Intl.NumberFormatOptions): string {
    return new Intl.NumberFormat(this.#locale, options).format(value);
  }

  /** Money from integer minor units and an ISO 4217 code. */
  money(money: { amount: number; currency: string }): string {
    return formatMoney(money.amount, money.currency, this.#locale);
  }

  /** A date and/or time in the current language. */
  date(value: Date | number, options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' }): string {
    return new Intl.DateTimeFormat(this.#locale, options).format(value);
  }

  /** A countdown in the current language's digits, rounded up to the second: "0:09", "4:05", "1:02:03". */
  duration(ms: number): string {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const two = (n: number) => this.number(n, { minimumIntegerDigits: 2, useGrouping: false });
    const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
    return h > 0 ? `${this.number(h)}:${two(m)}:${two(s)}` : `${this.number(m)}:${two(s)}`;
  }

  /** The language's own name for a tag (for the switcher): "Bahasa Indonesia", "中文". */
  languageName(tag: string): string {
    try {
      return new Intl.DisplayNames([tag], { type: 'language' }).of(tag) ?? tag;
    } catch {
      return tag;
    }
  }

  #lookup(key: string): string | undefined {
    return this.#catalogs[this.#locale]?.[key] ?? this.#catalogs[this.#fallback]?.[key];
  }
}
