/**
 * What a page says about a failed call: the catalog's message for the server's stable code
 * (`error.SOLD_OUT`), else the server's own message. Pages switch on codes, never on text.
 */
import type { I18n } from './I18n.js';

/** The stable code of an SDK error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/** A human sentence for an error, in the page's language. */
export function errorMessage(i18n: I18n, error: unknown): string {
  const code = errorCode(error);
  if (code) {
    const key = `error.${code}`;
    const text = i18n.t(key);
    if (text !== key) return text;
  }
  if (error instanceof Error && error.message) return code ? `${error.message} (${code})` : error.message;
  return String(error);
}

/** A random key (idempotency keys, client ids) that works outside secure contexts too. */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
