import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis, Cluster } from 'ioredis';

/** An argument of a script call (ARGV); Buffers pass binary payloads as they are. */
export type ScriptArg = string | number | Buffer;

/** The Buffer-reply variants ioredis generates for every command (its typings leave these two out). */
type BufferEval = {
  evalshaBuffer(sha: string, numKeys: number, ...keysAndArgs: ScriptArg[]): Promise<unknown>;
  evalBuffer(source: string, numKeys: number, ...keysAndArgs: ScriptArg[]): Promise<unknown>;
};

/**
 * The one Lua loader: a script from a `NAME-N.lua` file (N = key count), called by SHA
 * (EVALSHA). When Redis does not have it (never loaded, or after a restart or failover:
 * NOSCRIPT) the call is sent once with its source (EVAL), which loads it again.
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

  /** Reads `<dir>/<file>`; the key count comes from the file name. */
  static fromFile(file: string, dir: string): RedisScript {
    const m = /^([a-z][a-z0-9-]*)-(\d+)\.lua$/.exec(file);
    if (!m) throw new TypeError(`script file name must be NAME-N.lua: ${file}`);
    return new RedisScript(m[1], Number(m[2]), readFileSync(`${dir}/${file}`, 'utf8'));
  }

  /** SCRIPT LOAD on the given client ahead of the first call (optional: a call loads it too). */
  async load(redis: Redis | Cluster): Promise<void> {
    const sha = (await redis.script('LOAD', this.#source)) as string;
    if (sha !== this.sha) throw new Error(`script ${this.name}: SHA mismatch`);
  }

  /** Runs the script; bulk replies come back as strings. */
  run<T = unknown>(redis: Redis | Cluster, keys: string[], args: ScriptArg[]): Promise<T> {
    return this.#call(redis, keys, args, false) as Promise<T>;
  }

  /** Runs the script; bulk replies come back as Buffers (binary payloads). */
  runBuffer<T = unknown>(redis: Redis | Cluster, keys: string[], args: ScriptArg[]): Promise<T> {
    return this.#call(redis, keys, args, true) as Promise<T>;
  }

  async #call(redis: Redis | Cluster, keys: string[], args: ScriptArg[], buffers: boolean): Promise<unknown> {
    if (keys.length !== this.numKeys) throw new TypeError(`script ${this.name} takes ${this.numKeys} keys, got ${keys.length}`);
    try {
      return buffers
        ? await (redis as unknown as BufferEval).evalshaBuffer(this.sha, this.numKeys, ...keys, ...args)
        : await redis.evalsha(this.sha, this.numKeys, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return buffers
        ? (redis as unknown as BufferEval).evalBuffer(this.#source, this.numKeys, ...keys, ...args)
        : redis.eval(this.#source, this.numKeys, ...keys, ...args);
    }
  }
}
