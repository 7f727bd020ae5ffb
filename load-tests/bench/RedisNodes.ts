/**
 * The Redis server processes a benchmark runs against (one server, or every node of a cluster),
 * found through `INFO server` (process_id), and their CPU time: from /proc/<pid>/stat for each
 * local process, and from `INFO cpu` (the server's own getrusage, microsecond resolution) for
 * windows too short for /proc's 10 ms clock ticks.
 */
import { Redis } from 'ioredis';
import { processCpuMs } from './ServerProcess.js';

/** One Redis server: a connection to it and its pid when it runs on this machine. */
export interface RedisNode {
  address: string;
  redis: Redis;
  pid: number | null;
  role: string;
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1']);

/** Every Redis server process of a deployment, with its CPU counters. */
export class RedisNodes {
  readonly nodes: RedisNode[];
  #closed = false;

  private constructor(nodes: RedisNode[]) {
    this.nodes = nodes;
  }

  /**
   * Connects to each `host:port` (or redis:// URL) given: the one server, or each node of a
   * cluster (REDIS_CLUSTER_NODES lists them), and reads its pid and role.
   */
  static async connect(addresses: string[]): Promise<RedisNodes> {
    const nodes: RedisNode[] = [];
    try {
      for (const address of addresses) {
        const url = address.includes('://') ? address : `redis://${address}`;
        const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        nodes.push({ address, redis, pid: null, role: 'unknown' });
        await redis.connect();
        const info = (await redis.info('server')) + (await redis.info('replication'));
        const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
        const host = new URL(url).hostname;
        nodes.at(-1)!.pid = LOCAL.has(host) && Number.isFinite(pid) && pid > 0 ? pid : null;
        nodes.at(-1)!.role = /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
      }
    } catch (error) {
      for (const node of nodes) node.redis.disconnect();
      throw error;
    }
    return new RedisNodes(nodes);
  }

  /** Pids of the local processes (for taskset). */
  get pids(): number[] {
    return this.nodes.map((n) => n.pid).filter((p): p is number => p !== null);
  }

  /** CPU ms of every local Redis process from /proc (NaN when one cannot be read). */
  procCpuMs(): number {
    let sum = 0;
    for (const node of this.nodes) sum += node.pid === null ? NaN : processCpuMs(node.pid);
    return sum;
  }

  /** CPU ms of every server from its own `INFO cpu` (used_cpu_sys + used_cpu_user). */
  async infoCpuMs(): Promise<number> {
    let sum = 0;
    for (const node of this.nodes) {
      const info = await node.redis.info('cpu');
      const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
      const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
      sum += (sys + user) * 1000;
    }
    return sum;
  }

  /** Deletes the keys matching a pattern on every master, one at a time (keys of a cluster span slots). */
  async deleteKeys(pattern: string): Promise<void> {
    for (const node of this.nodes) {
      if (node.role !== 'master') continue;
      let cursor = '0';
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await node.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        if (keys.length > 0) await Promise.all(keys.map((k) => node.redis.unlink(k)));
        cursor = next;
        if (cursor === '0') break;
      }
    }
  }

  /** Closes the connections. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const node of this.nodes) node.redis.disconnect();
  }
}
