import { defaultPin, parseFlags, parsePin, unknownFlag, type Pin } from './Flags.js';

/** Command-line options of `npm run bench:scale`. */
export class ScaleOptions {
  /** Gateway processes sharing the room. */
  gateways = 4;
  /**
   * Viewers in the room, spread evenly over the gateways. 1,000 rather than the issue's 8,000:
   * at 30 frames/s 8,000 viewers need about 2.5 cores of gateway CPU alone, more than this
   * 2-core shared machine has (docs/scaling.md, "Cost model").
   */
  viewers = 1000;
  /** Critical messages per second (host announcements), each to every viewer. */
  critical = 20;
  /** Viewer chat lines per second, sent by `chatters` viewers in turn. */
  chat = 10;
  /** Viewers who send the chat (each stays under its 3 lines/s limit). */
  chatters = 0;
  /** Seconds of publishing. */
  duration = 10;
  /** Seconds of the window at rest (viewers joined, nothing published) before it. */
  idle = 5;
  /** Rounds: bench:broadcast then a load window, each; the check is on the median ratios. */
  rounds = 3;
  /** Longest wait (s) for late deliveries after the last publish. */
  drain = 10;
  /** Viewer worker threads per gateway. */
  workers = 1;
  connectConcurrency = 100;
  textBytes = 64;
  /** taskset CPU lists for gateways and Redis (server) and for this process (client); null: none. */
  pin: Pin | null = defaultPin();
  /** Redis for the run: null = a private redis-server, unless REDIS_CLUSTER_NODES is set. */
  redisUrl: string | null = null;
  /** bench:broadcast's gateway CPU µs per delivery at --calibration-viewers; NaN = run it first. */
  gatewayUsPerDelivery = NaN;
  /** Viewers of that bench:broadcast run (0: as many as each gateway holds, V / G). */
  calibrationViewers = 0;
  /** Seconds of that bench:broadcast run. */
  calibrationDuration = 8;
  /** Messages per Redis calibration reading (sent at the run's message rate). */
  redisMessages = 150;
  /** Subscribers of the second Redis calibration reading. */
  redisSubscribers = 16;
  /** Largest |measured / predicted - 1| that passes. */
  tolerance = 0.25;
  room = 'scale';
  help = false;

  /** Parses `--gateways 4 --viewers 8000 ...`; throws on unknown flags. */
  static parse(argv: string[]): ScaleOptions {
    const o = new ScaleOptions();
    o.help = parseFlags(argv, ({ name, value, num }) => {
      switch (name) {
        case 'gateways': o.gateways = Math.round(num(1, 64)); break;
        case 'viewers': o.viewers = Math.round(num(1, 100_000)); break;
        case 'critical': o.critical = num(0, 10_000); break;
        case 'chat': o.chat = num(0, 10_000); break;
        case 'chatters': o.chatters = Math.round(num(1, 1000)); break;
        case 'duration': o.duration = Math.round(num(1, 600)); break;
        case 'rounds': o.rounds = Math.round(num(1, 20)); break;
        case 'idle': o.idle = num(1, 600); break;
        case 'drain': o.drain = num(1, 600); break;
        case 'workers': o.workers = Math.round(num(1, 16)); break;
        case 'connect-concurrency': o.connectConcurrency = Math.round(num(1, 10_000)); break;
        case 'text-bytes': o.textBytes = Math.round(num(10, 400)); break;
        case 'redis-url': o.redisUrl = value; break;
        case 'broadcast-us-per-delivery': o.gatewayUsPerDelivery = num(0.01, 10_000); break;
        case 'calibration-viewers': o.calibrationViewers = Math.round(num(10, 100_000)); break;
        case 'calibration-duration': o.calibrationDuration = Math.round(num(1, 600)); break;
        case 'redis-messages': o.redisMessages = Math.round(num(20, 1_000_000)); break;
        case 'redis-subscribers': o.redisSubscribers = Math.round(num(2, 256)); break;
        case 'tolerance': o.tolerance = num(0, 10); break;
        case 'pin': o.pin = parsePin(value); break;
        default:
          throw unknownFlag(name);
      }
    }).help;
    // Each chatter may send 3 lines/s (FLASHCAST_CHAT_RATE 3/6): keep each at 2.
    if (o.chatters === 0) o.chatters = Math.max(1, Math.ceil(o.chat / 2));
    if (o.calibrationViewers === 0) o.calibrationViewers = Math.max(10, Math.round(o.viewers / o.gateways));
    return o;
  }

  /** Usage text. */
  static usage(): string {
    const d = new ScaleOptions();
    return [
      'usage: node dist/load-tests/bench/scale.js [flags]',
      `  --gateways G                  gateway processes sharing the room (default ${d.gateways})`,
      `  --viewers V                   viewers, spread evenly over the gateways (default ${d.viewers})`,
      `  --critical C                  critical messages/s from the host (default ${d.critical})`,
      `  --chat S                      viewer chat lines/s (default ${d.chat})`,
      '  --chatters K                  viewers sending that chat in turn (default: S / 2)',
      `  --duration T                  seconds of publishing per round (default ${d.duration})`,
      `  --rounds R                    rounds of bench:broadcast + load window; the check is on medians (default ${d.rounds})`,
      `  --idle I                      seconds at rest measured before publishing (default ${d.idle})`,
      `  --drain D                     max seconds to wait for late deliveries (default ${d.drain})`,
      `  --workers W                   viewer worker threads per gateway (default ${d.workers})`,
      `  --pin S:C | none              taskset CPU lists: gateways + Redis on S, this process on C (default ${d.pin ? `${d.pin.server}:${d.pin.client}` : 'none'})`,
      '  --redis-url URL               use this Redis (default: a private redis-server; REDIS_CLUSTER_NODES: that cluster)',
      '  --broadcast-us-per-delivery X skip the bench:broadcast calibration: X µs per delivery at --calibration-viewers',
      '  --calibration-viewers N       viewers of the bench:broadcast calibration (default: V / G, as many as each gateway holds)',
      `  --calibration-duration S      its seconds of publishing (default ${d.calibrationDuration})`,
      `  --redis-messages N            messages per Redis calibration reading (default ${d.redisMessages})`,
      `  --redis-subscribers K         subscribers of the second Redis reading (default ${d.redisSubscribers})`,
      `  --tolerance F                 largest |measured / predicted - 1| that passes (default ${d.tolerance})`,
    ].join('\n');
  }
}
