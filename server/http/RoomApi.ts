import { z } from 'zod';
import { ModerationAction, RoomPhase } from '../../protocol/index.js';
import { RoomNotFoundError } from '../../common/errors.js';
import { ID_PATTERN } from '../../common/keys.js';
import type { RoomControl } from '../realtime/RoomControl.js';
import type { RoomStore } from '../realtime/RoomStore.js';
import type { HttpRouter } from '../../common/http/HttpRouter.js';

const id = z.string().regex(ID_PATTERN, 'must be a valid id');
/** The one pin body: the server builds the card from the catalog (no client card fields). */
const pinBody = z.object({ productId: id, locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/).optional() }).strict();
const announceBody = z.object({ text: z.string().max(4 * 500) }).strict();
const stateBody = z.object({ phase: z.enum(['SCHEDULED', 'LIVE', 'PAUSED', 'ENDED']), title: z.string().max(4 * 200).optional() }).strict();
const moderationBody = z.object({
  action: z.enum(['MUTE', 'UNMUTE', 'BAN', 'UNBAN', 'DELETE_MESSAGE', 'SLOW_MODE', 'SET_BLOCKED_WORDS']),
  userId: id.optional(),
  messageId: id.optional(),
  seconds: z.number().int().nonnegative().optional(),
  words: z.array(z.string().max(200)).max(200).optional(),
}).strict();

/**
 * Room endpoints for hosts, moderators and ops: the same operations as the socket protocol,
 * through RoomControl (which asks the policy). Errors go through the router's one adapter.
 */
export function registerRoomRoutes(router: HttpRouter, control: RoomControl, store: RoomStore): void {
  // A read needs a token in the room's scope (the router's policy gate), and creates nothing:
  // a room with no stream is 404 ROOM_NOT_FOUND, never a new stream.
  router.add('GET', '/v1/rooms/:roomId', 'room.read', async (req) => {
    const id = req.params.roomId;
    const position = await store.snapshot(id);
    if (position.epoch === '') throw new RoomNotFoundError();
    return { status: 200, body: { roomId: id, epoch: position.epoch, offset: position.offset, snapshot: position.snapshot } };
  });
  router.add('POST', '/v1/rooms/:roomId/pin', 'room.pin', async (req) => {
    const body = pinBody.parse(req.body ?? {});
    const offset = await control.pin(req.authorize(), req.params.roomId, body.productId, body.locale);
    return { status: 200, body: { offset } };
  });
  router.add('DELETE', '/v1/rooms/:roomId/pin/:productId', 'room.pin', async (req) => {
    const offset = await control.unpin(req.authorize(), req.params.roomId, req.params.productId);
    return { status: 200, body: { offset } };
  });
  router.add('POST', '/v1/rooms/:roomId/announcements', 'room.announce', async (req) => {
    const body = announceBody.parse(req.body ?? {});
    const offset = await control.announce(req.authorize(), req.params.roomId, body.text);
    return { status: 200, body: { offset } };
  });
  router.add('PUT', '/v1/rooms/:roomId/state', 'room.state', async (req) => {
    const body = stateBody.parse(req.body ?? {});
    const phase = RoomPhase[`ROOM_${body.phase}` as keyof typeof RoomPhase];
    const offset = await control.setState(req.authorize(), req.params.roomId, phase, body.title);
    return { status: 200, body: { offset } };
  });
  router.add('POST', '/v1/rooms/:roomId/moderation', 'room.moderate', async (req) => {
    const body = moderationBody.parse(req.body ?? {});
    const offset = await control.moderate(req.authorize(), req.params.roomId, {
      action: ModerationAction[body.action],
      userId: body.userId,
      messageId: body.messageId,
      seconds: body.seconds,
      words: body.words,
    });
    return { status: 200, body: { offset } };
  });
}
