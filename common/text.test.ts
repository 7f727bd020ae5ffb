import { describe, expect, it } from 'vitest';
import { codePointLength, httpUrl, safeText, sanitizeText } from './text.js';

describe('sanitizeText', () => {
  it('drops NUL, C0/C1 controls and DEL; keeps newlines only where allowed', () => {
    expect(sanitizeText('a\u0000b\u0001c\u001Fd\u007Fe\u0085f\u009Fg')).toBe('abcdefg');
    expect(sanitizeText('line 1\nline 2\r\n\tx')).toBe('line 1line 2x');
    expect(sanitizeText('line 1\nline 2\r\n\tx', { multiline: true })).toBe('line 1\nline 2\nx');
  });

  it('drops bidi overrides and isolates, keeps other format marks and real text', () => {
    expect(sanitizeText('\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee\u2066f\u2067g\u2068h\u2069i')).toBe('abcdefghi');
    expect(sanitizeText('مرحبا שלום 你好 👩‍👩‍👧')).toBe('مرحبا שלום 你好 👩‍👩‍👧');
  });

  it('drops lone surrogates but keeps pairs, and never joins halves across a removed character', () => {
    expect(sanitizeText('a\uD800b\uDC00c')).toBe('abc');
    expect(sanitizeText('\uD83D\uDE00')).toBe('😀');
    expect(sanitizeText('\uD83D\u0000\uDE00')).toBe('');
    expect(sanitizeText('x\uDE00\uD83D')).toBe('x');
    // the result is well-formed: it survives a UTF-8 round trip unchanged
    const out = sanitizeText('\uD800\uD83D\uDE00\uDFFF');
    expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out);
  });

  it('NFC-normalises, trims, and bounds by code points without splitting a pair', () => {
    expect(sanitizeText('  e\u0301  ')).toBe('\u00E9');
    expect(sanitizeText('😀😀😀', { maxLength: 2 })).toBe('😀😀');
    expect(sanitizeText('ab  cd', { maxLength: 3 })).toBe('ab');
    expect(codePointLength('😀a')).toBe(2);
  });

  it('turns anything but a string into the empty string', () => {
    for (const v of [undefined, null, 42, {}, ['a']]) expect(sanitizeText(v)).toBe('');
  });
});

describe('safeText / httpUrl', () => {
  it('validates after sanitising: empty or too long is refused', () => {
    const t = safeText({ max: 5 });
    expect(t.parse(' a\u0000b ')).toBe('ab');
    expect(t.safeParse('\u0000\u202E').success).toBe(false);
    expect(t.safeParse('abcdef').success).toBe(false);
    expect(t.parse('😀😀😀😀😀')).toBe('😀😀😀😀😀');
    expect(t.safeParse('x'.repeat(1000)).success).toBe(false);
  });

  it('accepts plain http(s) URLs only', () => {
    const u = httpUrl();
    expect(u.safeParse('https://img.example/a.jpg?x=1').success).toBe(true);
    for (const bad of ['javascript:alert(1)', 'https://a/\u0000', 'https://a/b c', 'https://a/\u202E', 'https://a/\uD800', 'ftp://a/b', 'https://']) {
      expect(u.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
