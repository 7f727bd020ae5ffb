import { describe, expect, it } from 'vitest';
import { FxTable } from './FxTable.js';
import { REFUND_REASONS, RefundPolicy, type RefundDecision, type RefundReason, type RefundRequest } from './RefundPolicy.js';
import { FlashcastError } from '../../common/errors.js';

const fx = new FxTable([
  { base: 'USD', quote: 'JPY', rate: '151.37', asOf: 1_700_000_000_000 },
  { base: 'USD', quote: 'KWD', rate: '0.3075', asOf: 1_700_000_000_000 },
]);
const policy = new RefundPolicy(fx);
const MAX = Number.MAX_SAFE_INTEGER;

/**
 * The default thresholds in each currency ($20 keep, $10 quality cap, $15 shipping cap),
 * rounded half up through the FX table: JPY 0 decimals, USD 2, KWD 3.
 */
const CURRENCIES = [
  { currency: 'JPY', keep: 3027, quality: 1514, shipping: 2271 }, // 3027.4, 1513.7, 2270.55
  { currency: 'USD', keep: 2000, quality: 1000, shipping: 1500 },
  { currency: 'KWD', keep: 6150, quality: 3075, shipping: 4613 }, // 6.150, 3.075, 4.6125
] as const;

const req = (over: Partial<RefundRequest> & { currency: string }): RefundRequest => ({
  itemAmount: 100_000, reason: 'unwanted', shippingRate: null, captured: 100_000, alreadyRefunded: 0, ...over,
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof FlashcastError ? error.code : (error as Error).name;
  }
  return undefined;
}

describe('RefundPolicy', () => {
  it('uses the thresholds converted into each currency', () => {
    for (const c of CURRENCIES) {
      const rate = { amount: MAX, currency: c.currency };
      expect(policy.decide(req({ currency: c.currency, itemAmount: c.keep - 1, captured: c.keep - 1 })).rule).toBe('low_value_keep');
      expect(policy.decide(req({ currency: c.currency, itemAmount: c.keep, captured: c.keep * 2, shippingRate: rate })).shippingReimbursed).toBe(c.shipping);
      expect(policy.decide(req({ currency: c.currency, reason: 'quality', captured: 10 ** 9, shippingRate: rate })).shippingReimbursed).toBe(c.quality);
    }
  });

  for (const c of CURRENCIES) {
    describe(`in ${c.currency}`, () => {
      const cur = c.currency;
      const rate = (amount: number) => ({ amount, currency: cur });

      it('an item under $20 is refunded without a return and without shipping, whatever the rate', () => {
        const d = policy.decide(req({ currency: cur, itemAmount: c.keep - 1, reason: 'quality', captured: 10 ** 9, shippingRate: rate(999) }));
        expect(d).toEqual<RefundDecision>({
          returnRequired: false, itemRefund: c.keep - 1, shippingReimbursed: 0, total: c.keep - 1, currency: cur, rule: 'low_value_keep', capped: false,
        });
        expect(policy.decide(req({ currency: cur, itemAmount: c.keep, captured: c.keep })).returnRequired).toBe(true);
      });

      it("doesn't fit / unwanted: return required, the shop's rate reimbursed up to the $15 cap", () => {
        for (const reason of ['doesnt_fit', 'unwanted'] as const) {
          const item = c.keep * 3;
          const under = policy.decide(req({ currency: cur, reason, itemAmount: item, captured: item * 2, shippingRate: rate(c.shipping - 1) }));
          expect(under).toEqual<RefundDecision>({
            returnRequired: true, itemRefund: item, shippingReimbursed: c.shipping - 1, total: item + c.shipping - 1, currency: cur,
            rule: 'fit_or_unwanted_full_shipping', capped: false,
          });
          const over = policy.decide(req({ currency: cur, reason, itemAmount: item, captured: item * 2, shippingRate: rate(5_000_000) }));
          expect(over).toMatchObject({ shippingReimbursed: c.shipping, total: item + c.shipping, capped: false });
        }
      });

      it('quality / logistics: return required, shipping reimbursed up to $10', () => {
        for (const reason of ['quality', 'logistics'] as const) {
          const item = c.keep * 3;
          expect(policy.decide(req({ currency: cur, reason, itemAmount: item, captured: item * 2, shippingRate: rate(5_000_000) })))
            .toMatchObject({ returnRequired: true, itemRefund: item, shippingReimbursed: c.quality, total: item + c.quality, rule: 'quality_capped_shipping' });
          expect(policy.decide(req({ currency: cur, reason, itemAmount: item, captured: item * 2, shippingRate: rate(c.quality - 1) })).shippingReimbursed)
            .toBe(c.quality - 1);
        }
      });

      it('no rate set: no shipping', () => {
        expect(policy.decide(req({ currency: cur, itemAmount: c.keep * 3, captured: c.keep * 9 }))).toMatchObject({ shippingReimbursed: 0, total: c.keep * 3 });
      });

      it('caps the total at what was captured: the item first, then shipping', () => {
        const item = c.keep * 3;
        // captured = item: nothing left for shipping
        expect(policy.decide(req({ currency: cur, itemAmount: item, captured: item, shippingRate: rate(c.shipping) })))
          .toMatchObject({ itemRefund: item, shippingReimbursed: 0, total: item, capped: true });
        // room for part of the shipping
        expect(policy.decide(req({ currency: cur, itemAmount: item, captured: item + 7, shippingRate: rate(c.shipping) })))
          .toMatchObject({ itemRefund: item, shippingReimbursed: 7, total: item + 7, capped: true });
        // the $25 attack: a huge rate cannot take more than the capture
        const attack = policy.decide(req({ currency: cur, itemAmount: item, captured: item, shippingRate: rate(5_000_000_00) }));
        expect(attack.total).toBe(item);
      });

      it('caps at captured − already refunded (partial refundable)', () => {
        const item = c.keep * 3;
        const d = policy.decide(req({ currency: cur, itemAmount: item, captured: item, alreadyRefunded: item - 5, shippingRate: rate(c.shipping) }));
        expect(d).toMatchObject({ itemRefund: 5, shippingReimbursed: 0, total: 5, capped: true, returnRequired: true });
        const low = policy.decide(req({ currency: cur, itemAmount: c.keep - 1, captured: c.keep - 1, alreadyRefunded: 1 }));
        expect(low).toMatchObject({ itemRefund: c.keep - 2, total: c.keep - 2, capped: true, rule: 'low_value_keep' });
      });

      it('nothing refundable is NOTHING_TO_REFUND', () => {
        const item = c.keep * 3;
        expect(code(() => policy.decide(req({ currency: cur, itemAmount: item, captured: item, alreadyRefunded: item })))).toBe('NOTHING_TO_REFUND');
        expect(code(() => policy.decide(req({ currency: cur, itemAmount: item, captured: item, alreadyRefunded: item + 1 })))).toBe('NOTHING_TO_REFUND');
        expect(code(() => policy.decide(req({ currency: cur, itemAmount: 0, captured: 0 })))).toBe('NOTHING_TO_REFUND');
        // a 0-value item with no shipping: nothing to pay back, even with money captured
        expect(code(() => policy.decide(req({ currency: cur, itemAmount: 0, captured: 100, shippingRate: rate(100) })))).toBe('NOTHING_TO_REFUND');
      });

      it('a rate stored in another currency is converted into the order currency', () => {
        const d = policy.decide(req({ currency: cur, itemAmount: c.keep * 3, captured: 10 ** 9, shippingRate: { amount: 1_000, currency: 'USD' } }));
        expect(d.shippingReimbursed).toBe(c.quality); // $10 = the quality cap in each currency
      });
    });
  }

  it('never overflows at Number.MAX_SAFE_INTEGER', () => {
    const d = policy.decide(req({ currency: 'USD', itemAmount: MAX, captured: MAX, shippingRate: { amount: MAX, currency: 'USD' } }));
    expect(d).toMatchObject({ itemRefund: MAX, shippingReimbursed: 0, total: MAX, capped: true });
    expect(Number.isSafeInteger(d.total)).toBe(true);
    const last = policy.decide(req({ currency: 'JPY', itemAmount: MAX, captured: MAX, alreadyRefunded: MAX - 1 }));
    expect(last).toMatchObject({ itemRefund: 1, total: 1 });
    const ship = policy.decide(req({ currency: 'KWD', itemAmount: MAX - 4613, captured: MAX, shippingRate: { amount: MAX, currency: 'KWD' } }));
    expect(ship).toMatchObject({ shippingReimbursed: 4613, total: MAX, capped: false });
  });

  it('refuses bad amounts, currencies and reasons', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, MAX + 1, '100' as unknown as number]) {
      expect(code(() => policy.decide(req({ currency: 'USD', itemAmount: bad })))).toBe('INVALID_AMOUNT');
      expect(code(() => policy.decide(req({ currency: 'USD', captured: bad })))).toBe('INVALID_AMOUNT');
      expect(code(() => policy.decide(req({ currency: 'USD', alreadyRefunded: bad })))).toBe('INVALID_AMOUNT');
      expect(code(() => policy.decide(req({ currency: 'USD', shippingRate: { amount: bad, currency: 'USD' } })))).toBe('INVALID_AMOUNT');
    }
    expect(code(() => policy.decide(req({ currency: 'usd' })))).toBe('INVALID_CURRENCY');
    expect(code(() => policy.decide(req({ currency: 'USD', shippingRate: { amount: 1, currency: 'XXX' } })))).toBe('INVALID_CURRENCY');
    expect(code(() => policy.decide(req({ currency: 'USD', reason: 'changed_mind' as RefundReason })))).toBe('TypeError');
    expect(code(() => policy.decide(req({ currency: 'BRL' })))).toBe('FX_RATE_MISSING');
    expect(() => new RefundPolicy(fx, { returnShippingCapUsd: -1 })).toThrow();
  });

  it('options change the caps', () => {
    const strict = new RefundPolicy(fx, { returnShippingCapUsd: 0, keepItemBelowUsd: 0 });
    const d = strict.decide(req({ currency: 'USD', itemAmount: 1, captured: 1_000, shippingRate: { amount: 500, currency: 'USD' } }));
    expect(d).toMatchObject({ rule: 'fit_or_unwanted_full_shipping', shippingReimbursed: 0, total: 1, returnRequired: true });
  });

  it('holds its invariants over a grid of amounts, reasons and currencies', () => {
    const amounts = [0, 1, 2, 999, 1_000, 1_513, 1_514, 2_000, 3_027, 4_613, 6_150, 10_000, 1_000_000, MAX - 1, MAX];
    const broken: string[] = [];
    let decided = 0;
    let refused = 0;
    for (const c of CURRENCIES) {
      for (const reason of REFUND_REASONS) {
        for (const item of amounts) {
          for (const captured of amounts) {
            for (const refunded of [0, 1, Math.floor(captured / 2), captured, MAX]) {
              for (const rateAmount of [null, 0, 1, c.quality, c.shipping, MAX]) {
                const request = req({ currency: c.currency, reason, itemAmount: item, captured, alreadyRefunded: refunded,
                  shippingRate: rateAmount === null ? null : { amount: rateAmount, currency: c.currency } });
                const at = JSON.stringify(request);
                const refundable = captured - refunded;
                let d: RefundDecision;
                try {
                  d = policy.decide(request);
                } catch (error) {
                  // refused only as NOTHING_TO_REFUND, and only when nothing is left or the item is worth 0
                  if ((error as FlashcastError).code !== 'NOTHING_TO_REFUND' || !(refundable <= 0 || item === 0)) broken.push(`refused ${at}`);
                  refused++;
                  continue;
                }
                decided++;
                const cap = d.rule === 'low_value_keep' ? 0 : d.rule === 'quality_capped_shipping' ? c.quality : c.shipping;
                const wanted = Math.min(rateAmount ?? 0, cap);
                const rule = item < c.keep ? 'low_value_keep'
                  : reason === 'quality' || reason === 'logistics' ? 'quality_capped_shipping' : 'fit_or_unwanted_full_shipping';
                const ok = [d.itemRefund, d.shippingReimbursed, d.total].every((v) => Number.isSafeInteger(v) && v >= 0)
                  && d.total === d.itemRefund + d.shippingReimbursed
                  && d.total > 0 && d.total <= refundable
                  && d.itemRefund === Math.min(item, refundable)
                  && d.shippingReimbursed === Math.min(wanted, refundable - d.itemRefund)
                  && d.capped === (d.itemRefund < item || d.shippingReimbursed < wanted)
                  && d.returnRequired === item >= c.keep
                  && d.rule === rule && d.currency === c.currency;
                if (!ok) broken.push(`${at} -> ${JSON.stringify(d)}`);
              }
            }
          }
        }
      }
    }
    expect(broken.slice(0, 5)).toEqual([]);
    expect(decided).toBeGreaterThan(10_000);
    expect(refused).toBeGreaterThan(1_000);
  });
});
