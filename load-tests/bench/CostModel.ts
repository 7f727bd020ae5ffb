/**
 * The cost model of one live room: CPU per second of its gateways, of the Redis shard that
 * holds it and of its SFU tree, from measured unit costs and the room's traffic; and the
 * processes a room of a given size needs. Pure arithmetic: every input is a measured figure
 * (docs/scaling.md, "Cost model", says where each comes from), nothing is read or guessed here.
 */

/** One core's CPU per second, in µs. */
export const CORE_US_PER_S = 1_000_000;

/** Measured unit costs of the realtime path (gateways and Redis), in µs of CPU. */
export interface RealtimeUnitCosts {
  /**
   * Gateway CPU per frame delivered to one viewer: bench:broadcast's `flashcast_cpu_us_per_delivery`
   * less the per-message costs below spread over its viewers. A node's timers and pings stay in
   * it, at the viewers per node and frames per second it was measured with.
   */
  gatewayUsPerDelivery: number;
  /**
   * Gateway CPU per critical message entering the room at that gateway (the host's frame:
   * decode, policy, script call, reply). Paid once per message, on one node.
   */
  gatewayUsPerCriticalIngress: number;
  /** The same for a viewer's chat line (rate limits, moderation, script call, reply). */
  gatewayUsPerChatIngress: number;
  /** Gateway CPU per room message per node holding the room (its copy from Redis, decoded once, published once). */
  gatewayUsPerMessageNode: number;
  /** Redis CPU per critical message: its publish script (append, snapshot, SPUBLISH). */
  redisUsPerCritical: number;
  /** Redis CPU per admitted chat line: its chat script (dedup, slow mode, SPUBLISH). */
  redisUsPerChat: number;
  /** Redis CPU per room message per node that has the room: one pub/sub delivery to that node. */
  redisUsPerMessageNode: number;
  /**
   * Redis CPU per room per node per stats tick (presence and reaction totals; measured as a
   * node's Redis CPU at rest, so the node's heartbeat is in it too).
   */
  redisUsPerPresenceTick: number;
}

/** Measured unit costs of the media path (mediasoup workers), in µs of CPU. */
export interface MediaUnitCosts {
  /** Worker CPU per RTP packet sent to an SRTP-encrypted consumer. */
  sfuUsPerConsumerPacket: number;
  /** Sending worker's CPU per RTP packet sent through one pipe to another worker. */
  sfuUsPerPipeOutPacket: number;
  /** Receiving worker's CPU per RTP packet arriving through a pipe. */
  sfuUsPerPipeInPacket: number;
}

/** What one room asks of the realtime path, per second. */
export interface RoomTraffic {
  viewers: number;
  /** Gateway processes the viewers are spread over; each holds the room. */
  nodes: number;
  /** Critical messages (pins, stock, announcements): each reaches every viewer. */
  criticalPerSecond: number;
  /** Viewer chat lines admitted into the room (through Redis): each reaches every node. */
  chatAdmittedPerSecond: number;
  /** Chat lines a viewer is shown (all admitted lines up to the sampling budget). */
  chatShownPerSecond: number;
  /** Stats frames a viewer receives (up to one per tick while the counts change; 0 when steady). */
  statsPerSecond: number;
  /** Stats ticks per node (2: one every 500 ms). */
  statsTicksPerSecond: number;
}

/** CPU per second of each part, in µs (1,000,000 = one core busy). */
export interface RealtimeCost {
  /** Frames written to viewers per second, over all nodes. */
  deliveriesPerSecond: number;
  /** Room messages per second Redis delivers to nodes (messages x nodes). */
  nodeDeliveriesPerSecond: number;
  gateways: { deliveries: number; ingress: number; nodeMessages: number; total: number; perNode: number };
  redis: { scripts: number; fanout: number; presence: number; total: number };
}

/** How much of a core a process may use at peak (the rest is headroom for joins, bursts, GC). */
export interface Headroom {
  coreBudget: number;
}

/** A room to size: its audience and what it publishes. */
export interface RoomDemand {
  viewers: number;
  criticalPerSecond: number;
  chatShownPerSecond: number;
  /**
   * Viewer chat admitted into the room's Redis slot per second, all nodes together. Every
   * admitted line reaches every node, so it costs the shard lines x nodes deliveries.
   */
  chatAdmittedPerSecond: number;
  statsPerSecond: number;
  statsTicksPerSecond: number;
}

/** The realtime processes a room needs. */
export interface RealtimePlan {
  gateways: number;
  viewersPerGateway: number;
  /** Share of a core each gateway uses at the room's peak. */
  gatewayLoad: number;
  cost: RealtimeCost;
  /** Share of one core the room's Redis shard uses (a room is one slot: one shard, one core). */
  redisLoad: number;
  /** Most chat lines per second the room's shard can admit within the budget, with these nodes (a FLASHCAST_ROOM_CHAT_PER_S). */
  maxChatAdmittedPerSecond: number;
  /** True when the room's shard stays within the core budget. */
  redisFits: boolean;
}

/** One video stream to fan out to an audience. */
export interface VideoDemand {
  viewers: number;
  /** RTP packets per second one viewer's consumer sends (the layer it watches). */
  consumerPacketsPerSecond: number;
  /** RTP packets per second of the stream through a pipe (every simulcast layer). */
  pipePacketsPerSecond: number;
}

/** One level of the video tree, from the origin down. */
export interface TreeLevel {
  role: 'origin' | 'relay' | 'edge';
  /** Worker processes (one core each) at this level. */
  workers: number;
  /** Pipes each worker feeds downstream (edges: 0). */
  pipesOut: number;
  /** Consumers each worker serves (origin and relays: 0). */
  consumers: number;
  /** Share of a core each worker uses at this level (the busiest one). */
  load: number;
}

/** The SFU tree for one stream. */
export interface VideoPlan {
  levels: TreeLevel[];
  consumersPerEdge: number;
  pipesPerRelay: number;
  workers: number;
}

const positive = (name: string, value: number): void => {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a finite number >= 0 (got ${value})`);
};

const checkAll = (o: object): void => {
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') positive(k, v);
};

/**
 * The cost model. Every method is a pure function of measured unit costs and a load: the
 * multi-process benchmark (`npm run bench:scale`) checks it against a real run, and
 * docs/scaling.md uses it to size a room of a million viewers.
 */
export class CostModel {
  /** CPU per second of a room's gateways and of its Redis shard. */
  static realtime(units: RealtimeUnitCosts, room: RoomTraffic): RealtimeCost {
    checkAll(units);
    checkAll(room);
    if (room.nodes < 1 || !Number.isInteger(room.nodes)) throw new TypeError('nodes must be an integer >= 1');
    const framesPerViewer = room.criticalPerSecond + room.chatShownPerSecond + room.statsPerSecond;
    const deliveriesPerSecond = room.viewers * framesPerViewer;
    const messages = room.criticalPerSecond + room.chatAdmittedPerSecond;
    const nodeDeliveriesPerSecond = messages * room.nodes;
    const deliveries = deliveriesPerSecond * units.gatewayUsPerDelivery;
    const ingress = room.criticalPerSecond * units.gatewayUsPerCriticalIngress + room.chatAdmittedPerSecond * units.gatewayUsPerChatIngress;
    const nodeMessages = nodeDeliveriesPerSecond * units.gatewayUsPerMessageNode;
    const gateways = deliveries + ingress + nodeMessages;
    const scripts = room.criticalPerSecond * units.redisUsPerCritical + room.chatAdmittedPerSecond * units.redisUsPerChat;
    const fanout = nodeDeliveriesPerSecond * units.redisUsPerMessageNode;
    const presence = room.nodes * room.statsTicksPerSecond * units.redisUsPerPresenceTick;
    return {
      deliveriesPerSecond,
      nodeDeliveriesPerSecond,
      gateways: { deliveries, ingress, nodeMessages, total: gateways, perNode: gateways / room.nodes },
      redis: { scripts, fanout, presence, total: scripts + fanout + presence },
    };
  }

  /**
   * The gateways a room needs so that none passes the core budget, and what its Redis shard
   * then carries. The room's slot cannot be split, so its shard is one core whatever the
   * cluster size; `redisFits` says whether it stays within the budget, and
   * `maxChatAdmittedPerSecond` how much viewer chat it can admit with that many nodes.
   */
  static planRealtime(units: RealtimeUnitCosts, demand: RoomDemand, headroom: Headroom): RealtimePlan {
    checkAll(demand);
    if (!(headroom.coreBudget > 0 && headroom.coreBudget <= 1)) throw new TypeError('coreBudget must be in (0, 1]');
    const budget = headroom.coreBudget * CORE_US_PER_S;
    // Each node pays for its viewers' deliveries and for its copy of every room message; the
    // messages' ingress is spread over the nodes their senders are on.
    const framesPerViewer = demand.criticalPerSecond + demand.chatShownPerSecond + demand.statsPerSecond;
    const messages = demand.criticalPerSecond + demand.chatAdmittedPerSecond;
    const perNodeFixed = messages * units.gatewayUsPerMessageNode;
    if (perNodeFixed >= budget) throw new RangeError('a node cannot keep up with the room messages alone within the budget');
    const variable =
      demand.viewers * framesPerViewer * units.gatewayUsPerDelivery +
      demand.criticalPerSecond * units.gatewayUsPerCriticalIngress +
      demand.chatAdmittedPerSecond * units.gatewayUsPerChatIngress;
    const gateways = Math.max(1, Math.ceil(variable / (budget - perNodeFixed)));
    const cost = CostModel.realtime(units, { ...demand, nodes: gateways });
    // The shard's load without viewer chat, and what each admitted line adds to it.
    const withoutChat = CostModel.realtime(units, { ...demand, nodes: gateways, chatAdmittedPerSecond: 0 }).redis.total;
    const perLine = units.redisUsPerChat + gateways * units.redisUsPerMessageNode;
    const maxChat = perLine > 0 ? Math.max(0, Math.floor((budget - withoutChat) / perLine)) : Infinity;
    return {
      gateways,
      viewersPerGateway: Math.ceil(demand.viewers / gateways),
      gatewayLoad: cost.gateways.perNode / CORE_US_PER_S,
      cost,
      redisLoad: cost.redis.total / CORE_US_PER_S,
      maxChatAdmittedPerSecond: maxChat,
      redisFits: cost.redis.total <= budget,
    };
  }

  /**
   * The SFU tree for one stream: edge workers serve viewers (SRTP consumers) and each takes
   * the stream in through one pipe; relay workers feed edges through pipes; relay levels are
   * added until one origin worker (the host's) can feed the top level. Every worker's input
   * (a pipe, or the host's producer at the origin) is costed as one pipe in.
   */
  static planVideo(units: MediaUnitCosts, demand: VideoDemand, headroom: Headroom): VideoPlan {
    checkAll(units);
    checkAll(demand);
    if (!(headroom.coreBudget > 0 && headroom.coreBudget <= 1)) throw new TypeError('coreBudget must be in (0, 1]');
    const budget = headroom.coreBudget * CORE_US_PER_S;
    const pipeIn = demand.pipePacketsPerSecond * units.sfuUsPerPipeInPacket;
    const perConsumer = demand.consumerPacketsPerSecond * units.sfuUsPerConsumerPacket;
    const perPipe = demand.pipePacketsPerSecond * units.sfuUsPerPipeOutPacket;
    const consumersPerEdge = Math.floor((budget - pipeIn) / perConsumer);
    const pipesPerRelay = Math.floor((budget - pipeIn) / perPipe);
    if (consumersPerEdge < 1) throw new RangeError('one consumer does not fit in a worker within the budget');
    if (pipesPerRelay < 2) throw new RangeError('a relay cannot feed two pipes within the budget: no tree can grow');
    const edges = Math.ceil(demand.viewers / consumersPerEdge);
    const below: TreeLevel[] = [
      { role: 'edge', workers: edges, pipesOut: 0, consumers: Math.ceil(demand.viewers / edges), load: (pipeIn + Math.ceil(demand.viewers / edges) * perConsumer) / CORE_US_PER_S },
    ];
    let feeds = edges;
    while (feeds > pipesPerRelay) {
      const relays = Math.ceil(feeds / pipesPerRelay);
      const pipesOut = Math.ceil(feeds / relays);
      below.unshift({ role: 'relay', workers: relays, pipesOut, consumers: 0, load: (pipeIn + pipesOut * perPipe) / CORE_US_PER_S });
      feeds = relays;
    }
    const levels: TreeLevel[] = [{ role: 'origin', workers: 1, pipesOut: feeds, consumers: 0, load: (pipeIn + feeds * perPipe) / CORE_US_PER_S }, ...below];
    return { levels, consumersPerEdge, pipesPerRelay, workers: levels.reduce((n, l) => n + l.workers, 0) };
  }

  /** measured / predicted; the check passes when it is within 1 ± tolerance. */
  static agreement(predicted: number, measured: number, tolerance: number): { ratio: number; ok: boolean } {
    const ratio = predicted > 0 ? measured / predicted : NaN;
    return { ratio, ok: Number.isFinite(ratio) && Math.abs(ratio - 1) <= tolerance };
  }
}
