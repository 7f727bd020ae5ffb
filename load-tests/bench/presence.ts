/**
 * Presence benchmark: the Redis calls one gateway node makes per second while it holds R rooms
 * (default 1,000), each with a viewer, and nothing else happens: what presence and reaction
 * totals cost at rest.
 *
 *   npm run bench:presence -- [--rooms 1000] [--seconds 10] [--reactions 0] [--server dist/server/cli.js] [--label after]
 *
 * A private `redis-server` (no persistence, free port) is started, so `INFO commandstats`
 * counts this gateway's commands only. The gateway (`flashcast gateway`, or the `cli.js` given
 * with --server: another build, e.g. of the commit before batching) joins R rooms through
 * R / 100 sockets of 100 rooms each; after the joins settle, for --seconds: MONITOR counts the
 * commands clients sent (the gateway's calls) apart from those its scripts ran, `INFO
 * commandstats` gives Redis's own µs per script call, `INFO cpu` the Redis process's CPU.
 * --reactions N: N reactions per second per room. Prints a table and a JSON line.
 */
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenService } from '../../common/auth/TokenService.js';
import { FlashcastClient } from '../harness/FlashcastClient.js';
import { ServerProcess, freePort } from './ServerProcess.js';
import { RedisServerProcess } from './RedisServerProcess.js';
import { CommandStats } from './CommandStats.js';

const ROOMS_PER_SOCKET = 100;

function parse(argv: string[]): { rooms: number; seconds: number; reactions: number; server: string; label: string } {
  const o = { rooms: 1000, seconds: 10, reactions: 0, server: fileURLToPath(new URL('../../server/cli.js', import.meta.url)), label: 'this build' };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new TypeError(`${name} needs a value`);
    if (name === '--rooms') o.rooms = Math.max(1, Math.floor(Number(value)));
    else if (name === '--seconds') o.seconds = Math.max(1, Number(value));
    else if (name === '--reactions') o.reactions = Math.max(0, Number(value));
    else if (name === '--server') o.server = value;
    else if (name === '--label') o.label = value;
    else throw new TypeError(`unknown option ${name}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const redisServer = await RedisServerProcess.start();
  const secret = randomBytes(24).toString('base64url');
  const tokens = new TokenService(secret);
  const port = await freePort();
  const clients: FlashcastClient[] = [];
  let gateway: ServerProcess | null = null;
  const redis = new Redis(redisServer.url);
  const stats = new Redis(redisServer.url);
  for (const r of [redis, stats]) r.on('error', () => undefined);
  try {
    gateway = await ServerProcess.start({
      name: 'gateway', script: o.server, args: ['gateway'],
      env: {
        PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisServer.url, FLASHCAST_JWT_SECRET: secret, LOG_LEVEL: 'warn',
        FLASHCAST_MAX_ROOMS_PER_CONN: String(ROOMS_PER_SOCKET), FLASHCAST_JOIN_RATE: '1000/1000', FLASHCAST_FRAME_RATE: '10000/10000',
        FLASHCAST_REACT_RATE: '10000/10000',
      },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    const sockets = Math.ceil(o.rooms / ROOMS_PER_SOCKET);
    for (let s = 0; s < sockets; s++) {
      const token = await tokens.mint({ sub: `viewer${s}`, role: 'viewer', ttlSeconds: 3600 });
      const client = await FlashcastClient.connect(`ws://127.0.0.1:${port}`, token);
      clients.push(client);
      const joins: Promise<unknown>[] = [];
      for (let r = s * ROOMS_PER_SOCKET; r < Math.min(o.rooms, (s + 1) * ROOMS_PER_SOCKET); r++) joins.push(client.join(`room${r}`));
      await Promise.all(joins);
    }
    await new Promise((r) => setTimeout(r, 2_000)); // joins and their first stats ticks settle
    let reacting: NodeJS.Timeout | null = null;
    if (o.reactions > 0) {
      let next = 0;
      const perTick = Math.max(1, Math.round((o.reactions * o.rooms) / 10));
      reacting = setInterval(() => {
        for (let i = 0; i < perTick; i++, next++) {
          const r = next % o.rooms;
          clients[Math.floor(r / ROOMS_PER_SOCKET)].send({ react: { room: `room${r}`, kind: 1, count: 1 } });
        }
      }, 100);
    }
    // Window 1: Redis's own cost (commandstats, CPU), undisturbed.
    const before = await CommandStats.read([stats]);
    const redisCpuBefore = await redisCpuMs(stats);
    const cpuBefore = gateway.cpuMs();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const after = await CommandStats.read([stats]);
    const seconds = (performance.now() - t0) / 1000;
    const redisCpu = (await redisCpuMs(stats)) - redisCpuBefore;
    const cpu = (gateway.cpuMs() - cpuBefore) / 1000 / seconds;
    // Window 2: MONITOR sees every command, those clients sent and those scripts ran (source "lua");
    // it slows Redis down, so it gets a window of its own.
    const monitor = await redis.monitor();
    monitor.on('error', () => undefined);
    const sent = new Map<string, number>();
    let inScripts = 0;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') inScripts++;
      else sent.set(args[0].toLowerCase(), (sent.get(args[0].toLowerCase()) ?? 0) + 1);
    });
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    await monitor.quit().catch(() => undefined);
    if (reacting) clearInterval(reacting);
    const d = after.since(before);
    sent.delete('info'); // the bench's own readings
    const calls = [...sent.values()].reduce((a, b) => a + b, 0);
    const scripts = (sent.get('evalsha') ?? 0) + (sent.get('eval') ?? 0);
    const perS = (n: number) => Math.round((n / seconds) * 10) / 10;
    console.log(`presence: ${o.label}, ${o.rooms} rooms on one node, 2 × ${Math.round(seconds)} s, ${o.reactions} reactions/s per room`);
    console.log('command sent    calls/s');
    for (const [cmd, n] of [...sent].sort((a, b) => b[1] - a[1])) console.log(`${cmd.padEnd(14)} ${String(perS(n)).padStart(9)}`);
    console.log(`calls ${perS(calls)}/s (scripts ${perS(scripts)}/s, running ${perS(inScripts)} commands/s inside); ` +
      `Redis ${d.usecPerCall('evalsha', 'eval').toFixed(1)} µs per script call, Redis CPU ${((redisCpu / 10) / seconds).toFixed(1)} %; gateway CPU ${(cpu * 100).toFixed(1)} %`);
    console.log(JSON.stringify({
      bench: 'presence', label: o.label, rooms: o.rooms, seconds: Math.round(seconds * 10) / 10, reactions_per_room_per_s: o.reactions,
      redis_calls_per_s: perS(calls), script_calls_per_s: perS(scripts), commands_in_scripts_per_s: perS(inScripts),
      script_usec_per_call: Math.round(d.usecPerCall('evalsha', 'eval') * 10) / 10,
      redis_cpu_pct: Math.round(redisCpu / seconds) / 10, gateway_cpu_pct: Math.round(cpu * 1000) / 10,
    }));
  } finally {
    for (const c of clients) c.close();
    await gateway?.stop();
    await Promise.all([redis.quit(), stats.quit()]).catch(() => undefined);
    await redisServer.stop();
  }
}

/** CPU time (user + system) the Redis server process has used, ms. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (num('used_cpu_sys') + num('used_cpu_user')) * 1000;
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
