import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { ErrorCode } from '../../protocol/codes.js';
import type { RoleName } from '../../protocol/index.js';
import { UnauthorizedError } from '../errors.js';

const ROLES: readonly RoleName[] = ['viewer', 'host', 'moderator', 'ops'];
const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The identity a verified token grants. */
export interface Principal {
  userId: string;
  name: string;
  role: RoleName;
  /** Rooms the token may join; `null` means any room (viewers and ops). */
  rooms: string[] | null;
  /** ISO 3166-1 alpha-2 country of the buyer, when known. */
  region: string | null;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export interface MintOptions {
  sub: string;
  role: RoleName;
  name?: string;
  rooms?: string[];
  region?: string;
  /** Lifetime in seconds (default 24 h). */
  ttlSeconds?: number;
}

/**
 * Mints and verifies HS256 JWTs. Only HS256 is accepted: `alg: none`, other
 * algorithms, forged signatures and expired tokens are rejected with stable codes.
 * Hosts and moderators must name their rooms; their role applies only there.
 */
export class TokenService {
  readonly #key: Uint8Array;
  readonly #issuer = 'flashcast';

  constructor(secret: string) {
    if (typeof secret !== 'string' || secret.length < 16) {
      throw new TypeError('JWT secret must be a string of at least 16 characters');
    }
    this.#key = new TextEncoder().encode(secret);
  }

  /** Mints a token for a user, role and (optionally) rooms. */
  async mint(options: MintOptions): Promise<string> {
    if (!ID_RE.test(options.sub)) throw new TypeError('sub must be 1-64 of [A-Za-z0-9_.:-]');
    if (!ROLES.includes(options.role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`);
    const claims: Record<string, unknown> = { role: options.role };
    if (options.name) claims.name = options.name;
    if (options.rooms) claims.rooms = options.rooms;
    if (options.region) claims.region = options.region;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(options.sub)
      .setIssuer(this.#issuer)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 86_400))
      .sign(this.#key);
  }

  /** Verifies a token; throws UnauthorizedError (code UNAUTHORIZED or TOKEN_EXPIRED). */
  async verify(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new UnauthorizedError('missing or oversized token');
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], issuer: this.#issuer }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        throw new UnauthorizedError('token expired', ErrorCode.TokenExpired);
      }
      throw new UnauthorizedError('invalid token');
    }
    const { sub, role, name, rooms, region, exp } = payload as Record<string, unknown>;
    if (typeof sub !== 'string' || !ID_RE.test(sub)) throw new UnauthorizedError('invalid subject');
    if (typeof role !== 'string' || !ROLES.includes(role as RoleName)) throw new UnauthorizedError('invalid role');
    if (rooms !== undefined && (!Array.isArray(rooms) || rooms.some((r) => typeof r !== 'string'))) {
      throw new UnauthorizedError('invalid rooms claim');
    }
    if ((role === 'host' || role === 'moderator') && (!Array.isArray(rooms) || rooms.length === 0)) {
      throw new UnauthorizedError('host and moderator tokens must name their rooms');
    }
    return {
      userId: sub,
      name: typeof name === 'string' ? name.slice(0, 64) : sub,
      role: role as RoleName,
      rooms: Array.isArray(rooms) && !rooms.includes('*') ? (rooms as string[]) : null,
      region: typeof region === 'string' && /^[A-Z]{2}$/.test(region) ? region : null,
      exp: typeof exp === 'number' ? exp : 0,
    };
  }

  /** True if the principal may join the room at all. */
  static canJoin(principal: Principal, room: string): boolean {
    return principal.rooms === null || principal.rooms.includes(room);
  }
}
