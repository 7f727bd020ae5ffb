/**
 * The ioredis Cluster BullMQ gets on a Redis Cluster (RedisConnections.queue): a Cluster that
 * never stays in `close` with nothing coming to move it on.
 */
import { Cluster, type ClusterNode, type ClusterOptions } from 'ioredis';

/**
 * Clusters closed on purpose (disconnect, quit) and not connected again since. A set, not a
 * field: Cluster's constructor already calls connect(), before a subclass's fields exist.
 */
const CLOSED_BY_US = new WeakSet<Cluster>();

/**
 * ioredis' Cluster puts itself in `close` whenever its connection pool empties, and that can
 * happen late: a node connection dropped by an earlier reset ends after the cluster has ended,
 * or while it connects again. Nothing then reconnects it and nothing ends it, so a command waits
 * in the offline queue forever and so does anyone waiting for `ready` or `end`. After a failover
 * this left BullMQ workers' blocking connections there: the worker stopped taking jobs and
 * `worker.close()` never returned (compare taskforcesh/bullmq#4065 and #4656). Here, once every
 * `close` listener has run: a cluster still in `close` connects again, or, if it was closed on
 * purpose, ends (`end`: commands fail at once, BullMQ connects it again when it wants it); and
 * `connect()` settles with the cluster (see there). `duplicate()` (BullMQ's blocking
 * connections) makes another QueueCluster.
 */
export class QueueCluster extends Cluster {
  constructor(startupNodes: ClusterNode[], options: ClusterOptions = {}) {
    super(startupNodes, options);
    this.on('close', () => setImmediate(() => settle(this)));
  }

  /**
   * Resolves when the cluster is ready, by this attempt or a later one; rejects when it ends.
   * (ioredis' own promise never settles when the ready check fails: it reconnects with a new
   * attempt, and BullMQ waited on the first one forever.)
   */
  override connect(): Promise<void> {
    CLOSED_BY_US.delete(this);
    const attempt = super.connect();
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.off('ready', onReady);
        this.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new Error('Connection is closed.'));
      this.once('ready', onReady);
      this.once('end', onEnd);
      attempt.then(() => done(), (error: Error) => (this.status === 'end' || CLOSED_BY_US.has(this) ? done(error) : undefined));
    });
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) CLOSED_BY_US.add(this);
    super.disconnect(reconnect);
  }

  override quit(callback?: Parameters<Cluster['quit']>[0]): ReturnType<Cluster['quit']> {
    CLOSED_BY_US.add(this);
    return super.quit(callback);
  }

  override duplicate(overrideStartupNodes: ClusterNode[] = [], overrideOptions: ClusterOptions = {}): QueueCluster {
    const own = (this as unknown as { startupNodes: ClusterNode[] }).startupNodes;
    const nodes = overrideStartupNodes.length > 0 ? overrideStartupNodes : own.slice(0);
    return new QueueCluster(nodes, { ...this.options, ...overrideOptions });
  }
}

/** A cluster left in `close` (ioredis scheduled no reconnect and did not end it): moves it on. */
function settle(cluster: Cluster): void {
  if (cluster.status !== 'close') return;
  if (CLOSED_BY_US.has(cluster)) {
    cluster.status = 'end';
    cluster.emit('end');
  } else {
    cluster.connect().catch(() => undefined);
  }
}
