import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogs } from '../../web/src/viewer/messages/index.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { mint } from '../helpers/clients.js';
import { ARTIFACTS, loadFx, openViewer, phone, seedSale, startWebStack, waitForState, type WebStack } from './webStack.js';

/**
 * The viewer in each of its languages on a 360×640 phone: the shop sells in USD (2 decimals),
 * the buyer sees rupiah (IDR: Intl shows no decimals) through the server's FX rule; every
 * text comes from the language's catalog and every number through Intl. Screenshots per
 * language under test/artifacts/web/.
 */
const ROOM = 'lang-room';
const LOCALES = ['en', 'id', 'ms', 'th', 'vi', 'zh-Hans'] as const;

let stack: WebStack;
let browser: Browser;
let token = '';

beforeAll(async () => {
  stack = await startWebStack();
  await seedSale(stack, ROOM, { countdownSeconds: 1, stock: 20, durationSeconds: 900 });
  await loadFx(stack, [{ base: 'USD', quote: 'IDR', rate: '16250.5' }]);
  token = await mint({ sub: 'lang-viewer', role: 'viewer', name: 'Lang', region: 'ID' });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** Text of an element inside the viewer (Playwright's CSS pierces the shadow root). */
const text = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]`).first().innerText();

/** How the page's own Intl formats money (so the test does not depend on Node's ICU matching Chromium's). */
const intlMoney = (page: Page, locale: string, amount: number, currency: string) =>
  page.evaluate(([l, a, c]) => new Intl.NumberFormat(l as string, { style: 'currency', currency: c as string }).format(a as number), [locale, amount, currency] as const);

describe.skipIf(!chromiumAvailable())('the viewer in six languages', () => {
  for (const locale of LOCALES) {
    it(`renders in ${locale}, rupiah without decimals and dollars with two`, async () => {
      const context = await phone(browser, { locale });
      // No `lang` attribute: the element picks the browser's language.
      const page = await openViewer(context, stack.site.url, { room: ROOM, token, currency: 'IDR' });
      const state = await waitForState(page, (s) => s.buy.enabled && s.product?.deal?.phase === 'live', 'the deal live');
      expect(state.locale).toBe(locale);
      const messages = catalogs[locale] as Record<string, string>;

      // 19.99 USD × 16250.5 = 324,847.495 IDR: 32,484,750 minor units (half up), as the server's rule gives.
      expect(state.product.displayPrice).toEqual({ amount: 48_735_250, currency: 'IDR' }); // the regular 29.99
      const price = page.locator('[data-testid="price"]');
      expect(await price.getAttribute('data-amount')).toBe('32484750');
      expect(await price.getAttribute('data-currency')).toBe('IDR');
      const idr = await text(page, 'price');
      expect(idr).toBe(await intlMoney(page, locale, 324_847.5, 'IDR'));
      expect(idr).not.toMatch(/\d[.,]\d{2}(?!\d)/); // 0 decimals shown
      const usd = await text(page, 'price-seller');
      expect(usd).toBe(await intlMoney(page, locale, 19.99, 'USD'));
      expect(usd).toMatch(/19[.,]99/); // 2 decimals shown

      // The words are the catalog's.
      expect(await text(page, 'buy')).toBe(messages['buy.now'].replace('{price}', idr));
      const countdown = await text(page, 'countdown');
      expect(countdown.trim().startsWith(messages['deal.endsIn'].split('{time}')[0].trim())).toBe(true);
      expect(countdown).toMatch(/\d+:\d{2}/);
      expect(await text(page, 'stock')).toBe(messages['stock.ofTotal'].replace('{count}', '20').replace('{total}', '20'));
      expect(await page.locator('[data-testid="live-badge"]').innerText()).toBe(messages['header.offline']);
      expect(await page.locator('[data-testid="chat-input"]').getAttribute('placeholder')).toBe(messages['chat.placeholder']);

      // Phone-first: nothing wider than the screen, the buy button inside it and on top.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      const box = (await page.locator('[data-testid="buy"]').boundingBox())!;
      expect(box.y + box.height).toBeLessThanOrEqual(640);
      expect(box.width).toBeGreaterThan(300);
      expect(await page.evaluate(([x, y]) => {
        const host = document.querySelector('flashcast-live')!;
        return host.shadowRoot!.elementFromPoint(x, y)?.getAttribute('data-testid');
      }, [box.x + box.width / 2, box.y + box.height / 2] as const)).toBe('buy');

      await page.screenshot({ path: `${ARTIFACTS}viewer-${locale}.png` });
      await context.close();
    }, 60_000);
  }

  it('switches language from the menu: texts, and numbers through Intl', async () => {
    const context = await phone(browser, { locale: 'en-US' });
    const page = await openViewer(context, stack.site.url, { room: ROOM, token });
    await waitForState(page, (s) => s.buy.enabled, 'buy enabled');
    const usd = await intlMoney(page, 'en', 19.99, 'USD');
    expect(await text(page, 'buy')).toBe(catalogs.en['buy.now'].replace('{price}', usd));
    await page.locator('[data-testid="settings"]').tap();
    await page.locator('[data-testid="language"]').selectOption('th');
    await waitForState(page, (s) => s.locale === 'th', 'Thai');
    expect(await text(page, 'buy')).toBe(catalogs.th['buy.now'].replace('{price}', await intlMoney(page, 'th', 19.99, 'USD')));
    // The menu lists each language in its own name (Intl.DisplayNames).
    const names = await page.locator('[data-testid="language"] option').allInnerTexts();
    expect(names).toEqual(await page.evaluate((tags) => tags.map((t) => new Intl.DisplayNames([t], { type: 'language' }).of(t)), [...LOCALES]));
    expect(names).toContain('ไทย');
    await context.close();
  }, 60_000);
});
