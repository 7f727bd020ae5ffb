/**
 * Command-line flags of the benchmarks: `--name value` or `--name=value`, `-h`/`--help`, and the
 * CPU pinning (`--pin S:C`) they share. Each benchmark's options class says what its flags mean.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** taskset CPU lists: the servers under test (S) and the load generator (C). */
export interface Pin {
  server: string;
  client: string;
}

/** One flag as given: its name, its raw value, and the value read as a number in a range. */
export interface Flag {
  name: string;
  value: string;
  /** The value as a number in [min, max]; throws a TypeError naming the flag otherwise. */
  num(min: number, max: number): number;
}

/**
 * Walks `argv`, handing each flag to `apply` (which throws on a name it does not know). Returns
 * whether help was asked for. Throws on a stray argument or a flag without a value.
 */
export function parseFlags(argv: string[], apply: (flag: Flag) => void): { help: boolean } {
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new TypeError(`unexpected argument ${arg}`);
    const name = match[1];
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new TypeError(`--${name} needs a value`);
    apply({
      name,
      value,
      num(min: number, max: number): number {
        const n = Number(value);
        if (!Number.isFinite(n) || n < min || n > max) throw new TypeError(`--${name} must be a number in [${min}, ${max}]`);
        return n;
      },
    });
  }
  return { help };
}

/** The error for a flag `apply` does not know. */
export function unknownFlag(name: string): TypeError {
  return new TypeError(`unknown flag --${name} (try --help)`);
}

/** `--pin` as given: `S:C` (taskset lists, e.g. 0:1) or `none`. */
export function parsePin(value: string): Pin | null {
  if (value === 'none') return null;
  const m = /^([0-9,-]+):([0-9,-]+)$/.exec(value);
  if (!m) throw new TypeError('--pin must be SERVER_CPUS:CLIENT_CPUS (taskset lists, e.g. 0:1) or none');
  return { server: m[1], client: m[2] };
}

/** The --pin value as text. */
export function pinText(pin: Pin | null): string {
  return pin ? `${pin.server}:${pin.client}` : 'none';
}

/** taskset is there and there are two CPUs or more: servers on CPU 0, the load generator on the others. */
export function defaultPin(): Pin | null {
  const cpus = availableParallelism();
  if (cpus < 2) return null;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return { server: '0', client: cpus === 2 ? '1' : `1-${cpus - 1}` };
}
