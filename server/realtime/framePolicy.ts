/** The policy action of each client frame kind, which the frame dispatcher asks for before any handler runs. */
import type { flashcast } from '../../protocol/index.js';
import type { Action } from '../../common/auth/Policy.js';

/** A ClientFrame kind: a member name of its `msg` oneof. */
export type ClientFrameKind = NonNullable<flashcast.ClientFrame['msg']>;

/**
 * The action each client frame kind performs. The gateway asks the policy for it before
 * dispatching any frame, the delegated ones (`buy`, `media`) included; a kind missing here
 * is answered UNKNOWN_MESSAGE. The authorization matrix test checks this table covers every
 * member of the `ClientFrame.msg` oneof.
 */
export const FRAME_ACTIONS: Readonly<Record<ClientFrameKind, Action>> = {
  ping: 'session',
  leave: 'session',
  join: 'room.join',
  chat: 'room.chat',
  react: 'room.react',
  moderate: 'room.moderate',
  pin: 'room.pin',
  unpin: 'room.pin',
  roomState: 'room.state',
  announce: 'room.announce',
  buy: 'checkout.buy',
  media: 'media.consume',
};

/** The action of a frame kind, or undefined for a kind this server does not know. */
export function frameAction(kind: string | undefined): Action | undefined {
  return kind !== undefined && Object.hasOwn(FRAME_ACTIONS, kind) ? FRAME_ACTIONS[kind as ClientFrameKind] : undefined;
}

/** The room a frame is about ('' for frames without one, e.g. ping). */
export function frameRoom(frame: flashcast.ClientFrame): string {
  const kind = frame.msg;
  if (!kind || kind === 'ping') return '';
  const body = frame[kind] as { room?: string | null } | null | undefined;
  return body?.room ?? '';
}
