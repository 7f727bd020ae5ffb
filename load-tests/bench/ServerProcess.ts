import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** How to start one server under test. */
export interface ServerProcessOptions {
  /** Label used in errors. */
  name: string;
  /** Script run with this Node binary. */
  script: string;
  args?: string[];
  /** Options for the Node binary itself (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Run it on these CPUs only (a taskset list such as `0`); the pid stays the server's (taskset execs it). */
  cpus?: string | null;
  env: Record<string, string>;
  /** Polled until it answers 200. */
  readyUrl: string;
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
let clockTicks = 0;

/** Kernel clock ticks per second (for /proc/<pid>/stat). */
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (user + system) a process has used, in ms; NaN if it cannot be read (not Linux, gone). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * One server under test running in its own child process, so that it never shares
 * an event loop with the load generator. Tracks its CPU time and keeps the tail of
 * its output for error messages; every child is killed if the benchmark exits.
 */
export class ServerProcess {
  readonly name: string;
  readonly #child: ChildProcess;
  #output = '';
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined = undefined;
  #stopPromise: Promise<void> | null = null;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? -1 : null);
        live.delete(child);
        resolve(code);
      });
    });
  }

  /** Spawns the server and waits until its ready URL answers 200. */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const child of live) child.kill('SIGKILL');
      });
    }
    const argv = [process.execPath, ...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])];
    if (options.cpus) argv.unshift('taskset', '-c', options.cpus);
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    live.add(child);
    const server = new ServerProcess(options.name, child);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (server.#exitCode !== undefined) {
        throw new Error(`${options.name} exited (code ${server.#exitCode}) before it was ready:\n${server.output}`);
      }
      try {
        const response = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.status === 200) return server;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await server.stop();
    throw new Error(`${options.name} not ready at ${options.readyUrl} after ${options.readyTimeoutMs ?? 20_000} ms:\n${server.output}`);
  }

  /** The child's pid. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** CPU time used so far, in ms. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** True while the child runs. */
  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** The last few KB of the child's stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs = 5000): Promise<void> {
    this.#stopPromise ??= (async () => {
      if (this.#exitCode !== undefined) return;
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      await this.#exited;
      clearTimeout(timer);
    })();
    return this.#stopPromise;
  }
}
