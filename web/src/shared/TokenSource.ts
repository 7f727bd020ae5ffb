/**
 * How a page gets its bearer token, in this order: a token the host page passed in; the
 * shop's own token endpoint (the shop signs its user in, Flashcast never sees a password);
 * in development only, a token minted by the gateway for a name typed on the page; else,
 * for watching only, a guest token. Tokens are kept in sessionStorage per origin and room.
 */
import { publicHttp, type WebConfig } from './ServerInfo.js';

export type TokenRole = 'viewer' | 'host' | 'moderator' | 'seller' | 'ops';

export interface PageToken {
  token: string;
  /** The user the token names (`guest:…` for guests). */
  userId: string;
  /** A guest may watch and react, not chat or buy. */
  guest: boolean;
}

/** Reads the claims of a JWT without verifying it (display only: the server verifies). */
export function tokenClaims(token: string): { sub?: string; role?: string; rooms?: string[]; name?: string; guest?: boolean; exp?: number } {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as ReturnType<typeof tokenClaims>;
  } catch {
    return {};
  }
}

function fromToken(token: string): PageToken {
  const claims = tokenClaims(token);
  return { token, userId: claims.sub ?? '', guest: claims.guest === true };
}

function expired(token: string): boolean {
  const exp = tokenClaims(token).exp;
  return exp !== undefined && exp * 1000 < Date.now() + 60_000;
}

const storageKey = (origin: string, scope: string) => `flashcast:${origin}:${scope}`;

/** Remembers a token for this tab (sessionStorage; never localStorage). */
export function rememberToken(origin: string, scope: string, token: string): void {
  try {
    sessionStorage.setItem(storageKey(origin, scope), token);
  } catch {
    // Storage may be off (private mode, sandboxed iframe): the page asks again next time.
  }
}

/** A remembered, unexpired token, if any. */
export function rememberedToken(origin: string, scope: string): string | null {
  try {
    const token = sessionStorage.getItem(storageKey(origin, scope));
    return token && !expired(token) ? token : null;
  } catch {
    return null;
  }
}

/** Forgets the tab's token (sign out). */
export function forgetToken(origin: string, scope: string): void {
  try {
    sessionStorage.removeItem(storageKey(origin, scope));
  } catch {
    // Nothing stored.
  }
}

/** Asks the shop's token endpoint (with the shop's cookies) for its signed-in user's token. */
export async function shopToken(endpoint: string): Promise<PageToken | null> {
  const res = await fetch(endpoint, { method: 'POST', credentials: 'include', headers: { accept: 'application/json' } });
  if (!res.ok) return null;
  const body = (await res.json()) as { token?: unknown };
  return typeof body.token === 'string' ? fromToken(body.token) : null;
}

export interface DevTokenRequest {
  user: string;
  role: TokenRole;
  rooms?: string[];
  name?: string;
  region?: string;
}

/** Development only: the gateway mints a token (POST /v1/dev/tokens answers 404 in production). */
export async function devToken(origin: string, request: DevTokenRequest): Promise<PageToken> {
  const body = await publicHttp(origin).request<{ token: string }>('POST', '/v1/dev/tokens', request);
  return fromToken(body.token);
}

/** A watch-only guest token for one room. */
export async function guestToken(origin: string, room: string): Promise<PageToken> {
  const body = await publicHttp(origin).request<{ token: string }>('POST', '/v1/guest-tokens', { room });
  return fromToken(body.token);
}

/**
 * A viewer's token for `room` without asking the user anything: the given one, a remembered
 * one, the shop's endpoint, else a guest token (when the server allows guests). Null when
 * the viewer must sign in first.
 */
export async function viewerToken(origin: string, room: string, config: WebConfig, given?: string | null): Promise<PageToken | null> {
  if (given) return fromToken(given);
  const remembered = rememberedToken(origin, `viewer:${room}`);
  if (remembered) return fromToken(remembered);
  if (config.tokenEndpoint) {
    const token = await shopToken(config.tokenEndpoint).catch(() => null);
    if (token) {
      rememberToken(origin, `viewer:${room}`, token.token);
      return token;
    }
  }
  if (config.guests) return guestToken(origin, room);
  return null;
}

export { fromToken as pageToken };
