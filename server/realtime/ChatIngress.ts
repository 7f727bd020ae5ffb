/**
 * Chat ingress: admits a member's chat line (rate, text, mutes, bans, blocked words, slow
 * mode, the room's ingress budget, per-connection dedup) into the room's Redis channel,
 * and counts reactions for the next stats report. The one writer of `SocketData.recentChat`.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import { ROLE_BY_NAME, RoomPhase, encodeServerFrame, flashcast } from '../../protocol/index.js';
import { BannedError, Policy } from '../../common/auth/Policy.js';
import { BlockedWordError, InvalidArgumentError, MutedError, RoomEndedError, SlowModeError } from '../../common/errors.js';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import type { FloodGuard } from './FloodGuard.js';
import { cleanText } from './RoomControl.js';
import type { RoomMembership } from './RoomMembership.js';
import { MessageClass, type RoomStore } from './RoomStore.js';
import type { SocketData } from './SocketData.js';

/** Client message ids remembered per connection for dedup. */
const RECENT_CHAT_KEPT = 64;

export interface ChatIngressOptions {
  membership: RoomMembership;
  store: RoomStore;
  guard: FloodGuard;
  metrics: GatewayMetrics;
}

/** Turns members' chat frames and reactions into room traffic. */
export class ChatIngress {
  readonly #membership: RoomMembership;
  readonly #store: RoomStore;
  readonly #guard: FloodGuard;
  readonly #metrics: GatewayMetrics;

  constructor(options: ChatIngressOptions) {
    this.#membership = options.membership;
    this.#store = options.store;
    this.#guard = options.guard;
    this.#metrics = options.metrics;
  }

  /**
   * Admits a chat line; the reply (`chatAccepted`) carries the message as the room sees it.
   * Room staff (its host and moderators, ops) are exempt from mutes, slow mode, blocked words
   * and the room's ingress budget, and their lines are never sampled out.
   */
  async chat(ws: WebSocket<SocketData>, chat: flashcast.ISendChat): Promise<flashcast.IServerFrame> {
    const data = ws.getUserData();
    const principal = data.principal!;
    const roomId = chat.room ?? '';
    const room = this.#membership.memberRoom(ws, roomId);
    this.#guard.take(ws, 'chat');
    const text = cleanText(chat.text);
    if (!text) throw new InvalidArgumentError('text must be 1-500 characters');
    const clientMsgId = chat.clientMsgId ?? '';
    if (clientMsgId.length > 64) throw new InvalidArgumentError('clientMsgId is at most 64 characters');
    const privileged = Policy.decide(principal, 'room.moderate', { roomId }).allow;
    if (room.phase === RoomPhase.ROOM_ENDED && !privileged) throw new RoomEndedError();
    if (room.isBanned(principal.userId)) throw new BannedError();
    if (!privileged) {
      if (room.isMuted(principal.userId)) throw new MutedError();
      if (room.blockedWordIn(text)) throw new BlockedWordError();
    }
    const message: flashcast.IChatMessage = {
      id: chatId(),
      userId: principal.userId,
      name: principal.name,
      role: ROLE_BY_NAME[principal.role],
      text,
      clientMsgId,
    };
    const previous = clientMsgId ? data.recentChat.get(clientMsgId) : undefined;
    if (previous) return { chatAccepted: { room: roomId, message: { ...message, id: previous } } };
    if (!privileged && !room.admitChat()) {
      // The room's chat already outruns what any viewer can read: the sender sees
      // its message, nobody else would have been shown it.
      this.#metrics.dropped.inc({ reason: 'ingress' });
      return { chatAccepted: { room: roomId, message } };
    }
    const frame = encodeServerFrame({ event: { room: roomId, ts: Date.now(), chat: message } });
    const payload = Buffer.allocUnsafe(frame.length + 1);
    payload[0] = privileged ? MessageClass.PriorityChat : MessageClass.Chat;
    payload.set(frame, 1);
    const admission = await this.#store.publishChat(roomId, payload, {
      userId: principal.userId,
      clientMsgId,
      messageId: message.id!,
      slowModeMs: privileged ? 0 : room.slowModeSeconds * 1000,
    });
    if (admission.result === 'slow') throw new SlowModeError(admission.retryAfterMs ?? 0);
    if (admission.result === 'dup') message.id = admission.originalId;
    if (clientMsgId) {
      data.recentChat.set(clientMsgId, message.id!);
      if (data.recentChat.size > RECENT_CHAT_KEPT) data.recentChat.delete(data.recentChat.keys().next().value!);
    }
    return { chatAccepted: { room: roomId, message } };
  }

  /** Counts a member's reactions into the room's next stats report; replies `ok` when asked (rid). */
  react(ws: WebSocket<SocketData>, rid: number, react: flashcast.IReact): flashcast.IServerFrame | null {
    const room = this.#membership.memberRoom(ws, react.room ?? '');
    const count = react.count || 1;
    const kind = react.kind ?? 0;
    if (!Number.isInteger(count) || count < 1 || count > 50) throw new InvalidArgumentError('count must be 1-50');
    if (!(kind in flashcast.ReactionKind) || kind === 0) throw new InvalidArgumentError('unknown reaction kind');
    this.#guard.take(ws, 'react');
    room.addReactions(kind, count);
    return rid ? { ok: {} } : null;
  }
}

let chatCounter = 0;
const chatPrefix = randomBytes(4).toString('base64url');

/** Unique chat message id: node-random prefix, time, counter. */
function chatId(): string {
  chatCounter = (chatCounter + 1) % 1_000_000;
  return `${chatPrefix}${Date.now().toString(36)}${chatCounter.toString(36)}`;
}
