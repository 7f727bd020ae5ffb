import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Redis, Cluster } from 'ioredis';

type Arg = string | number | Buffer | Uint8Array;
type RedisLike = Redis | Cluster;

interface ScriptInfo {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/**
 * The Lua scripts of one folder, each file named `<name>-<numberOfKeys>.lua`.
 * Scripts are registered with ioredis, which calls them by SHA (EVALSHA) and loads
 * them once on NOSCRIPT (after a Redis restart or failover).
 */
export class RedisScripts {
  readonly #scripts = new Map<string, ScriptInfo>();

  /** Reads every `*.lua` in `dir`. */
  constructor(dir: string) {
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('.lua')) continue;
      const match = /^(.+)-(\d+)\.lua$/.exec(basename(file));
      if (!match) throw new TypeError(`script file name must be <name>-<numberOfKeys>.lua: ${file}`);
      this.#scripts.set(match[1], {
        name: match[1],
        numberOfKeys: Number(match[2]),
        lua: readFileSync(`${dir}/${file}`, 'utf8'),
      });
    }
  }

  /** Names of the loaded scripts. */
  get names(): string[] {
    return [...this.#scripts.keys()];
  }

  /** Registers every script on a connection (idempotent). */
  install(redis: RedisLike): void {
    for (const script of this.#scripts.values()) {
      const method = commandName(script.name);
      if (typeof (redis as unknown as Record<string, unknown>)[method] === 'function') continue;
      redis.defineCommand(method, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
  }

  /** Runs a script; replies with strings. */
  run<T = unknown>(redis: RedisLike, name: string, keys: string[], args: Arg[]): Promise<T> {
    return this.#call(redis, name, '', keys, args) as Promise<T>;
  }

  /** Runs a script; replies with Buffers (for binary payloads). */
  runBuffer<T = unknown>(redis: RedisLike, name: string, keys: string[], args: Arg[]): Promise<T> {
    return this.#call(redis, name, 'Buffer', keys, args) as Promise<T>;
  }

  #call(redis: RedisLike, name: string, suffix: string, keys: string[], args: Arg[]): Promise<unknown> {
    const script = this.#scripts.get(name);
    if (!script) throw new TypeError(`unknown script ${name}`);
    if (keys.length !== script.numberOfKeys) {
      throw new TypeError(`script ${name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    this.install(redis);
    const fn = (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
      commandName(name) + suffix
    ];
    return fn.call(redis, ...keys, ...args);
  }
}

function commandName(name: string): string {
  return `fc_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
}
