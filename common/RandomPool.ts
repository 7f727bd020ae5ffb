import { randomBytes } from 'node:crypto';

/**
 * Random hex strings from the CSPRNG, drawn from a pooled buffer: one `randomBytes` call
 * per `poolSize` bytes instead of one per id (each call is a syscall, slow under load).
 */
export class RandomPool {
  readonly #poolSize: number;
  #pool = Buffer.alloc(0);
  #offset = 0;

  constructor(poolSize = 65_536) {
    if (!Number.isInteger(poolSize) || poolSize < 16) throw new TypeError('poolSize must be an integer >= 16');
    this.#poolSize = poolSize;
  }

  /** `bytes` random bytes as 2 × `bytes` lowercase hex digits. */
  hex(bytes: number): string {
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > this.#poolSize) throw new TypeError('bytes out of range');
    if (this.#offset + bytes > this.#pool.length) {
      this.#pool = randomBytes(this.#poolSize);
      this.#offset = 0;
    }
    const s = this.#pool.toString('hex', this.#offset, this.#offset + bytes);
    this.#offset += bytes;
    return s;
  }
}
