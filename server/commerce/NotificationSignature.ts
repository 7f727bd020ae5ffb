import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature(s): `v1=<hex>`, several comma-separated during a secret rotation. */
export const SIGNATURE_HEADER = 'flashcast-signature';
/** Header carrying when the notification was signed (Unix seconds). */
export const TIMESTAMP_HEADER = 'flashcast-timestamp';

/** Why a notification does not verify. */
export type SignatureFailure = 'missing' | 'malformed' | 'stale' | 'mismatch';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Flashcast's notification signature: HMAC-SHA256, keyed with the provider's secret, over
 * `<timestamp>.<raw body>` (the timestamp is signed too, so a captured notification cannot be
 * replayed later under a fresh timestamp). A notification verifies when one `v1` signature
 * matches one of the secrets (constant-time compare) and its timestamp is within the tolerance
 * of now, either way. Pure: the caller passes the clock. The id inside the body is what makes
 * a notification processed once (PaymentAttempts stores the ids).
 */
export class NotificationSignature {
  private constructor() {}

  /** The `v1=<hex>` signature of a body signed at `timestampSeconds`. */
  static sign(secret: string, timestampSeconds: number, rawBody: string): string {
    if (typeof secret !== 'string' || secret.length === 0) throw new TypeError('a signing secret is required');
    if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new TypeError('timestamp must be whole seconds');
    return `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex')}`;
  }

  /** The headers that sign `rawBody` now (ms). */
  static headers(secret: string, rawBody: string, now: number): Record<string, string> {
    const t = Math.floor(now / 1000);
    return { [SIGNATURE_HEADER]: NotificationSignature.sign(secret, t, rawBody), [TIMESTAMP_HEADER]: String(t) };
  }

  /** Checks a notification's headers against its raw body and the secret(s), at `now` (ms). */
  static verify(secrets: string | readonly string[], rawBody: string, headers: Record<string, string | undefined>, now: number, toleranceMs: number): SignatureCheck {
    const header = headers[SIGNATURE_HEADER];
    const stamp = headers[TIMESTAMP_HEADER];
    if (!header || !stamp) return { ok: false, reason: 'missing' };
    if (!/^\d{1,12}$/.test(stamp)) return { ok: false, reason: 'malformed' };
    const given = header.split(',').map((part) => part.trim()).filter((part) => part.startsWith('v1=')).map((part) => part.slice(3));
    if (given.length === 0 || given.length > 8 || !given.every((g) => HEX64.test(g))) return { ok: false, reason: 'malformed' };
    const t = Number(stamp);
    // Stale (or from the future beyond the tolerance): refused before any HMAC is computed.
    if (Math.abs(now - t * 1000) > toleranceMs) return { ok: false, reason: 'stale' };
    const keys = typeof secrets === 'string' ? [secrets] : secrets;
    for (const secret of keys) {
      if (!secret) continue;
      const expected = Buffer.from(NotificationSignature.sign(secret, t, rawBody).slice(3), 'hex');
      for (const g of given) {
        if (timingSafeEqual(expected, Buffer.from(g, 'hex'))) return { ok: true };
      }
    }
    return { ok: false, reason: 'mismatch' };
  }
}
