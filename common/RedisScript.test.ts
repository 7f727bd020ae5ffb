import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../test/helpers/env.js';
import { RedisScript } from './RedisScript.js';

let plain: Redis;
let pipelined: Redis;
let dir: string;
const prefix = uniquePrefix('rscript');

/** A script of its own for each test (a random comment gives it a SHA no Redis has seen yet). */
function script(name: string, lua: string): RedisScript {
  writeFileSync(join(dir, name), `-- ${randomBytes(8).toString('hex')}\n${lua}\n`);
  return RedisScript.fromFile(name, dir);
}

const ECHO = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), ARGV[2]}";

beforeAll(() => {
  plain = new Redis(REDIS_URL);
  // The gateway's and the worker's connections auto-pipeline: scripts must work there too.
  pipelined = new Redis(REDIS_URL, { enableAutoPipelining: true });
  dir = mkdtempSync(join(tmpdir(), 'fc-lua-'));
});
afterAll(async () => {
  await deletePrefix(prefix);
  plain.disconnect();
  pipelined.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['a plain connection', () => plain],
  ['an auto-pipelining connection', () => pipelined],
])('RedisScript on %s', (_, client) => {
  let redis: Redis;
  beforeAll(() => {
    redis = client();
  });

  it('runs a script Redis has never seen, then calls it by SHA', async () => {
    const echo = script('echo-1.lua', ECHO);
    expect([echo.name, echo.numKeys]).toEqual(['echo', 1]);
    expect(await redis.script('EXISTS', echo.sha)).toEqual([0]);
    expect(await echo.run(redis, [`${prefix}:a`], ['one', 2])).toEqual(['one', '2']);
    // The EVAL fallback left it in the script cache: later calls are EVALSHA.
    expect(await redis.script('EXISTS', echo.sha)).toEqual([1]);
    expect(await echo.run(redis, [`${prefix}:a`], ['two', 3])).toEqual(['two', '3']);
  });

  it('passes and returns binary payloads unchanged with runBuffer', async () => {
    const echo = script('echo-1.lua', ECHO);
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a]);
    const [stored, extra] = await echo.runBuffer<[Buffer, Buffer]>(redis, [`${prefix}:b`], [bytes, 'x']);
    expect(Buffer.isBuffer(stored) && stored.equals(bytes)).toBe(true);
    expect(extra.toString()).toBe('x');
  });

  it('loads ahead of the first call', async () => {
    const echo = script('echo-1.lua', ECHO);
    await echo.load(redis);
    expect(await redis.script('EXISTS', echo.sha)).toEqual([1]);
  });

  it('refuses a wrong key count and a file name without one; passes script errors on', async () => {
    const echo = script('echo-1.lua', ECHO);
    await expect(echo.run(redis, [], ['x', 1])).rejects.toThrow(TypeError);
    writeFileSync(join(dir, 'echo.lua'), 'return 1');
    expect(() => RedisScript.fromFile('echo.lua', dir)).toThrow(/NAME-N\.lua/);
    const failing = script('fail-0.lua', "return redis.error_reply('BOOM no')");
    await expect(failing.run(redis, [], [])).rejects.toThrow(/BOOM/);
  });
});
