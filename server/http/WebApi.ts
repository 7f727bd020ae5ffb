/**
 * The routes the browser pages start from: what this server offers them (`GET /v1/web/config`),
 * and the tokens they cannot get elsewhere: development tokens (only on the public development
 * secret), guest tokens (watch one room without signing in) and stream keys (OBS's WHIP bearer
 * for one room). What each token may then do is the policy's (common/auth/Policy.ts).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode } from '../../protocol/codes.js';
import { ROLE_NAMES, type RoleName } from '../../protocol/index.js';
import type { TokenService } from '../../common/auth/TokenService.js';
import type { WebTokenSettings } from '../../common/config.js';
import { DevOnlyError, GuestsOffError, RateLimitedError } from '../../common/errors.js';
import type { ApiRequest, HttpRouter } from '../../common/http/HttpRouter.js';
import { apiSchema } from '../../common/http/apiSchema.js';
import { ID_PATTERN } from '../../common/keys.js';
import { KeyedRateLimiter } from '../../common/KeyedRateLimiter.js';
import { safeText } from '../../common/text.js';

const id = z.string().regex(ID_PATTERN, 'must be a valid id');
const ms = z.number().int().describe('Unix time, milliseconds');

const schemas = {
  devToken: z.object({
    user: id.describe('The user id the token names (`sub`)'),
    role: z.enum(ROLE_NAMES as [RoleName, ...RoleName[]]),
    rooms: z.array(z.union([id, z.literal('*')])).min(1).max(100).optional()
      .describe('Rooms the token may join; hosts and moderators must name theirs; "*" (every room) for viewer and ops tokens only'),
    name: safeText({ max: 64 }).optional().describe('Display name (chat, "just bought")'),
    region: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code').optional().describe('The buyer\'s country'),
    ttlSeconds: z.number().int().min(60).max(86_400).optional().describe('Lifetime, at most 24 h (default 24 h)'),
  }).strict(),
  guestToken: z.object({ room: id.describe('The one room the guest may watch') }).strict(),
};

const WebConfigSchema = apiSchema('WebConfig', z.object({
  dev: z.boolean().describe('Tokens are signed with the public development secret: POST /v1/dev/tokens mints any token (the studio shows a sign-in form)'),
  guests: z.boolean().describe('POST /v1/guest-tokens mints guest tokens (watch, read and react without signing in)'),
  tokenEndpoint: z.string().nullable().describe('The shop\'s own endpoint answering {"token"} for its signed-in user; call it with credentials. null: none configured'),
  video: z.boolean().describe('This node serves live video (media frames; WHIP when the SFU runs in this process)'),
  wsPath: z.literal('/ws').describe('The WebSocket path on this origin'),
  whipPath: z.literal('/whip').describe('WHIP ingest: POST <whipPath>/<room>'),
}).strict());

const DevTokenSchema = apiSchema('DevToken', z.object({
  token: z.string(), userId: z.string(), role: z.enum(ROLE_NAMES as [RoleName, ...RoleName[]]), expiresAt: ms,
}).strict());

const GuestTokenSchema = apiSchema('GuestToken', z.object({
  token: z.string().describe('A viewer token of the one room, with the guest claim'),
  userId: z.string().describe('guest:<random>'),
  expiresAt: ms,
}).strict());

const StreamKeySchema = apiSchema('StreamKey', z.object({
  whipUrl: z.string().describe('OBS: Settings → Stream → Service "WHIP", Server = this URL'),
  streamKey: z.string().describe('OBS: Bearer Token. Valid only as the WHIP bearer of this room (INGEST_ONLY anywhere else)'),
  expiresAt: ms,
}).strict());

export interface WebApiOptions {
  tokens: TokenService;
  /** Tokens are signed with the public development secret (config.usingDevSecret): anyone can mint any token anyway. */
  dev: boolean;
  web: WebTokenSettings;
  /** FLASHCAST_PUBLIC_URL: where the public reaches this server; undefined: the request's own host. */
  publicUrl: string | undefined;
  /** This node serves live video now (an SFU is attached). */
  video: () => boolean;
}

/**
 * The web pages' bootstrap and token routes. Dev and guest tokens are rate-limited per client
 * address (FLASHCAST_TOKEN_RATE; behind a proxy that is the proxy's address).
 */
export class WebApi {
  readonly #options: WebApiOptions;
  readonly #devLimiter: KeyedRateLimiter;
  readonly #guestLimiter: KeyedRateLimiter;

  constructor(options: WebApiOptions) {
    this.#options = options;
    this.#devLimiter = new KeyedRateLimiter(options.web.tokenRate);
    this.#guestLimiter = new KeyedRateLimiter(options.web.tokenRate);
  }

  /** Adds the routes to the router. */
  register(router: HttpRouter): void {
    const { tokens, web } = this.#options;
    router.add('GET', '/v1/web/config', 'web.config', {
      summary: 'What this server offers the browser pages: dev sign-in, guests, the shop\'s token endpoint, video', tag: 'web',
      responses: { 200: WebConfigSchema },
    }, () => ({
      status: 200,
      body: { dev: this.#options.dev, guests: web.guests, tokenEndpoint: web.tokenEndpoint, video: this.#options.video(), wsPath: '/ws', whipPath: '/whip' },
    }));

    router.add('POST', '/v1/dev/tokens', 'token.dev', {
      summary: 'Mint any token (development only: the server runs on the public development secret)', tag: 'web',
      description: 'The studio\'s sign-in form in development. Validated as `flashcast token`: hosts and moderators name their rooms, "*" only for viewers and ops.',
      body: schemas.devToken, responses: { 201: DevTokenSchema },
      errors: { 404: 'DEV_ONLY: this server has a real secret', 429: 'RATE_LIMITED: too many tokens from this address (retry-after)' },
    }, (req) => {
      if (!this.#options.dev) throw new DevOnlyError();
      this.#limit(this.#devLimiter, req);
      const b = req.body;
      const token = tokens.mintSync({ sub: b.user, role: b.role, rooms: b.rooms, name: b.name, region: b.region, ttlSeconds: b.ttlSeconds });
      const p = tokens.verifySync(token);
      return { status: 201, body: { token, userId: p.userId, role: p.role, expiresAt: p.exp * 1000 } };
    });

    router.add('POST', '/v1/guest-tokens', 'token.guest', {
      summary: 'A guest token: watch, read and react in one room without signing in', tag: 'web',
      description: 'A viewer token of the one room with the guest claim, valid FLASHCAST_GUEST_TTL_S (2 h). Chat, buying, confirming and /v1/me answer SIGN_IN_REQUIRED (401) to it.',
      body: schemas.guestToken, responses: { 201: GuestTokenSchema },
      errors: { 403: 'GUESTS_OFF: guest viewing is off (FLASHCAST_GUEST_VIEWERS=0)', 429: 'RATE_LIMITED: too many tokens from this address (retry-after)' },
    }, (req) => {
      if (!web.guests) throw new GuestsOffError();
      this.#limit(this.#guestLimiter, req);
      const userId = `guest:${randomBytes(9).toString('base64url')}`;
      const token = tokens.mintSync({ sub: userId, role: 'viewer', rooms: [req.body.room], name: 'Guest', guest: true, ttlSeconds: web.guestTtlSeconds });
      return { status: 201, body: { token, userId, expiresAt: tokens.verifySync(token).exp * 1000 } };
    });

    router.add('POST', '/v1/rooms/:roomId/stream-keys', 'whip.key', {
      summary: 'A stream key for OBS: the WHIP URL and a bearer valid only for WHIP ingest into this room', tag: 'media',
      description: 'The key is a host token of this room with scope "ingest": the policy accepts it for POST /whip/{room} and the DELETE of its own session, and answers INGEST_ONLY to anything else. Valid FLASHCAST_STREAM_KEY_TTL_S (7 days); rotating FLASHCAST_JWT_SECRET revokes every key.',
      responses: { 201: StreamKeySchema },
    }, (req) => {
      const p = req.authorize();
      const roomId = req.params.roomId;
      const streamKey = tokens.mintSync({ sub: p.userId, role: 'host', rooms: [roomId], name: p.name, scope: 'ingest', ttlSeconds: web.streamKeyTtlSeconds });
      const whipUrl = `${this.#base(req)}/whip/${encodeURIComponent(roomId)}`;
      return { status: 201, body: { whipUrl, streamKey, expiresAt: tokens.verifySync(streamKey).exp * 1000 } };
    });
  }

  /** Takes a token from the caller's address bucket, or refuses with 429 RATE_LIMITED. */
  #limit(limiter: KeyedRateLimiter, req: ApiRequest<unknown, unknown>): void {
    const wait = limiter.take(req.remoteAddress);
    if (wait > 0) throw new RateLimitedError(wait, ErrorCode.RateLimited, 'too many tokens from this address');
  }

  /** FLASHCAST_PUBLIC_URL, else the origin the request came to (its Host, and X-Forwarded-Proto when a proxy says https). */
  #base(req: ApiRequest<unknown, unknown>): string {
    if (this.#options.publicUrl) return this.#options.publicUrl;
    const host = req.headers.host ?? '';
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return '';
    const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
    return `${proto}://${host}`;
  }
}
