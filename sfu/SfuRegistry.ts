import type { RedisRpc } from './RedisRpc.js';

/** What a node publishes about itself in `{prefix}:sfu:nodes`. */
export interface SfuNodeInfo {
  nodeId: string;
  consumers: number;
  rooms: number;
  at: number;
}

/** A node whose last heartbeat is older than this is dead: out of rotation, its rooms' origins may be taken over. */
export const NODE_TIMEOUT_MS = 5000;

/**
 * The media network's membership, the one reading of "is this SFU node alive": each node
 * writes its heartbeat (SfuNodeInfo) into `{p}:sfu:nodes` every second; a node silent for
 * `timeoutMs` is dead. Gateways (RemoteSfu) place sessions on live nodes; nodes (SfuNode)
 * take over the origin of a room whose origin died and re-point their mirrors.
 */
export class SfuRegistry {
  readonly #rpc: RedisRpc;
  readonly #timeoutMs: number;

  constructor(rpc: RedisRpc, timeoutMs = NODE_TIMEOUT_MS) {
    this.#rpc = rpc;
    this.#timeoutMs = timeoutMs;
  }

  /** Live nodes, least loaded first (ties by id). */
  async live(): Promise<SfuNodeInfo[]> {
    const all = await this.#rpc.redis.hgetall(this.#rpc.key('nodes'));
    const now = Date.now();
    return Object.values(all)
      .map((v) => JSON.parse(v) as SfuNodeInfo)
      .filter((n) => now - n.at < this.#timeoutMs)
      .sort((a, b) => a.consumers - b.consumers || a.nodeId.localeCompare(b.nodeId));
  }

  /** True if `nodeId` heartbeated within the timeout. */
  async isLive(nodeId: string): Promise<boolean> {
    const raw = await this.#rpc.redis.hget(this.#rpc.key('nodes'), nodeId);
    if (!raw) return false;
    return Date.now() - (JSON.parse(raw) as SfuNodeInfo).at < this.#timeoutMs;
  }

  /** Writes this node's heartbeat (plus any extra commands, in one round trip). */
  beat(info: SfuNodeInfo, extra: (multi: ReturnType<RedisRpc['redis']['multi']>) => void = () => undefined): Promise<unknown> {
    const multi = this.#rpc.redis.multi().hset(this.#rpc.key('nodes'), info.nodeId, JSON.stringify(info));
    extra(multi);
    return multi.exec();
  }

  /** Leaves the registry. */
  leave(nodeId: string): Promise<number> {
    return this.#rpc.redis.hdel(this.#rpc.key('nodes'), nodeId);
  }
}
