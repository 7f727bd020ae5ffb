import type { flashcast } from '../../../protocol/index.js';
import type { Stack } from '../stack.js';
import { principal, sleep } from '../helpers.js';

/** Answers after which a buyer stops tapping: bought (code ''), or a final refusal. */
export const FINAL_CODES = new Set(['', 'SOLD_OUT', 'INSUFFICIENT_STOCK', 'LIMIT_REACHED', 'ENDED', 'IDEMPOTENCY_CONFLICT', 'REGION_BLOCKED']);

/** The last answer a buyer got, and how many taps it took. */
export interface TapOutcome {
  buyer: string;
  key: string;
  result: flashcast.IBuyResult;
  taps: number;
  /** Every distinct code seen, in order (e.g. NOT_ON_SALE then ''). */
  codes: string[];
}

/** `n` buyer ids `<tag>0` .. `<tag>n-1`. */
export function buyers(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}${i}`);
}

/** Saves a card for each buyer (a few at a time). */
export async function saveCards(s: Stack, ids: string[], token = 'tok_visa'): Promise<void> {
  for (let i = 0; i < ids.length; i += 20) {
    await Promise.all(ids.slice(i, i + 20).map((b) => s.commerce.methods.save(b, { type: 'card', token })));
  }
}

/**
 * One buyer tapping "buy 1" with the same idempotency key, as a client would: again after any
 * answer that is not final (unavailable, not on sale while the deal recovers, a refusal with a
 * retry hint), until a final answer or `boundMs` passed. Waits the answer's `retryAfterMs`
 * (clamped to 100..2000 ms) or `stepMs` between taps.
 */
export async function tapUntilFinal(s: Stack, buyer: string, productId: string, key: string,
  o: { boundMs?: number; stepMs?: number; final?: Set<string>; startDelayMs?: number } = {}): Promise<TapOutcome> {
  const final = o.final ?? FINAL_CODES;
  const end = Date.now() + (o.boundMs ?? 20_000);
  if (o.startDelayMs) await sleep(o.startDelayMs);
  const codes: string[] = [];
  for (let taps = 1; ; taps++) {
    const result = await s.commerce.checkout.reserve(principal(buyer), { roomId: 'room1', productId, quantity: 1, idempotencyKey: key });
    const code = result.code ?? '';
    if (codes[codes.length - 1] !== code) codes.push(code);
    if (final.has(code) || Date.now() >= end) return { buyer, key, result, taps, codes };
    const hint = Number(result.retryAfterMs ?? 0);
    await sleep(hint > 0 ? Math.min(Math.max(hint, 100), 2_000) : (o.stepMs ?? 250));
  }
}

/** Tallies final codes: `{ '': 50, SOLD_OUT: 100 }`. */
export function tally(outcomes: TapOutcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) t[o.result.code ?? ''] = (t[o.result.code ?? ''] ?? 0) + 1;
  return t;
}
