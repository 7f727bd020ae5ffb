import { z } from 'zod';

/**
 * Characters that never belong in user text: C0 controls (newline is kept where allowed),
 * DEL, C1 controls, the bidi embeddings/overrides U+202A–U+202E and isolates U+2066–U+2069
 * (they reorder what other people's names and messages look like), and the noncharacters
 * U+FFFE/U+FFFF. Lone surrogates are handled separately.
 */
const FORBIDDEN = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/g;
const FORBIDDEN_SINGLE_LINE = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/g;
/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

export interface SanitizeOptions {
  /** Keep `\n` (chat, announcements). Default false: newlines are dropped. */
  multiline?: boolean;
  /** Cut to at most this many code points (never splitting a surrogate pair). */
  maxLength?: number;
}

/**
 * The one text cleaner for user-supplied text (chat, announcements, room titles, shop
 * names, product titles, moderation words, token display names): drops NUL and the other
 * C0/C1 controls (except newline where allowed), lone surrogates and bidi overrides and
 * isolates, NFC-normalises, trims, and bounds the length. Anything not a string becomes ''.
 * The result is always well-formed UTF-16, safe for PostgreSQL text and jsonb.
 */
export function sanitizeText(value: unknown, options: SanitizeOptions = {}): string {
  if (typeof value !== 'string') return '';
  let text = value.replace(LONE_SURROGATE, '');
  text = text.replace(options.multiline ? FORBIDDEN : FORBIDDEN_SINGLE_LINE, '');
  text = text.normalize('NFC').trim();
  if (options.maxLength !== undefined) text = truncateCodePoints(text, options.maxLength).trim();
  return text;
}

/** Number of code points in a string (what users count as characters, near enough). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function truncateCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  let n = 0;
  for (const ch of text) {
    if (n++ >= max) break;
    out += ch;
  }
  return out;
}

/**
 * A zod schema for user text: sanitised, then 1..max code points (min configurable).
 * Raw input is capped at 4×max UTF-16 units first so a huge string costs nothing.
 */
export function safeText(options: { max: number; min?: number; multiline?: boolean }) {
  const min = options.min ?? 1;
  return z
    .string()
    .max(options.max * 4)
    .transform((s) => sanitizeText(s, { multiline: options.multiline }))
    .refine((s) => codePointLength(s) >= min, { message: min === 1 ? 'must not be empty' : `must be at least ${min} characters` })
    .refine((s) => codePointLength(s) <= options.max, { message: `must be at most ${options.max} characters` });
}

/** An http(s) URL with no controls, spaces, bidi characters or lone surrogates. */
export function httpUrl(max = 2048) {
  return z
    .string()
    .max(max)
    .regex(/^https?:\/\/[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]+$/, 'must be an http(s) URL')
    .refine((s) => !HAS_LONE_SURROGATE.test(s), 'must be well-formed text')
    .refine((s) => {
      try {
        return ['http:', 'https:'].includes(new URL(s).protocol);
      } catch {
        return false;
      }
    }, 'must be an http(s) URL');
}
