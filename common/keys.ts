/**
 * Redis key naming. Keys that a script touches together share one hash tag, so the
 * same code runs on Redis Cluster: `fc:{r:room42}:hist`, `fc:{r:room42}:meta`.
 * Room ids and other ids are validated before they reach here (no braces).
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** A key in the room's slot. */
  room(roomId: string, suffix: string): string {
    return `${this.prefix}:{r:${roomId}}:${suffix}`;
  }

  /** The room's sharded pub/sub channel (same slot as its keys). */
  roomChannel(roomId: string): string {
    return `${this.prefix}:{r:${roomId}}:ch`;
  }

  /** A key in a flash deal's slot: `fc:{d:deal1}:stock`. */
  deal(dealId: string, suffix: string): string {
    return `${this.prefix}:{d:${dealId}}:${suffix}`;
  }

  /** A key under any hash tag: `fc:{<tag>}:suffix` (`deal(id, s)` is `tagged('d:' + id, s)`). */
  tagged(tag: string, suffix: string): string {
    return `${this.prefix}:{${tag}}:${suffix}`;
  }

  /** A global (unslotted) key. */
  global(suffix: string): string {
    return `${this.prefix}:${suffix}`;
  }
}

/** Ids allowed for rooms, products, deals, users: safe inside keys, URLs and topics. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
