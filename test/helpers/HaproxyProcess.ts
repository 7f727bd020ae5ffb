import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './env.js';

export const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';

export function haproxyAvailable(): boolean {
  return existsSync(HAPROXY);
}

/** A free TCP port on 127.0.0.1 (HAProxy needs a fixed one in its configuration). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const EXAMPLE = fileURLToPath(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url));

/**
 * deploy/haproxy/haproxy.cfg (what docs/deploy.md tells ops to run) with this test's addresses:
 * the frontend binds `port` without TLS, the example's servers become `backends`, maxconn fits
 * this machine's file limit, and a stats page on `statsPort` reports server health.
 */
export function haproxyConfig(port: number, backends: string[], statsPort: number): string {
  const lines = readFileSync(EXAMPLE, 'utf8').split('\n');
  const out: string[] = [];
  let serversWritten = false;
  for (const line of lines) {
    if (/^\s*bind\s/.test(line)) out.push(`  bind 127.0.0.1:${port}`);
    else if (/^\s*maxconn\s/.test(line)) out.push('  maxconn 8000');
    else if (/^\s*server\s/.test(line)) {
      if (!serversWritten) out.push(...backends.map((b, i) => `  server gw${i} ${b} check`));
      serversWritten = true;
    } else out.push(line);
  }
  if (!serversWritten) throw new Error(`${EXAMPLE} has no server lines`);
  out.push('frontend stats', `  bind 127.0.0.1:${statsPort}`, '  stats enable', '  stats uri /stats', '');
  return out.join('\n');
}

/** HAProxy (Debian's package) in the foreground with a generated configuration. */
export class HaproxyProcess {
  readonly port: number;
  readonly statsPort: number;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<void>;
  output = '';

  private constructor(child: ChildProcess, dir: string, port: number, statsPort: number) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.statsPort = statsPort;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  /** Starts HAProxy in front of `backends` and waits until it reports them all up. */
  static async start(backends: string[]): Promise<HaproxyProcess> {
    const [port, statsPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'fc-haproxy-'));
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(port, backends, statsPort));
    const child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proxy = new HaproxyProcess(child, dir, port, statsPort);
    await waitFor(async () => (await proxy.serversUp()) === backends.length, 15_000, 'haproxy reporting every gateway up').catch(async (error: unknown) => {
      await proxy.close();
      throw new Error(`${String(error)}\n${proxy.output}`);
    });
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many backend servers HAProxy's health checks report UP (from its CSV stats). */
  async serversUp(): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`);
      const rows = (await res.text()).split('\n').filter((l) => l.startsWith('gateways,gw'));
      return rows.filter((l) => l.split(',')[17]?.startsWith('UP')).length;
    } catch {
      return -1;
    }
  }

  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    await this.#exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
