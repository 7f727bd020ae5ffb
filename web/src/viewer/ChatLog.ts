/** The chat lines a viewer sees: the newest `max`, own lines marked, deleted lines removed. */
import { flashcast } from '../../../protocol/gen/flashcast.js';

export interface ChatLine {
  id: string;
  userId: string;
  name: string;
  /** Hosts, moderators and ops are shown with a badge. */
  staff: 'host' | 'moderator' | '';
  text: string;
  own: boolean;
}

export class ChatLog {
  readonly #max: number;
  #lines: ChatLine[] = [];

  constructor(max = 100) {
    this.#max = max;
  }

  /** Oldest first. */
  get lines(): readonly ChatLine[] {
    return this.#lines;
  }

  /** Adds a message as broadcast (a line already shown, e.g. own, is not added twice). */
  add(message: flashcast.IChatMessage, own: boolean): ChatLine | null {
    const id = message.id ?? '';
    if (id && this.#lines.some((l) => l.id === id)) return null;
    const role = message.role ?? flashcast.Role.ROLE_UNSPECIFIED;
    const line: ChatLine = {
      id,
      userId: message.userId ?? '',
      name: message.name || message.userId || '',
      staff: role === flashcast.Role.HOST ? 'host' : role === flashcast.Role.MODERATOR || role === flashcast.Role.OPS ? 'moderator' : '',
      text: message.text ?? '',
      own,
    };
    this.#lines = [...this.#lines.slice(-(this.#max - 1)), line];
    return line;
  }

  /** A moderator deleted a message. True if it was shown. */
  remove(messageId: string): boolean {
    const before = this.#lines.length;
    this.#lines = this.#lines.filter((l) => l.id !== messageId);
    return this.#lines.length !== before;
  }

  clear(): void {
    this.#lines = [];
  }
}
