import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOLERANCE_S, WebhookSignature } from './WebhookSignature.js';

const secret = 'whsec_test_secret';
const body = '{"id":"evt_1","type":"order.paid","created":"2025-01-01T00:00:00.000Z","data":{}}';
const t = 1_700_000_000;

describe('WebhookSignature', () => {
  it('signs `<t>.<body>` with HMAC-SHA256 as docs/webhooks.md says (a receiver can compute it by hand)', () => {
    const header = WebhookSignature.header(secret, t, body);
    const byHand = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${byHand}`);
    expect(WebhookSignature.verify(secret, header, body, { now: t })).toEqual({ ok: true, timestamp: t });
  });

  it('refuses another body, another secret, or another timestamp', () => {
    const header = WebhookSignature.header(secret, t, body);
    expect(WebhookSignature.verify(secret, header, body.replace('order.paid', 'order.failed'), { now: t })).toEqual({ ok: false, reason: 'mismatch' });
    expect(WebhookSignature.verify('whsec_other', header, body, { now: t })).toEqual({ ok: false, reason: 'mismatch' });
    const moved = header.replace(`t=${t}`, `t=${t + 1}`);
    expect(WebhookSignature.verify(secret, moved, body, { now: t })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses a timestamp outside the tolerance, either way, and accepts one at its edge', () => {
    const header = WebhookSignature.header(secret, t, body);
    expect(WebhookSignature.verify(secret, header, body, { now: t + DEFAULT_TOLERANCE_S })).toMatchObject({ ok: true });
    expect(WebhookSignature.verify(secret, header, body, { now: t + DEFAULT_TOLERANCE_S + 1 })).toEqual({ ok: false, reason: 'too_old' });
    expect(WebhookSignature.verify(secret, header, body, { now: t - DEFAULT_TOLERANCE_S - 1 })).toEqual({ ok: false, reason: 'too_old' });
    expect(WebhookSignature.verify(secret, header, body, { now: t + 60, toleranceS: 30 })).toEqual({ ok: false, reason: 'too_old' });
  });

  it('accepts any matching v1 (secret rotation) and ignores other schemes', () => {
    const good = WebhookSignature.digest(secret, t, body);
    const other = WebhookSignature.digest('whsec_old', t, body);
    expect(WebhookSignature.verify(secret, `t=${t},v1=${other},v1=${good}`, body, { now: t })).toMatchObject({ ok: true });
    expect(WebhookSignature.verify(secret, `t=${t},v0=${good}`, body, { now: t })).toEqual({ ok: false, reason: 'no_signature' });
    expect(WebhookSignature.verify(secret, `t=${t},v0=abc,v1=${good}`, body, { now: t })).toMatchObject({ ok: true });
  });

  it('refuses malformed headers without throwing', () => {
    const good = WebhookSignature.digest(secret, t, body);
    for (const header of [undefined, null, '', 'garbage', `v1=${good}`, `t=abc,v1=${good}`, `t=${t},t=${t},v1=${good}`, `t=-1,v1=${good}`, `=${t}`, 'x'.repeat(5000)]) {
      expect(WebhookSignature.verify(secret, header, body, { now: t }), String(header)).toEqual({ ok: false, reason: 'malformed' });
    }
    for (const sig of ['', 'zz', good.slice(0, 63), `${good}00`, good.toUpperCase()]) {
      expect(WebhookSignature.verify(secret, `t=${t},v1=${sig}`, body, { now: t }), sig).toEqual({ ok: false, reason: 'mismatch' });
    }
  });

  it('makes secrets of 32 random bytes, never the same twice', () => {
    const a = WebhookSignature.newSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(WebhookSignature.newSecret()).not.toBe(a);
    expect(() => WebhookSignature.header(secret, 1.5, body)).toThrow(TypeError);
  });
});
