import { availableParallelism } from 'node:os';
import { defaultPin, parseFlags, parsePin, pinText, unknownFlag, type Pin } from './Flags.js';
import type { ServerKind } from './Viewer.js';

const ALL_SERVERS: ServerKind[] = ['flashcast', 'uws', 'socketio'];

/** `saturate`: raise the rate step by step until the server fails a step; `fixed`: one rate. */
export type BenchMode = 'saturate' | 'fixed';

/** Command-line options of `npm run bench:broadcast`. */
export class BenchOptions {
  mode: BenchMode = 'saturate';
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
  /** Times the whole comparison runs (servers alternate); results are medians over rounds (default 3 fixed, 1 saturating). */
  rounds = 0;
  /** Saturation: messages per second of the first step. */
  startRate = 5;
  /** Saturation: highest rate tried. */
  maxRate = 5000;
  /** Saturation: seconds of publishing per step. */
  stepSeconds = 4;
  /**
   * Saturation: a step lasts long enough to send this many messages (up to 30 s), so that its
   * p99 is not just its worst message or two.
   */
  minMessages = 300;
  /** Saturation: a step fails when the probe p99 passes this (ms). */
  p99LimitMs = 100;
  /** Saturation: until the first failure each step offers this many times the last (the same for every server). */
  coarseFactor = 2;
  /** Saturation: then steps of this factor from the last rate held, below the one that failed. */
  fineFactor = 1.19;
  /** Saturation: times a step failed on latency alone is run again. */
  retries = 1;
  /**
   * CPUs (taskset lists) for the servers under test and for the load generator (this process,
   * its viewer threads and publisher), so that latency measures the server; null: no pinning.
   */
  pin: Pin | null = defaultPin();
  /** Flashcast's FLASHCAST_BATCH_WINDOW_MS (null: the gateway's default). */
  batchWindowMs: number | null = null;
  /**
   * Fixed mode: wall-clock time (epoch ms) at which publishing starts (null: once the viewers
   * joined). Several runs given the same time publish in phase (bench:scale's calibration).
   */
  startAt: number | null = null;
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
    options.help = parseFlags(argv, ({ name, value, num }) => {
      switch (name) {
        case 'viewers': options.viewers = Math.round(num(1, 100_000)); break;
        case 'rate': options.rate = num(0.1, 100_000); break;
        case 'duration': options.duration = Math.round(num(1, 3600)); break;
        case 'workers': options.workers = Math.round(num(1, 64)); break;
        case 'probes': options.probes = Math.round(num(0, 10_000)); break;
        case 'rounds': options.rounds = Math.round(num(1, 100)); break;
        case 'mode':
          if (value !== 'saturate' && value !== 'fixed') throw new TypeError('--mode must be saturate or fixed');
          options.mode = value;
          break;
        case 'start-rate': options.startRate = num(0.1, 100_000); break;
        case 'max-rate': options.maxRate = num(0.1, 100_000); break;
        case 'step-seconds': options.stepSeconds = Math.round(num(1, 600)); break;
        case 'p99-limit': options.p99LimitMs = num(1, 60_000); break;
        case 'min-messages': options.minMessages = Math.round(num(1, 1_000_000)); break;
        case 'coarse-factor': options.coarseFactor = num(1.01, 10); break;
        case 'fine-factor': options.fineFactor = num(1.01, 10); break;
        case 'retries': options.retries = Math.round(num(0, 10)); break;
        case 'batch-window': options.batchWindowMs = Math.round(num(0, 20)); break;
        case 'start-at': options.startAt = Math.round(num(0, Number.MAX_SAFE_INTEGER)); break;
        case 'pin': options.pin = parsePin(value); break;
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
          throw unknownFlag(name);
      }
    }).help;
    options.probes = Math.min(options.probes, Math.floor(options.viewers / 2));
    if (options.rounds === 0) options.rounds = options.mode === 'fixed' ? 3 : 1;
    if (options.startRate > options.maxRate) throw new TypeError('--start-rate must not exceed --max-rate');
    return options;
  }

  /** Usage text. */
  static usage(): string {
    return [
      'usage: node dist/load-tests/bench/broadcast.js [flags]',
      '  --mode saturate|fixed    saturate (default): raise the rate step by step until the probe p99 passes',
      '                           --p99-limit or anything is lost; fixed: --rate for --duration',
      '  --viewers N              viewers in the room, probes included (default 5000)',
      '  --probes P               of them, latency probes in their own thread (default 100, at most N/2; 0: none)',
      '  --start-rate R           saturate: messages per second of the first step (default 5)',
      '  --max-rate R             saturate: highest rate tried (default 5000)',
      '  --step-seconds S         saturate: seconds of publishing per step (default 4)...',
      '  --min-messages M         saturate: ...or longer, up to 30 s, to send at least M messages (default 300)',
      '  --p99-limit MS           saturate: a step fails above this probe p99 (default 100)',
      '  --coarse-factor F        saturate: each step offers F times the last until one fails (default 2)',
      '  --fine-factor F          saturate: then steps of F from the last rate held, below the failed one (default 1.19)',
      '  --retries N              saturate: a step failed on latency alone runs again N times (default 1)',
      '  --rate R                 fixed: publisher messages per second (default 20)',
      '  --duration S             fixed: seconds of publishing (default 10)',
      '  --rounds K               repeat the comparison K times; report medians (default 3 fixed, 1 saturate)',
      `  --pin S:C | none         taskset CPU lists for the servers (S) and the load generator (C) (default ${pinText(defaultPin())})`,
      '  --batch-window MS        Flashcast FLASHCAST_BATCH_WINDOW_MS (default: the gateway default, 10; 0: no batches)',
      '  --start-at EPOCH_MS      fixed: start publishing at this wall-clock time (runs given the same time publish in phase)',
      '  --servers a,b,c          subset/order of flashcast,uws,socketio (default all)',
      `  --workers W              worker threads for the bulk viewers (default ${new BenchOptions().workers}: one per two cores)`,
      '  --text-bytes B           announcement text size (default 64)',
      '  --connect-concurrency C  connections opening at once per worker (default 100)',
      '  --drain S                max seconds to wait for late deliveries (default 10)',
      '  --redis-url URL          Redis (default $REDIS_URL or redis://127.0.0.1:6379)',
    ].join('\n');
  }
}
