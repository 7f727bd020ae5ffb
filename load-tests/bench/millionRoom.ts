/**
 * Sizes one room from measured unit costs (`node dist/load-tests/bench/millionRoom.js scale.json
 * sfu-costs.json`): the JSON lines printed by `npm run bench:scale` and `npm run bench:sfu-costs`
 * go in, the processes the room needs come out (gateways, the Redis shard that holds the room,
 * the SFU tree origin -> relays -> edges, drawn), by CostModel. No figure is typed in here: the
 * unit costs come from the two files, the room's shape from the flags, the video's packet rates
 * from the layers' configured bitrates, frame rate and the measured packet size.
 *
 *   node dist/load-tests/bench/millionRoom.js scale.json sfu-costs.json [--viewers 1000000]
 *     [--critical 20] [--chat-shown 10] [--stats 2] [--chat-admitted N] [--budget 0.6] [--fps 30]
 */
import { readFileSync } from 'node:fs';
import { CostModel, type MediaUnitCosts, type RealtimeUnitCosts, type RoomDemand, type VideoPlan } from './CostModel.js';
import { median } from './ScenarioRunner.js';

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

/** The last JSON line of a file (what the benchmarks print last). */
function jsonLine(path: string): Record<string, unknown> {
  const line = readFileSync(path, 'utf8').trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${path}: no JSON line`);
  return JSON.parse(line) as Record<string, unknown>;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`--${name} must be a number >= 0`);
  return n;
}

/** A number from a benchmark's JSON (the median when it is per round). */
function figure(json: Record<string, unknown>, key: string): number {
  const value = json[key];
  const n = Array.isArray(value) ? median(value.map(Number)) : Number(value);
  if (!Number.isFinite(n)) throw new Error(`the benchmark's JSON has no ${key}`);
  return n;
}

/** The video tree, drawn: one line per level, the fan-out between them. */
function drawTree(plan: VideoPlan, viewers: number): string {
  const lines: string[] = [];
  plan.levels.forEach((level, i) => {
    const load = `${fmt(level.load * 100, 0)} % of a core each`;
    const what =
      level.role === 'origin'
        ? `origin worker (host's producer in)          x ${fmt(level.workers)}   ${load}`
        : level.role === 'relay'
          ? `relay workers                               x ${fmt(level.workers)}   ${load}`
          : `edge workers (SRTP consumers)               x ${fmt(level.workers)}   ${load}`;
    lines.push(`${'  '.repeat(i)}[${what}]`);
    if (level.role !== 'edge') lines.push(`${'  '.repeat(i)}   |  ${fmt(level.pipesOut)} SRTP pipes each (every layer)`);
    else lines.push(`${'  '.repeat(i)}   |  ${fmt(level.consumers)} viewers each`);
  });
  lines.push(`${'  '.repeat(plan.levels.length)}${fmt(viewers)} viewers`);
  return lines.join('\n');
}

function main(): void {
  const [scalePath, sfuPath] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1].startsWith('--')));
  if (!scalePath || !sfuPath) throw new TypeError('usage: millionRoom.js scale.json sfu-costs.json [--viewers N] ...');
  const scale = jsonLine(scalePath);
  const sfu = jsonLine(sfuPath);
  const budget = flag('budget', 0.6);
  const realtime: RealtimeUnitCosts = {
    gatewayUsPerDelivery: figure(scale, 'unit_gateway_us_per_delivery'),
    gatewayUsPerCriticalIngress: figure(scale, 'unit_gateway_us_per_critical_ingress'),
    gatewayUsPerChatIngress: figure(scale, 'unit_gateway_us_per_chat_ingress'),
    gatewayUsPerMessageNode: figure(scale, 'unit_gateway_us_per_message_node'),
    redisUsPerCritical: figure(scale, 'unit_redis_us_per_critical'),
    redisUsPerChat: figure(scale, 'unit_redis_us_per_chat'),
    redisUsPerMessageNode: figure(scale, 'unit_redis_us_per_message_node'),
    redisUsPerPresenceTick: figure(scale, 'unit_redis_us_per_presence_tick'),
  };
  const media: MediaUnitCosts = {
    sfuUsPerConsumerPacket: figure(sfu, 'sfu_us_per_srtp_consumer_packet'),
    sfuUsPerPipeOutPacket: figure(sfu, 'sfu_us_per_pipe_out_packet'),
    sfuUsPerPipeInPacket: figure(sfu, 'sfu_us_per_pipe_in_packet'),
  };
  const viewers = flag('viewers', 1_000_000);
  const demand: RoomDemand = {
    viewers,
    criticalPerSecond: flag('critical', 20),
    chatShownPerSecond: flag('chat-shown', 10),
    chatAdmittedPerSecond: 0,
    statsPerSecond: flag('stats', 2),
    statsTicksPerSecond: 2,
  };
  // The chat the room admits into Redis: as asked, or (default) the most its shard carries within
  // the budget. More chat means more node copies, so more gateways, so more copies per line: the
  // largest that fits is found by bisection (fitting only gets harder as chat grows).
  const planAt = (chat: number) => CostModel.planRealtime(realtime, { ...demand, chatAdmittedPerSecond: chat }, { coreBudget: budget });
  let chatAdmitted = flag('chat-admitted', NaN);
  if (!Number.isFinite(chatAdmitted)) {
    let lo = 0;
    let hi = Math.max(1, planAt(0).maxChatAdmittedPerSecond);
    if (!planAt(0).redisFits) hi = 0;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (planAt(mid).redisFits) lo = mid;
      else hi = mid - 1;
    }
    chatAdmitted = lo;
  }
  const plan = planAt(chatAdmitted);
  // Without the room-wide limit, the per-node one (FLASHCAST_ROOM_CHAT_INGRESS_PER_S, default 200) on every node.
  const perNodeOnly = CostModel.realtime(realtime, { ...demand, nodes: plan.gateways, chatAdmittedPerSecond: 200 * plan.gateways });

  // Video: packets per second from the layers' configured bitrates and frame rate, in packets of the measured size.
  const fps = flag('fps', 30);
  const bytes = figure(sfu, 'consumer_bytes_per_packet');
  const kbps = (sfu.layer_kbps as number[]).map(Number);
  const packetsOf = (k: number): number => fps * Math.max(1, Math.ceil((k * 1000) / 8 / fps / bytes));
  const consumerPackets = packetsOf(kbps[kbps.length - 1]);
  const pipePackets = kbps.reduce((sum, k) => sum + packetsOf(k), 0);
  const video = CostModel.planVideo(media, { viewers, consumerPacketsPerSecond: consumerPackets, pipePacketsPerSecond: pipePackets }, { coreBudget: budget });
  const egressGbps = (viewers * kbps[kbps.length - 1]) / 1e6;

  const out = [
    `one room: ${fmt(viewers)} viewers, ${demand.criticalPerSecond} critical msg/s, ${demand.chatShownPerSecond} chat lines/s shown, ${demand.statsPerSecond} stats frames/s; each process at most ${fmt(budget * 100)} % of a core`,
    '',
    'realtime',
    `  gateways: ${fmt(plan.gateways)} processes (one core each), ${fmt(plan.viewersPerGateway)} viewers each, ${fmt(plan.gatewayLoad * 100, 1)} % of a core each`,
    `    deliveries ${fmt(plan.cost.deliveriesPerSecond)} frames/s: ${fmt(plan.cost.gateways.deliveries / 1e6, 1)} cores; ingress ${fmt(plan.cost.gateways.ingress / 1e6, 2)}; node copies ${fmt(plan.cost.gateways.nodeMessages / 1e6, 2)}`,
    `  Redis: the room is one slot, so one shard (one core, plus a replica): ${fmt(plan.redisLoad * 100, 1)} % of it with ${fmt(chatAdmitted)} chat lines/s admitted`,
    `    scripts ${fmt(plan.cost.redis.scripts / 1e3)} ms/s, copies to ${fmt(plan.gateways)} nodes ${fmt(plan.cost.redis.fanout / 1e3)} ms/s, presence ${fmt(plan.cost.redis.presence / 1e3)} ms/s`,
    `    most chat the shard admits within the budget: ${fmt(plan.maxChatAdmittedPerSecond)} lines/s (${fmt(plan.maxChatAdmittedPerSecond / plan.gateways, 2)} per node)`,
    `    so FLASHCAST_ROOM_CHAT_PER_S=${fmt(chatAdmitted)} (the room-wide limit, each node admitting its viewers' share: ${fmt(chatAdmitted / plan.gateways, 2)} lines/s on average)`,
    `    with only the per-node limit (FLASHCAST_ROOM_CHAT_INGRESS_PER_S=200 on ${fmt(plan.gateways)} nodes) the shard would need ${fmt(perNodeOnly.redis.total / 1e6, 1)} cores: it does not fit`,
    '',
    'video (SFU workers, one core each)',
    `  a viewer's consumer: ${fmt(consumerPackets)} packets/s (${kbps[kbps.length - 1]} kbit/s at ${fps} fps in ${fmt(bytes)}-byte packets); a pipe: ${fmt(pipePackets)} packets/s (layers ${kbps.join(' + ')} kbit/s)`,
    `  ${fmt(video.consumersPerEdge)} viewers per edge worker, ${fmt(video.pipesPerRelay)} pipes per relay worker; ${fmt(video.workers)} workers in all`,
    '',
    drawTree(video, viewers),
    '',
    `egress to viewers: ${fmt(egressGbps)} Gbit/s (${fmt(kbps[kbps.length - 1])} kbit/s each), ${fmt((video.consumersPerEdge * kbps[kbps.length - 1]) / 1000)} Mbit/s per edge worker`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      viewers,
      budget,
      gateways: plan.gateways,
      viewers_per_gateway: plan.viewersPerGateway,
      gateway_load: Number(plan.gatewayLoad.toFixed(3)),
      chat_admitted_per_s: chatAdmitted,
      redis_load: Number(plan.redisLoad.toFixed(3)),
      redis_max_chat_admitted_per_s: plan.maxChatAdmittedPerSecond,
      room_chat_per_s_setting: chatAdmitted,
      redis_cores_per_node_limit_only: Number((perNodeOnly.redis.total / 1e6).toFixed(2)),
      consumer_pkts_per_s: consumerPackets,
      pipe_pkts_per_s: pipePackets,
      consumers_per_edge: video.consumersPerEdge,
      pipes_per_relay: video.pipesPerRelay,
      tree: video.levels.map((l) => ({ role: l.role, workers: l.workers, pipes_out: l.pipesOut, consumers: l.consumers, load: Number(l.load.toFixed(3)) })),
      sfu_workers: video.workers,
      egress_gbps: egressGbps,
    })}\n`,
  );
}

try {
  main();
} catch (error) {
  process.stderr.write(`millionRoom failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
}
