/**
 * What hosts, moderators and ops do to a room (pin, unpin, announce, phase, moderation),
 * validated and authorized once for the socket frames and the HTTP room routes.
 */
import { flashcast, ModerationAction, RoomPhase } from '../../protocol/index.js';
import { Policy } from '../../common/auth/Policy.js';
import type { Principal } from '../../common/auth/TokenService.js';
import { codePointLength, sanitizeText } from '../../common/text.js';
import { InvalidArgumentError, UnavailableError } from '../../common/errors.js';
import { isValidId } from '../../common/keys.js';
import type { RoomPublisher } from './RoomPublisher.js';
import type { ModerationChange, RoomStore } from './RoomStore.js';

/** Longest chat message or announcement, in characters. */
const MAX_TEXT = 500;
/** Longest room title, in characters. */
const MAX_TITLE = 200;
const MAX_WORDS = 200;
const MAX_WORD = 50;

/**
 * Builds the card a pin shows, from the catalog: title, image, price and the product's current
 * deal in that room. Throws (404 PRODUCT_NOT_FOUND, 409 NOT_IN_SHOWCASE) for a product the room
 * may not pin. Commerce provides it; the client never supplies card fields.
 */
export interface PinCardSource {
  card(roomId: string, productId: string, locale?: string): Promise<flashcast.IProductCard>;
}

/** A room's moderation settings and restrictions (RoomControl.moderation). */
export interface ModerationView {
  slowModeSeconds: number;
  words: string[];
  /** `until`: Unix ms; 0 = until lifted. */
  mutes: { userId: string; until: number }[];
  bans: { userId: string; until: number }[];
}

/**
 * What hosts, moderators and ops do to a room (pin, announce, lifecycle, moderation),
 * authorized by the policy and validated. Shared by the socket protocol and the HTTP API so
 * both behave the same.
 */
export class RoomControl {
  #cards: PinCardSource | null = null;

  constructor(
    private readonly store: RoomStore,
    private readonly publisher: Pick<RoomPublisher, 'publish'>,
  ) {}

  /** Where pin cards come from (commerce). Without one, pinning answers UNAVAILABLE. */
  setCardSource(source: PinCardSource | null): void {
    this.#cards = source;
  }

  /**
   * Pins a showcase product; everyone in the room sees its card (and late joiners in the
   * snapshot). Only `productId` (and a locale) is taken from the caller: the card is built
   * by the card source. Nothing is broadcast when the product cannot be pinned.
   */
  async pin(who: Principal, roomId: string, productId: unknown, locale?: string): Promise<number> {
    validRoom(roomId);
    Policy.require(who, 'room.pin', { roomId });
    if (!isValidId(productId)) throw new InvalidArgumentError('productId is required');
    if (locale !== undefined && locale !== '' && !/^[a-z]{2}(-[A-Z]{2})?$/.test(locale)) throw new InvalidArgumentError('invalid locale');
    if (!this.#cards) throw new UnavailableError('pinning needs the catalog: this node runs without commerce (FLASHCAST_COMMERCE=0)');
    const product = await this.#cards.card(roomId, productId, locale || undefined);
    return this.publisher.publish(roomId, { pin: { product, byUserId: who.userId } });
  }

  async unpin(who: Principal, roomId: string, productId: unknown): Promise<number> {
    validRoom(roomId);
    Policy.require(who, 'room.pin', { roomId });
    if (!isValidId(productId)) throw new InvalidArgumentError('productId is required');
    return this.publisher.publish(roomId, { unpin: { productId } });
  }

  async announce(who: Principal, roomId: string, text: unknown): Promise<number> {
    validRoom(roomId);
    Policy.require(who, 'room.announce', { roomId });
    const clean = cleanText(text);
    if (!clean) throw new InvalidArgumentError(`text must be 1-${MAX_TEXT} characters`);
    return this.publisher.publish(roomId, { announcement: { text: clean, byUserId: who.userId } });
  }

  async setState(who: Principal, roomId: string, phase: number, title?: unknown): Promise<number> {
    validRoom(roomId);
    Policy.require(who, 'room.state', { roomId });
    if (!Object.values(RoomPhase).includes(phase) || phase === RoomPhase.ROOM_PHASE_UNSPECIFIED) {
      throw new InvalidArgumentError('phase must be SCHEDULED, LIVE, PAUSED or ENDED');
    }
    const clean = sanitizeText(title);
    if (codePointLength(clean) > MAX_TITLE) throw new InvalidArgumentError(`title is at most ${MAX_TITLE} characters`);
    const state: flashcast.IRoomState = { phase, title: clean, hostUserId: who.userId };
    return this.publisher.publish(roomId, { state });
  }

  /**
   * The room's moderation as its staff sees it: who is muted or banned (until when, ms; 0 =
   * until lifted; lapsed ones left out), slow mode and the blocked words. Host, moderator or ops.
   */
  async moderation(who: Principal, roomId: string): Promise<ModerationView> {
    validRoom(roomId);
    Policy.require(who, 'room.moderate', { roomId });
    const state = await this.store.loadModeration(roomId);
    const now = Date.now();
    const current = (m: Map<string, number>) =>
      [...m.entries()].filter(([, until]) => until === 0 || until > now).map(([userId, until]) => ({ userId, until })).sort((a, b) => a.userId.localeCompare(b.userId));
    return { slowModeSeconds: state.slowModeSeconds, words: [...state.words].sort(), mutes: current(state.mutes), bans: current(state.bans) };
  }

  /** Applies a moderation action (host, moderator or ops). */
  async moderate(who: Principal, roomId: string, m: flashcast.IModerate): Promise<number> {
    validRoom(roomId);
    Policy.require(who, 'room.moderate', { roomId });
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
        const raw = m.words ?? [];
        if (raw.length > MAX_WORDS) throw new InvalidArgumentError(`at most ${MAX_WORDS} words of at most ${MAX_WORD} characters`);
        const words = [...new Set(raw.map((w) => sanitizeText(w).toLowerCase()).filter(Boolean))];
        if (words.some((w) => codePointLength(w) > MAX_WORD)) {
          throw new InvalidArgumentError(`at most ${MAX_WORDS} words of at most ${MAX_WORD} characters`);
        }
        change = { kind: 'words', words };
        break;
      }
      case ModerationAction.DELETE_MESSAGE:
        if (!isValidId(m.messageId)) throw new InvalidArgumentError('messageId is required');
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
}

function validRoom(roomId: unknown): asserts roomId is string {
  if (!isValidId(roomId)) throw new InvalidArgumentError('invalid room id');
}

/** Chat and announcement text: sanitised (common/text.ts); '' when empty or over MAX_TEXT. */
export function cleanText(text: unknown): string {
  const clean = sanitizeText(text, { multiline: true });
  return clean.length > 0 && codePointLength(clean) <= MAX_TEXT ? clean : '';
}
