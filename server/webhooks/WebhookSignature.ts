import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header carrying the signature of a delivery. */
export const SIGNATURE_HEADER = 'Flashcast-Signature';

/** How old a signed timestamp a receiver should accept, by default (seconds). */
export const DEFAULT_TOLERANCE_S = 300;

/** Why a signature did not verify. */
export type SignatureFailure = 'malformed' | 'no_signature' | 'mismatch' | 'too_old';

/** What `verify` decided. */
export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure };

const HEX_64 = /^[0-9a-f]{64}$/;

/**
 * The signing scheme of webhook deliveries (docs/webhooks.md), as Stripe's:
 * `Flashcast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The timestamp is signed with the body, so a captured delivery cannot be replayed later
 * than the receiver's tolerance. Pure functions; the receiver side (`verify`) is what
 * docs/webhooks.md shows merchants.
 */
export const WebhookSignature = {
  /** A new endpoint secret: `whsec_` and 32 random bytes (base64url). */
  newSecret(): string {
    return `whsec_${randomBytes(32).toString('base64url')}`;
  },

  /** The hex HMAC-SHA256 of `<timestamp>.<body>` under the secret (its UTF-8 bytes). */
  digest(secret: string, timestamp: number, body: string): string {
    return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  },

  /** The header value for a body sent at `timestamp` (unix seconds). */
  header(secret: string, timestamp: number, body: string): string {
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError('timestamp must be unix seconds');
    return `t=${timestamp},v1=${WebhookSignature.digest(secret, timestamp, body)}`;
  },

  /**
   * Checks a header against the raw body as received: one of its `v1` signatures must match,
   * and its timestamp must be within `toleranceS` of `now` (unix seconds) either way.
   */
  verify(secret: string, header: string | null | undefined, body: string, options: { toleranceS?: number; now?: number } = {}): SignatureCheck {
    if (typeof header !== 'string' || header.length === 0 || header.length > 4096) return { ok: false, reason: 'malformed' };
    let timestamp: number | null = null;
    const signatures: string[] = [];
    for (const part of header.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return { ok: false, reason: 'malformed' };
      const name = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (name === 't') {
        if (!/^\d{1,12}$/.test(value) || timestamp !== null) return { ok: false, reason: 'malformed' };
        timestamp = Number(value);
      } else if (name === 'v1') {
        signatures.push(value);
      }
    }
    if (timestamp === null) return { ok: false, reason: 'malformed' };
    if (signatures.length === 0) return { ok: false, reason: 'no_signature' };
    const expected = Buffer.from(WebhookSignature.digest(secret, timestamp, body), 'hex');
    const matches = signatures.some((s) => HEX_64.test(s) && timingSafeEqual(Buffer.from(s, 'hex'), expected));
    if (!matches) return { ok: false, reason: 'mismatch' };
    const now = options.now ?? Math.floor(Date.now() / 1000);
    if (Math.abs(now - timestamp) > (options.toleranceS ?? DEFAULT_TOLERANCE_S)) return { ok: false, reason: 'too_old' };
    return { ok: true, timestamp };
  },
} as const;
