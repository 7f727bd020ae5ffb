import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/codes.js';
import type { RoleName } from '../../protocol/index.js';
import { ACTIONS, Policy, PolicyUsageError, inRoomScope, isAction, type Action, type PolicyContext, type PolicyPrincipal } from './Policy.js';

const R = 'room-r';
const viewer: PolicyPrincipal = { userId: 'v', role: 'viewer', rooms: null };
const limitedViewer: PolicyPrincipal = { userId: 'lv', role: 'viewer', rooms: ['other'] };
const hostR: PolicyPrincipal = { userId: 'hr', role: 'host', rooms: [R] };
const hostO: PolicyPrincipal = { userId: 'ho', role: 'host', rooms: ['room-o'] };
const modR: PolicyPrincipal = { userId: 'mr', role: 'moderator', rooms: [R] };
const modO: PolicyPrincipal = { userId: 'mo', role: 'moderator', rooms: ['room-o'] };
const sellerA: PolicyPrincipal = { userId: 'sa', role: 'seller', rooms: null };
const sellerB: PolicyPrincipal = { userId: 'sb', role: 'seller', rooms: null };
const ops: PolicyPrincipal = { userId: 'ops', role: 'ops', rooms: null };
/** A guest of room R (`POST /v1/guest-tokens`) and a stream key of room R (`POST /v1/rooms/R/stream-keys`). */
const guestR: PolicyPrincipal = { userId: 'guest:abc', role: 'viewer', rooms: [R], guest: true };
const keyR: PolicyPrincipal = { userId: 'hr', role: 'host', rooms: [R], scope: 'ingest' };

/** The code of a denial, or 'allow'. */
function outcome(p: PolicyPrincipal | null, action: Action, ctx: PolicyContext): string {
  const d = Policy.decide(p, action, ctx);
  return d.allow ? 'allow' : d.error.code;
}

function statusOf(p: PolicyPrincipal | null, action: Action, ctx: PolicyContext): number {
  const d = Policy.decide(p, action, ctx);
  return d.allow ? 200 : d.error.status;
}

/** Every fact filled with a neutral value, so `decide` has what each action needs. */
const base: Required<PolicyContext> = { roomId: R, ownerUserId: 'nobody', planCovers: false, banned: false, member: true, buyerId: 'nobody' };

describe('Policy', () => {
  it('knows its actions; an unknown one is a TypeError', () => {
    for (const a of ACTIONS) expect(isAction(a)).toBe(true);
    expect(isAction('room.delete')).toBe(false);
    expect(() => Policy.decide(viewer, 'room.delete' as Action, base)).toThrow(TypeError);
  });

  it('refuses to decide without the facts an action needs (a caller bug), but gates without them', () => {
    expect(() => Policy.decide(hostR, 'deal.create', { roomId: R })).toThrow(PolicyUsageError);
    expect(() => Policy.decide(sellerA, 'product.write', {})).toThrow(PolicyUsageError);
    expect(() => Policy.decide(viewer, 'checkout.buy', { roomId: R })).toThrow(PolicyUsageError);
    expect(Policy.gate(hostR, 'deal.create', { roomId: R }).allow).toBe(true);
    expect(Policy.gate(modR, 'deal.create', { roomId: R }).allow).toBe(false);
    expect(Policy.gate(sellerA, 'product.write', {}).allow).toBe(true);
    expect(Policy.gate(viewer, 'product.write', {}).allow).toBe(false);
    for (const a of ACTIONS) {
      const ctx: PolicyContext = {};
      for (const fact of Policy.needs(a)) (ctx as Record<string, unknown>)[fact] = base[fact];
      expect(() => Policy.decide(ops, a, ctx), a).not.toThrow();
    }
  });

  it('answers 401 without a principal, except for public reads', () => {
    const publicActions = ACTIONS.filter((a) => Policy.isPublic(a));
    expect(publicActions.sort()).toEqual([
      'api.read', 'deal.read', 'fx.read', 'payment.notify', 'payment.page', 'product.read', 'shop.read', 'token.dev', 'token.guest', 'web.config',
    ]);
    for (const a of ACTIONS) {
      expect(outcome(null, a, base), a).toBe(Policy.isPublic(a) ? 'allow' : ErrorCode.Unauthorized);
      if (!Policy.isPublic(a)) expect(statusOf(null, a, base)).toBe(401);
    }
  });

  it('ops may do everything but create deals (a creator act) and others’ WHIP/media production', () => {
    for (const a of ACTIONS) {
      const denied = ['deal.create', 'media.produce', 'whip.ingest'].includes(a);
      expect(outcome(ops, a, { ...base, ownerUserId: 'someone-else' }), a).toBe(denied ? ErrorCode.Forbidden : 'allow');
    }
    // ops read any creator's balance and end anyone's WHIP ingest
    expect(outcome(ops, 'affiliate.balance.read', { ownerUserId: 'creator' })).toBe('allow');
    expect(outcome(ops, 'whip.end', { roomId: R, ownerUserId: 'publisher' })).toBe('allow');
  });

  it('room scope: "*"/absent rooms = every room; a listed room only; ROOM_NOT_ALLOWED otherwise', () => {
    expect(inRoomScope(viewer, 'any')).toBe(true);
    expect(inRoomScope(limitedViewer, R)).toBe(false);
    expect(inRoomScope(limitedViewer, 'other')).toBe(true);
    for (const a of ['room.join', 'room.read', 'room.chat', 'room.react', 'showcase.read', 'checkout.buy', 'media.consume'] as Action[]) {
      expect(outcome(viewer, a, base), a).toBe('allow');
      expect(outcome(limitedViewer, a, base), a).toBe(ErrorCode.RoomNotAllowed);
      expect(outcome(hostO, a, base), a).toBe(ErrorCode.RoomNotAllowed);
      expect(outcome(hostR, a, base), a).toBe('allow');
      expect(outcome(modR, a, base), a).toBe('allow');
      expect(outcome(sellerA, a, base), a).toBe('allow');
      expect(statusOf(hostO, a, base)).toBe(403);
    }
  });

  it('bans apply to joining, chatting, reacting, media and buying; not to public reads', () => {
    const banned = { ...base, banned: true };
    for (const a of ['room.join', 'room.chat', 'room.react', 'checkout.buy', 'media.consume'] as Action[]) {
      expect(outcome(viewer, a, banned), a).toBe(ErrorCode.Banned);
      expect(statusOf(viewer, a, banned), a).toBe(403);
    }
    expect(outcome(viewer, 'room.read', banned)).toBe('allow');
    expect(outcome(viewer, 'showcase.read', banned)).toBe('allow');
    // ban before membership: a banned, never-joined socket is told BANNED
    expect(outcome(viewer, 'checkout.buy', { ...banned, member: false })).toBe(ErrorCode.Banned);
  });

  it('socket frames that need a joined room answer NOT_JOINED; HTTP (member unknown) does not ask', () => {
    for (const a of ['room.chat', 'room.react', 'checkout.buy', 'media.consume'] as Action[]) {
      expect(outcome(viewer, a, { ...base, member: false }), a).toBe(ErrorCode.NotJoined);
      expect(outcome(viewer, a, { roomId: R, banned: false }), a).toBe('allow');
    }
    // staff commands do not need a joined socket
    expect(outcome(hostR, 'room.pin', { roomId: R, member: false })).toBe('allow');
  });

  it('host-only room actions: the room host and ops; never moderators, other hosts, sellers or viewers', () => {
    for (const a of ['room.pin', 'room.announce', 'room.state', 'room.dashboard', 'deal.end', 'media.produce', 'whip.ingest', 'whip.key'] as Action[]) {
      expect(outcome(hostR, a, base), a).toBe('allow');
      for (const p of [hostO, modR, modO, viewer, sellerA]) expect(outcome(p, a, base), `${a} ${p.userId}`).toBe(ErrorCode.Forbidden);
    }
  });

  it("moderation and the room's deal list: the room host, its moderators and ops", () => {
    for (const a of ['room.moderate', 'deal.list'] as Action[]) {
      expect(outcome(hostR, a, base), a).toBe('allow');
      expect(outcome(modR, a, base), a).toBe('allow');
      expect(outcome(ops, a, base), a).toBe('allow');
      for (const p of [hostO, modO, viewer, sellerA]) expect(outcome(p, a, base), `${a} ${p.userId}`).toBe(ErrorCode.Forbidden);
    }
  });

  it("showcase and deals: the room's host, with its own product or under an open plan", () => {
    const own = { ...base, ownerUserId: hostR.userId };
    const planned = { ...base, ownerUserId: 'sa', planCovers: true };
    const foreign = { ...base, ownerUserId: 'sa', planCovers: false };
    for (const a of ['showcase.write', 'deal.create'] as Action[]) {
      expect(outcome(hostR, a, own), a).toBe('allow');
      expect(outcome(hostR, a, planned), a).toBe('allow');
      expect(outcome(hostR, a, foreign), a).toBe(ErrorCode.AffiliatePlanRequired);
      expect(statusOf(hostR, a, foreign), a).toBe(403);
      // the owner of the product who is not this room's host: still refused
      expect(outcome({ ...hostO, userId: 'sa' }, a, foreign), a).toBe(ErrorCode.Forbidden);
      expect(outcome(modR, a, own), a).toBe(ErrorCode.Forbidden);
      expect(outcome(sellerA, a, { ...foreign }), a).toBe(ErrorCode.Forbidden);
    }
    // ops curate any showcase but create no deals
    expect(outcome(ops, 'showcase.write', foreign)).toBe('allow');
    expect(outcome(ops, 'deal.create', own)).toBe(ErrorCode.Forbidden);
  });

  it("a shop's products, prices, stock, floors, plans and returns: its seller (seller or host role) or ops", () => {
    for (const a of ['product.write', 'product.list', 'affiliate.plan.write', 'affiliate.plan.read', 'shop.write', 'order.returned'] as Action[]) {
      const ctx = { ...base, ownerUserId: 'sa' };
      expect(outcome(sellerA, a, ctx), a).toBe('allow');
      expect(outcome({ ...hostR, userId: 'sa' }, a, ctx), a).toBe('allow');
      expect(outcome(ops, a, ctx), a).toBe('allow');
      expect(outcome(sellerB, a, ctx), a).toBe(ErrorCode.Forbidden);
      expect(outcome(hostR, a, ctx), a).toBe(ErrorCode.Forbidden);
      // a viewer or moderator whose user id happens to own the shop is still not its seller
      expect(outcome({ ...viewer, userId: 'sa' }, a, ctx), a).toBe(ErrorCode.Forbidden);
      expect(outcome({ ...modR, userId: 'sa' }, a, ctx), a).toBe(ErrorCode.Forbidden);
    }
    for (const a of ['shop.create', 'shop.mine'] as Action[]) {
      expect(outcome(sellerA, a, {}), a).toBe('allow');
      expect(outcome(hostR, a, {}), a).toBe('allow');
      expect(outcome(ops, a, {}), a).toBe('allow');
      expect(outcome(viewer, a, {}), a).toBe(ErrorCode.Forbidden);
      expect(outcome(modR, a, {}), a).toBe(ErrorCode.Forbidden);
    }
  });

  it('orders: the buyer reads and refunds; the shop reads; ops both', () => {
    const order = { buyerId: 'v', ownerUserId: 'sa' };
    expect(outcome(viewer, 'order.read', order)).toBe('allow');
    expect(outcome(sellerA, 'order.read', order)).toBe('allow');
    expect(outcome(ops, 'order.read', order)).toBe('allow');
    expect(outcome(sellerB, 'order.read', order)).toBe(ErrorCode.Forbidden);
    expect(outcome({ ...viewer, userId: 'eve' }, 'order.read', order)).toBe(ErrorCode.Forbidden);
    expect(outcome(viewer, 'order.refund', order)).toBe('allow');
    expect(outcome(ops, 'order.refund', order)).toBe('allow');
    expect(outcome(sellerA, 'order.refund', order)).toBe(ErrorCode.Forbidden);
    expect(outcome({ ...viewer, userId: 'eve' }, 'order.refund', order)).toBe(ErrorCode.Forbidden);
  });

  it('personal actions: any principal for itself; balances and WHIP sessions by their owner', () => {
    const roles: RoleName[] = ['viewer', 'host', 'moderator', 'ops', 'seller'];
    for (const role of roles) {
      const p: PolicyPrincipal = { userId: 'me', role, rooms: role === 'host' || role === 'moderator' ? [R] : null };
      for (const a of ['session', 'me.read', 'me.write', 'checkout.confirm'] as Action[]) expect(outcome(p, a, {}), `${role} ${a}`).toBe('allow');
      expect(outcome(p, 'affiliate.balance.read', { ownerUserId: 'me' }), role).toBe('allow');
      expect(outcome(p, 'whip.end', { ownerUserId: 'me' }), role).toBe('allow');
      if (role !== 'ops') {
        expect(outcome(p, 'affiliate.balance.read', { ownerUserId: 'other' }), role).toBe(ErrorCode.Forbidden);
        expect(outcome(p, 'whip.end', { ownerUserId: 'other' }), role).toBe(ErrorCode.Forbidden);
      }
    }
    expect(outcome(hostR, 'affiliate.plan.mine', {})).toBe('allow');
    for (const p of [viewer, modR, sellerA]) expect(outcome(p, 'affiliate.plan.mine', {})).toBe(ErrorCode.Forbidden);
  });

  it('FX and ops endpoints: ops only (FX reads are public)', () => {
    for (const a of ['fx.write', 'ops.read', 'ops.write'] as Action[]) {
      expect(outcome(ops, a, {})).toBe('allow');
      for (const p of [viewer, hostR, modR, sellerA]) expect(outcome(p, a, {}), `${a} ${p.userId}`).toBe(ErrorCode.Forbidden);
    }
    expect(outcome(null, 'fx.read', {})).toBe('allow');
  });

  it('the API document (api.read) is public; describe summarises each rule for it', () => {
    for (const p of [null, viewer, hostR, sellerA, ops]) expect(outcome(p, 'api.read', {})).toBe('allow');
    expect(Policy.describe('api.read')).toEqual({ action: 'api.read', public: true, roles: [], guests: true, streamKey: false, facts: [] });
    expect(Policy.describe('room.pin')).toEqual({ action: 'room.pin', public: false, roles: ['host', 'ops'], guests: false, streamKey: false, scope: 'host', facts: ['roomId'] });
    expect(Policy.describe('media.consume')).toMatchObject({ guests: true, streamKey: false });
    expect(Policy.describe('whip.ingest')).toMatchObject({ guests: false, streamKey: true });
    expect(Policy.describe('checkout.buy')).toMatchObject({ public: false, scope: 'room', ban: true, facts: ['roomId', 'banned'] });
    for (const a of ACTIONS) expect(Policy.describe(a).public).toBe(Policy.isPublic(a));
  });

  it('payment providers: notifications and hosted pages take no token (a signature / a session id authenticates them), even when banned', () => {
    for (const a of ['payment.notify', 'payment.page'] as Action[]) {
      expect(outcome(null, a, {}), a).toBe('allow');
      for (const p of [viewer, hostR, modR, sellerA, ops]) expect(outcome(p, a, { ...base, banned: true }), `${a} ${p.userId}`).toBe('allow');
      expect(Policy.needs(a)).toEqual([]);
    }
    // The buyer's own orders need a token, any role.
    expect(outcome(null, 'me.read', {})).toBe(ErrorCode.Unauthorized);
  });

  it('guests watch, read and react in their one room; anything else is SIGN_IN_REQUIRED (401)', () => {
    const allowed: Action[] = ['session', 'room.join', 'room.read', 'room.react', 'showcase.read', 'media.consume'];
    for (const a of ACTIONS) {
      const want = Policy.isPublic(a) || allowed.includes(a) ? 'allow' : ErrorCode.SignInRequired;
      expect(outcome(guestR, a, { ...base, ownerUserId: guestR.userId, buyerId: guestR.userId }), a).toBe(want);
      if (want !== 'allow') expect(statusOf(guestR, a, base), a).toBe(401);
    }
    // chat, buy, confirm and the buyer's own routes in particular, even for its own resources
    for (const a of ['room.chat', 'checkout.buy', 'checkout.confirm', 'me.read', 'me.write', 'order.read'] as Action[]) {
      expect(outcome(guestR, a, { ...base, ownerUserId: guestR.userId, buyerId: guestR.userId }), a).toBe(ErrorCode.SignInRequired);
    }
    // its room only, and bans still apply
    expect(outcome(guestR, 'room.join', { roomId: 'room-o', banned: false })).toBe(ErrorCode.RoomNotAllowed);
    expect(outcome(guestR, 'room.join', { roomId: R, banned: true })).toBe(ErrorCode.Banned);
    expect(outcome(guestR, 'media.consume', { roomId: R, banned: false, member: false })).toBe(ErrorCode.NotJoined);
    // the same user id without the guest claim is a viewer like any other
    expect(outcome({ ...guestR, guest: false }, 'room.chat', base)).toBe('allow');
  });

  it('a stream key is only the WHIP bearer of its room: INGEST_ONLY (403) for everything else, public actions included', () => {
    for (const a of ACTIONS) {
      const want = a === 'whip.ingest' || a === 'whip.end' ? 'allow' : ErrorCode.IngestOnly;
      expect(outcome(keyR, a, { ...base, ownerUserId: keyR.userId }), a).toBe(want);
      if (want !== 'allow') expect(statusOf(keyR, a, base), a).toBe(403);
    }
    // within WHIP, the host rules still hold: its room only, its own sessions only
    expect(outcome(keyR, 'whip.ingest', { roomId: 'room-o' })).toBe(ErrorCode.Forbidden);
    expect(outcome(keyR, 'whip.end', { roomId: R, ownerUserId: 'someone-else' })).toBe(ErrorCode.Forbidden);
    // a key cannot mint another key (no way to stretch a leaked one)
    expect(outcome(keyR, 'whip.key', base)).toBe(ErrorCode.IngestOnly);
  });

  it('authorize throws the decision error; require also refuses a missing principal', () => {
    expect(() => Policy.authorize(null, 'room.pin', { roomId: R })).toThrowError(expect.objectContaining({ code: ErrorCode.Unauthorized, status: 401 }));
    expect(() => Policy.authorize(modR, 'room.pin', { roomId: R })).toThrowError(expect.objectContaining({ code: ErrorCode.Forbidden, status: 403 }));
    expect(() => Policy.authorize(viewer, 'checkout.buy', { roomId: R, banned: true })).toThrowError(expect.objectContaining({ code: ErrorCode.Banned, status: 403 }));
    expect(Policy.authorize(null, 'fx.read')).toBeNull();
    expect(Policy.require(hostR, 'room.pin', { roomId: R })).toBe(hostR);
    expect(() => Policy.require(null, 'fx.read')).toThrowError(expect.objectContaining({ status: 401 }));
  });
});
