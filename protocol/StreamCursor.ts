/**
 * The stream-position decision for one room's critical stream, in one place: given where a
 * reader stands ({epoch, offset} of the last event it delivered) and the position of an
 * incoming event, or a recovery answer, say what to do. Pure: no I/O, no timers; used by
 * the gateway (RoomHub, LocalRoom, joins) and the client SDK alike.
 *
 * Positions (see docs/protocol.md "Offsets and epochs"):
 * - Offsets start at 1 in every epoch and grow by 1 per critical event.
 * - The epoch names one incarnation of the stream; when a stream is lost and recreated its
 *   epoch changes and nothing before it can be continued.
 * - `NO_STREAM` (epoch '' at offset 0) means "the room had no stream when I looked": the
 *   stream's first event (offset 1) continues it under whatever epoch it carries, and a
 *   recovery from it replays the whole stream (recover-3.lua, `fromStart`).
 * - A cursor without a position (`null`) has not been positioned yet: every event asks
 *   for a resync.
 */

/** A position in a room's critical stream. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** "The room had no stream": epoch '' at offset 0. */
export const NO_STREAM: Readonly<StreamPosition> = Object.freeze({ epoch: '', offset: 0 });

/** What to do with an incoming event. */
export const StreamDecision = {
  /** The next event: deliver it (the cursor advances to it). */
  Deliver: 'deliver',
  /** At or before the position: already delivered, drop it. */
  Duplicate: 'duplicate',
  /** Events are missing before it: fill from history (or rejoin with recovery). */
  Gap: 'gap',
  /** Another epoch, or the cursor has no position: only a snapshot settles where we are. */
  Resync: 'resync',
} as const;

export type StreamDecision = (typeof StreamDecision)[keyof typeof StreamDecision];

/** What a recovery from a position returned (RoomStore.recover, a node's ring, a join reply). */
export interface RecoveryAnswer {
  /** The answerer replayed the events after the position (else it sent a snapshot). */
  recovered: boolean;
  /** The stream's epoch when it answered ('' when the room had no stream). */
  epoch: string;
  /** The stream's top offset when it answered (the snapshot's position when not recovered). */
  offset: number;
  /** The offsets of the replayed events, oldest first, when the caller knows them; checked for contiguity. */
  offsets?: readonly number[];
}

/**
 * One reader's position in one room's critical stream, and the rules for moving it.
 * `decide` is pure; `accept`, `recover` and `reset` move the position.
 */
export class StreamCursor {
  #epoch = '';
  #offset = 0;
  #positioned = false;

  /** Starts at `position`, or unpositioned (every event resyncs until `reset`/`recover`). */
  constructor(position: StreamPosition | null = null) {
    this.reset(position);
  }

  /** True for the "no stream yet" position ('' at 0). */
  static isNoStream(position: StreamPosition): boolean {
    return position.epoch === '' && position.offset === 0;
  }

  /**
   * True if the events of a stream in `epoch` continue from `position`: the same epoch,
   * or `position` is `NO_STREAM` (the stream was created after it, from offset 1).
   */
  static continues(position: StreamPosition, epoch: string): boolean {
    return position.epoch === epoch || StreamCursor.isNoStream(position);
  }

  /**
   * True if `answer` recovers a reader at `from` (Centrifuge's isStreamRecovered): the
   * answerer says so, the reader had a position the answer's stream continues, and the
   * replayed offsets (when known) run from `from.offset + 1` to the answer's top without a
   * hole; no replayed events means the reader is already at the top (or ahead of a node
   * that answered from memory, whose top is then the reader's).
   */
  static isRecovered(from: StreamPosition | null, answer: RecoveryAnswer): boolean {
    if (!answer.recovered || from === null) return false;
    if (!StreamCursor.continues(from, answer.epoch)) return false;
    const offsets = answer.offsets;
    if (offsets === undefined) return true;
    if (offsets.length === 0) return answer.offset === from.offset;
    for (let i = 0; i < offsets.length; i++) if (offsets[i] !== from.offset + 1 + i) return false;
    return offsets[offsets.length - 1] === answer.offset;
  }

  /** The position, or null when unpositioned. */
  get position(): StreamPosition | null {
    return this.#positioned ? { epoch: this.#epoch, offset: this.#offset } : null;
  }

  /** The epoch ('' before any stream, or when unpositioned). */
  get epoch(): string {
    return this.#epoch;
  }

  /** The offset of the last delivered event (0 before any, or when unpositioned). */
  get offset(): number {
    return this.#offset;
  }

  /** True once positioned (by the constructor, `reset` or `recover`). */
  get positioned(): boolean {
    return this.#positioned;
  }

  /**
   * What to do with an event at `event` (its epoch and offset >= 1), without moving:
   * - unpositioned: resync;
   * - at `NO_STREAM`: offset 1 delivers (and adopts the event's epoch), a later one is a gap;
   * - another epoch: resync;
   * - same epoch: at or before the offset a duplicate, the next one delivers, later a gap.
   */
  decide(event: StreamPosition): StreamDecision {
    checkEvent(event);
    if (!this.#positioned) return StreamDecision.Resync;
    if (this.#epoch === '' && this.#offset === 0) return event.offset === 1 ? StreamDecision.Deliver : StreamDecision.Gap;
    if (event.epoch !== this.#epoch) return StreamDecision.Resync;
    if (event.offset <= this.#offset) return StreamDecision.Duplicate;
    return event.offset === this.#offset + 1 ? StreamDecision.Deliver : StreamDecision.Gap;
  }

  /** Decides, and on `Deliver` moves to the event. Returns the decision. */
  accept(event: StreamPosition): StreamDecision {
    const decision = this.decide(event);
    if (decision === StreamDecision.Deliver) {
      this.#epoch = event.epoch;
      this.#offset = event.offset;
    }
    return decision;
  }

  /**
   * Applies the answer to a recovery from this position. Recovered (see `isRecovered`): the
   * position stays, the replayed events follow and are `accept`ed one by one; returns true.
   * Otherwise the reader takes a snapshot as of the answer: the position becomes the
   * answer's; returns false (resync). (An answer that claims `recovered` but does not recover
   * this position carries no snapshot: the caller then asks for one.)
   */
  recover(answer: RecoveryAnswer): boolean {
    if (StreamCursor.isRecovered(this.position, answer)) return true;
    this.reset({ epoch: answer.epoch, offset: answer.offset });
    return false;
  }

  /** Moves to `position` (a snapshot's, a join reply's), or back to unpositioned with null. */
  reset(position: StreamPosition | null): void {
    if (position === null) {
      this.#epoch = '';
      this.#offset = 0;
      this.#positioned = false;
      return;
    }
    if (typeof position.epoch !== 'string' || !Number.isSafeInteger(position.offset) || position.offset < 0) {
      throw new TypeError(`invalid stream position ${JSON.stringify(position)}`);
    }
    if (position.epoch === '' && position.offset !== 0) throw new TypeError('a position without an epoch must be at offset 0');
    this.#epoch = position.epoch;
    this.#offset = position.offset;
    this.#positioned = true;
  }
}

/** An event's position: a non-empty epoch and an offset >= 1 (events outside the stream carry 0 and are not the cursor's). */
function checkEvent(event: StreamPosition): void {
  if (typeof event.epoch !== 'string' || event.epoch === '' || !Number.isSafeInteger(event.offset) || event.offset < 1) {
    throw new TypeError(`invalid event position ${JSON.stringify(event)}`);
  }
}
