/**
 * The multi-process check of the cost model (`npm run bench:scale`): G gateway processes share
 * one room of V viewers through Redis (a private redis-server, the one given, or the cluster in
 * REDIS_CLUSTER_NODES); a host publishes C critical messages/s and viewers S chat lines/s for
 * T seconds. Every unit cost of the model is measured apart from the windows it predicts:
 * Redis CPU per message and per node (RedisCalibration), the gateways' per-message costs
 * (GatewayMessageCalibration, before the room fills), and, before each round, gateway CPU per
 * delivery by bench:broadcast with one gateway holding as many viewers as each gateway here.
 * Each round's gateway and Redis CPU (/proc/<pid>/stat, INFO cpu) is compared with the model's
 * prediction; exit code 1 when the median ratio is off by more than --tolerance, or when the
 * run did not carry its load.
 *
 *   node dist/load-tests/bench/scale.js --gateways 4 --viewers 1000 --critical 20 --chat 10 --duration 10
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import { BroadcastCalibration, type BroadcastFigure } from './BroadcastCalibration.js';
import { ChatPublisher } from './ChatPublisher.js';
import { CostModel, type RealtimeUnitCosts } from './CostModel.js';
import { FlashcastPublisher } from './FlashcastPublisher.js';
import { GatewayFleet, pin, type GatewayCounters } from './GatewayFleet.js';
import { GatewayMessageCalibration } from './GatewayMessageCalibration.js';
import { LatencyHistogram } from './LatencyHistogram.js';
import { PacedPublishing, type PacedStream } from './PacedPublishing.js';
import type { Publisher } from './Publisher.js';
import { RedisCalibration, runPrefix } from './RedisCalibration.js';
import { RedisNodes } from './RedisNodes.js';
import { RedisServerProcess } from './RedisServerProcess.js';
import { ScaleOptions } from './ScaleOptions.js';
import { median } from './ScenarioRunner.js';
import { ViewerPool } from './ViewerPool.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();
const round = (n: number, digits: number): number | null => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null);
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Chat lines per second a viewer is shown at most (the gateways' FLASHCAST_CHAT_PER_VIEWER_PER_S). */
const CHAT_BUDGET = Number(process.env.FLASHCAST_CHAT_PER_VIEWER_PER_S || 10);
/** Stats ticks per second per node (RoomHub: every 500 ms). */
const STATS_TICKS_PER_S = 2;
/** Median latency above which a run counts as saturated (see the check at the end). */
const SATURATED_P50_MS = 100;

function checkFdLimit(sockets: number): void {
  let limit = Infinity;
  try {
    limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity;
  } catch {
    // unknown: try anyway
  }
  if (limit < sockets + 256) throw new Error(`open-file limit is ${limit}, need ${sockets + 256}: run \`ulimit -n ${sockets * 2 + 1024}\` first`);
}

/**
 * The master that owns a key's slot (cluster), as a redis:// URL: CLUSTER SLOTS's answer,
 * checked by asking that node (a node's map can lag a failover: a MOVED reply names the owner).
 */
async function slotOwner(redis: Redis, key: string): Promise<string> {
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  const slots = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const entry = slots.find(([start, end]) => slot >= start && slot <= end);
  if (!entry) throw new Error(`no master owns slot ${slot}`);
  let owner = `${entry[2][0]}:${entry[2][1]}`;
  for (let i = 0; i < 3; i++) {
    const probe = new Redis(`redis://${owner}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await probe.connect();
      await probe.exists(key);
      return `redis://${owner}`;
    } catch (error) {
      const moved = /MOVED \d+ (\S+)/.exec((error as Error).message);
      if (!moved) throw error;
      owner = moved[1];
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`slot ${slot}: no stable owner after 3 redirects`);
}

/** Differences of two /metrics readings, summed over the gateways. */
function countersDelta(before: GatewayCounters[], after: GatewayCounters[]): GatewayCounters {
  const framesOut: Record<string, number> = {};
  const dropped: Record<string, number> = {};
  let closes = 0;
  after.forEach((a, i) => {
    const b = before[i];
    for (const [k, v] of Object.entries(a.framesOut)) framesOut[k] = (framesOut[k] ?? 0) + v - (b.framesOut[k] ?? 0);
    for (const [k, v] of Object.entries(a.dropped)) dropped[k] = (dropped[k] ?? 0) + v - (b.dropped[k] ?? 0);
    closes += a.backpressureCloses - b.backpressureCloses;
  });
  return { framesOut, dropped, backpressureCloses: closes };
}

/** One round: its calibration, the model's prediction and what was measured. */
interface Round {
  broadcast: BroadcastFigure;
  perDelivery: number;
  windowSeconds: number;
  critical: number;
  chat: number;
  predicted: { deliveries: number; gateways: number; redis: number };
  measured: { deliveries: number; gateways: number; gatewayUser: number; gatewaySystem: number; redis: number; redisProc: number; client: number };
  counters: GatewayCounters;
  ratio: { total: number; gateways: number; redis: number };
  loadavg: number;
}

async function main(): Promise<number> {
  const o = ScaleOptions.parse(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(`${ScaleOptions.usage()}\n`);
    return 0;
  }
  checkFdLimit(o.viewers + o.chatters);
  const loadStart = loadavg();
  const cores = availableParallelism(); // before this process is pinned
  const clusterNodes = process.env.REDIS_CLUSTER_NODES?.trim() || null;
  const prefix = runPrefix('fcscale');
  const messageRate = o.critical + Math.min(o.chat, CHAT_BUDGET);
  log(
    `scale bench: ${o.gateways} gateways, ${o.viewers} viewers, ${o.critical} critical msg/s, ${o.chat} chat lines/s ` +
      `(${o.chatters} chatters), ${o.duration} s x ${o.rounds} rounds; ${cores} cores, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}, ` +
      `memory free ${(freemem() / 2 ** 30).toFixed(1)} of ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
      `pin ${o.pin ? `gateways${o.redisUrl || clusterNodes ? '' : ' + Redis'} on CPU ${o.pin.server}, load generator on CPU ${o.pin.client}` : 'none'}; ` +
      `Redis: ${clusterNodes ? `cluster ${clusterNodes}` : o.redisUrl ?? 'a private redis-server'}`,
  );

  const owned: { redis: RedisServerProcess | null; nodes: RedisNodes | null; fleet: GatewayFleet | null; pools: ViewerPool[]; publishers: Publisher[] } = {
    redis: null,
    nodes: null,
    fleet: null,
    pools: [],
    publishers: [],
  };
  try {
    // Redis: a private server (nothing else's commands in its CPU), the given one, or the cluster.
    // bench:broadcast always gets a plain server (the private one when there is no other).
    let plainUrl = o.redisUrl;
    if (!plainUrl) {
      owned.redis = await RedisServerProcess.start();
      plainUrl = owned.redis.url;
    }
    const addresses = clusterNodes ? clusterNodes.split(',').map((s) => s.trim()).filter(Boolean) : [plainUrl];
    owned.nodes = await RedisNodes.connect(addresses);
    const redisNodes = owned.nodes;
    if (redisNodes.pids.length !== redisNodes.nodes.length) log('  ! some Redis servers are not local: their CPU cannot be read from /proc');
    if (o.pin && owned.redis && !clusterNodes) for (const pid of redisNodes.pids) pin(pid, o.pin.server);

    // Unit costs measured once, apart from the rounds.
    const redisRate = Math.max(10, o.critical + o.chat);
    const calibrationUrl = clusterNodes ? await slotOwner(redisNodes.nodes[0].redis, RedisCalibration.channel(`${prefix}cal`)) : plainUrl;
    log(
      `calibration: Redis CPU per message and per node, ${o.redisMessages} messages at ${redisRate}/s x 4 readings ` +
        `(critical and chat; 1 and ${o.redisSubscribers} subscribers) on ${calibrationUrl}`,
    );
    const redisUnits = await RedisCalibration.measure({
      url: calibrationUrl,
      prefix: `${prefix}cal`,
      messages: o.redisMessages,
      rate: redisRate,
      subscribers: o.redisSubscribers,
      textBytes: o.textBytes,
    });
    log(
      `  Redis µs per critical ${fmt(redisUnits.usPerCritical, 1)}, per chat line ${fmt(redisUnits.usPerChat, 1)}, ` +
        `per message per node ${fmt(redisUnits.usPerMessageNode, 2)}, at rest ${fmt(redisUnits.atRestUsPerSecond)} µs/s ` +
        `(µs per message with 1 / ${o.redisSubscribers} subscribers: critical ${fmt(redisUnits.readings.critical1, 1)} / ${fmt(redisUnits.readings.criticalK, 1)}, ` +
        `chat ${fmt(redisUnits.readings.chat1, 1)} / ${fmt(redisUnits.readings.chatK, 1)})`,
    );

    // From here this process (viewers, publishers) stays off the servers' CPUs.
    if (o.pin) pin(process.pid, o.pin.client);
    owned.fleet = await GatewayFleet.start({ count: o.gateways, redisUrl: clusterNodes ? null : plainUrl, prefix, cpus: o.pin?.server ?? null });
    const fleet = owned.fleet;
    log(`  ${o.gateways} gateways up on ports ${fleet.ports.join(', ')}`);
    const broadcast = (): Promise<BroadcastFigure> =>
      Number.isFinite(o.gatewayUsPerDelivery)
        ? Promise.resolve({ us: o.gatewayUsPerDelivery, copies: [o.gatewayUsPerDelivery], command: `--broadcast-us-per-delivery ${o.gatewayUsPerDelivery}`, json: {} })
        : BroadcastCalibration.run({ copies: o.gateways, viewers: o.calibrationViewers, rate: messageRate, duration: o.calibrationDuration, redisUrl: plainUrl, pin: o.pin, cores, log });
    log(`calibration: bench:broadcast, ${o.gateways} copies at once, each one gateway with ${o.calibrationViewers} viewers at ${messageRate} msg/s`);
    let nextBroadcast = await broadcast();
    log(`  ${fmt(nextBroadcast.us, 3)} µs of gateway CPU per delivery (copies: ${nextBroadcast.copies.map((c) => fmt(c, 2)).join(', ')}): ${nextBroadcast.command}`);
    log('calibration: gateway CPU per message apart from its deliveries (6 s windows: the room on gateway 1, then on all)');
    const msgCosts = await GatewayMessageCalibration.measure(fleet, {
      room: o.room,
      textBytes: o.textBytes,
      deliveryUs: nextBroadcast.us,
      seconds: 6,
    });
    log(
      `  gateway µs per critical in ${fmt(msgCosts.criticalIngress, 1)}, per chat line in ${fmt(msgCosts.chatIngress, 1)}, ` +
        `per message per node ${fmt(msgCosts.perNode, 1)}; at rest ${fmt(msgCosts.restPerNodePerSecond / 10_000, 2)} % of a core per node`,
    );
    // bench:broadcast's figure is all of its gateway's CPU over its deliveries: per message, the
    // ingress, the node's copy and (viewers + host) deliveries. The first two come out.
    const perDeliveryOf = (b: BroadcastFigure): number => (b.us * o.calibrationViewers - msgCosts.criticalIngress - msgCosts.perNode) / (o.calibrationViewers + 1);

    // The room fills: viewers spread evenly over the gateways, the host on gateway 1, chatters round the gateways.
    const total = Math.max(1, Math.round(o.critical * o.duration));
    const sendTimes = new SharedArrayBuffer(8 * (total * o.rounds + 16));
    const sendTimeOf = new Float64Array(sendTimes);
    const seconds = Math.ceil(o.duration + o.drain) + 5;
    const perGateway = Array.from({ length: o.gateways }, (_, g) => Math.floor(o.viewers / o.gateways) + (g < o.viewers % o.gateways ? 1 : 0));
    const joinStart = now();
    let minted = 0;
    const pools = await Promise.all(
      perGateway.map(async (count, g) => {
        const paths: string[] = [];
        for (let i = 0; i < count; i++) paths.push(`/ws?token=${await fleet.tokens.mint({ sub: `v${minted++}`, role: 'viewer', ttlSeconds: 3600 })}`);
        const pool = await ViewerPool.create({
          kind: 'flashcast',
          host: '127.0.0.1',
          port: fleet.ports[g],
          room: o.room,
          paths,
          workers: o.workers,
          probes: 0,
          connectConcurrency: o.connectConcurrency,
          joinTimeoutMs: 60_000,
          sendTimes,
          seconds,
        });
        owned.pools.push(pool);
        return pool;
      }),
    );
    const joined = sum(pools.map((p) => p.progress().joined));
    log(`  ${joined}/${o.viewers} viewers joined in ${((now() - joinStart) / 1000).toFixed(1)} s (${sum(pools.map((p) => p.progress().failed))} failed)`);
    if (joined === 0) throw new Error('no viewer joined');
    const url = (g: number, token: string): string => `ws://127.0.0.1:${fleet.ports[g % o.gateways]}/ws?token=${token}`;
    const host = await FlashcastPublisher.create(url(0, await fleet.tokens.mint({ sub: 'h1', role: 'host', rooms: [o.room], ttlSeconds: 3600 })), o.room, o.textBytes);
    owned.publishers.push(host);
    const chatUrls: string[] = [];
    for (let c = 0; c < o.chatters; c++) chatUrls.push(url(c, await fleet.tokens.mint({ sub: `chat${c}`, role: 'viewer', name: `chat${c}`, ttlSeconds: 3600 })));
    const chat = o.chat > 0 ? await ChatPublisher.create(chatUrls, o.room, o.textBytes) : null;
    if (chat) owned.publishers.push(chat);
    // Every member of the room receives its frames: viewers, chatters and the host.
    const members = joined + (chat ? o.chatters : 0) + 1;
    await sleep(2000); // the joins' garbage and the first stats ticks settle

    // At rest: what the full room costs Redis with nothing published (presence ticks, heartbeats).
    const idleRedis0 = await redisNodes.infoCpuMs();
    const idleGw0 = sum(fleet.cpuMs());
    const idleStart = now();
    await sleep(o.idle * 1000);
    const idleSeconds = (now() - idleStart) / 1000;
    const redisIdleUsPerSecond = (((await redisNodes.infoCpuMs()) - idleRedis0) * 1000) / idleSeconds;
    const gatewayRestPct = ((sum(fleet.cpuMs()) - idleGw0) / idleSeconds / 10 / o.gateways);
    // One server: its own rest (timers) measured before the gateways came, the rest is theirs.
    // A cluster: every node's rest is in the window; presence is not told apart from it.
    const presenceUsPerNodeTick = clusterNodes ? 0 : Math.max(0, (redisIdleUsPerSecond - redisUnits.atRestUsPerSecond) / (o.gateways * STATS_TICKS_PER_S));
    const redisRestUsPerSecond = clusterNodes ? redisIdleUsPerSecond : redisUnits.atRestUsPerSecond;
    log(
      `  room at rest (${idleSeconds.toFixed(1)} s): gateways ${fmt(gatewayRestPct, 2)} % of a core each; Redis ${fmt(redisIdleUsPerSecond)} µs/s` +
        (clusterNodes ? ' (all nodes)' : ` = its own ${fmt(redisUnits.atRestUsPerSecond)} + presence ${fmt(presenceUsPerNodeTick, 1)} µs per node per tick`),
    );

    const rounds: Round[] = [];
    const skipped: string[] = [];
    let acked = 0;
    let chatSent = 0;
    const histogram = new LatencyHistogram();
    let lost = 0;
    let duplicates = 0;
    let closedEarly = 0;
    for (let r = 0; r < o.rounds; r++) {
      if (r > 0) {
        nextBroadcast = await broadcast();
        await sleep(1000);
      }
      const figure = nextBroadcast;
      const perDelivery = perDeliveryOf(figure);
      if (!(perDelivery > 0)) {
        // The per-message costs (measured once) exceed what this bench:broadcast run spent per
        // message: one of them was measured in a different state of the machine. Nothing to predict with.
        skipped.push(`round ${r + 1}: bench:broadcast's ${fmt(figure.us, 2)} µs per delivery is less than the per-message costs spread over its viewers`);
        log(`round ${r + 1}/${o.rounds}: skipped, ${skipped.at(-1)}`);
        continue;
      }
      const counters0 = await fleet.counters();
      const gw0 = fleet.cpuMs();
      const split0 = fleet.cpuSplitMs();
      const redisProc0 = redisNodes.procCpuMs();
      const redisInfo0 = await redisNodes.infoCpuMs();
      const client0 = process.cpuUsage();
      const hostAcked0 = host.acked;
      const chatAcked0 = chat?.acked ?? 0;
      const delivered0 = sum(pools.map((p) => p.progress().delivered));
      const start = now();
      for (const p of pools) p.markStart(start);
      const streams: PacedStream[] = [];
      if (o.critical > 0) streams.push({ rate: o.critical, publisher: host, base: r * total, onSend: (seq) => (sendTimeOf[seq] = now()) });
      if (chat) streams.push({ rate: o.chat, publisher: chat, base: chatSent });
      await PacedPublishing.run(streams, o.duration, start);
      chatSent += Math.round(o.chat * o.duration);
      await Promise.all(owned.publishers.map((p) => p.settle(5000)));
      const critical = host.acked - hostAcked0;
      const chatLines = (chat?.acked ?? 0) - chatAcked0;
      const drainDeadline = now() + o.drain * 1000;
      let last = -1;
      let lastMoved = now();
      while (now() < drainDeadline) {
        const delivered = sum(pools.map((p) => p.progress().delivered)) - delivered0;
        if (delivered >= critical * joined) break;
        if (delivered !== last) {
          last = delivered;
          lastMoved = now();
        } else if (now() - lastMoved > 2000) break;
        await sleep(20);
      }
      await sleep(300); // chat sent last is not waited for by the offsets: give it a moment
      const windowSeconds = (now() - start) / 1000;
      const gwCpu = sum(fleet.cpuMs()) - sum(gw0);
      const split1 = fleet.cpuSplitMs();
      const redisInfo = (await redisNodes.infoCpuMs()) - redisInfo0;
      const redisProc = redisNodes.procCpuMs() - redisProc0;
      const client = process.cpuUsage(client0);
      const counters = countersDelta(counters0, await fleet.counters());

      const units: RealtimeUnitCosts = {
        gatewayUsPerDelivery: perDelivery,
        gatewayUsPerCriticalIngress: msgCosts.criticalIngress,
        gatewayUsPerChatIngress: msgCosts.chatIngress,
        gatewayUsPerMessageNode: msgCosts.perNode,
        redisUsPerCritical: redisUnits.usPerCritical,
        redisUsPerChat: redisUnits.usPerChat,
        redisUsPerMessageNode: redisUnits.usPerMessageNode,
        redisUsPerPresenceTick: presenceUsPerNodeTick,
      };
      const perSecond = CostModel.realtime(units, {
        viewers: members,
        nodes: o.gateways,
        criticalPerSecond: critical / o.duration,
        chatAdmittedPerSecond: chatLines / o.duration,
        chatShownPerSecond: Math.min(chatLines / o.duration, CHAT_BUDGET),
        statsPerSecond: 0,
        statsTicksPerSecond: STATS_TICKS_PER_S,
      });
      // Message costs over the publishing seconds; Redis's rest and presence over the whole window.
      const predicted = {
        deliveries: perSecond.deliveriesPerSecond * o.duration,
        gateways: (perSecond.gateways.total * o.duration) / 1000,
        redis: ((perSecond.redis.scripts + perSecond.redis.fanout) * o.duration + (perSecond.redis.presence + redisRestUsPerSecond) * windowSeconds) / 1000,
      };
      const chatDelivered = (counters.framesOut.chat ?? 0) - (counters.dropped.sampled ?? 0) - (counters.dropped.lagging ?? 0);
      const measured = {
        deliveries: (counters.framesOut.critical ?? 0) + chatDelivered + (counters.framesOut.stats ?? 0),
        gateways: gwCpu,
        gatewayUser: split1.user - split0.user,
        gatewaySystem: split1.system - split0.system,
        redis: redisInfo,
        redisProc,
        client: (client.user + client.system) / 1000,
      };
      const one: Round = {
        broadcast: figure,
        perDelivery,
        windowSeconds,
        critical,
        chat: chatLines,
        predicted,
        measured,
        counters,
        ratio: {
          total: (measured.gateways + measured.redis) / (predicted.gateways + predicted.redis),
          gateways: measured.gateways / predicted.gateways,
          redis: measured.redis / predicted.redis,
        },
        loadavg: loadavg()[0],
      };
      rounds.push(one);
      acked += critical;
      log(
        `round ${r + 1}/${o.rounds}: bench:broadcast ${fmt(figure.us, 2)} µs (${figure.copies.map((c) => fmt(c, 2)).join(', ')}) -> ${fmt(perDelivery, 2)} µs per delivery; ` +
          `gateways ${fmt(predicted.gateways)} predicted / ${fmt(measured.gateways)} ms measured (${fmt(one.ratio.gateways, 3)}), ` +
          `Redis ${fmt(predicted.redis, 1)} / ${fmt(measured.redis, 1)} ms (${fmt(one.ratio.redis, 3)}), deliveries ${fmt(measured.deliveries / predicted.deliveries, 3)} of predicted; load ${one.loadavg.toFixed(2)}`,
      );
    }
    if (rounds.length === 0) throw new Error(`no round could be predicted: ${skipped.join('; ')}`);
    const reports = (await Promise.all(pools.map((p) => p.report(acked)))).flat();
    for (const rep of reports) histogram.add(rep.histogram, rep.histogramMax, rep.histogramSum);
    lost = sum(reports.map((rep) => rep.lost));
    duplicates = sum(reports.map((rep) => rep.duplicates));
    closedEarly = sum(reports.map((rep) => rep.closedEarly));

    // The table: each round, then the medians the check is made on.
    const med = (f: (r: Round) => number): number => median(rounds.map(f));
    const ratioTotal = med((r) => r.ratio.total);
    const ratioGateways = med((r) => r.ratio.gateways);
    const ratioRedis = med((r) => r.ratio.redis);
    const header = ['round', 'broadcast µs', 'µs/deliv', 'deliveries pred/meas', 'gateway ms pred/meas', 'Redis ms pred/meas', 'ratio total', 'gateways', 'Redis', 'load'];
    const rows = rounds.map((r, i) => [
      String(i + 1),
      fmt(r.broadcast.us, 2),
      fmt(r.perDelivery, 2),
      `${fmt(r.predicted.deliveries)} / ${fmt(r.measured.deliveries)}`,
      `${fmt(r.predicted.gateways)} / ${fmt(r.measured.gateways)}`,
      `${fmt(r.predicted.redis, 1)} / ${fmt(r.measured.redis, 1)}`,
      fmt(r.ratio.total, 3),
      fmt(r.ratio.gateways, 3),
      fmt(r.ratio.redis, 3),
      r.loadavg.toFixed(2),
    ]);
    rows.push(['median', '', '', '', '', '', fmt(ratioTotal, 3), fmt(ratioGateways, 3), fmt(ratioRedis, 3), '']);
    const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
    const line = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    const last = rounds.at(-1)!;
    const out = [
      '',
      `${o.gateways} gateways, ${members} members (${joined} viewers, ${o.chat > 0 ? o.chatters : 0} chatters, the host); each round ${o.duration} s of ` +
        `${o.critical} critical + ${o.chat} chat msg/s; ratios are measured / predicted CPU`,
      line(header),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...rows.map(line),
      `unit costs: gateway ${fmt(msgCosts.criticalIngress, 1)} µs per critical in, ${fmt(msgCosts.chatIngress, 1)} per chat line in, ${fmt(msgCosts.perNode, 1)} per message per node, ` +
        `per delivery as above; Redis ${fmt(redisUnits.usPerCritical, 1)} µs per critical, ${fmt(redisUnits.usPerChat, 1)} per chat line, ` +
        `${fmt(redisUnits.usPerMessageNode, 2)} per message per node, ${fmt(presenceUsPerNodeTick, 1)} per node per stats tick`,
      `last round: gateway CPU user ${fmt(last.measured.gatewayUser)} + system ${fmt(last.measured.gatewaySystem)} ms; Redis ${fmt(last.measured.redisProc)} ms from /proc (10 ms ticks), ` +
        `${fmt(last.measured.redis, 1)} ms from INFO cpu; load generator ${fmt(last.measured.client)} ms; deliveries: critical ${fmt(last.counters.framesOut.critical ?? 0)}, ` +
        `chat ${fmt((last.counters.framesOut.chat ?? 0) - (last.counters.dropped.sampled ?? 0) - (last.counters.dropped.lagging ?? 0))} ` +
        `(sampled out ${fmt(last.counters.dropped.sampled ?? 0)}, skipped for lagging viewers ${fmt(last.counters.dropped.lagging ?? 0)})`,
      `all rounds: viewers got ${fmt(acked * joined)} announcements expected, lost ${lost}, duplicates ${duplicates}; ` +
        `publish-to-receive p50 ${fmt(histogram.quantileMs(0.5), 1)} ms, p99 ${fmt(histogram.quantileMs(0.99), 1)} ms`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);

    // A run that did not carry its load says nothing about the model: say so, loudly.
    const problems: string[] = [];
    if (!fleet.running) problems.push('a gateway exited during the run');
    if (joined < o.viewers) problems.push(`${o.viewers - joined} viewers did not join`);
    if (lost > 0 || duplicates > 0) problems.push(`critical messages lost ${lost}, duplicated ${duplicates}`);
    const closes = sum(rounds.map((r) => r.counters.backpressureCloses));
    if (closedEarly > 0 || closes > 0) problems.push(`${closedEarly} viewers closed early (${closes} as slow consumers)`);
    problems.push(...skipped);
    const errors = { ...Object.fromEntries(host.errors), ...Object.fromEntries(chat?.errors ?? []) };
    if (Object.keys(errors).length > 0) problems.push(`publish errors: ${JSON.stringify(errors)}`);
    for (const [i, r] of rounds.entries()) {
      // Critical frames must all go out; chat at the sampling budget loses a few lines to the sampler by design.
      const criticalMade = (r.counters.framesOut.critical ?? 0) / (r.critical * members);
      if (criticalMade < 0.99 || r.measured.deliveries < r.predicted.deliveries * 0.9) {
        problems.push(
          `round ${i + 1} made ${fmt(criticalMade * 100, 1)} % of the critical and ${fmt((r.measured.deliveries / r.predicted.deliveries) * 100, 1)} % of all ` +
            'deliveries: the machine did not carry this load, scale it down',
        );
      }
    }
    // A gateway that falls behind sends what queued up in one write per socket: cheaper per delivery
    // than the unsaturated cost the model is built from (and sized for). Such a run checks nothing.
    const p50 = histogram.quantileMs(0.5);
    if (p50 > SATURATED_P50_MS) {
      problems.push(`publish-to-receive p50 ${fmt(p50)} ms > ${SATURATED_P50_MS} ms: the gateways or viewers were saturated (frames queued and sent in batches), scale the run down`);
    }
    const totalOk = Math.abs(ratioTotal - 1) <= o.tolerance;
    const gatewaysOk = Math.abs(ratioGateways - 1) <= o.tolerance;
    const redisShare = median(rounds.map((r) => r.predicted.redis / (r.predicted.gateways + r.predicted.redis)));
    const redisOk = redisShare < 0.05 || Math.abs(ratioRedis - 1) <= o.tolerance;
    const verdict = `total ${fmt(ratioTotal, 3)}, gateways ${fmt(ratioGateways, 3)}, Redis ${fmt(ratioRedis, 3)}${redisShare < 0.05 ? ` (Redis is ${fmt(redisShare * 100, 1)} % of the total: not checked)` : ''}`;
    if (!totalOk || !gatewaysOk || !redisOk) problems.push(`measured CPU differs from the model by more than ${o.tolerance * 100} % (median ratios ${verdict})`);

    const summary = {
      bench: 'scale',
      gateways: o.gateways,
      viewers: o.viewers,
      joined,
      members,
      critical_per_s: o.critical,
      chat_per_s: o.chat,
      duration: o.duration,
      rounds: o.rounds,
      cores,
      pin: o.pin ? `${o.pin.server}:${o.pin.client}` : 'none',
      redis: clusterNodes ? 'cluster' : o.redisUrl ? 'given' : 'private',
      loadavg_1m_start: round(loadStart[0], 2),
      loadavg_1m_end: round(loadavg()[0], 2),
      calibration_broadcast: rounds[0].broadcast.command,
      broadcast_us_per_delivery: rounds.map((r) => round(r.broadcast.us, 3)),
      broadcast_copies_us_per_delivery: rounds.map((r) => r.broadcast.copies.map((c) => round(c, 3))),
      unit_gateway_us_per_delivery: rounds.map((r) => round(r.perDelivery, 3)),
      unit_gateway_us_per_critical_ingress: round(msgCosts.criticalIngress, 1),
      unit_gateway_us_per_chat_ingress: round(msgCosts.chatIngress, 1),
      unit_gateway_us_per_message_node: round(msgCosts.perNode, 1),
      gateway_rest_pct_per_node: round(gatewayRestPct, 2),
      unit_redis_us_per_critical: round(redisUnits.usPerCritical, 1),
      unit_redis_us_per_chat: round(redisUnits.usPerChat, 1),
      unit_redis_us_per_message_node: round(redisUnits.usPerMessageNode, 2),
      unit_redis_us_per_presence_tick: round(presenceUsPerNodeTick, 1),
      unit_redis_at_rest_us_per_s: round(redisUnits.atRestUsPerSecond, 0),
      predicted_gateway_cpu_ms: rounds.map((r) => round(r.predicted.gateways, 0)),
      measured_gateway_cpu_ms: rounds.map((r) => round(r.measured.gateways, 0)),
      predicted_redis_cpu_ms: rounds.map((r) => round(r.predicted.redis, 1)),
      measured_redis_cpu_ms: rounds.map((r) => round(r.measured.redis, 1)),
      predicted_deliveries: rounds.map((r) => Math.round(r.predicted.deliveries)),
      measured_deliveries: rounds.map((r) => r.measured.deliveries),
      ratio_total: round(ratioTotal, 3),
      ratio_gateways: round(ratioGateways, 3),
      ratio_redis: round(ratioRedis, 3),
      lost,
      duplicates,
      latency_p50_ms: round(histogram.quantileMs(0.5), 1),
      latency_p99_ms: round(histogram.quantileMs(0.99), 1),
      ok: problems.length === 0,
      problems,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (problems.length > 0) {
      log(`\nbench:scale FAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return 1;
    }
    log(`\nbench:scale: the model agrees with the run within ${o.tolerance * 100} % (median ratios ${verdict})`);
    return 0;
  } finally {
    for (const p of owned.publishers) await p.close().catch(() => undefined);
    for (const p of owned.pools) await p.close().catch(() => undefined);
    await owned.fleet?.close().catch(() => undefined);
    // The private server goes with its keys; a given server or a cluster keeps running.
    if (owned.nodes && (clusterNodes || o.redisUrl)) await owned.nodes.deleteKeys(`${prefix}*`).catch((e: Error) => log(`  ! cleaning up keys failed: ${e.message}`));
    owned.nodes?.close();
    await owned.redis?.stop();
  }
}

try {
  process.exit(await main());
} catch (error) {
  log(`scale bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
