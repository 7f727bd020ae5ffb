/**
 * Redis Cluster hash slots computed here, so that code can choose hash tags by slot: the slot of
 * a key (CRC16 of its hash tag, as Redis computes it) and a tag whose slot falls in a given range.
 */

const SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff];
  return crc;
}

/** Redis Cluster's hash slots: which slot a key lives in, and tags chosen by slot. */
export class HashSlot {
  /** Number of hash slots in a Redis Cluster. */
  static readonly COUNT = SLOTS;

  private constructor() {}

  /** The slot of a key: the CRC16 of its hash tag (the first non-empty `{...}`), or of the whole key. */
  static of(key: string): number {
    let hashed = key;
    const open = key.indexOf('{');
    if (open >= 0) {
      const close = key.indexOf('}', open + 1);
      if (close > open + 1) hashed = key.slice(open + 1, close);
    }
    return crc16(Buffer.from(hashed, 'utf8')) % SLOTS;
  }

  /**
   * Which of `parts` equal ranges of the slot space a slot is in. A cluster created with
   * `redis-cli --cluster create` gives each of its M masters one of M such ranges, so with
   * `parts` = M this is the master that owns the slot.
   */
  static range(slot: number, parts: number): number {
    return Math.floor((slot * parts) / SLOTS);
  }

  /**
   * A hash tag made from `base` whose slot is in range `range` of `parts` (see `range`): `base`
   * itself if it is, else the first of `base.1`, `base.2`, ... that is. Deterministic, so every
   * process derives the same tag; about `parts` tries.
   */
  static tagInRange(base: string, range: number, parts: number): string {
    if (!Number.isInteger(parts) || parts < 1 || parts > SLOTS || !Number.isInteger(range) || range < 0 || range >= parts) {
      throw new TypeError('range must be an integer in [0, parts) and parts in [1, 16384]');
    }
    for (let i = 0; ; i++) {
      const tag = i === 0 ? base : `${base}.${i}`;
      if (HashSlot.range(HashSlot.of(`{${tag}}`), parts) === range) return tag;
    }
  }
}
