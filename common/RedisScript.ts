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

/** Where a script must be loaded: every master of a cluster (once it knows them), or the one server. */
function loadTargets(redis: Redis | Cluster): (Redis | Cluster)[] {
  if ((redis as Cluster).isCluster !== true) return [redis];
  const masters = (redis as Cluster).nodes('master');
  return masters.length > 0 ? masters : [redis];
}

/**
 * The one Lua loader: a script from a `NAME-N.lua` file (N = key count), called by SHA
 * (EVALSHA). When Redis does not have it (never loaded, or after a restart or failover:
 * NOSCRIPT) the call is sent once with its source (EVAL), which loads it again. That fallback
 * can reorder calls in flight (a later EVALSHA succeeds before the retried one when another
 * client loaded the script meanwhile), so every script read is also loaded ahead: `load`, and
 * `loadAll` when a connection (re)connects or a cluster's masters change (RedisConnections).
 */
export class RedisScript {
  /** Every script read so far, by SHA. */
  static readonly #all = new Map<string, RedisScript>();
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
    const script = new RedisScript(m[1], Number(m[2]), readFileSync(`${dir}/${file}`, 'utf8'));
    RedisScript.#all.set(script.sha, script);
    return script;
  }

  /** SCRIPT LOAD ahead of the first call, on the one server or on every master of a cluster. */
  async load(redis: Redis | Cluster): Promise<void> {
    await Promise.all(loadTargets(redis).map(async (node) => {
      const sha = (await node.script('LOAD', this.#source)) as string;
      if (sha !== this.sha) throw new Error(`script ${this.name}: SHA mismatch`);
    }));
  }

  /** Loads every script read so far (after a reconnect or a failover: the script cache may be empty). */
  static async loadAll(redis: Redis | Cluster): Promise<void> {
    await Promise.all([...RedisScript.#all.values()].map((script) => script.load(redis)));
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
