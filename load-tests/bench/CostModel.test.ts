import { describe, expect, it } from 'vitest';
import { CostModel, type MediaUnitCosts, type RealtimeUnitCosts, type RoomDemand } from './CostModel.js';

const units: RealtimeUnitCosts = {
  gatewayUsPerDelivery: 5,
  gatewayUsPerCriticalIngress: 1000,
  gatewayUsPerChatIngress: 400,
  gatewayUsPerMessageNode: 50,
  redisUsPerCritical: 30,
  redisUsPerChat: 20,
  redisUsPerMessageNode: 3,
  redisUsPerPresenceTick: 40,
};

const media: MediaUnitCosts = { sfuUsPerConsumerPacket: 10, sfuUsPerPipeOutPacket: 8, sfuUsPerPipeInPacket: 6 };

describe('CostModel.realtime', () => {
  it('adds up deliveries, ingress, node copies, scripts, fan-out to nodes and presence', () => {
    const cost = CostModel.realtime(units, {
      viewers: 8000,
      nodes: 4,
      criticalPerSecond: 20,
      chatAdmittedPerSecond: 10,
      chatShownPerSecond: 10,
      statsPerSecond: 0,
      statsTicksPerSecond: 2,
    });
    expect(cost.deliveriesPerSecond).toBe(240_000);
    expect(cost.nodeDeliveriesPerSecond).toBe(120);
    // 240,000 x 5 deliveries, 20 x 1000 + 10 x 400 ingress, 30 x 4 x 50 node copies.
    expect(cost.gateways).toEqual({ deliveries: 1_200_000, ingress: 24_000, nodeMessages: 6_000, total: 1_230_000, perNode: 307_500 });
    // 20 x 30 + 10 x 20 scripts, 30 messages x 4 nodes x 3, 4 nodes x 2 ticks x 40.
    expect(cost.redis).toEqual({ scripts: 800, fanout: 360, presence: 320, total: 1480 });
  });

  it('charges sampled-out chat to Redis and the nodes, not to the viewers', () => {
    const base = { viewers: 1000, nodes: 2, criticalPerSecond: 0, chatShownPerSecond: 10, statsPerSecond: 0, statsTicksPerSecond: 0 };
    const calm = CostModel.realtime(units, { ...base, chatAdmittedPerSecond: 10 });
    const busy = CostModel.realtime(units, { ...base, chatAdmittedPerSecond: 400 });
    expect(busy.gateways.deliveries).toBe(calm.gateways.deliveries);
    expect(busy.gateways.ingress).toBe(400 * 400);
    expect(busy.gateways.nodeMessages).toBe(400 * 2 * 50);
    expect(busy.redis.scripts).toBe(400 * 20);
    expect(busy.redis.fanout).toBe(400 * 2 * 3);
  });

  it('rejects unmeasured (NaN) or negative figures and fractional nodes', () => {
    const room = { viewers: 1, nodes: 1, criticalPerSecond: 1, chatAdmittedPerSecond: 0, chatShownPerSecond: 0, statsPerSecond: 0, statsTicksPerSecond: 2 };
    expect(() => CostModel.realtime({ ...units, gatewayUsPerDelivery: NaN }, room)).toThrow(TypeError);
    expect(() => CostModel.realtime({ ...units, redisUsPerChat: -1 }, room)).toThrow(TypeError);
    expect(() => CostModel.realtime(units, { ...room, nodes: 1.5 })).toThrow(TypeError);
    expect(() => CostModel.realtime(units, { ...room, nodes: 0 })).toThrow(TypeError);
  });
});

describe('CostModel.planRealtime', () => {
  const million: RoomDemand = {
    viewers: 1_000_000,
    criticalPerSecond: 20,
    chatShownPerSecond: 10,
    chatAdmittedPerSecond: 100,
    statsPerSecond: 2,
    statsTicksPerSecond: 2,
  };

  it('gives each gateway at most the core budget, and no more gateways than that needs', () => {
    const plan = CostModel.planRealtime(units, million, { coreBudget: 0.5 });
    // (20 + 10 + 2) x 5 = 160 µs per viewer-second: 160e6 µs/s of deliveries, 20 x 1000 + 100 x 400
    // ingress; each node also pays 120 x 50 = 6,000 µs/s for its copies: 160.06e6 / 494,000 = 324.01 -> 325.
    expect(plan.gateways).toBe(325);
    expect(plan.gatewayLoad).toBeLessThanOrEqual(0.5);
    const fewer = CostModel.realtime(units, { ...million, nodes: plan.gateways - 1 });
    expect(fewer.gateways.perNode).toBeGreaterThan(500_000);
    expect(plan.viewersPerGateway * plan.gateways).toBeGreaterThanOrEqual(million.viewers);
  });

  it('finds the most chat the room shard admits within the budget with that many nodes', () => {
    const plan = CostModel.planRealtime(units, million, { coreBudget: 0.5 });
    const at = (chat: number) => CostModel.realtime(units, { ...million, nodes: plan.gateways, chatAdmittedPerSecond: chat }).redis.total;
    expect(at(plan.maxChatAdmittedPerSecond)).toBeLessThanOrEqual(500_000);
    expect(at(plan.maxChatAdmittedPerSecond + 1)).toBeGreaterThan(500_000);
    expect(plan.redisFits).toBe(true);
  });

  it('says when the room shard cannot carry the chat asked for', () => {
    // 200 lines/s admitted by each of ~330 nodes: 66,000 lines/s, each delivered to every node.
    const plan = CostModel.planRealtime({ ...units, gatewayUsPerMessageNode: 0 }, { ...million, chatAdmittedPerSecond: 200 * 330 }, { coreBudget: 0.5 });
    expect(plan.redisFits).toBe(false);
    expect(plan.redisLoad).toBeGreaterThan(1);
  });

  it('rejects a budget outside (0, 1]', () => {
    expect(() => CostModel.planRealtime(units, million, { coreBudget: 0 })).toThrow(TypeError);
    expect(() => CostModel.planRealtime(units, million, { coreBudget: 1.5 })).toThrow(TypeError);
  });
});

describe('CostModel.planVideo', () => {
  it('serves everyone from edges under the budget, fed by relays, fed by one origin', () => {
    // Edge: 0.7e6 - 100 x 6 = 699,400 µs for consumers at 50 x 10 = 500 µs each: 1,398 per edge.
    // Relay: 699,400 / (100 x 8) = 874 pipes; 1e6 viewers need 716 edges: the origin feeds them all.
    const plan = CostModel.planVideo(media, { viewers: 1_000_000, consumerPacketsPerSecond: 50, pipePacketsPerSecond: 100 }, { coreBudget: 0.7 });
    expect(plan.consumersPerEdge).toBe(1398);
    expect(plan.pipesPerRelay).toBe(874);
    expect(plan.levels.map((l) => l.role)).toEqual(['origin', 'edge']);
    expect(plan.levels[1].workers).toBe(716);
    expect(plan.levels[0].pipesOut).toBe(716);
  });

  it('adds relay levels until one origin can feed the top one', () => {
    const plan = CostModel.planVideo(media, { viewers: 1_000_000, consumerPacketsPerSecond: 50, pipePacketsPerSecond: 100 }, { coreBudget: 0.05 });
    const roles = plan.levels.map((l) => l.role);
    expect(roles[0]).toBe('origin');
    expect(roles.at(-1)).toBe('edge');
    expect(roles.filter((r) => r === 'relay').length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < plan.levels.length - 1; i++) {
      const level = plan.levels[i];
      expect(level.workers * level.pipesOut).toBeGreaterThanOrEqual(plan.levels[i + 1].workers);
      expect(level.pipesOut).toBeLessThanOrEqual(plan.pipesPerRelay);
    }
    for (const level of plan.levels) expect(level.load).toBeLessThanOrEqual(0.05 + 1e-9);
    const edge = plan.levels.at(-1)!;
    expect(edge.workers * edge.consumers).toBeGreaterThanOrEqual(1_000_000);
    expect(plan.workers).toBe(plan.levels.reduce((n, l) => n + l.workers, 0));
  });

  it('refuses a budget too small for one consumer or for a branching tree', () => {
    expect(() => CostModel.planVideo(media, { viewers: 10, consumerPacketsPerSecond: 50, pipePacketsPerSecond: 100 }, { coreBudget: 0.0001 })).toThrow(RangeError);
  });
});

describe('CostModel.agreement', () => {
  it('passes within the tolerance and fails outside it', () => {
    expect(CostModel.agreement(100, 124, 0.25)).toEqual({ ratio: 1.24, ok: true });
    expect(CostModel.agreement(100, 76, 0.25).ok).toBe(true);
    expect(CostModel.agreement(100, 126, 0.25).ok).toBe(false);
    expect(CostModel.agreement(100, 74, 0.25).ok).toBe(false);
    expect(CostModel.agreement(0, 10, 0.25).ok).toBe(false);
  });
});
