import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis, Cluster } from 'ioredis';

/**
 * A Lua script from a `scripts/NAME-N.lua` file (N = key count), loaded once and called by
 * SHA. After a Redis restart or failover (NOSCRIPT) it is loaded again.
 */
export class RedisScript {
  readonly name: string;
  readonly numKeys: number;
  readonly sha: string;
  readonly #source: string;

  private constructor(name: string, numKeys: number, source: string) {
    this.name = name;
    this.numKeys = numKeys;
    this.#source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Reads `scripts/<file>`; the key count comes from the file name. */
  static fromFile(file: string, dir: string): RedisScript {
    const m = /^([a-z][a-z0-9-]*)-(\d+)\.lua$/.exec(file);
    if (!m) throw new TypeError(`script file name must be NAME-N.lua: ${file}`);
    return new RedisScript(m[1], Number(m[2]), readFileSync(`${dir}/${file}`, 'utf8'));
  }

  /** SCRIPT LOAD on the given client (on a cluster, ioredis loads it on each node lazily). */
  async load(redis: Redis | Cluster): Promise<void> {
    const sha = (await redis.script('LOAD', this.#source)) as string;
    if (sha !== this.sha) throw new Error(`script ${this.name}: SHA mismatch`);
  }

  /** EVALSHA, loading the script again on NOSCRIPT. */
  async run<T = unknown>(redis: Redis | Cluster, keys: string[], args: (string | number)[]): Promise<T> {
    if (keys.length !== this.numKeys) throw new TypeError(`script ${this.name} takes ${this.numKeys} keys`);
    try {
      return (await redis.evalsha(this.sha, this.numKeys, ...keys, ...args)) as T;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return (await redis.eval(this.#source, this.numKeys, ...keys, ...args)) as T;
      }
      throw error;
    }
  }
}
