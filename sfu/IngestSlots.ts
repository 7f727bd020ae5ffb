import { MediaLimitError } from './errors.js';

/** One reserved ingest place. `release()` frees it; calling it again does nothing. */
export interface IngestSlot {
  readonly roomId: string;
  readonly released: boolean;
  release(): void;
}

/**
 * The WHIP ingest budget of one process: at most `perRoom` ingests per room and
 * `total` over all rooms, counting ingests being set up as well as live ones.
 * `reserve` is synchronous, so callers that reserve before their first `await`
 * cannot overshoot however many requests race.
 */
export class IngestSlots {
  readonly #perRoom: number;
  readonly #total: number;
  readonly #rooms = new Map<string, number>();
  #count = 0;

  constructor(limits: { perRoom: number; total: number }) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < 1) throw new TypeError(`${k} must be a positive integer`);
    }
    this.#perRoom = limits.perRoom;
    this.#total = limits.total;
  }

  /** Slots held over all rooms. */
  get size(): number {
    return this.#count;
  }

  /** Slots held in one room. */
  inRoom(roomId: string): number {
    return this.#rooms.get(roomId) ?? 0;
  }

  /** Takes a slot in `roomId`, or throws MediaLimitError (429, `MEDIA_LIMIT_REACHED`). */
  reserve(roomId: string): IngestSlot {
    const inRoom = this.inRoom(roomId);
    if (inRoom >= this.#perRoom) throw new MediaLimitError(`at most ${this.#perRoom} WHIP ingests per room`);
    if (this.#count >= this.#total) throw new MediaLimitError(`this media server carries its maximum of ${this.#total} WHIP ingests`);
    this.#rooms.set(roomId, inRoom + 1);
    this.#count++;
    let released = false;
    return {
      roomId,
      get released() {
        return released;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#count--;
        const left = this.inRoom(roomId) - 1;
        if (left > 0) this.#rooms.set(roomId, left);
        else this.#rooms.delete(roomId);
      },
    };
  }
}
