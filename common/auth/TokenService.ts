import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { ErrorCode } from '../../protocol/codes.js';
import { ROLE_NAMES, type RoleName } from '../../protocol/index.js';
import { sanitizeText } from '../text.js';
import { UnauthorizedError } from '../errors.js';
import { isValidId } from '../keys.js';

const ROLES: readonly RoleName[] = ROLE_NAMES;
/** `"*"` in `rooms` = every room: only these roles may hold it. Hosts and moderators name their rooms. */
const WILDCARD_ROLES: readonly RoleName[] = ['viewer', 'ops'];
/** Roles whose token must name its rooms (their role applies only there). */
const ROOM_ROLES: readonly RoleName[] = ['host', 'moderator'];
const MAX_NAME = 64;
const ISSUER = 'flashcast';
/** Clock skew tolerated on `exp` / `nbf`, seconds. */
const LEEWAY_S = 5;
const MAX_TOKEN_LENGTH = 4096;

/** The identity a verified token grants. */
export interface Principal {
  userId: string;
  name: string;
  role: RoleName;
  /**
   * Rooms the token may join; `null` means every room: a viewer, seller or ops token without
   * a `rooms` claim, or a viewer or ops token whose `rooms` is `["*"]`. Read it only through
   * the policy (common/auth/Policy.ts `inRoomScope`).
   */
  rooms: string[] | null;
  /** ISO 3166-1 alpha-2 country of the buyer, when known. */
  region: string | null;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /**
   * A guest token (claim `guest: true`): a viewer of one named room who has not signed in; the
   * policy lets it watch, read and react only. Absent on user tokens.
   */
  guest?: boolean;
  /**
   * A token for one purpose (claim `scope`): 'ingest' = a stream key, a host token of one room
   * that the policy accepts only as the WHIP bearer there. Absent on full tokens.
   */
  scope?: 'ingest';
}

export interface MintOptions {
  sub: string;
  role: RoleName;
  name?: string;
  rooms?: string[];
  region?: string;
  /** Lifetime in seconds (default 24 h). */
  ttlSeconds?: number;
  /** A guest token: role viewer, exactly one named room. */
  guest?: boolean;
  /** 'ingest': a stream key, role host, exactly one named room. */
  scope?: 'ingest';
}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/**
 * Mints and verifies HS256 JWTs (RFC 7519). Only HS256 is accepted: `alg: none`,
 * every other algorithm, forged signatures and expired tokens are rejected with
 * stable codes. Verification is synchronous and allocation-light (one HMAC over a
 * pre-built key): it runs on every WebSocket upgrade, so a reconnect storm of
 * tens of thousands of viewers costs microseconds each, not a crypto round trip.
 * Hosts and moderators must name their rooms; their role applies only there.
 */
export class TokenService {
  readonly #key: KeyObject;

  constructor(secret: string) {
    if (typeof secret !== 'string' || secret.length < 16) {
      throw new TypeError('JWT secret must be a string of at least 16 characters');
    }
    this.#key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Mints a token for a user, role and (optionally) rooms. */
  async mint(options: MintOptions): Promise<string> {
    return this.mintSync(options);
  }

  mintSync(options: MintOptions): string {
    if (!isValidId(options.sub)) throw new TypeError('sub must be a valid id (1-64 of A-Z a-z 0-9 _ . : -)');
    if (!ROLES.includes(options.role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`);
    const rooms = checkRooms(options.role, options.rooms);
    if (typeof rooms === 'string') throw new TypeError(rooms);
    const limited = checkLimits(options.role, rooms, options.guest, options.scope);
    if (limited) throw new TypeError(limited);
    const ttl = options.ttlSeconds ?? 86_400;
    if (!Number.isInteger(ttl)) throw new TypeError('ttlSeconds must be an integer');
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { sub: options.sub, role: options.role };
    const name = sanitizeText(options.name, { maxLength: MAX_NAME });
    if (name) claims.name = name;
    if (options.rooms) claims.rooms = options.rooms;
    if (options.region) claims.region = options.region;
    if (options.guest === true) claims.guest = true;
    if (options.scope !== undefined) claims.scope = options.scope;
    claims.iss = ISSUER;
    claims.iat = now;
    claims.exp = now + ttl;
    const signingInput = `${HEADER}.${base64url(JSON.stringify(claims))}`;
    return `${signingInput}.${createHmac('sha256', this.#key).update(signingInput).digest('base64url')}`;
  }

  /** Verifies a token; throws UnauthorizedError (code UNAUTHORIZED or TOKEN_EXPIRED). */
  async verify(token: string): Promise<Principal> {
    return this.verifySync(token);
  }

  verifySync(token: string): Principal {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new UnauthorizedError('missing or oversized token');
    }
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) throw new UnauthorizedError('invalid token');
    const header = parseJson(token.slice(0, first));
    if (!header || header.alg !== 'HS256' || (header.typ !== undefined && header.typ !== 'JWT') || header.crit !== undefined) {
      throw new UnauthorizedError('invalid token');
    }
    const expected = createHmac('sha256', this.#key).update(token.slice(0, second)).digest();
    const given = Buffer.from(token.slice(second + 1), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError('invalid token');
    const payload = parseJson(token.slice(first + 1, second));
    if (!payload) throw new UnauthorizedError('invalid token');
    const { sub, role, name, rooms, region, exp, nbf, iss, guest, scope: purpose } = payload;
    const now = Math.floor(Date.now() / 1000);
    if (iss !== ISSUER) throw new UnauthorizedError('invalid issuer');
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new UnauthorizedError('token has no expiry');
    if (exp + LEEWAY_S <= now) throw new UnauthorizedError('token expired', ErrorCode.TokenExpired);
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf - LEEWAY_S > now)) throw new UnauthorizedError('token not yet valid');
    if (!isValidId(sub)) throw new UnauthorizedError('invalid subject');
    if (typeof role !== 'string' || !ROLES.includes(role as RoleName)) throw new UnauthorizedError('invalid role');
    const scope = checkRooms(role as RoleName, rooms);
    if (typeof scope === 'string') throw new UnauthorizedError(scope);
    // A limited token whose limits cannot be read is refused, never taken for a full one.
    if (guest !== undefined && guest !== true) throw new UnauthorizedError('invalid guest claim');
    if (purpose !== undefined && purpose !== 'ingest') throw new UnauthorizedError('unknown token scope');
    const limited = checkLimits(role as RoleName, scope, guest === true, purpose);
    if (limited) throw new UnauthorizedError(limited);
    const principal: Principal = {
      userId: sub,
      name: sanitizeText(name, { maxLength: MAX_NAME }) || sub,
      role: role as RoleName,
      rooms: scope,
      region: typeof region === 'string' && /^[A-Z]{2}$/.test(region) ? region : null,
      exp,
    };
    if (guest === true) principal.guest = true;
    if (purpose === 'ingest') principal.scope = 'ingest';
    return principal;
  }

}

/**
 * The one reading of a token's `rooms` claim. Resolves to the room list, or null for every
 * room, or a message saying why the claim is refused:
 * - absent: every room, for viewer, seller and ops tokens; hosts and moderators must name rooms;
 * - `["*"]` (or any list holding `"*"`): every room, for viewer and ops tokens only;
 * - otherwise 1-1000 valid room ids.
 */
export function checkRooms(role: RoleName, rooms: unknown): string[] | null | string {
  if (rooms === undefined) {
    return ROOM_ROLES.includes(role) ? 'host and moderator tokens must name their rooms' : null;
  }
  if (!Array.isArray(rooms) || rooms.length === 0 || rooms.length > 1000) return 'invalid rooms claim';
  if (rooms.includes('*')) {
    return WILDCARD_ROLES.includes(role) ? null : `"*" (every room) is allowed only in viewer and ops tokens, not ${role}`;
  }
  if (!rooms.every((r) => isValidId(r))) return 'invalid rooms claim';
  return rooms as string[];
}

/**
 * The shape of a limited token, or why it is refused: a guest token is a viewer of exactly one
 * named room; a stream key (scope 'ingest') is a host of exactly one named room; not both.
 */
function checkLimits(role: RoleName, rooms: string[] | null, guest: boolean | undefined, scope: unknown): string | null {
  if (guest === true && scope !== undefined) return 'a token is a guest token or a stream key, not both';
  if (guest === true && (role !== 'viewer' || rooms === null || rooms.length !== 1)) return 'a guest token is a viewer token of one named room';
  if (scope !== undefined && scope !== 'ingest') return 'unknown token scope';
  if (scope === 'ingest' && (role !== 'host' || rooms === null || rooms.length !== 1)) return 'a stream key is a host token of one named room';
  return null;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function parseJson(part: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
