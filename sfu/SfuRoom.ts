import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { MediaNotFoundError, MediaUnavailableError, SfuErrorCode } from './errors.js';
import type { types } from './mediasoup.js';
import { RoomRouter } from './RoomRouter.js';
import type { SfuConfig } from './SfuConfig.js';
import type { PoolWorker, WorkerPool } from './WorkerPool.js';

const log = logger('SfuRoom');

/** A producer published in the room (on the origin router). */
export interface RoomProducer {
  readonly producer: types.Producer;
  readonly userId: string;
  readonly kind: types.MediaKind;
  /** Where it comes from: a browser session, WHIP, plain RTP, or another SFU node. */
  readonly source: 'session' | 'whip' | 'rtp' | 'remote';
}

export type SfuRoomEvents = {
  produceradded: [RoomProducer];
  producerclosed: [RoomProducer];
  /** A router of the room is gone (worker death). origin=true: the room is unusable and closes. */
  routerlost: [RoomRouter];
  close: [];
};

/**
 * The media of one live room: the origin router (where hosts publish) on one
 * worker, and more routers on other workers once a router carries
 * `consumersPerRouter` consumers, each fed from the origin through pipeToRouter.
 * A room with no producers and no transports (no session, ingest, egress or
 * cross-node pipe) for `roomIdleTimeoutMs` closes itself, releasing its routers.
 */
export class SfuRoom extends EnhancedEventEmitter<SfuRoomEvents> {
  readonly id: string;
  readonly producers = new Map<string, RoomProducer>();
  readonly #pool: WorkerPool;
  readonly #config: SfuConfig;
  readonly #routers: RoomRouter[] = [];
  #origin: RoomRouter;
  /** Serialises router creation so a burst of viewers opens one new router, not many. */
  #placing: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lostOrigin = false;
  /** Transports open on the room's routers, with the router they are on. */
  readonly #transports = new Map<types.Transport, RoomRouter>();
  #idleTimer: NodeJS.Timeout | null = null;

  private constructor(id: string, pool: WorkerPool, config: SfuConfig, origin: RoomRouter) {
    super();
    this.id = id;
    this.#pool = pool;
    this.#config = config;
    this.#origin = origin;
    this.#adopt(origin);
    this.#checkIdle();
  }

  /** Opens the room with its origin router on the least-loaded worker. */
  static async create(id: string, pool: WorkerPool, config: SfuConfig): Promise<SfuRoom> {
    const worker = pool.leastLoaded();
    const router = await worker.worker.createRouter({ mediaCodecs: config.mediaCodecs, appData: { roomId: id } });
    return new SfuRoom(id, pool, config, new RoomRouter(router, worker, true));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The origin router died with its worker: everything in the room must be rebuilt. */
  get lostOrigin(): boolean {
    return this.#lostOrigin;
  }

  get origin(): RoomRouter {
    return this.#origin;
  }

  get routers(): readonly RoomRouter[] {
    return this.#routers;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#origin.router.rtpCapabilities;
  }

  /** Consumers over all routers. */
  get consumers(): number {
    return this.#routers.reduce((n, r) => n + r.consumers, 0);
  }

  /**
   * True while anything uses the room: a producer, a consumer, or a transport
   * (a session's, a WHIP or RTP ingest, an egress, a pipe to another node).
   * The pipes between the room's own routers do not count: the origin has one
   * per edge router that was fed, and the edge routers have no other pipes.
   */
  get inUse(): boolean {
    if (this.producers.size > 0 || this.consumers > 0) return true;
    let originPipes = 0;
    let edgePipes = 0;
    for (const [transport, router] of this.#transports) {
      if (transport.type !== 'pipe') return true;
      if (router.origin) originPipes++;
      else edgePipes++;
    }
    return originPipes > edgePipes;
  }

  /**
   * The router a new viewer goes to: the first under the consumer budget, else a
   * new router on the least-loaded worker, fed with every producer of the room.
   */
  routerForViewer(): Promise<RoomRouter> {
    const next = this.#placing.then(() => this.#placeViewer());
    this.#placing = next.catch(() => undefined);
    return next;
  }

  async #placeViewer(): Promise<RoomRouter> {
    if (this.#closed) throw new MediaUnavailableError('room media closed');
    const budget = this.#config.consumersPerRouter;
    const open = this.#routers.find((r) => !r.closed && r.load < budget);
    if (open) return open;
    const used = new Set<PoolWorker>(this.#routers.map((r) => r.poolWorker));
    const worker = this.#pool.leastLoaded(used);
    const router = await worker.worker.createRouter({ mediaCodecs: this.#config.mediaCodecs, appData: { roomId: this.id } });
    if (this.#closed) {
      router.close();
      throw new MediaUnavailableError('room media closed');
    }
    const edge = new RoomRouter(router, worker, false);
    this.#adopt(edge);
    log.info({ roomId: this.id, routers: this.#routers.length, worker: worker.index }, 'room spread to another router');
    await Promise.all([...this.producers.keys()].map((id) => this.ensurePiped(id, edge).catch(() => undefined)));
    return edge;
  }

  /**
   * The producer as seen on `target`: the origin producer itself, or its pipe
   * producer there (created on first use). Pipe producers get ids of their own
   * (a worker may carry several routers of the room), so consume by the id of
   * what this returns.
   */
  ensurePiped(producerId: string, target: RoomRouter): Promise<types.Producer | null> {
    if (target.origin) return Promise.resolve(this.producers.get(producerId)?.producer ?? null);
    let piped = target.pipeProducers.get(producerId);
    if (!piped) {
      piped = this.#origin.router
        .pipeToRouter({ producerId, router: target.router, keepId: false })
        .then((result) => {
          const p = result.pipeProducer;
          if (!p) throw new MediaNotFoundError(SfuErrorCode.ProducerNotFound, 'producer could not be piped');
          p.observer.once('close', () => target.pipeProducers.delete(producerId));
          return p;
        });
      target.pipeProducers.set(producerId, piped);
      piped.catch(() => target.pipeProducers.delete(producerId));
    }
    return piped;
  }

  /** Registers a producer made on the origin router and pipes it to every other router. */
  addProducer(entry: RoomProducer): void {
    if (this.#closed) {
      entry.producer.close();
      return;
    }
    this.producers.set(entry.producer.id, entry);
    this.#checkIdle();
    entry.producer.observer.once('close', () => {
      if (this.producers.get(entry.producer.id) !== entry) return;
      this.producers.delete(entry.producer.id);
      this.safeEmit('producerclosed', entry);
      this.#checkIdle();
    });
    for (const r of this.#routers) if (!r.origin) void this.ensurePiped(entry.producer.id, r).catch((err) => log.warn({ err, roomId: this.id }, 'pipe failed'));
    this.safeEmit('produceradded', entry);
  }

  /** Closes every router of the room. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    for (const r of [...this.#routers]) r.close();
    this.#routers.length = 0;
    this.#transports.clear();
    this.producers.clear();
    this.safeEmit('close');
  }

  /** Arms the idle timer when nothing uses the room, disarms it when something does. */
  #checkIdle(): void {
    if (this.#closed) return;
    if (this.inUse) {
      if (this.#idleTimer) clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
      return;
    }
    if (this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#closed || this.inUse) return;
      log.info({ roomId: this.id, routers: this.#routers.length, idleMs: this.#config.roomIdleTimeoutMs }, 'idle room closed');
      this.close();
    }, this.#config.roomIdleTimeoutMs);
    this.#idleTimer.unref();
  }

  #adopt(r: RoomRouter): void {
    this.#routers.push(r);
    r.router.observer.on('newtransport', (transport) => {
      this.#transports.set(transport, r);
      this.#checkIdle();
      transport.observer.once('close', () => {
        this.#transports.delete(transport);
        this.#checkIdle();
      });
    });
    r.once('close', () => {
      const i = this.#routers.indexOf(r);
      if (i >= 0) this.#routers.splice(i, 1);
      if (this.#closed) return;
      if (r.origin) this.#lostOrigin = true;
      this.safeEmit('routerlost', r);
      if (r.origin) this.close();
    });
  }
}
