import { ErrorCode } from '../../protocol/codes.js';
import type { RoleName } from '../../protocol/index.js';
import { FlashcastError, ForbiddenError, UnauthorizedError } from '../errors.js';

/**
 * Every action a caller can ask for, over HTTP, the socket or WHIP. Each route and each
 * client frame kind declares one (see HttpRouter.add and realtime/framePolicy.ts).
 */
export const ACTIONS = [
  'session',
  'room.join',
  'room.read',
  'room.chat',
  'room.react',
  'room.pin',
  'room.announce',
  'room.state',
  'room.moderate',
  'room.dashboard',
  'showcase.read',
  'showcase.write',
  'deal.create',
  'deal.read',
  'deal.end',
  'deal.list',
  'shop.create',
  'shop.read',
  'shop.write',
  'shop.mine',
  'product.read',
  'product.write',
  'product.list',
  'affiliate.plan.write',
  'affiliate.plan.read',
  'affiliate.plan.mine',
  'affiliate.balance.read',
  'checkout.buy',
  'checkout.confirm',
  'order.read',
  'order.refund',
  'order.returned',
  'me.read',
  'me.write',
  'payment.notify',
  'payment.page',
  'fx.read',
  'fx.write',
  'ops.read',
  'ops.write',
  'media.consume',
  'media.produce',
  'whip.ingest',
  'whip.end',
  'whip.key',
  'api.read',
  'web.config',
  'token.dev',
  'token.guest',
] as const;

/** An action a caller asks the policy for. */
export type Action = (typeof ACTIONS)[number];

const ACTION_SET: ReadonlySet<string> = new Set(ACTIONS);

/** True if `value` names an action. */
export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && ACTION_SET.has(value);
}

/** Who is asking: what a verified token grants (see TokenService). */
export interface PolicyPrincipal {
  userId: string;
  role: RoleName;
  /** Rooms the token names; null = every room (viewer, seller and ops tokens only). */
  rooms: readonly string[] | null;
  /** A guest token (`POST /v1/guest-tokens`): a viewer of one room who has not signed in. */
  guest?: boolean;
  /** A token for one purpose only: 'ingest' = a stream key, the WHIP bearer of its room. Absent: a full token. */
  scope?: 'ingest';
}

/**
 * The facts a decision needs. Callers load the resources (shop owner, affiliate plan,
 * order, ban list, socket membership) and pass the facts in; the policy decides.
 * A fact left undefined is unknown: `decide` refuses to guess and throws (a caller bug),
 * `gate` skips the checks that need it.
 */
export interface PolicyContext {
  /** The room the action is about. */
  roomId?: string;
  /** The resource's owner: the shop owner (products, plans, order's shop), the creator (balance), the WHIP publisher. */
  ownerUserId?: string | null;
  /** An open affiliate plan of the product's shop covers (product, this creator). */
  planCovers?: boolean;
  /** The caller is banned in `roomId`. */
  banned?: boolean;
  /** The socket has joined `roomId` (socket frames only; HTTP leaves it undefined). */
  member?: boolean;
  /** The order's buyer. */
  buyerId?: string;
}

/** The answer of `decide`. */
export type Decision = { allow: true } | { allow: false; error: FlashcastError };

/** A route or frame asked the policy without a fact its action needs: a server bug (500). */
export class PolicyUsageError extends Error {
  constructor(action: Action, fact: keyof PolicyContext) {
    super(`policy: action ${action} needs the fact "${fact}"`);
    this.name = 'PolicyUsageError';
  }
}

/** The caller is banned in the room (403, code BANNED). */
export class BannedError extends FlashcastError {
  constructor(message = 'banned from this room') {
    super(ErrorCode.Banned, message, 403);
  }
}

/** A guest asked for something only a signed-in user may do (401, code SIGN_IN_REQUIRED). */
export class SignInRequiredError extends FlashcastError {
  constructor(message = 'sign in to do this (guests may watch, read and react)') {
    super(ErrorCode.SignInRequired, message, 401);
  }
}

/** A stream key used for anything but WHIP ingest of its room (403, code INGEST_ONLY). */
export class IngestOnlyError extends FlashcastError {
  constructor(message = 'a stream key is only the WHIP bearer of its room') {
    super(ErrorCode.IngestOnly, message, 403);
  }
}

type Fact = keyof PolicyContext;

/**
 * One action's rule, evaluated in this order:
 * 0. a scoped token (a stream key) may ask only for actions marked `ingest` (403 INGEST_ONLY),
 *    public ones included: it is a WHIP credential and nothing else.
 * 1. `public`: allowed without a principal; otherwise no principal → 401.
 * 1b. a guest token may ask only for actions marked `guests` (401 SIGN_IN_REQUIRED).
 * 2. `roles`: the principal's role must be listed (403 FORBIDDEN).
 * 3. `scope`: 'room' = the token's rooms include the room (403 ROOM_NOT_ALLOWED);
 *    'host' = a host token naming the room; 'staff' = a host or moderator token naming it
 *    (ops pass both) (403 FORBIDDEN).
 * 4. `ban`: a caller banned in the room is refused (403 BANNED).
 * 5. `member`: over the socket, the socket must have joined the room (403 NOT_JOINED).
 * 6. `check`: the resource facts (owner, plan, buyer).
 */
interface Rule {
  public?: boolean;
  /** Guest tokens may ask too (watching, reading, reacting); every other action answers SIGN_IN_REQUIRED to a guest. */
  guests?: boolean;
  /** A stream key (scope 'ingest') may ask; it may ask for nothing else. */
  ingest?: boolean;
  roles?: readonly RoleName[];
  scope?: 'room' | 'host' | 'staff';
  ban?: boolean;
  member?: boolean;
  /** Facts `check` reads; `decide` throws PolicyUsageError when one is undefined. */
  needs?: readonly Fact[];
  check?: (p: PolicyPrincipal, ctx: PolicyContext) => FlashcastError | null;
}

const ALL: readonly RoleName[] = ['viewer', 'host', 'moderator', 'ops', 'seller'];
/** Roles that can own a shop. */
const SHOP_ROLES: readonly RoleName[] = ['seller', 'host', 'ops'];

/** The caller owns the resource, or is ops. */
const ownerOrOps = (message: string) => (p: PolicyPrincipal, ctx: PolicyContext) =>
  p.role === 'ops' || (ctx.ownerUserId != null && ctx.ownerUserId === p.userId) ? null : new ForbiddenError(message);

/** Seller of the shop (a seller- or host-role principal whose user id owns it), or ops. */
const shopOrOps = (p: PolicyPrincipal, ctx: PolicyContext) =>
  p.role === 'ops' || ((p.role === 'seller' || p.role === 'host') && ctx.ownerUserId != null && ctx.ownerUserId === p.userId)
    ? null
    : new ForbiddenError("only the shop's seller or ops");

/** The product is the creator's own shop's, or an open plan of its shop covers this creator. */
const ownOrPlan = (p: PolicyPrincipal, ctx: PolicyContext) => {
  if (ctx.ownerUserId != null && ctx.ownerUserId === p.userId) return null;
  if (ctx.planCovers === true) return null;
  return new ForbiddenError("another shop's product needs an open affiliate plan of that shop for this creator", ErrorCode.AffiliatePlanRequired);
};

const RULES: Record<Action, Rule> = {
  session: { roles: ALL, guests: true },
  'room.join': { roles: ALL, guests: true, scope: 'room', ban: true, needs: ['roomId'] },
  'room.read': { roles: ALL, guests: true, scope: 'room', needs: ['roomId'] },
  'room.chat': { roles: ALL, scope: 'room', ban: true, member: true, needs: ['roomId'] },
  'room.react': { roles: ALL, guests: true, scope: 'room', ban: true, member: true, needs: ['roomId'] },
  'room.pin': { roles: ['host', 'ops'], scope: 'host', needs: ['roomId'] },
  'room.announce': { roles: ['host', 'ops'], scope: 'host', needs: ['roomId'] },
  'room.state': { roles: ['host', 'ops'], scope: 'host', needs: ['roomId'] },
  'room.dashboard': { roles: ['host', 'ops'], scope: 'host', needs: ['roomId'] },
  'room.moderate': { roles: ['host', 'moderator', 'ops'], scope: 'staff', needs: ['roomId'] },
  'showcase.read': { roles: ALL, guests: true, scope: 'room', needs: ['roomId'] },
  'showcase.write': {
    roles: ['host', 'ops'],
    scope: 'host',
    needs: ['roomId', 'ownerUserId', 'planCovers'],
    check: (p, ctx) => (p.role === 'ops' ? null : ownOrPlan(p, ctx)),
  },
  'deal.create': { roles: ['host'], scope: 'host', needs: ['roomId', 'ownerUserId', 'planCovers'], check: ownOrPlan },
  'deal.read': { public: true },
  'deal.end': { roles: ['host', 'ops'], scope: 'host', needs: ['roomId'] },
  // The room's deals with their phases and sales (the studio's list): its staff and ops.
  'deal.list': { roles: ['host', 'moderator', 'ops'], scope: 'staff', needs: ['roomId'] },
  'shop.create': { roles: SHOP_ROLES },
  'shop.read': { public: true },
  'shop.write': { roles: SHOP_ROLES, needs: ['ownerUserId'], check: shopOrOps },
  // The shops the caller owns (`GET /v1/me/shops`): always the caller's own.
  'shop.mine': { roles: SHOP_ROLES },
  'product.read': { public: true },
  'product.write': { roles: SHOP_ROLES, needs: ['ownerUserId'], check: shopOrOps },
  // A shop's whole catalog page by page, stock included: its seller or ops.
  'product.list': { roles: SHOP_ROLES, needs: ['ownerUserId'], check: shopOrOps },
  'affiliate.plan.write': { roles: SHOP_ROLES, needs: ['ownerUserId'], check: shopOrOps },
  'affiliate.plan.read': { roles: SHOP_ROLES, needs: ['ownerUserId'], check: shopOrOps },
  'affiliate.plan.mine': { roles: ['host', 'ops'] },
  'affiliate.balance.read': { roles: ALL, needs: ['ownerUserId'], check: ownerOrOps("only the creator or ops see a creator's balance") },
  'checkout.buy': { roles: ALL, scope: 'room', ban: true, member: true, needs: ['roomId', 'banned'] },
  'checkout.confirm': { roles: ALL },
  'order.read': {
    roles: ALL,
    needs: ['buyerId', 'ownerUserId'],
    check: (p, ctx) => {
      if (ctx.buyerId === p.userId || shopOrOps(p, ctx) === null) return null;
      return new ForbiddenError("only the buyer, the order's shop or ops");
    },
  },
  'order.refund': {
    roles: ALL,
    needs: ['buyerId'],
    check: (p, ctx) => (p.role === 'ops' || ctx.buyerId === p.userId ? null : new ForbiddenError('only the buyer or ops')),
  },
  'order.returned': { roles: SHOP_ROLES, needs: ['ownerUserId'], check: shopOrOps },
  'me.read': { roles: ALL },
  'me.write': { roles: ALL },
  // A provider's notification: no token; its signature over the raw body is the authentication
  // (verified by the provider's verifyNotification before anything is read or applied).
  'payment.notify': { public: true },
  // A provider's hosted payment step (the sandbox's page): no token; the unguessable session id is the capability.
  'payment.page': { public: true },
  'fx.read': { public: true },
  'fx.write': { roles: ['ops'] },
  'ops.read': { roles: ['ops'] },
  'ops.write': { roles: ['ops'] },
  'media.consume': { roles: ALL, guests: true, scope: 'room', ban: true, member: true, needs: ['roomId'] },
  'media.produce': { roles: ['host'], scope: 'host', needs: ['roomId'] },
  // A stream key is a host token of one room with scope 'ingest': these two are all it may do.
  'whip.ingest': { roles: ['host'], ingest: true, scope: 'host', needs: ['roomId'] },
  'whip.end': { roles: ALL, ingest: true, needs: ['ownerUserId'], check: ownerOrOps('only the publisher or ops may end it') },
  // Minting a stream key for OBS (`POST /v1/rooms/{room}/stream-keys`): the room's host or ops.
  'whip.key': { roles: ['host', 'ops'], scope: 'host', needs: ['roomId'] },
  'api.read': { public: true },
  // What the browser pages need to start (`GET /v1/web/config`).
  'web.config': { public: true },
  // Token minting for the pages. Public to the policy; the routes refuse by configuration:
  // dev tokens only on the public development secret (DEV_ONLY), guest tokens only when guests
  // are on (GUESTS_OFF), both rate-limited per address (server/http/WebApi.ts).
  'token.dev': { public: true },
  'token.guest': { public: true },
};

/** The room scope of a token: `rooms` null means every room. The one reading of a token's rooms. */
export function inRoomScope(p: PolicyPrincipal, roomId: string): boolean {
  return p.rooms === null || p.rooms.includes(roomId);
}

function evaluate(p: PolicyPrincipal | null, action: Action, ctx: PolicyContext, full: boolean): Decision {
  const rule = RULES[action];
  if (!rule) throw new TypeError(`unknown action ${String(action)}`);
  if (full) {
    for (const fact of rule.needs ?? []) if (ctx[fact] === undefined) throw new PolicyUsageError(action, fact);
  }
  // A scoped token is good for its scope only, public actions included.
  if (p && p.scope !== undefined && !(p.scope === 'ingest' && rule.ingest)) return deny(new IngestOnlyError());
  if (rule.public) return ALLOW;
  if (!p) return deny(new UnauthorizedError('Authorization: Bearer <token> required'));
  if (p.guest === true && !rule.guests) return deny(new SignInRequiredError());
  if (rule.roles && !rule.roles.includes(p.role)) return deny(new ForbiddenError(`not allowed for the ${p.role} role`));
  const roomId = ctx.roomId;
  if (rule.scope && roomId !== undefined && p.role !== 'ops') {
    if (rule.scope === 'room' && !inRoomScope(p, roomId)) {
      return deny(new ForbiddenError('this token may not join this room', ErrorCode.RoomNotAllowed));
    }
    if (rule.scope === 'host' && !(p.role === 'host' && p.rooms !== null && p.rooms.includes(roomId))) {
      return deny(new ForbiddenError('only the room host may do this'));
    }
    if (rule.scope === 'staff' && !((p.role === 'host' || p.role === 'moderator') && p.rooms !== null && p.rooms.includes(roomId))) {
      return deny(new ForbiddenError('only the room host or a moderator may do this'));
    }
  }
  if (rule.ban && ctx.banned === true) return deny(new BannedError());
  if (rule.member && ctx.member === false) return deny(new ForbiddenError('join the room first', ErrorCode.NotJoined));
  if (full && rule.check) {
    const error = rule.check(p, ctx);
    if (error) return deny(error);
  }
  return ALLOW;
}

const ALLOW: Decision = { allow: true };
const deny = (error: FlashcastError): Decision => ({ allow: false, error });

/**
 * The authority model (docs/security.md), as one pure module: no I/O, no clock. Every HTTP
 * route, socket frame and WHIP call asks it.
 */
export const Policy = {
  /** The full decision for an action, with every fact it needs (missing fact: PolicyUsageError). */
  decide(p: PolicyPrincipal | null, action: Action, ctx: PolicyContext = {}): Decision {
    return evaluate(p, action, ctx, true);
  },

  /**
   * The part of the decision that needs no resource facts: principal, role, room scope
   * (when `ctx.roomId` is known), ban and membership (when known). The router runs it before
   * every handler; handlers whose actions need facts then call `authorize` with them.
   */
  gate(p: PolicyPrincipal | null, action: Action, ctx: PolicyContext = {}): Decision {
    return evaluate(p, action, ctx, false);
  },

  /** `decide`, throwing UnauthorizedError (401), ForbiddenError (403) or BannedError (403) when denied. */
  authorize<P extends PolicyPrincipal>(p: P | null, action: Action, ctx: PolicyContext = {}): P | null {
    const decision = evaluate(p, action, ctx, true);
    if (!decision.allow) throw decision.error;
    return p;
  },

  /** `authorize` for actions that need a principal: resolves to it (never null). */
  require<P extends PolicyPrincipal>(p: P | null, action: Action, ctx: PolicyContext = {}): P {
    const decision = evaluate(p, action, ctx, true);
    if (!decision.allow) throw decision.error;
    if (!p) throw new UnauthorizedError('Authorization: Bearer <token> required');
    return p;
  },

  /** True if the action is allowed without a principal. */
  isPublic(action: Action): boolean {
    return RULES[action].public === true;
  },

  /** The facts an action's full decision needs. */
  needs(action: Action): readonly Fact[] {
    return RULES[action].needs ?? [];
  },

  /** The rule of an action, for documentation (the OpenAPI document's `x-policy`). */
  describe(action: Action): ActionSummary {
    const rule = RULES[action];
    return {
      action,
      public: rule.public === true,
      roles: rule.public ? [] : [...(rule.roles ?? ALL)],
      guests: rule.public === true || rule.guests === true,
      streamKey: rule.ingest === true,
      ...(rule.scope ? { scope: rule.scope } : {}),
      ...(rule.ban ? { ban: true } : {}),
      facts: [...(rule.needs ?? [])],
    };
  },
} as const;

/** What `Policy.describe` tells about an action (docs/security.md has the prose). */
export interface ActionSummary {
  action: Action;
  /** Allowed without a token. */
  public: boolean;
  /** Roles that may ask (empty when public). */
  roles: RoleName[];
  /** Guest tokens may ask (true for public actions). */
  guests: boolean;
  /** A stream key may ask (only whip.ingest and whip.end). */
  streamKey: boolean;
  /** 'room': the token's rooms must include the room; 'host': a host token naming it; 'staff': host or moderator naming it. */
  scope?: 'room' | 'host' | 'staff';
  /** A caller banned in the room is refused. */
  ban?: boolean;
  /** The facts the handler loads (shop owner, order's buyer...). */
  facts: string[];
}
