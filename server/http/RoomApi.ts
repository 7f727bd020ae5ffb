import { z } from 'zod';
import { ErrorCode, ModerationAction, RoomPhase } from '../../protocol/index.js';
import { TokenService, type Principal } from '../auth/TokenService.js';
import { ForbiddenError, InvalidArgumentError, RoomNotFoundError, UnauthorizedError } from '../errors.js';
import { isValidId } from '../redis/keys.js';
import type { RoomControl } from '../realtime/RoomControl.js';
import type { RoomStore } from '../realtime/RoomStore.js';
import type { ApiRequest, HttpRouter } from './HttpRouter.js';

const money = z.object({ amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), currency: z.string().regex(/^[A-Z]{3}$/) });
const pinBody = z.object({
  product: z.object({
    productId: z.string(),
    title: z.string().max(200).optional(),
    imageUrl: z.string().max(2000).optional(),
    price: money.optional(),
    dealPrice: money.optional(),
    dealId: z.string().max(64).optional(),
  }),
});
const announceBody = z.object({ text: z.string() });
const stateBody = z.object({ phase: z.enum(['SCHEDULED', 'LIVE', 'PAUSED', 'ENDED']), title: z.string().max(200).optional() });
const moderationBody = z.object({
  action: z.enum(['MUTE', 'UNMUTE', 'BAN', 'UNBAN', 'DELETE_MESSAGE', 'SLOW_MODE', 'SET_BLOCKED_WORDS']),
  userId: z.string().optional(),
  messageId: z.string().optional(),
  seconds: z.number().int().nonnegative().optional(),
  words: z.array(z.string()).max(200).optional(),
});

/** Parses a body with a zod schema; failures are INVALID_ARGUMENT with the field paths. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new InvalidArgumentError(result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** The caller's verified identity, or 401. */
export function requirePrincipal(req: ApiRequest): Principal {
  if (!req.principal) throw new UnauthorizedError('Authorization: Bearer <token> required');
  return req.principal;
}

function roomId(req: ApiRequest): string {
  const id = req.params.roomId;
  if (!isValidId(id)) throw new InvalidArgumentError('invalid room id');
  return id;
}

/**
 * Room endpoints for hosts, moderators and ops: the same operations as the
 * socket protocol, through RoomControl.
 */
export function registerRoomRoutes(router: HttpRouter, control: RoomControl, store: RoomStore): void {
  // A read needs a token that may join the room, and creates nothing: a room with
  // no stream is 404 ROOM_NOT_FOUND, never a new stream.
  router.add('GET', '/v1/rooms/:roomId', async (req) => {
    const principal = requirePrincipal(req);
    const id = roomId(req);
    if (!TokenService.canJoin(principal, id)) throw new ForbiddenError('this token may not join this room', ErrorCode.RoomNotAllowed);
    const position = await store.snapshot(id);
    if (position.epoch === '') throw new RoomNotFoundError();
    return { status: 200, body: { roomId: id, epoch: position.epoch, offset: position.offset, snapshot: position.snapshot } };
  });
  router.add('POST', '/v1/rooms/:roomId/pin', async (req) => {
    const body = parseBody(pinBody, req.body);
    const offset = await control.pin(requirePrincipal(req), roomId(req), body.product);
    return { status: 200, body: { offset } };
  });
  router.add('DELETE', '/v1/rooms/:roomId/pin/:productId', async (req) => {
    const offset = await control.unpin(requirePrincipal(req), roomId(req), req.params.productId);
    return { status: 200, body: { offset } };
  });
  router.add('POST', '/v1/rooms/:roomId/announcements', async (req) => {
    const body = parseBody(announceBody, req.body);
    const offset = await control.announce(requirePrincipal(req), roomId(req), body.text);
    return { status: 200, body: { offset } };
  });
  router.add('PUT', '/v1/rooms/:roomId/state', async (req) => {
    const body = parseBody(stateBody, req.body);
    const phase = RoomPhase[`ROOM_${body.phase}` as keyof typeof RoomPhase];
    const offset = await control.setState(requirePrincipal(req), roomId(req), phase, body.title);
    return { status: 200, body: { offset } };
  });
  router.add('POST', '/v1/rooms/:roomId/moderation', async (req) => {
    const body = parseBody(moderationBody, req.body);
    const offset = await control.moderate(requirePrincipal(req), roomId(req), {
      action: ModerationAction[body.action],
      userId: body.userId,
      messageId: body.messageId,
      seconds: body.seconds,
      words: body.words,
    });
    return { status: 200, body: { offset } };
  });
}
