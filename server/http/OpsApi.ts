/**
 * The ops console's reads: the live rooms of the cluster (viewers per gateway node, whether a host
 * publishes, the running deal) and an overview (each node's messages and deliveries per second,
 * failed settlement jobs, failed webhook deliveries). Replays stay with SettlementApi and WebhookApi.
 */
import { z } from 'zod';
import type { HttpRouter } from '../../common/http/HttpRouter.js';
import { apiSchema } from '../../common/http/apiSchema.js';
import type { NodeReport } from '../metrics/ClusterStatus.js';

const int = z.number().int();

const OpsRoomSchema = apiSchema('OpsRoom', z.object({
  roomId: z.string(),
  viewers: int.describe('The sum of viewersByNode'),
  viewersByNode: z.array(z.object({ nodeId: z.string(), viewers: int }).strict())
    .describe('Distinct users in the room on each gateway node, as each node counts them for the room\'s presence (reported every 2 s): a user with several tabs on one node counts once, a user on two nodes counts on each'),
  publishing: z.boolean().describe('A host publishes video in the room (as the media backend of a node serving it sees it)'),
  activeDealId: z.string().nullable().describe('The flash deal on sale in the room, else the one counting down; null: none, or commerce is off on this node'),
}).strict());

const OpsNodeSchema = apiSchema('OpsNode', z.object({
  nodeId: z.string(),
  at: int.describe('When the node last reported (Unix ms); reports older than three intervals are dropped'),
  connections: int.describe('Open WebSocket connections (flashcast_connections)'),
  rooms: int.describe('Rooms with members on the node'),
  messagesPerSecond: z.number().describe('Client frames received per second over the node\'s last interval (flashcast_frames_in_total)'),
  deliveriesPerSecond: z.number().describe('Frames sent to clients per second over its last interval (flashcast_frames_out_total: a room publication counts once per subscriber)'),
}).strict());

const OpsOverviewSchema = apiSchema('OpsOverview', z.object({
  nodes: z.array(OpsNodeSchema),
  failedSettlementJobs: int.nullable().describe('Poison jobs over the settlement queues (GET /v1/ops/settlement/failed lists and replays them); null: commerce is off on this node'),
  failedSettlementJobsByQueue: z.record(int).nullable().describe('The same, per queue (settle, commission, refund)'),
  failedWebhookDeliveries: int.nullable().describe('Webhook deliveries that gave up (GET /v1/ops/webhooks/deliveries?status=failed); null: commerce is off on this node'),
}).strict());

const roomsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(200).describe('Most viewed first (default 200)'),
}).strict();

export interface OpsApiOptions {
  /** Every gateway node's last status report. */
  nodes: () => Promise<NodeReport[]>;
  /** The running flash deal of each room (absent: commerce is off here). */
  activeDeals?: (roomIds: string[]) => Promise<Map<string, string>>;
  /** Poison jobs per settlement queue (absent: commerce is off here). */
  failedJobs?: () => Promise<Record<string, number>>;
  /** Webhook deliveries that gave up (absent: commerce is off here). */
  failedDeliveries?: () => Promise<number>;
}

/** `GET /v1/ops/rooms` and `GET /v1/ops/overview` (action ops.read). */
export class OpsApi {
  readonly #options: OpsApiOptions;

  constructor(options: OpsApiOptions) {
    this.#options = options;
  }

  /** Adds the routes to the router. */
  register(router: HttpRouter): void {
    const o = this.#options;
    router.add('GET', '/v1/ops/rooms', 'ops.read', {
      summary: 'Live rooms: viewers per node, whether a host publishes, the running deal', tag: 'ops', query: roomsQuery,
      responses: { 200: z.object({ rooms: z.array(OpsRoomSchema) }).strict() },
    }, async (req) => {
      req.authorize();
      const byRoom = new Map<string, { viewersByNode: Array<{ nodeId: string; viewers: number }>; publishing: boolean }>();
      for (const node of await o.nodes()) {
        for (const r of node.rooms) {
          const room = byRoom.get(r.roomId) ?? { viewersByNode: [], publishing: false };
          room.viewersByNode.push({ nodeId: node.nodeId, viewers: r.viewers });
          room.publishing ||= r.publishing;
          byRoom.set(r.roomId, room);
        }
      }
      const rooms = [...byRoom.entries()]
        .map(([roomId, r]) => ({ roomId, viewers: r.viewersByNode.reduce((n, v) => n + v.viewers, 0), ...r }))
        .sort((a, b) => b.viewers - a.viewers || a.roomId.localeCompare(b.roomId))
        .slice(0, req.queryValues.limit);
      const deals = o.activeDeals ? await o.activeDeals(rooms.map((r) => r.roomId)) : new Map<string, string>();
      return {
        status: 200,
        body: {
          rooms: rooms.map((r) => ({
            roomId: r.roomId, viewers: r.viewers, viewersByNode: r.viewersByNode, publishing: r.publishing, activeDealId: deals.get(r.roomId) ?? null,
          })),
        },
      };
    });
    router.add('GET', '/v1/ops/overview', 'ops.read', {
      summary: 'Each gateway node\'s messages and deliveries per second; failed settlement jobs and webhook deliveries', tag: 'ops',
      responses: { 200: OpsOverviewSchema },
    }, async (req) => {
      req.authorize();
      const [nodes, byQueue, failedDeliveries] = await Promise.all([o.nodes(), o.failedJobs?.() ?? null, o.failedDeliveries?.() ?? null]);
      return {
        status: 200,
        body: {
          nodes: nodes.map((n) => ({
            nodeId: n.nodeId, at: n.at, connections: n.connections, rooms: n.rooms.length,
            messagesPerSecond: n.messagesPerSecond, deliveriesPerSecond: n.deliveriesPerSecond,
          })),
          failedSettlementJobs: byQueue ? Object.values(byQueue).reduce((a, b) => a + b, 0) : null,
          failedSettlementJobsByQueue: byQueue,
          failedWebhookDeliveries: failedDeliveries,
        },
      };
    });
  }
}
