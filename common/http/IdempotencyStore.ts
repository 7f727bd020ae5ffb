import { createHash } from 'node:crypto';

/** A stored answer: replayed as is (status, the handler's headers, the JSON body text). */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The JSON body as sent, or null for none (204). */
  body: string | null;
}

/** What `begin` found for a (caller, key). */
export type IdempotencyClaim =
  /** No answer yet: this request runs and must `complete` or `release` with `lease`. */
  | { kind: 'started'; lease: string }
  /** The same request already ran: its answer. */
  | { kind: 'replay'; response: StoredResponse }
  /** The key was used for a different request (another body, route or query). */
  | { kind: 'mismatch' }
  /** The same request is running elsewhere (another connection or node). */
  | { kind: 'in_progress' };

/**
 * Where `Idempotency-Key` answers live (Stripe's semantics; see docs/http-api.md). A key is
 * scoped by caller; `fingerprint` identifies the request (method, path, query, body). The
 * router asks `begin` before a handler runs and stores the answer with `complete`, or forgets
 * the key with `release` when the answer must not be replayed (a 5xx, a 429, a retry-after).
 * PostgreSQL implementation: server/http/PgIdempotencyStore.ts.
 */
export interface IdempotencyStore {
  /** Claims the key for this request, or reports what an earlier request with it did. */
  begin(scope: string, key: string, fingerprint: string): Promise<IdempotencyClaim>;
  /** Stores the answer of the request holding `lease`; later requests replay it until the key expires. */
  complete(scope: string, key: string, lease: string, response: StoredResponse): Promise<void>;
  /** Forgets the key (held by `lease`) so a retry runs again. */
  release(scope: string, key: string, lease: string): Promise<void>;
}

/** An `Idempotency-Key` header value: 1-255 printable ASCII characters (a UUID fits). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;

/**
 * The request's identity for an idempotency key: SHA-256 over the method, the path, the sorted
 * query and the body (JSON canonicalised: key order and whitespace do not matter; raw text as is).
 */
export function requestFingerprint(method: string, path: string, query: URLSearchParams, body: unknown, rawBody?: string): string {
  const q = [...query.entries()].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  const payload = rawBody !== undefined ? `raw:${rawBody}` : `json:${canonicalJson(body)}`;
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(q)}\n${payload}`).digest('hex');
}

/** JSON with object keys sorted at every level (undefined body → ''). */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * Whether an answer is replayed to a retry with the same key. Every definitive answer is
 * (2xx, and 4xx the handler decided: the same request gets the same answer); a transient one
 * is not, so the retry runs again: 5xx, 429, and anything that says `retry-after`.
 */
export function isReplayable(status: number, headers: Record<string, string> | undefined): boolean {
  if (status >= 500 || status === 429) return false;
  return !Object.keys(headers ?? {}).some((h) => h.toLowerCase() === 'retry-after');
}
