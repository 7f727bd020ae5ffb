import { describe, expect, it } from 'vitest';
import { NotificationSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './NotificationSignature.js';

const SECRET = 'whsec-sandbox-0123456789abcdef';
const NOW = 1_750_000_000_000;
const TOLERANCE = 300_000;
const BODY = JSON.stringify({ id: 'evt_1', type: 'payment.captured', paymentKey: 'pay.o_1', reference: 'sbx_card_1' });

describe('NotificationSignature (HMAC-SHA256 over "<timestamp>.<raw body>")', () => {
  it('verifies what it signed, with the timestamp anywhere inside the tolerance', () => {
    const headers = NotificationSignature.headers(SECRET, BODY, NOW);
    expect(headers[SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(headers[TIMESTAMP_HEADER]).toBe(String(NOW / 1000));
    expect(NotificationSignature.verify(SECRET, BODY, headers, NOW, TOLERANCE)).toEqual({ ok: true });
    expect(NotificationSignature.verify(SECRET, BODY, headers, NOW + TOLERANCE, TOLERANCE)).toEqual({ ok: true });
    expect(NotificationSignature.verify(SECRET, BODY, headers, NOW - TOLERANCE, TOLERANCE)).toEqual({ ok: true });
  });

  it('refuses a tampered body: one changed byte, an added space, a re-serialised JSON', () => {
    const headers = NotificationSignature.headers(SECRET, BODY, NOW);
    const tampered = [
      BODY.replace('captured', 'capturee'),
      `${BODY} `,
      JSON.stringify(JSON.parse(BODY), null, 1),
      BODY.replace('sbx_card_1', 'sbx_card_2'),
      '',
    ];
    for (const body of tampered) expect(NotificationSignature.verify(SECRET, body, headers, NOW, TOLERANCE), body).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses another secret, and accepts any of the secrets given (rotation)', () => {
    const signedByOther = NotificationSignature.headers('another-secret-of-16+', BODY, NOW);
    expect(NotificationSignature.verify(SECRET, BODY, signedByOther, NOW, TOLERANCE)).toEqual({ ok: false, reason: 'mismatch' });
    expect(NotificationSignature.verify([SECRET, 'another-secret-of-16+'], BODY, signedByOther, NOW, TOLERANCE)).toEqual({ ok: true });
    // Two signatures in one header (old and new secret): either secret verifies it.
    const both = `${NotificationSignature.sign('old-secret-0123456789', NOW / 1000, BODY)}, ${NotificationSignature.sign(SECRET, NOW / 1000, BODY)}`;
    expect(NotificationSignature.verify(SECRET, BODY, { [SIGNATURE_HEADER]: both, [TIMESTAMP_HEADER]: String(NOW / 1000) }, NOW, TOLERANCE)).toEqual({ ok: true });
    expect(NotificationSignature.verify('', BODY, NotificationSignature.headers(SECRET, BODY, NOW), NOW, TOLERANCE)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses a stale timestamp, or one from the future, beyond the tolerance; and a re-stamped old signature', () => {
    const old = NotificationSignature.headers(SECRET, BODY, NOW - TOLERANCE - 1_000);
    expect(NotificationSignature.verify(SECRET, BODY, old, NOW, TOLERANCE)).toEqual({ ok: false, reason: 'stale' });
    const ahead = NotificationSignature.headers(SECRET, BODY, NOW + TOLERANCE + 1_000);
    expect(NotificationSignature.verify(SECRET, BODY, ahead, NOW, TOLERANCE)).toEqual({ ok: false, reason: 'stale' });
    // The timestamp is signed: an old notification given a fresh timestamp no longer verifies.
    const restamped = { ...old, [TIMESTAMP_HEADER]: String(NOW / 1000) };
    expect(NotificationSignature.verify(SECRET, BODY, restamped, NOW, TOLERANCE)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses missing and malformed headers without throwing', () => {
    const good = NotificationSignature.headers(SECRET, BODY, NOW);
    const cases: [Record<string, string | undefined>, string][] = [
      [{}, 'missing'],
      [{ [SIGNATURE_HEADER]: good[SIGNATURE_HEADER] }, 'missing'],
      [{ [TIMESTAMP_HEADER]: good[TIMESTAMP_HEADER] }, 'missing'],
      [{ ...good, [TIMESTAMP_HEADER]: '17e8' }, 'malformed'],
      [{ ...good, [TIMESTAMP_HEADER]: '-5' }, 'malformed'],
      [{ ...good, [SIGNATURE_HEADER]: 'v0=abc' }, 'malformed'],
      [{ ...good, [SIGNATURE_HEADER]: 'v1=zz' }, 'malformed'],
      [{ ...good, [SIGNATURE_HEADER]: `v1=${'a'.repeat(63)}` }, 'malformed'],
      [{ ...good, [SIGNATURE_HEADER]: Array.from({ length: 9 }, () => good[SIGNATURE_HEADER]).join(',') }, 'malformed'],
    ];
    for (const [headers, reason] of cases) expect(NotificationSignature.verify(SECRET, BODY, headers, NOW, TOLERANCE), JSON.stringify(headers)).toEqual({ ok: false, reason });
    expect(() => NotificationSignature.sign('', 1, BODY)).toThrow(TypeError);
    expect(() => NotificationSignature.sign(SECRET, 1.5, BODY)).toThrow(TypeError);
  });
});
