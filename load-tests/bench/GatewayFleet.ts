/**
 * Several Flashcast gateway processes (`flashcast gateway`) sharing one Redis (or cluster),
 * one token secret and one key prefix, as a deployment runs them behind a balancer: their
 * CPU time, their /metrics counters, and tokens for viewers, chatters and the host.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TokenService } from '../../common/auth/TokenService.js';
import { ServerProcess, freePort } from './ServerProcess.js';

const CLI = fileURLToPath(new URL('../../server/cli.js', import.meta.url));

export interface GatewayFleetOptions {
  count: number;
  /** Redis for the gateways: REDIS_URL, or nothing to pass the caller's REDIS_CLUSTER_NODES through. */
  redisUrl: string | null;
  prefix: string;
  /** taskset CPU list for the gateways (null: no pinning). */
  cpus: string | null;
}

/** Counters scraped from one gateway's /metrics. */
export interface GatewayCounters {
  framesOut: Record<string, number>;
  dropped: Record<string, number>;
  backpressureCloses: number;
}

/** Pins a process and all its threads to a CPU list. */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

let ticks = 0;
/** Kernel clock ticks per second. */
function clockTicks(): number {
  if (ticks === 0) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/**
 * CPU ms a process has run, summed over its threads from /proc/<pid>/task/<tid>/schedstat (the
 * scheduler's runtime in ns: the same time as /proc/<pid>/stat utime + stime, without their
 * 10 ms ticks, which short windows cannot afford). NaN if it cannot be read.
 */
export function runtimeMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

/** Sums a Prometheus counter's samples by one label (`name{label="x",...} value`). */
export function counterByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pattern = new RegExp(`^${name}\\{([^}]*)\\}\\s+([0-9.eE+-]+)$`, 'gm');
  for (const m of text.matchAll(pattern)) {
    const value = new RegExp(`${label}="([^"]*)"`).exec(m[1])?.[1] ?? '';
    out[value] = (out[value] ?? 0) + Number(m[2]);
  }
  return out;
}

/** G gateways in child processes; `close()` stops them all. */
export class GatewayFleet {
  readonly servers: ServerProcess[];
  readonly ports: number[];
  readonly tokens: TokenService;
  #closed = false;

  private constructor(servers: ServerProcess[], ports: number[], tokens: TokenService) {
    this.servers = servers;
    this.ports = ports;
    this.tokens = tokens;
  }

  /** Starts every gateway and waits until each answers /readyz. */
  static async start(options: GatewayFleetOptions): Promise<GatewayFleet> {
    const secret = randomBytes(24).toString('base64url');
    const servers: ServerProcess[] = [];
    const ports: number[] = [];
    try {
      for (let i = 0; i < options.count; i++) {
        const port = await freePort();
        const env: Record<string, string> = {
          PORT: String(port),
          HOST: '127.0.0.1',
          FLASHCAST_JWT_SECRET: secret,
          FLASHCAST_REDIS_PREFIX: options.prefix,
          LOG_LEVEL: 'warn',
        };
        if (options.redisUrl) env.REDIS_URL = options.redisUrl;
        const server = await ServerProcess.start({
          name: `gateway ${i + 1}`,
          script: CLI,
          args: ['gateway'],
          env,
          readyUrl: `http://127.0.0.1:${port}/readyz`,
          readyTimeoutMs: 30_000,
        });
        servers.push(server);
        ports.push(port);
        if (options.cpus) pin(server.pid, options.cpus);
      }
    } catch (error) {
      await Promise.all(servers.map((s) => s.stop()));
      throw error;
    }
    return new GatewayFleet(servers, ports, new TokenService(secret));
  }

  /** CPU ms of each gateway so far, from the scheduler's nanosecond counters (see runtimeMs). */
  cpuMs(): number[] {
    return this.servers.map((s) => runtimeMs(s.pid));
  }

  /** User and system CPU ms of all gateways so far (/proc/<pid>/stat utime, stime). */
  cpuSplitMs(): { user: number; system: number } {
    const out = { user: 0, system: 0 };
    const tick = 1000 / clockTicks();
    for (const s of this.servers) {
      try {
        const stat = readFileSync(`/proc/${s.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.user += Number(fields[11]) * tick;
        out.system += Number(fields[12]) * tick;
      } catch {
        return { user: NaN, system: NaN };
      }
    }
    return out;
  }

  /** True while every gateway runs. */
  get running(): boolean {
    return this.servers.every((s) => s.running);
  }

  /** /metrics counters of each gateway. */
  async counters(): Promise<GatewayCounters[]> {
    return Promise.all(
      this.ports.map(async (port) => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        return {
          framesOut: counterByLabel(text, 'flashcast_frames_out_total', 'kind'),
          dropped: counterByLabel(text, 'flashcast_dropped_total', 'reason'),
          backpressureCloses: Object.values(counterByLabel(text, 'flashcast_backpressure_closes_total', 'reason')).reduce((a, b) => a + b, 0)
            + Number(/^flashcast_backpressure_closes_total\s+([0-9.eE+-]+)$/m.exec(text)?.[1] ?? 0),
        };
      }),
    );
  }

  /** Stops every gateway. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
