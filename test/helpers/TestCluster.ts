/**
 * The local test cluster (scripts/redis-cluster.sh, found through FLASHCAST_TEST_CLUSTER_NODES):
 * which master owns a slot, killing a node the hard way, restarting it, and waiting until the
 * cluster is whole again (3 masters, each with a replica in sync).
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { RedisConnections, type RedisNode } from '../../common/RedisConnections.js';
import { sleep } from './env.js';

/** One node's view, read with its own short-lived connection (a dead node answers null). */
interface NodeInfo {
  port: number;
  pid: number;
  configFile: string;
  role: 'master' | 'slave';
  clusterOk: boolean;
  /** A replica's link to its master. */
  linkUp: boolean;
}

export class TestCluster {
  readonly nodes: RedisNode[];

  private constructor(nodes: RedisNode[]) {
    this.nodes = nodes;
  }

  /** The cluster of FLASHCAST_TEST_CLUSTER_NODES; throws when the tests do not run on one. */
  static fromEnv(): TestCluster {
    const list = process.env.FLASHCAST_TEST_CLUSTER_NODES;
    if (!list) throw new Error('FLASHCAST_TEST_CLUSTER_NODES is not set: run `npm run test:cluster` (it starts scripts/redis-cluster.sh)');
    return new TestCluster(RedisConnections.parseNodes(list));
  }

  /** Runs `fn` on a fresh connection to one node; null when the node does not answer. */
  async #on<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T | null> {
    const host = this.nodes.find((n) => n.port === port)?.host ?? '127.0.0.1';
    const redis = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, enableOfflineQueue: false });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await fn(redis);
    } catch {
      return null;
    } finally {
      redis.disconnect();
    }
  }

  /** What one node says about itself. */
  async info(port: number): Promise<NodeInfo | null> {
    return this.#on(port, async (redis) => {
      const server = await redis.info('server');
      const replication = await redis.info('replication');
      const cluster = String(await redis.cluster('INFO'));
      const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
      return {
        port,
        pid: Number(field(server, 'process_id')),
        configFile: field(server, 'config_file'),
        role: field(replication, 'role') === 'master' ? 'master' : 'slave',
        clusterOk: field(cluster, 'cluster_state') === 'ok',
        linkUp: field(replication, 'master_link_status') === 'up',
      };
    });
  }

  /** The slot of a key (CLUSTER KEYSLOT, asked of any live node). */
  async slotOf(key: string): Promise<number> {
    for (const n of this.nodes) {
      const slot = await this.#on(n.port, (r) => r.cluster('KEYSLOT', key));
      if (slot !== null) return Number(slot);
    }
    throw new Error('no cluster node answers');
  }

  /** The port of the master serving `slot`, as a live node in a healthy state sees it; null if none does yet. */
  async masterOf(slot: number): Promise<number | null> {
    for (const n of this.nodes) {
      const slots = await this.#on(n.port, async (r) => {
        const ok = /cluster_state:ok/.test(String(await r.cluster('INFO')));
        return ok ? ((await r.cluster('SLOTS')) as [number, number, [string, number]][]) : null;
      });
      if (!slots) continue;
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      if (range) return Number(range[2][1]);
    }
    return null;
  }

  /** SIGKILL: the node dies mid-write, with no chance to hand anything over. Resolves to its config file. */
  async kill(port: number): Promise<string> {
    const node = await this.info(port);
    if (!node) throw new Error(`node ${port} is not running`);
    process.kill(node.pid, 'SIGKILL');
    for (let i = 0; i < 100 && (await this.info(port)); i++) await sleep(50);
    return node.configFile;
  }

  /** Starts a killed node again from its config file (it rejoins; a replaced master comes back as a replica). */
  async restart(port: number, configFile: string): Promise<void> {
    if (await this.info(port)) return;
    const r = spawnSync('redis-server', [configFile], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`redis-server ${configFile} failed: ${r.stderr || r.stdout}`);
    for (let i = 0; i < 100 && !(await this.info(port)); i++) await sleep(50);
  }

  /** Waits until every node is up and sees the cluster ok, with 3 masters and 3 replicas in sync. */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      const infos = await Promise.all(this.nodes.map((n) => this.info(n.port)));
      const masters = infos.filter((i) => i?.role === 'master').length;
      const synced = infos.filter((i) => i?.role === 'slave' && i.linkUp).length;
      last = JSON.stringify(infos.map((i, k) => i ? `${i.port}:${i.role}${i.clusterOk ? '' : '!'}${i.role === 'slave' && !i.linkUp ? '~' : ''}` : `${this.nodes[k].port}:down`));
      if (infos.every((i) => i?.clusterOk) && masters === 3 && synced === 3) return;
      await sleep(200);
    }
    throw new Error(`the cluster did not become healthy: ${last}`);
  }

  /**
   * Makes `port` (a replica in sync) its shard's master again by a graceful, coordinated
   * failover (CLUSTER FAILOVER: no write is lost), so the next run finds the same layout.
   */
  async failBack(port: number, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const node = await this.info(port);
      if (node?.role === 'master') return;
      if (node?.linkUp) await this.#on(port, (r) => r.cluster('FAILOVER'));
      await sleep(500);
    }
    throw new Error(`node ${port} did not become master again`);
  }
}
