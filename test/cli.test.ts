import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The compiled `flashcast` command as a user runs it: every command answers --help (exit 0,
 * with its options) without reading any configuration; an unknown option or command prints the
 * usage and exits 2; dev-cert writes a certificate for the names asked.
 */

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fc-cli-'));

/** Runs the CLI with an environment no command could start with (no secret, a bad PORT). */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, PORT: 'not-a-port', LOG_LEVEL: 'warn' };
  delete env.FLASHCAST_JWT_SECRET;
  const run = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Each command and options its help must mention. */
const COMMANDS: Record<string, string[]> = {
  start: ['FLASHCAST_VIDEO=off', '--help'],
  gateway: ['--help'],
  worker: ['--help'],
  sfu: ['--help'],
  settlement: ['failed', 'replay <jobId>', '--help'],
  token: ['--user', '--role', '--room', '--name', '--region', '--ttl', '--help'],
  'dev-cert': ['--out', '--host', '--help'],
  doctor: ['--help'],
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flashcast --help', () => {
  it('lists every command, with --help, -h and help, exit 0', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const run = cli(...args);
      expect(run.status, args.join(' ')).toBe(0);
      for (const name of Object.keys(COMMANDS)) expect(run.stdout).toContain(`  ${name} `);
    }
  });

  it.each(Object.keys(COMMANDS))('%s answers --help, -h and `help <command>` with its options, exit 0, without configuration', (name) => {
    const options = COMMANDS[name];
    for (const args of [[name, '--help'], [name, '-h'], ['help', name]]) {
      const run = cli(...args);
      expect(run.status, args.join(' ')).toBe(0);
      expect(run.stdout).toContain(`usage: flashcast ${name}`);
      for (const option of options) expect(run.stdout, `${args.join(' ')}: ${option}`).toContain(option);
      expect(run.stderr).toBe('');
    }
  });

  it.each(Object.keys(COMMANDS))('%s refuses an unknown option with its usage, exit 2', (name) => {
    const run = cli(name, '--no-such-option');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--no-such-option'");
    expect(run.stderr).toContain(`usage: flashcast ${name}`);
    expect(run.stdout).toBe('');
  });

  it('an unknown command, no command, or a command missing what it needs: usage, exit 2', () => {
    for (const args of [['launch'], [], ['help', 'launch'], ['token'], ['settlement'], ['settlement', 'replay']]) {
      const run = cli(...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain('usage: flashcast');
    }
  });
});

describe('flashcast dev-cert', () => {
  it('writes a certificate and key for localhost, 127.0.0.1 and the names asked, and says how to use them', () => {
    const out = join(dir, 'tls');
    const run = cli('dev-cert', '--out', out, '--host', 'shop.test', '--host', '10.1.2.3');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`export FLASHCAST_TLS_CERT=${join(out, 'cert.pem')}`);
    expect(run.stdout).toContain(`export FLASHCAST_TLS_KEY=${join(out, 'key.pem')}`);
    const text = spawnSync('openssl', ['x509', '-in', join(out, 'cert.pem'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:shop.test', 'IP Address:10.1.2.3', 'CA:FALSE']) expect(text).toContain(name);
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toContain('PRIVATE KEY');
  });

  it('refuses a name that is neither a host name nor an IP', () => {
    const run = cli('dev-cert', '--out', join(dir, 'bad'), '--host', 'a b;rm');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('not a host name or IP address');
  });
});
