import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { I18n } from '../../shared/I18n.js';
import { catalogs } from './index.js';

/** A key as the element asks for it: plural variants (`_one`, `_other`, ...) count as their base. */
const base = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, '');
const plural = (messages: Record<string, string>) => new Set(Object.keys(messages).filter((k) => base(k) !== k).map(base));

describe('the viewer catalogs', () => {
  it('has en, id, ms, th, vi and zh-Hans, each with every message of the English catalog', () => {
    expect(Object.keys(catalogs)).toEqual(['en', 'id', 'ms', 'th', 'vi', 'zh-Hans']);
    const en = catalogs.en;
    const wanted = new Set(Object.keys(en).map(base));
    const enPlural = plural(en);
    for (const [tag, messages] of Object.entries(catalogs)) {
      const have = new Set(Object.keys(messages).map(base));
      expect([...wanted].filter((k) => !have.has(k)), `${tag} misses`).toEqual([]);
      expect([...have].filter((k) => !wanted.has(k)), `${tag} has extra`).toEqual([]);
      // A plural key needs `_other` in every language (the fallback would be English otherwise).
      for (const key of enPlural) expect(messages[`${key}_other`], `${tag} ${key}_other`).toBeTruthy();
      // Placeholders match the English message's.
      for (const [key, text] of Object.entries(messages)) {
        const english = en[key as keyof typeof en] ?? en[`${base(key)}_other` as keyof typeof en];
        const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
        expect(names(text), `${tag} ${key}`).toBe(names(english));
      }
    }
  });

  it('has a message for every key the viewer asks for', () => {
    const dir = fileURLToPath(new URL('..', import.meta.url));
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => readFileSync(`${dir}${f}`, 'utf8')).join('\n');
    const asked = new Set([...sources.matchAll(/\bt\('([a-zA-Z]+\.[\w.]+)'/g)].map((m) => m[1]));
    const keys = new Set(Object.keys(catalogs.en).map(base));
    expect([...asked].filter((k) => !keys.has(k))).toEqual([]);
    expect(asked.size).toBeGreaterThan(60);
  });

  it('picks the browser language, and Chinese by script', () => {
    expect(new I18n(catalogs, ['th-TH', 'en']).locale).toBe('th');
    expect(new I18n(catalogs, ['zh-CN']).locale).toBe('zh-Hans');
    expect(new I18n(catalogs, ['fr-FR']).locale).toBe('en');
    const i18n = new I18n(catalogs, ['id-ID']);
    expect(i18n.t('header.viewers', { count: 1200 })).toBe('1.200 menonton');
    expect(i18n.duration(65_000)).toBe('1:05');
    i18n.setLocale('en');
    expect(i18n.t('ticker.others', { name: 'Siti (ID)', count: 1 })).toBe('Siti (ID) and 1 other just bought');
  });
});
