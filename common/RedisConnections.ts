/**
 * The one place every process (gateway, settlement worker, SFU node, CLI) opens Redis: one
 * server (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://h1:p1,h2:p2`,
 * `rediss+cluster://…`, or REDIS_CLUSTER_NODES), as ioredis `Redis` or `Cluster`.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import { QueueCluster } from './QueueCluster.js';
import { RedisScript } from './RedisScript.js';

/** A command or subscriber connection: one server or a cluster. */
export type RedisClient = Redis | Cluster;

/** One server or cluster node. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is, parsed from a URL (see `RedisConnections.parse`). */
export interface RedisTarget {
  /** A Redis Cluster (`redis+cluster://`), else one server. */
  cluster: boolean;
  /** The URL as given. */
  url: string;
  /** The cluster's seed nodes (any few; the rest are discovered), or the one server. */
  nodes: RedisNode[];
  username?: string;
  password?: string;
  tls: boolean;
}

/** What a BullMQ queue or worker takes as `connection`, and its release. */
export interface QueueConnection {
  connection: ConnectionOptions;
  /** Closes the shared cluster connection (queues and workers using it must be closed first). */
  close(): Promise<void>;
}

/** Options of a command connection. */
export interface CommandOptions {
  /** Failed attempts before a command is rejected; null: never (what BullMQ and long-lived jobs need). */
  maxRetriesPerRequest?: number | null;
  /** Commands issued in the same tick go out as one pipeline (per node on a cluster). Default true. */
  autoPipelining?: boolean;
  /** Connect on the first command (or `connect()`) instead of at once. */
  lazyConnect?: boolean;
}

const CLUSTER_SCHEMES: Record<string, boolean> = { 'redis+cluster:': false, 'rediss+cluster:': true };
const SINGLE_SCHEMES: Record<string, boolean> = { 'redis:': false, 'rediss:': true };

/**
 * How long a cluster command keeps retrying while a master fails over (its replica is promoted
 * after cluster-node-timeout plus an election): 32 tries 200 ms apart, about 6 s, then it fails.
 */
const FAILOVER_RETRY: Partial<ClusterOptions> = {
  maxRedirections: 32,
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 200,
  retryDelayOnTryAgain: 200,
  slotsRefreshTimeout: 2000,
};

/** A burst of subscriber resets (one per topology refresh during a failover) is reported once, this long after the last. */
const RESUBSCRIBED_SETTLE_MS = 100;

/**
 * Opens Redis connections for a target URL. On a cluster: commands go to the master owning
 * their keys' slot (every key a script or transaction touches shares one hash tag,
 * common/keys.ts), sharded pub/sub (SSUBSCRIBE) runs on one subscriber per master
 * (ioredis `shardedSubscribers`), and BullMQ shares one `Cluster` connection per process.
 */
export class RedisConnections {
  private constructor() {}

  /**
   * Parses a target URL: `redis[s]://[user:pass@]host:port[/db]` (one server) or
   * `redis[s]+cluster://[user:pass@]h1:p1,h2:p2` (a cluster's seed nodes). Throws a TypeError
   * saying what is wrong.
   */
  static parse(url: string): RedisTarget {
    const scheme = /^([a-z+]+:)\/\//.exec(url)?.[1] ?? '';
    if (scheme in SINGLE_SCHEMES) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new TypeError(`not a Redis URL: ${url}`);
      }
      if (!parsed.hostname) throw new TypeError(`Redis URL without a host: ${url}`);
      return {
        cluster: false,
        url,
        nodes: [{ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }],
        username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
        password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
        tls: SINGLE_SCHEMES[scheme],
      };
    }
    if (!(scheme in CLUSTER_SCHEMES)) {
      throw new TypeError(`a Redis URL starts with redis://, rediss://, redis+cluster:// or rediss+cluster:// (got ${JSON.stringify(url)})`);
    }
    const rest = url.slice(scheme.length + 2);
    const at = rest.lastIndexOf('@');
    const auth = at >= 0 ? rest.slice(0, at) : '';
    const hosts = (at >= 0 ? rest.slice(at + 1) : rest).replace(/\/$/, '');
    if (/[/?#]/.test(hosts)) throw new TypeError(`a cluster URL names nodes only (a cluster has no database number or options): ${url}`);
    const colon = auth.indexOf(':');
    const username = colon >= 0 ? auth.slice(0, colon) : auth;
    const password = colon >= 0 ? auth.slice(colon + 1) : '';
    return {
      cluster: true,
      url,
      nodes: RedisConnections.parseNodes(hosts),
      username: username ? decodeURIComponent(username) : undefined,
      password: password ? decodeURIComponent(password) : undefined,
      tls: CLUSTER_SCHEMES[scheme],
    };
  }

  /** Parses `host:port,host:port` (REDIS_CLUSTER_NODES; `[v6]:port` for IPv6). Throws a TypeError. */
  static parseNodes(list: string): RedisNode[] {
    const nodes = list.split(',').map((s) => s.trim()).filter((s) => s !== '').map((entry) => {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/.exec(entry);
      const port = Number(m?.[3] ?? 6379);
      if (!m || port < 1 || port > 65535) throw new TypeError(`not a host:port: ${JSON.stringify(entry)}`);
      return { host: m[1] ?? m[2], port };
    });
    if (nodes.length === 0) throw new TypeError('no cluster nodes given (host:port,host:port,...)');
    return nodes;
  }

  /** The cluster URL of a node list (`h1:p1,h2:p2` → `redis+cluster://h1:p1,h2:p2`). */
  static clusterUrl(nodes: string): string {
    const list = RedisConnections.parseNodes(nodes).map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`));
    return `redis+cluster://${list.join(',')}`;
  }

  /** True when the URL names a cluster. */
  static isCluster(url: string): boolean {
    return RedisConnections.parse(url).cluster;
  }

  /** A connection for commands and scripts, named `name` (CLIENT LIST). */
  static command(url: string, name: string, options: CommandOptions = {}): RedisClient {
    const target = RedisConnections.parse(url);
    const redisOptions: RedisOptions = {
      connectionName: name,
      maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
      lazyConnect: options.lazyConnect ?? false,
    };
    const autoPipelining = options.autoPipelining ?? true;
    if (!target.cluster) {
      const redis = new Redis(url, { ...redisOptions, enableAutoPipelining: autoPipelining });
      // A restarted server has an empty script cache.
      redis.on('ready', () => void RedisScript.loadAll(redis).catch(() => undefined));
      return redis;
    }
    const cluster = new Cluster(target.nodes, {
      ...FAILOVER_RETRY,
      ...clusterAuth(target),
      redisOptions: { ...redisOptions, ...nodeAuth(target) },
      enableAutoPipelining: autoPipelining,
      lazyConnect: options.lazyConnect ?? false,
    });
    // A promoted replica has an empty script cache: load every script on the masters whenever they change.
    let masters = '';
    cluster.on('refresh', () => {
      const now = cluster.nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort().join(',');
      if (now === masters) return;
      masters = now;
      void RedisScript.loadAll(cluster).catch(() => undefined);
    });
    return cluster;
  }

  /**
   * A connection for sharded subscriptions (SSUBSCRIBE / `smessageBuffer`): one server's
   * connection in subscriber mode, or a cluster with one subscriber per master that follows
   * failovers and resharding. Call `onResubscribed` to learn when messages may have been missed.
   */
  static subscriber(url: string, name: string): RedisClient {
    const target = RedisConnections.parse(url);
    if (!target.cluster) return new Redis(url, { connectionName: name, maxRetriesPerRequest: null });
    return new Cluster(target.nodes, {
      ...FAILOVER_RETRY,
      ...clusterAuth(target),
      redisOptions: { connectionName: name, maxRetriesPerRequest: null, ...nodeAuth(target) },
      shardedSubscribers: true,
    });
  }

  /**
   * The BullMQ connection of a process. One server: connection options (each queue and worker
   * connects by itself, as before). A cluster: one shared `Cluster` (workers duplicate it for
   * their blocking reads; a QueueCluster, so that a worker can close after a failover); `close`
   * ends it after the queues and workers are closed.
   */
  static queue(url: string, name: string): QueueConnection {
    const target = RedisConnections.parse(url);
    if (!target.cluster) return { connection: { url, maxRetriesPerRequest: null }, close: async () => undefined };
    const cluster = new QueueCluster(target.nodes, {
      ...FAILOVER_RETRY,
      ...clusterAuth(target),
      redisOptions: { connectionName: name, maxRetriesPerRequest: null, ...nodeAuth(target) },
    });
    let closing: Promise<void> | null = null;
    return {
      connection: cluster,
      close: () => (closing ??= cluster.quit().then(() => undefined, () => cluster.disconnect())),
    };
  }

  /**
   * Calls `listener` whenever the subscriber has subscribed again after losing a connection
   * (a reconnect; on a cluster, a failover or a slot move), when messages may have been
   * missed. Returns the function that stops listening.
   */
  static onResubscribed(subscriber: RedisClient, listener: () => void): () => void {
    if (isCluster(subscriber)) {
      // The subscriber group resets once per topology refresh; a failover is a burst of them.
      let timer: NodeJS.Timeout | null = null;
      const onReady = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          listener();
        }, RESUBSCRIBED_SETTLE_MS);
        timer.unref();
      };
      subscriber.on('subscribersReady', onReady);
      return () => {
        if (timer) clearTimeout(timer);
        subscriber.off('subscribersReady', onReady);
      };
    }
    let seen = subscriber.status === 'ready';
    const onReady = () => {
      if (seen) listener();
      seen = true;
    };
    subscriber.on('ready', onReady);
    return () => subscriber.off('ready', onReady);
  }

  /** Resolves when the connection is ready; rejects after `timeoutMs`. */
  static waitReady(conn: RedisClient, timeoutMs = 10_000): Promise<void> {
    if (conn.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.off('ready', onReady);
        reject(new Error(`Redis not reachable within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      conn.once('ready', onReady);
    });
  }

  /** The masters of a cluster, or the one server: where a per-node command (SCAN, INFO) must go. */
  static masters(conn: RedisClient): Redis[] {
    return isCluster(conn) ? conn.nodes('master') : [conn];
  }
}

function isCluster(conn: RedisClient): conn is Cluster {
  return (conn as Cluster).isCluster === true;
}

/** Credentials and TLS for each node connection of a cluster. */
function nodeAuth(target: RedisTarget): RedisOptions {
  return {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
}

/** Cluster-level options a TLS cluster needs: connect to nodes by the names they announce. */
function clusterAuth(target: RedisTarget): Partial<ClusterOptions> {
  return target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {};
}
