import { flashcast, ErrorCode, ModerationAction, RoomPhase } from '../../protocol/index.js';
import type { Principal } from '../auth/TokenService.js';
import { TokenService } from '../auth/TokenService.js';
import { ForbiddenError, InvalidArgumentError } from '../errors.js';
import { isValidId } from '../redis/keys.js';
import type { RoomPublisher } from './RoomPublisher.js';
import type { ModerationChange, RoomStore } from './RoomStore.js';

const MAX_TEXT = 500;
const MAX_WORDS = 200;

/**
 * What hosts, moderators and ops do to a room (pin, announce, lifecycle,
 * moderation), checked by role and validated. Shared by the socket protocol and
 * the HTTP API so both behave the same.
 */
export class RoomControl {
  constructor(
    private readonly store: RoomStore,
    private readonly publisher: RoomPublisher,
  ) {}

  /** Pins a product card; everyone in the room sees it (and late joiners in the snapshot). */
  async pin(who: Principal, roomId: string, product: flashcast.IProductCard | null | undefined): Promise<number> {
    this.#requireHost(who, roomId);
    if (!product || !isValidId(product.productId)) throw new InvalidArgumentError('product.productId is required');
    if (typeof product.title === 'string' && product.title.length > 200) throw new InvalidArgumentError('title too long');
    if (product.imageUrl && !/^https?:\/\/\S{1,2000}$/.test(product.imageUrl)) {
      throw new InvalidArgumentError('imageUrl must be an http(s) URL');
    }
    validateMoney(product.price, 'price');
    validateMoney(product.dealPrice, 'dealPrice');
    return this.publisher.publish(roomId, { pin: { product, byUserId: who.userId } });
  }

  async unpin(who: Principal, roomId: string, productId: string): Promise<number> {
    this.#requireHost(who, roomId);
    if (!isValidId(productId)) throw new InvalidArgumentError('productId is required');
    return this.publisher.publish(roomId, { unpin: { productId } });
  }

  async announce(who: Principal, roomId: string, text: string): Promise<number> {
    this.#requireHost(who, roomId);
    const clean = cleanText(text);
    if (!clean) throw new InvalidArgumentError(`text must be 1-${MAX_TEXT} characters`);
    return this.publisher.publish(roomId, { announcement: { text: clean, byUserId: who.userId } });
  }

  async setState(who: Principal, roomId: string, phase: number, title?: string): Promise<number> {
    this.#requireHost(who, roomId);
    if (!Object.values(RoomPhase).includes(phase) || phase === RoomPhase.ROOM_PHASE_UNSPECIFIED) {
      throw new InvalidArgumentError('phase must be SCHEDULED, LIVE, PAUSED or ENDED');
    }
    const state: flashcast.IRoomState = { phase, title: (title ?? '').slice(0, 200), hostUserId: who.userId };
    return this.publisher.publish(roomId, { state });
  }

  /** Applies a moderation action (host, moderator or ops). */
  async moderate(who: Principal, roomId: string, m: flashcast.IModerate): Promise<number> {
    this.#requireModerator(who, roomId);
    const action = m.action ?? ModerationAction.MODERATION_UNSPECIFIED;
    const seconds = m.seconds ?? 0;
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 30 * 24 * 3600) {
      throw new InvalidArgumentError('seconds out of range');
    }
    let change: ModerationChange | null = null;
    const needsUser = [ModerationAction.MUTE, ModerationAction.UNMUTE, ModerationAction.BAN, ModerationAction.UNBAN];
    if (needsUser.includes(action)) {
      if (!isValidId(m.userId)) throw new InvalidArgumentError('userId is required');
      if (m.userId === who.userId) throw new InvalidArgumentError('cannot moderate yourself');
    }
    switch (action) {
      case ModerationAction.MUTE:
        change = { kind: 'mute', userId: m.userId!, seconds };
        break;
      case ModerationAction.UNMUTE:
        change = { kind: 'unmute', userId: m.userId! };
        break;
      case ModerationAction.BAN:
        change = { kind: 'ban', userId: m.userId!, seconds };
        break;
      case ModerationAction.UNBAN:
        change = { kind: 'unban', userId: m.userId! };
        break;
      case ModerationAction.SLOW_MODE:
        if (seconds > 3600) throw new InvalidArgumentError('slow mode is at most 3600 seconds');
        change = { kind: 'slow', seconds };
        break;
      case ModerationAction.SET_BLOCKED_WORDS: {
        const words = (m.words ?? []).map((w) => w.trim().toLowerCase()).filter(Boolean);
        if (words.length > MAX_WORDS || words.some((w) => w.length > 50)) {
          throw new InvalidArgumentError(`at most ${MAX_WORDS} words of at most 50 characters`);
        }
        change = { kind: 'words', words };
        break;
      }
      case ModerationAction.DELETE_MESSAGE:
        if (typeof m.messageId !== 'string' || m.messageId.length === 0 || m.messageId.length > 64) {
          throw new InvalidArgumentError('messageId is required');
        }
        break;
      default:
        throw new InvalidArgumentError('unknown moderation action');
    }
    if (change) await this.store.saveModeration(roomId, change);
    const event: flashcast.IModerationEvent = {
      action,
      userId: m.userId ?? '',
      messageId: m.messageId ?? '',
      seconds,
      byUserId: who.userId,
    };
    return this.publisher.publish(roomId, { moderation: event });
  }

  #requireHost(who: Principal, roomId: string): void {
    if (!isValidId(roomId)) throw new InvalidArgumentError('invalid room id');
    if (who.role === 'ops') return;
    if (who.role !== 'host' || !TokenService.canJoin(who, roomId)) {
      throw new ForbiddenError('only the room host may do this', ErrorCode.Forbidden);
    }
  }

  #requireModerator(who: Principal, roomId: string): void {
    if (!isValidId(roomId)) throw new InvalidArgumentError('invalid room id');
    if (who.role === 'ops') return;
    if ((who.role !== 'host' && who.role !== 'moderator') || !TokenService.canJoin(who, roomId)) {
      throw new ForbiddenError('only the room host or a moderator may do this', ErrorCode.Forbidden);
    }
  }
}

/** Trims and bounds user text; returns '' when empty or too long. */
export function cleanText(text: unknown): string {
  if (typeof text !== 'string') return '';
  // Strip control characters except newline.
  const clean = text.replace(/[\u0000-\u0009\u000B-\u001F\u007F]/g, '').trim();
  return clean.length > 0 && clean.length <= MAX_TEXT ? clean : '';
}

function validateMoney(money: flashcast.IMoney | null | undefined, field: string): void {
  if (!money) return;
  const amount = Number(money.amount);
  if (!Number.isSafeInteger(amount) || amount < 0) throw new InvalidArgumentError(`${field}.amount must be a non-negative integer in minor units`);
  if (typeof money.currency !== 'string' || !/^[A-Z]{3}$/.test(money.currency)) {
    throw new InvalidArgumentError(`${field}.currency must be an ISO 4217 code`);
  }
}
