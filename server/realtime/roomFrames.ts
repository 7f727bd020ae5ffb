/**
 * The built-in client frames and the part that answers each: ping here; join and leave by
 * RoomMembership; chat and react by ChatIngress; moderate, pin, unpin, roomState and
 * announce by RoomControl (the same operations as the HTTP room routes).
 */
import type { ChatIngress } from './ChatIngress.js';
import type { FrameDispatcher } from './FrameDispatcher.js';
import type { RoomControl } from './RoomControl.js';
import type { RoomMembership } from './RoomMembership.js';

export interface RoomFrameParts {
  membership: RoomMembership;
  chat: ChatIngress;
  control: RoomControl;
}

/** Registers the built-in frame kinds with the dispatcher. */
export function registerRoomFrames(frames: FrameDispatcher, { membership, chat, control }: RoomFrameParts): void {
  frames.register('ping', (frame) => ({ pong: { clientTime: frame.ping!.clientTime, serverTime: Date.now() } }));
  frames.register('join', async (frame, s) => {
    await membership.join(s.ws, s.rid, frame.join!);
    return null; // joined (with its replay) is sent by the join itself, in one cork
  });
  frames.register('leave', (frame, s) => membership.leave(s.ws, frame.leave!.room ?? ''), { roomInErrors: true });
  frames.register('chat', (frame, s) => chat.chat(s.ws, frame.chat!));
  frames.register('react', (frame, s) => chat.react(s.ws, s.rid, frame.react!));
  // Host, moderator and ops commands answer `ok {offset}` (the event's position in the room's stream).
  const ok = (offset: number) => ({ ok: { offset } });
  const command = { roomInErrors: true };
  frames.register('moderate', (frame, s) => control.moderate(s.principal, frame.moderate!.room ?? '', frame.moderate!).then(ok), command);
  frames.register(
    'pin',
    // Only product.productId is read: the card comes from the catalog.
    (frame, s) => control.pin(s.principal, frame.pin!.room ?? '', frame.pin!.product?.productId ?? '', frame.pin!.locale ?? '').then(ok),
    command,
  );
  frames.register('unpin', (frame, s) => control.unpin(s.principal, frame.unpin!.room ?? '', frame.unpin!.productId ?? '').then(ok), command);
  frames.register(
    'roomState',
    (frame, s) => control.setState(s.principal, frame.roomState!.room ?? '', frame.roomState!.phase ?? 0, frame.roomState!.title ?? '').then(ok),
    command,
  );
  frames.register('announce', (frame, s) => control.announce(s.principal, frame.announce!.room ?? '', frame.announce!.text ?? '').then(ok), command);
}
