import type { Redis, Cluster } from 'ioredis';

/** One command's counters from `INFO commandstats`. */
export interface CommandCount {
  calls: number;
  /** Microseconds Redis spent in the command (its own CPU time, not the round trip). */
  usec: number;
}

/**
 * `INFO commandstats` of one or more Redis servers (a cluster's masters), summed per command,
 * and the difference of two readings: what Redis itself counted between them.
 */
export class CommandStats {
  readonly commands: ReadonlyMap<string, CommandCount>;

  private constructor(commands: Map<string, CommandCount>) {
    this.commands = commands;
  }

  /** Reads and sums `INFO commandstats` of each given server. */
  static async read(servers: (Redis | Cluster)[]): Promise<CommandStats> {
    const out = new Map<string, CommandCount>();
    for (const server of servers) {
      const info = (await server.info('commandstats')) as string;
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        const c = out.get(m[1]) ?? { calls: 0, usec: 0 };
        c.calls += Number(m[2]);
        c.usec += Number(m[3]);
        out.set(m[1], c);
      }
    }
    return new CommandStats(out);
  }

  /** What was counted after `before` and up to this reading. */
  since(before: CommandStats): CommandStats {
    const out = new Map<string, CommandCount>();
    for (const [cmd, c] of this.commands) {
      const b = before.commands.get(cmd) ?? { calls: 0, usec: 0 };
      if (c.calls > b.calls) out.set(cmd, { calls: c.calls - b.calls, usec: c.usec - b.usec });
    }
    return new CommandStats(out);
  }

  /** Calls of every command, or of those named. */
  calls(...names: string[]): number {
    let n = 0;
    for (const [cmd, c] of this.commands) if (names.length === 0 || names.includes(cmd)) n += c.calls;
    return n;
  }

  /** Redis's own microseconds per call over the commands named (0 if none ran). */
  usecPerCall(...names: string[]): number {
    let calls = 0;
    let usec = 0;
    for (const name of names) {
      const c = this.commands.get(name);
      if (c) {
        calls += c.calls;
        usec += c.usec;
      }
    }
    return calls > 0 ? usec / calls : 0;
  }
}
