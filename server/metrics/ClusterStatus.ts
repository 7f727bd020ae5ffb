/**
 * Each gateway node's status in Redis, for the ops console: every interval a node reports its
 * rates (read from its GatewayMetrics counters), its connections and the rooms it serves (distinct
 * users here, and whether a host publishes); any node reads every node's last report back.
 */
import type { RedisClient } from '../../common/RedisConnections.js';
import type { RedisKeys } from '../../common/keys.js';
import { logger } from '../../common/logger.js';
import type { GatewayMetrics } from './GatewayMetrics.js';

const log = logger('ClusterStatus');

/** A room as one node reports it. */
export interface NodeRoom {
  roomId: string;
  /** Distinct users in the room on this node (the count it also reports to the room's presence). */
  viewers: number;
  /** A host publishes video in the room, as this node's media backend sees it. */
  publishing: boolean;
}

/** One gateway node's last report. */
export interface NodeReport {
  nodeId: string;
  /** When it reported, Unix ms. */
  at: number;
  /** Open WebSocket connections (flashcast_connections). */
  connections: number;
  /** Client frames received per second over the last interval (flashcast_frames_in_total). */
  messagesPerSecond: number;
  /** Frames sent to clients per second over the last interval (flashcast_frames_out_total: a room publication counts once per subscriber). */
  deliveriesPerSecond: number;
  rooms: NodeRoom[];
}

export interface ClusterStatusOptions {
  redis: RedisClient;
  keys: RedisKeys;
  nodeId: string;
  metrics: GatewayMetrics;
  /** The rooms this node serves now, with their distinct users here. */
  rooms: () => Array<{ roomId: string; viewers: number }>;
  /** Of these rooms, those where a host publishes (empty without a media backend). */
  publishing: (roomIds: string[]) => Promise<Set<string>>;
  /** How often this node reports (default 2 s); a report older than three intervals is stale. */
  intervalMs?: number;
}

/** Reports this node's status and reads the cluster's. */
export class ClusterStatus {
  readonly #options: ClusterStatusOptions;
  readonly #intervalMs: number;
  readonly #key: string;
  readonly #timer: NodeJS.Timeout;
  #last: { at: number; framesIn: number; framesOut: number } | null = null;
  #reporting: Promise<void> | null = null;
  #closePromise: Promise<void> | null = null;

  constructor(options: ClusterStatusOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? 2_000;
    this.#key = options.keys.global('gw:nodes');
    this.#timer = setInterval(() => void this.report(), this.#intervalMs);
    this.#timer.unref();
    void this.report();
  }

  /** Samples the counters and writes this node's report (one at a time; failures are logged). */
  report(): Promise<void> {
    if (this.#closePromise) return Promise.resolve();
    this.#reporting ??= this.#report()
      .catch((err: unknown) => log.warn({ err }, 'status report failed'))
      .finally(() => {
        this.#reporting = null;
      });
    return this.#reporting;
  }

  /** Every node's last report that is not stale, by node id. Stale ones are removed. */
  async nodes(): Promise<NodeReport[]> {
    const all = await this.#options.redis.hgetall(this.#key);
    const now = Date.now();
    const fresh: NodeReport[] = [];
    const stale: string[] = [];
    for (const [nodeId, text] of Object.entries(all)) {
      let report: NodeReport | null = null;
      try {
        report = JSON.parse(text) as NodeReport;
      } catch {
        report = null;
      }
      if (report && now - report.at <= 3 * this.#intervalMs) fresh.push(report);
      else stale.push(nodeId);
    }
    if (stale.length > 0) await this.#options.redis.hdel(this.#key, ...stale).catch(() => undefined);
    return fresh.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** Stops reporting and removes this node's report. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      clearInterval(this.#timer);
      await this.#reporting;
      await this.#options.redis.hdel(this.#key, this.#options.nodeId).catch(() => undefined);
    })();
    return this.#closePromise;
  }

  async #report(): Promise<void> {
    const { metrics, nodeId } = this.#options;
    const sum = async (counter: GatewayMetrics['framesIn'] | GatewayMetrics['framesOut']) =>
      (await counter.get()).values.reduce((n, v) => n + v.value, 0);
    const [framesIn, framesOut, connections] = await Promise.all([
      sum(metrics.framesIn), sum(metrics.framesOut), metrics.connections.get().then((g) => g.values[0]?.value ?? 0),
    ]);
    const at = Date.now();
    const last = this.#last;
    this.#last = { at, framesIn, framesOut };
    const seconds = last ? Math.max(0.001, (at - last.at) / 1000) : 0;
    const rate = (now: number, before: number | undefined) => (last && before !== undefined ? Math.max(0, (now - before) / seconds) : 0);
    const served = this.#options.rooms();
    const publishing = served.length > 0 ? await this.#options.publishing(served.map((r) => r.roomId)) : new Set<string>();
    const report: NodeReport = {
      nodeId,
      at,
      connections,
      messagesPerSecond: round(rate(framesIn, last?.framesIn)),
      deliveriesPerSecond: round(rate(framesOut, last?.framesOut)),
      rooms: served.map((r) => ({ roomId: r.roomId, viewers: r.viewers, publishing: publishing.has(r.roomId) })),
    };
    if (this.#closePromise) return;
    await this.#options.redis
      .multi()
      .hset(this.#key, nodeId, JSON.stringify(report))
      .pexpire(this.#key, Math.max(60_000, 10 * this.#intervalMs))
      .exec();
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
