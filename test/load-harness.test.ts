import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from './helpers/env.js';

const HARNESS = fileURLToPath(new URL('../dist/load-tests/harness/harness.js', import.meta.url));

/**
 * The CI run of the load scenarios that ops run with k6 (load-tests/k6/): a real
 * gateway process, hundreds of viewers, a host, a chat storm. The harness exits
 * non-zero on any correctness failure (lost or duplicated critical message, failed
 * join, refused legal chat, unexpected disconnect).
 */
describe('load harness (the k6 scenarios, from Node)', () => {
  it('broadcast and chat-storm scenarios pass against a real gateway', async () => {
    const child = spawn(process.execPath, [HARNESS, '--viewers', '150', '--duration', '4', '--chatters', '30'], {
      env: { ...process.env, REDIS_URL, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, out).toBe(0);
    const last = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}');
    expect(last).toBeTypeOf('object');
    expect(JSON.stringify(last)).not.toContain('"ok":false');
  }, 120_000);
});
