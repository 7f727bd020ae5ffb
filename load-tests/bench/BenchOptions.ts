import { availableParallelism } from 'node:os';
import type { ServerKind } from './Viewer.js';

const ALL_SERVERS: ServerKind[] = ['flashcast', 'uws', 'socketio'];

/** Command-line options of `npm run bench:broadcast`. */
export class BenchOptions {
  /** Viewers in the room (per server), probes included. */
  viewers = 5000;
  /**
   * Of the viewers, how many are latency probes: joined like the others, in a
   * worker thread of their own that is nearly idle, so that their publish-to-receive
   * latency is not the load generator's own queueing. At most half the viewers.
   */
  probes = 100;
  /** Messages per second from the publisher. */
  rate = 20;
  /** Seconds of publishing. */
  duration = 10;
  /**
   * Worker threads driving the bulk viewers (the probe thread comes on top). One
   * per two cores: on a small machine the server, Redis and the publisher need the
   * rest, and one thread keeps up with 100k deliveries/s (see its `gen ELU%`).
   */
  workers = Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
  /** Times the whole comparison runs (servers alternate); results are medians over rounds. */
  rounds = 3;
  /** Servers to measure, in order. */
  servers: ServerKind[] = [...ALL_SERVERS];
  /** Bytes of announcement text per message. */
  textBytes = 64;
  /** Connections opening at once per worker. */
  connectConcurrency = 100;
  /** Longest wait (s) for late deliveries after the last publish. */
  drain = 10;
  redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  room = 'bench';
  /** `--help` was given. */
  help = false;

  /** Parses `--viewers 5000 --rate 20 --duration 10 ...`; throws on unknown flags. */
  static parse(argv: string[]): BenchOptions {
    const options = new BenchOptions();
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === '--help' || arg === '-h') {
        options.help = true;
        continue;
      }
      const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
      if (!match) throw new TypeError(`unexpected argument ${arg}`);
      const name = match[1];
      const value = match[2] ?? argv[++i];
      if (value === undefined) throw new TypeError(`--${name} needs a value`);
      const num = (min: number, max: number): number => {
        const n = Number(value);
        if (!Number.isFinite(n) || n < min || n > max) throw new TypeError(`--${name} must be a number in [${min}, ${max}]`);
        return n;
      };
      switch (name) {
        case 'viewers': options.viewers = Math.round(num(1, 100_000)); break;
        case 'rate': options.rate = num(0.1, 100_000); break;
        case 'duration': options.duration = Math.round(num(1, 3600)); break;
        case 'workers': options.workers = Math.round(num(1, 64)); break;
        case 'probes': options.probes = Math.round(num(0, 10_000)); break;
        case 'rounds': options.rounds = Math.round(num(1, 100)); break;
        case 'text-bytes': options.textBytes = Math.round(num(10, 60_000)); break;
        case 'connect-concurrency': options.connectConcurrency = Math.round(num(1, 10_000)); break;
        case 'drain': options.drain = num(1, 600); break;
        case 'redis-url': options.redisUrl = value; break;
        case 'servers': {
          const list = value.split(',').map((s) => s.trim()).filter(Boolean);
          for (const s of list) if (!ALL_SERVERS.includes(s as ServerKind)) throw new TypeError(`unknown server ${s}`);
          options.servers = list as ServerKind[];
          break;
        }
        default:
          throw new TypeError(`unknown flag --${name} (try --help)`);
      }
    }
    options.probes = Math.min(options.probes, Math.floor(options.viewers / 2));
    return options;
  }

  /** Usage text. */
  static usage(): string {
    return [
      'usage: node dist/load-tests/bench/broadcast.js [flags]',
      '  --viewers N              viewers in the room, probes included (default 5000)',
      '  --probes P               of them, latency probes in their own thread (default 100, at most N/2; 0: none)',
      '  --rate R                 publisher messages per second (default 20)',
      '  --duration S             seconds of publishing (default 10)',
      '  --rounds K               repeat the comparison K times; report medians (default 3)',
      '  --servers a,b,c          subset/order of flashcast,uws,socketio (default all)',
      `  --workers W              worker threads for the bulk viewers (default ${new BenchOptions().workers}: one per two cores)`,
      '  --text-bytes B           announcement text size (default 64)',
      '  --connect-concurrency C  connections opening at once per worker (default 100)',
      '  --drain S                max seconds to wait for late deliveries (default 10)',
      '  --redis-url URL          Redis (default $REDIS_URL or redis://127.0.0.1:6379)',
    ].join('\n');
  }
}
