/**
 * Runs `bench:broadcast` (Flashcast only, one round, fixed rate) in child processes and reads
 * their gateway CPU per delivery: the cost model's delivery figure, measured with one gateway per
 * copy. Several copies run at once, one per gateway of the run they calibrate, so that the
 * machine is as busy as in that run (on a small machine, a process's CPU per delivery depends on
 * how often it and its readers sleep and are woken). Pinned like that run when asked: each
 * gateway on the server CPUs, its viewers on the client CPUs (through broadcast's own --pin where
 * it has one, else with taskset).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pin } from './GatewayFleet.js';

export interface BroadcastCalibrationOptions {
  /** Copies run at once. */
  copies: number;
  viewers: number;
  rate: number;
  duration: number;
  redisUrl: string;
  pin: { server: string; client: string } | null;
  /** CPUs of the machine (for the unpinned CPU list). */
  cores: number;
  log: (line: string) => void;
}

export interface BroadcastFigure {
  /** Gateway CPU µs per delivery (`flashcast_cpu_us_per_delivery`), mean over the copies. */
  us: number;
  /** Each copy's figure. */
  copies: number[];
  /** The command, as it can be run again (without the private Redis URL). */
  command: string;
  json: Record<string, unknown>;
}

/** Child pids of a process (all its threads' children). */
function childrenOf(pid: number): number[] {
  try {
    const tasks = execFileSync('ls', [`/proc/${pid}/task`], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    return tasks.flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** From the copies' start to their common first message: a gateway starts and its viewers join. */
const START_SLACK_MS = 15_000;

/** bench:broadcast as the cost model's source of gateway CPU per delivery. */
export class BroadcastCalibration {
  /** Runs the copies at once; throws when one fails or reports no figure. */
  static async run(options: BroadcastCalibrationOptions): Promise<BroadcastFigure> {
    // Time for every copy to start its gateway and join its viewers before the common start.
    const o = { ...options, startAt: Date.now() + START_SLACK_MS };
    const results = await Promise.all(Array.from({ length: o.copies }, (_, i) => BroadcastCalibration.#one(o, i)));
    const copies = results.map((r) => r.us);
    return { us: copies.reduce((a, b) => a + b, 0) / copies.length, copies, command: results[0].command, json: results[0].json };
  }

  static async #one(o: BroadcastCalibrationOptions & { startAt: number }, index: number): Promise<{ us: number; command: string; json: Record<string, unknown> }> {
    const script = fileURLToPath(new URL('./broadcast.js', import.meta.url));
    const help = execFileSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
    const ownPin = help.includes('--pin');
    const args = [
      ...(help.includes('--mode') ? ['--mode', 'fixed'] : []),
      ...(ownPin ? ['--pin', o.pin ? `${o.pin.server}:${o.pin.client}` : 'none'] : []),
      '--servers', 'flashcast',
      // Every viewer in the bulk thread, as in the run calibrated (its viewer pools have no probes).
      ...(help.includes('--probes') ? ['--probes', '0'] : []),
      // The copies publish in phase, as the run's gateways all get each room message at once: on
      // a small machine a send() costs more when it has to wake its reader, and out-of-phase
      // copies wake the viewer threads once per copy and message instead of once per message.
      ...(help.includes('--start-at') ? ['--start-at', String(o.startAt)] : []),
      '--rounds', '1',
      '--viewers', String(o.viewers),
      '--rate', String(o.rate),
      '--duration', String(o.duration),
    ];
    const command = `node dist/load-tests/bench/broadcast.js ${args.join(' ')}`;
    args.push('--redis-url', o.redisUrl);
    // Started through taskset so that it does not inherit this process's CPUs: the load
    // generator's when pinned (its gateway child is moved to the server's below), all when not.
    const cpus = o.pin && !ownPin ? o.pin.client : `0-${o.cores - 1}`;
    // Its gateway gets --redis-url (one server): a cluster in the environment would clash with it.
    const env = { ...process.env };
    delete env.REDIS_CLUSTER_NODES;
    const child = spawn('taskset', ['-c', cpus, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => o.log(`  | ${index + 1}: ${d.toString().trimEnd()}`));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let gatewayPinned = !(o.pin && !ownPin);
    while (!gatewayPinned && child.exitCode === null) {
      const gateway = childrenOf(child.pid ?? -1).find((pid) => /cli\.js gateway/.test(cmdline(pid)));
      if (gateway) {
        try {
          pin(gateway, o.pin!.server);
        } catch {
          // exited meanwhile
        }
        gatewayPinned = true;
      } else {
        await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
      }
    }
    const code = await exited;
    const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    if (code !== 0 || !line) throw new Error(`bench:broadcast calibration failed (exit ${code}):\n${out.slice(-2000)}`);
    const json = JSON.parse(line) as Record<string, unknown>;
    const us = Number(json.flashcast_cpu_us_per_delivery);
    if (!Number.isFinite(us) || us <= 0) throw new Error(`bench:broadcast gave no flashcast_cpu_us_per_delivery: ${line}`);
    if (Number(json.flashcast_lost ?? json.lost ?? 0) > 0) o.log(`  ! the calibration run lost deliveries: ${line}`);
    return { us, command, json };
  }
}
