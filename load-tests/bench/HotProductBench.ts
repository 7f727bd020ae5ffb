/**
 * `bench:flashsale --buckets 1,3`: taps per second on ONE product whose deal's stock is split over
 * 1, 3, ... buckets (docs/flash-sales.md, "A hot product beyond one shard"), with Redis's own cost
 * per tap, and from it the projected taps/s per shard and per cluster size.
 *
 * One process taps through `Checkout.reserve` (validation, deal lookup, saved-method lookup, the
 * reservation scripts; every buyer has a saved card and wins, so every tap is a hold with its settle
 * job in the deal's outbox). The bucket counts are raced in turn by slices, so each sees the same
 * background load, for BENCH_ROUNDS rounds, each on fresh deals. The outbox is not moved to BullMQ
 * (that is off the tap's path; the main bench times settlement), so Redis's counters hold the taps'
 * work only: `INFO commandstats` (µs per EVALSHA call, calls per tap) and `INFO cpu` (Redis's CPU per
 * tap, its I/O included) of the Redis server, or of every master of the cluster.
 *
 * Redis: a private `redis-server` started for the run (so the counters are this bench's), or the
 * Redis Cluster in REDIS_CLUSTER_NODES (`host:port,host:port`), or REDIS_URL with `--shared-redis`.
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { RedisKeys } from '../../common/keys.js';
import { HashSlot } from '../../common/HashSlot.js';
import { openDatabase } from '../../server/db/openDatabase.js';
import { CommerceService } from '../../server/commerce/CommerceService.js';
import { DealBuckets } from '../../server/commerce/DealBuckets.js';
import { Reservation } from '../../server/commerce/Reservation.js';
import type { RoomBroadcaster } from '../../server/commerce/RoomBroadcaster.js';
import type { Principal } from '../../common/auth/TokenService.js';
import { CommandStats } from './CommandStats.js';
import { RedisServerProcess } from './RedisServerProcess.js';

export interface HotProductOptions {
  buckets: number[];
  buyers: number;
  units: number;
  rounds: number;
  slices: number;
  concurrency: number;
  databaseUrl: string;
  /** Use REDIS_URL as it is (its counters then include whatever else runs there). */
  sharedRedis: boolean;
  redisUrl: string;
  clusterNodes: string | undefined;
}

/** What one bucket count measured, summed over its slices. */
interface Tally {
  taps: number;
  won: number;
  ms: number;
  lat: number[];
  stats: CommandStats[];
  /** Per master: CPU ms spent during the slices, its idle rate taken off. */
  redisCpuMs: number[];
}

const quiet: RoomBroadcaster = { publish: async () => 0, publishInventory: () => undefined };

/** Runs the hot-product race and prints a table and a JSON line. */
export class HotProductBench {
  private constructor() {}

  static async run(o: HotProductOptions): Promise<void> {
    const run = randomUUID().slice(0, 8);
    const prefix = `hot:${run}`;
    const schema = `bench_hot_${run}`;
    const keys = new RedisKeys(prefix);
    let server: RedisServerProcess | null = null;
    let redis: Redis | Cluster;
    let where: string;
    if (o.clusterNodes) {
      const nodes = o.clusterNodes.split(',').map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) }));
      redis = new Cluster(nodes, { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: null } });
      where = `Redis Cluster ${o.clusterNodes}`;
    } else {
      if (!o.sharedRedis) server = await RedisServerProcess.start();
      const url = server?.url ?? o.redisUrl;
      redis = new Redis(url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
      where = server ? `private redis-server ${url}` : `shared Redis ${url}`;
    }
    redis.on('error', () => undefined);
    await (redis instanceof Cluster ? new Promise((r) => redis.once('ready', r)) : redis.ping());
    const masters = (): Redis[] => (redis instanceof Cluster ? redis.nodes('master') : [redis]);
    const db = await openDatabase({ databaseUrl: o.databaseUrl || undefined, schema, max: 16 });
    const commerce = await CommerceService.create({
      redis, connection: redis instanceof Cluster ? (redis as never) : { url: server?.url ?? o.redisUrl, maxRetriesPerRequest: null },
      keys, db, broadcaster: quiet, bans: async () => false, runWorkers: false,
    });
    // Taps only: the settle jobs stay in the deals' outboxes (moving them is BullMQ's work, off the tap's path).
    await commerce.outbox.close();
    const reservation = await Reservation.create(redis, keys);
    console.log(`hot product: ${o.buyers} buyers tap once each (${o.units} units, all win) per bucket count ${o.buckets.join(', ')}; ` +
      `${o.rounds} rounds × ${o.slices} slices; ${o.concurrency} taps in flight; ${where}; ${masters().length} master(s); db ${db.kind}`);
    try {
      const shop = await commerce.catalog.createShop({ ownerUserId: 'host', name: 'Hot', currency: 'USD', country: 'US' });
      const principals: Principal[] = Array.from({ length: o.buyers }, (_, i) => ({ userId: `h${i}`, name: `Buyer ${i}`, role: 'viewer', rooms: null, region: 'US', exp: 0 }));
      // The saved-method mirror as PaymentMethods.save writes it, in each key's own slot.
      await Promise.all(principals.map((p) => redis.set(keys.global(`pm:${p.userId}`), 'card|tok_visa')));
      const tallies = new Map<number, Tally>(o.buckets.map((b) => [b, { taps: 0, won: 0, ms: 0, lat: [], stats: [], redisCpuMs: masters().map(() => 0) }]));
      // Each master's CPU at rest (cron, replication), taken off what the slices measure.
      const idle0 = await cpuMsEach(masters());
      const i0 = performance.now();
      await new Promise((r) => setTimeout(r, 2_000));
      const idlePerMs = (await cpuMsEach(masters())).map((c, m) => (c - idle0[m]) / (performance.now() - i0));
      const masterOf = new Map<number, string>();
      let oversold = 0;
      for (let round = 0; round <= o.rounds; round++) {
        const warm = round === 0; // a warm-up round (JIT, connections, scripts), not counted
        const deals = new Map<number, { productId: string; dealId: string }>();
        for (const b of o.buckets) {
          const product = await commerce.catalog.createProduct(shop.id, { titles: { en: `Hot ${round}/${b}` }, images: [], price: { amount: 2500, currency: 'USD' }, stock: o.units });
          await commerce.catalog.addToShowcase('room1', product.id);
          const deal = await commerce.deals.create('room1', 'host', {
            productId: product.id, price: { amount: 1999, currency: 'USD' }, totalStock: o.units, perBuyerLimit: 2, countdownSeconds: 0, durationSeconds: 600, buckets: b,
          });
          deals.set(b, { productId: product.id, dealId: deal.id });
          if (redis instanceof Cluster) {
            const owners = DealBuckets.tags(deal.id, b).map((t) => HashSlot.of(`{${t}}`)).map((slot) => (redis as Cluster).slots[slot]?.[0] ?? '?');
            masterOf.set(b, `${new Set(owners).size} master(s)`);
          }
        }
        const count = warm ? Math.min(o.buyers, 4_000) : o.buyers;
        const step = Math.ceil(count / o.slices);
        for (let from = 0; from < count; from += step) {
          const to = Math.min(count, from + step);
          for (const b of o.buckets) {
            const t = tallies.get(b)!;
            const { productId } = deals.get(b)!;
            const before = await CommandStats.read(masters());
            const cpu0 = await cpuMsEach(masters());
            const t0 = performance.now();
            let next = from;
            let won = 0;
            const lat: number[] = [];
            await Promise.all(Array.from({ length: Math.min(o.concurrency, to - from) }, async () => {
              for (;;) {
                const i = next++;
                if (i >= to) return;
                const s = performance.now();
                const r = await commerce.checkout.reserve(principals[i], { roomId: 'room1', productId, quantity: 1, idempotencyKey: `t${round}` });
                lat.push(performance.now() - s);
                if (!r.code) won++;
              }
            }));
            const ms = performance.now() - t0;
            const after = await CommandStats.read(masters());
            const cpu = (await cpuMsEach(masters())).map((c, m) => Math.max(0, c - cpu0[m] - idlePerMs[m] * ms));
            if (warm) continue;
            t.taps += to - from;
            t.won += won;
            t.ms += ms;
            t.lat.push(...lat);
            t.stats.push(after.since(before));
            cpu.forEach((c, m) => (t.redisCpuMs[m] += c));
          }
        }
        for (const [b, { dealId }] of deals) {
          const left = await reservation.available(dealId);
          const held = Object.values(await reservation.committedBy(dealId)).reduce((a, c) => a + c, 0);
          oversold += Math.max(0, held + left - o.units) + (left < 0 ? 1 : 0) + (held > count ? 1 : 0);
          if (!warm && held !== count) console.log(`round ${round}, ${b} bucket(s): ${held} of ${count} taps hold units (${left} left)`);
        }
        if (warm) console.log(`warm-up: ${count} taps per bucket count (not counted)`);
      }

      const rows = o.buckets.map((b) => {
        const t = tallies.get(b)!;
        const calls = t.stats.reduce((a, s) => a + s.calls('evalsha', 'eval'), 0);
        const usec = t.stats.reduce((a, s) => a + s.usecPerCall('evalsha', 'eval') * s.calls('evalsha', 'eval'), 0);
        // The tap's other command: the saved-method lookup (GET); the scripts' own commands are inside EVALSHA's time.
        const getUsec = t.stats.reduce((a, s) => a + s.usecPerCall('get') * s.calls('get'), 0);
        const ownUsPerTap = (usec + getUsec) / t.taps;
        const lat = Float64Array.from(t.lat).sort();
        const redisCpuUsPerTap = (t.redisCpuMs.reduce((a, c) => a + c, 0) * 1000) / t.taps;
        const busiestUsPerTap = (Math.max(...t.redisCpuMs) * 1000) / t.taps;
        const scriptUsPerTap = usec / t.taps;
        return {
          buckets: b, taps_per_s: Math.round((t.taps / t.ms) * 1000), won: t.won, taps: t.taps,
          p50_ms: r2(pct(lat, 50)), p99_ms: r2(pct(lat, 99)),
          evalsha_per_tap: r2(calls / t.taps), evalsha_usec_per_call: r2(usec / calls), script_usec_per_tap: r2(scriptUsPerTap),
          redis_usec_per_tap: r2(ownUsPerTap),
          redis_cpu_usec_per_tap: r2(redisCpuUsPerTap),
          busiest_master_cpu_usec_per_tap: r2(busiestUsPerTap),
          // A shard's core spent on nothing but this product's taps: 1e6 µs / (Redis's own µs per tap, commandstats).
          projected_taps_per_s_per_shard: Math.round(1e6 / ownUsPerTap),
          // The same from Redis's CPU at this (low) load, I/O and idle wake-ups included: a floor.
          cpu_floor_taps_per_s_per_shard: Math.round(1e6 / redisCpuUsPerTap),
          // This deal on this Redis, by CPU: its busiest master saturates first.
          cpu_floor_taps_per_s_here: Math.round(1e6 / busiestUsPerTap),
          placement: masterOf.get(b) ?? '1 server',
        };
      });
      console.log('buckets  taps/s   p50 ms  p99 ms  EVALSHA/tap  µs/EVALSHA  Redis µs/tap  projected taps/s/shard | CPU µs/tap (busiest)  CPU floor/shard');
      for (const r of rows) {
        console.log(`${String(r.buckets).padStart(7)}  ${String(r.taps_per_s).padStart(6)}  ${r.p50_ms.toFixed(2).padStart(6)}  ${r.p99_ms.toFixed(2).padStart(6)}  ` +
          `${r.evalsha_per_tap.toFixed(2).padStart(11)}  ${r.evalsha_usec_per_call.toFixed(1).padStart(10)}  ${r.redis_usec_per_tap.toFixed(2).padStart(12)}  ` +
          `${String(r.projected_taps_per_s_per_shard).padStart(22)} | ${r.redis_cpu_usec_per_tap.toFixed(2).padStart(10)} (${r.busiest_master_cpu_usec_per_tap.toFixed(2)})  ` +
          `${String(r.cpu_floor_taps_per_s_per_shard).padStart(15)}  (${r.placement})`);
      }
      // A deal of B buckets on B masters: B shards share its taps (a one-bucket deal stays on one, whatever the cluster's size).
      const projection: Record<string, number> = {};
      const perShard = rows.find((r) => r.buckets > 1) ?? rows[0];
      const single = rows.find((r) => r.buckets === 1);
      for (const shards of [1, 3, 6, 12, 24]) {
        projection[`cluster_${shards}_masters_buckets_${shards}`] = shards * perShard.projected_taps_per_s_per_shard;
        if (single) projection[`cluster_${shards}_masters_buckets_1`] = single.projected_taps_per_s_per_shard;
      }
      console.log(`projected taps/s on one product (Redis's own time per tap; app servers scaled out): ${JSON.stringify(projection)}`);
      console.log(JSON.stringify({ bench: 'flashsale-buckets', where, masters: masters().length, concurrency: o.concurrency, rounds: o.rounds, rows, projection, oversold }));
    } finally {
      await commerce.close();
      for (const m of masters()) {
        let cursor = '0';
        do {
          const [next, batch] = await m.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
          cursor = next;
          for (const k of batch) await m.del(k);
        } while (cursor !== '0');
      }
      await db.close();
      if (db.kind === 'pg') {
        const c = new pg.Client({ connectionString: o.databaseUrl });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
      redis.disconnect();
      await server?.stop();
    }
  }
}

/** CPU time (user + system) each of the given Redis servers has used, ms. */
async function cpuMsEach(servers: Redis[]): Promise<number[]> {
  return Promise.all(servers.map(async (s) => {
    const info = await s.info('cpu');
    const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    return (num('used_cpu_sys') + num('used_cpu_user')) * 1000;
  }));
}

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const r2 = (x: number) => Math.round(x * 100) / 100;
