import { z } from 'zod';
import { ModerationAction, RoomPhase } from '../../protocol/index.js';
import { RoomNotFoundError } from '../../common/errors.js';
import { ID_PATTERN } from '../../common/keys.js';
import type { RoomControl } from '../realtime/RoomControl.js';
import type { RoomStore } from '../realtime/RoomStore.js';
import type { HttpRouter } from '../../common/http/HttpRouter.js';
import { apiSchema } from '../../common/http/apiSchema.js';

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

const offsetAnswer = apiSchema('StreamOffset', z.object({
  offset: z.number().int().describe('The position of the event in the room\'s critical stream'),
}).strict());
const restriction = z.object({
  userId: z.string(),
  until: z.number().int().describe('Unix ms when it lapses; 0: until lifted'),
}).strict();
const moderationAnswer = apiSchema('RoomModeration', z.object({
  slowModeSeconds: z.number().int().describe('Seconds a viewer waits between chat lines; 0: off'),
  words: z.array(z.string()).describe('Blocked words (lower case): a chat line containing one is refused'),
  mutes: z.array(restriction).describe('Muted users (lapsed mutes left out)'),
  bans: z.array(restriction).describe('Banned users (lapsed bans left out)'),
}).strict());
/** The room's state as protobuf JSON (docs/protocol.md `RoomSnapshot`: state, pin, announcement, moderation, inventory). */
const roomAnswer = apiSchema('Room', z.object({
  roomId: z.string(),
  epoch: z.string().describe('The stream\'s epoch: changes when the stream is lost and recreated'),
  offset: z.number().int(),
  snapshot: z.object({
    state: z.record(z.unknown()).optional(),
    pin: z.record(z.unknown()).optional(),
    announcement: z.record(z.unknown()).optional(),
    moderation: z.record(z.unknown()).optional(),
    inventory: z.array(z.record(z.unknown())),
  }).strict().describe('The protobuf RoomSnapshot in protobuf JSON form (int64 as strings)'),
}).strict());

/**
 * Room endpoints for hosts, moderators and ops: the same operations as the socket protocol,
 * through RoomControl (which asks the policy). Bodies are validated by the router against the
 * declared schemas; errors go through the router's one adapter.
 */
export function registerRoomRoutes(router: HttpRouter, control: RoomControl, store: RoomStore): void {
  // A read needs a token in the room's scope (the router's policy gate), and creates nothing:
  // a room with no stream is 404 ROOM_NOT_FOUND, never a new stream.
  router.add('GET', '/v1/rooms/:roomId', 'room.read', {
    summary: 'A room\'s state and stream position', tag: 'rooms', responses: { 200: roomAnswer }, errors: { 404: 'ROOM_NOT_FOUND: the room has no stream' },
  }, async (req) => {
    const id = req.params.roomId;
    const position = await store.snapshot(id);
    if (position.epoch === '') throw new RoomNotFoundError();
    return { status: 200, body: { roomId: id, epoch: position.epoch, offset: position.offset, snapshot: position.snapshot } };
  });
  router.add('POST', '/v1/rooms/:roomId/pin', 'room.pin', {
    summary: 'Pin a showcased product (the server builds the card from the catalog)', tag: 'rooms', body: pinBody, responses: { 200: offsetAnswer },
    errors: { 404: 'PRODUCT_NOT_FOUND', 409: 'NOT_IN_SHOWCASE', 503: 'UNAVAILABLE: commerce is off' },
  }, async (req) => {
    const offset = await control.pin(req.authorize(), req.params.roomId, req.body.productId, req.body.locale);
    return { status: 200, body: { offset } };
  });
  router.add('DELETE', '/v1/rooms/:roomId/pin/:productId', 'room.pin', { summary: 'Unpin a product', tag: 'rooms', responses: { 200: offsetAnswer } }, async (req) => {
    const offset = await control.unpin(req.authorize(), req.params.roomId, req.params.productId);
    return { status: 200, body: { offset } };
  });
  router.add('POST', '/v1/rooms/:roomId/announcements', 'room.announce', {
    summary: 'Announce a line to the room', tag: 'rooms', body: announceBody, responses: { 200: offsetAnswer },
  }, async (req) => {
    const offset = await control.announce(req.authorize(), req.params.roomId, req.body.text);
    return { status: 200, body: { offset } };
  });
  router.add('PUT', '/v1/rooms/:roomId/state', 'room.state', {
    summary: 'Set the room\'s phase (scheduled, live, paused, ended) and title', tag: 'rooms', body: stateBody, responses: { 200: offsetAnswer },
  }, async (req) => {
    const phase = RoomPhase[`ROOM_${req.body.phase}` as keyof typeof RoomPhase];
    const offset = await control.setState(req.authorize(), req.params.roomId, phase, req.body.title);
    return { status: 200, body: { offset } };
  });
  router.add('GET', '/v1/rooms/:roomId/moderation', 'room.moderate', {
    summary: 'The room\'s moderation: muted and banned users, slow mode, blocked words', tag: 'rooms', responses: { 200: moderationAnswer },
  }, async (req) => ({ status: 200, body: await control.moderation(req.authorize(), req.params.roomId) }));
  router.add('POST', '/v1/rooms/:roomId/moderation', 'room.moderate', {
    summary: 'Moderate: mute, ban, delete a message, slow mode, blocked words', tag: 'rooms', body: moderationBody, responses: { 200: offsetAnswer },
  }, async (req) => {
    const body = req.body;
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
