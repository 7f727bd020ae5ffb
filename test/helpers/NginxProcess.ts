import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './HaproxyProcess.js';
import { waitFor } from './env.js';

export const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const EXAMPLE = fileURLToPath(new URL('../../deploy/nginx/flashcast.conf', import.meta.url));

export function nginxAvailable(): boolean {
  return existsSync(NGINX);
}

/**
 * deploy/nginx/flashcast.conf (what docs/deploy.md tells ops to include) with this test's
 * addresses: the example's servers become `backends`, and it listens on `port` without TLS.
 */
export function nginxSite(port: number, backends: string[]): string {
  const out: string[] = [];
  let serversWritten = false;
  for (const line of readFileSync(EXAMPLE, 'utf8').split('\n')) {
    const server = /^(\s*)server\s+\S+:\d+(.*);/.exec(line);
    if (server) {
      if (!serversWritten) out.push(...backends.map((b) => `${server[1]}server ${b}${server[2]};`));
      serversWritten = true;
    } else if (/^\s*listen\s/.test(line)) out.push(`  listen 127.0.0.1:${port};`);
    else if (/^\s*(ssl_certificate|ssl_certificate_key)\s/.test(line)) continue;
    else out.push(line);
  }
  if (!serversWritten) throw new Error(`${EXAMPLE} has no server lines`);
  return out.join('\n');
}

/** nginx (Debian's package) in the foreground with the example site, in a private prefix. */
export class NginxProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<void>;
  output = '';

  private constructor(child: ChildProcess, dir: string, port: number) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static async start(backends: string[]): Promise<NginxProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'fc-nginx-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'flashcast.conf'), nginxSite(port, backends));
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'logs', 'error.log')} warn;`,
        'events { worker_connections 4096; }',
        'http {',
        `  access_log off;`,
        `  client_body_temp_path ${join(dir, 'body')};`,
        `  proxy_temp_path ${join(dir, 'proxy')};`,
        `  include ${join(dir, 'flashcast.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const check = spawnSync(NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t refused the example:\n${check.stderr}`);
    const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proxy = new NginxProcess(child, dir, port);
    await waitFor(async () => (await fetch(`${proxy.http}/healthz`).catch(() => null))?.ok, 10_000, 'nginx forwarding');
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGQUIT');
    await this.#exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
