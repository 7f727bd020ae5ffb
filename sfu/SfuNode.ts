import { flashcast } from '../protocol/gen/flashcast.js';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { MediaUnavailableError } from './errors.js';
import type { types } from './mediasoup.js';
import { RedisRpc } from './RedisRpc.js';
import type { MediaCaller, SfuService } from './SfuService.js';

const log = logger('SfuNode');

export interface SfuNodeOptions {
  nodeId: string;
  redisUrl: string;
  prefix: string;
  /** IP other SFU nodes reach this one's pipe transports on (default: the SFU listen IP). */
  pipeIp?: string;
  heartbeatMs?: number;
}

/** What a node publishes about itself in `{prefix}:sfu:nodes`. */
export interface SfuNodeInfo {
  nodeId: string;
  consumers: number;
  rooms: number;
  at: number;
}

interface PipedProducer {
  producerId: string;
  kind: types.MediaKind;
  userId: string;
  rtpParameters: types.RtpParameters;
  paused: boolean;
}

export type SfuNodeEvents = { close: [] };

/**
 * One SFU process on the media network: serves gateways' media requests over
 * Redis RPC, registers itself and its load, claims the origin of rooms whose
 * host publishes here, and mirrors rooms whose origin is on another node
 * through a PipeTransport pair (the cross-process half of pipeToRouter).
 *
 * Redis: `<p>:{sfu}:nodes` (hash nodeId → SfuNodeInfo, heartbeat), `<p>:{sfu}:origin:<room>`
 * (nodeId of the room's origin, with a TTL refreshed while it publishes); one hash tag, so the
 * heartbeat's transaction runs on a Redis Cluster too.
 */
export class SfuNode extends EnhancedEventEmitter<SfuNodeEvents> {
  readonly nodeId: string;
  readonly sfu: SfuService;
  readonly rpc: RedisRpc;
  readonly #pipeIp: string;
  /** Gateway address of each session seen here (for pushes). */
  readonly #gateways = new Map<string, string>();
  /** Rooms mirrored from another node (room id → sync promise). */
  readonly #mirrors = new Map<string, Promise<void>>();
  /** On the origin: pipe transports toward mirrors, by room. */
  readonly #outPipes = new Map<string, Set<{ transport: types.PipeTransport; node: string }>>();
  /** On a mirror: the pipe transport from the origin, by room. */
  readonly #inPipes = new Map<string, types.PipeTransport>();
  /** On the origin: pipe transports opened, waiting for the mirror's connect. */
  readonly #pendingPipes = new Map<string, types.PipeTransport>();
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  private constructor(sfu: SfuService, rpc: RedisRpc, options: SfuNodeOptions) {
    super();
    this.nodeId = options.nodeId;
    this.sfu = sfu;
    this.rpc = rpc;
    this.#pipeIp = options.pipeIp ?? sfu.config.listenIp;
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatMs ?? 1000);
    this.#heartbeat.unref();
    rpc.handle('media', (p, from) => this.#media(p, from));
    rpc.handle('close-session', (p) => sfu.closeSession(String(p.sessionId)));
    rpc.handle('pipe-open', (p) => this.#pipeOpen(String(p.roomId)));
    rpc.handle('pipe-connect', (p, from) => this.#pipeConnect(String(p.roomId), String(p.transportId), String(p.ip), Number(p.port), from));
    rpc.handle('producer-added', (p) => this.#mirrorProducer(String(p.roomId), p.producer as unknown as PipedProducer));
    rpc.handle('producer-closed', async (p) => {
      const room = (await sfu.rooms()).find((r) => r.id === String(p.roomId));
      const entry = room?.producers.get(String(p.producerId));
      if (entry?.source === 'remote') entry.producer.close();
    });
    sfu.on('notify', (sessionId, event) => {
      const gw = this.#gateways.get(sessionId);
      if (gw) rpc.push(gw, 'notify', { sessionId, event: Buffer.from(flashcast.MediaEvent.encode(event).finish()).toString('base64') });
    });
    sfu.on('reconnect', (sessionId, reason) => {
      const gw = this.#gateways.get(sessionId);
      if (gw) rpc.push(gw, 'reconnect', { sessionId, reason });
    });
  }

  /** Joins the media network: RPC address `node:{nodeId}`, registry heartbeat. */
  static async create(sfu: SfuService, options: SfuNodeOptions): Promise<SfuNode> {
    const rpc = await RedisRpc.create(options.redisUrl, options.prefix, nodeAddress(options.nodeId));
    const node = new SfuNode(sfu, rpc, options);
    await node.#beat();
    return node;
  }

  /** Leaves the registry, releases origin claims and closes the RPC. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    try {
      await this.rpc.redis.hdel(this.rpc.key('nodes'), this.nodeId);
      for (const room of await this.sfu.rooms()) await this.#releaseOrigin(room.id);
    } catch (error) {
      log.warn({ err: error }, 'could not leave the registry');
    }
    this.rpc.close();
    this.safeEmit('close');
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const rooms = await this.sfu.rooms();
    const info: SfuNodeInfo = {
      nodeId: this.nodeId,
      consumers: this.sfu.pool.workers.reduce((n, w) => n + w.consumers, 0),
      rooms: rooms.length,
      at: Date.now(),
    };
    const multi = this.rpc.redis.multi().hset(this.rpc.key('nodes'), this.nodeId, JSON.stringify(info));
    for (const room of rooms) {
      if ([...room.producers.values()].some((p) => p.source !== 'remote')) multi.pexpire(this.rpc.key(`origin:${room.id}`), 30_000);
    }
    await multi.exec().catch((err) => log.warn({ err: err.message }, 'heartbeat failed'));
  }

  async #media(p: Record<string, unknown>, from: string): Promise<{ response: string }> {
    const caller = p.caller as MediaCaller;
    const request = flashcast.MediaRequest.decode(Buffer.from(String(p.request), 'base64'));
    this.#gateways.set(caller.sessionId, from);
    const roomId = request.room ?? '';
    const originKey = this.rpc.key(`origin:${roomId}`);
    if (request.op === 'createTransport' && request.createTransport?.direction === flashcast.MediaDirection.SEND) {
      // Publishing here makes this node the room's origin (unless another node already is).
      await this.rpc.redis.set(originKey, this.nodeId, 'PX', 30_000, 'NX');
      const origin = await this.rpc.redis.get(originKey);
      if (origin !== this.nodeId) throw new MediaUnavailableError(`the room's origin is on ${origin}`);
    } else {
      const origin = await this.rpc.redis.get(originKey);
      if (origin && origin !== this.nodeId) await this.#ensureMirror(roomId, origin);
    }
    const response = await this.sfu.handle(caller, request);
    return { response: Buffer.from(flashcast.MediaResponse.encode(response).finish()).toString('base64') };
  }

  async #releaseOrigin(roomId: string): Promise<void> {
    const key = this.rpc.key(`origin:${roomId}`);
    if ((await this.rpc.redis.get(key)) === this.nodeId) await this.rpc.redis.del(key);
  }

  // ---------------------------------------------------------------------------
  // Cross-node pipes. The mirror (viewer side) asks the origin to open a pipe
  // transport, opens its own, and both connect; the origin then consumes every
  // producer on its end and the mirror produces them (same ids) on its end.
  // ---------------------------------------------------------------------------

  #ensureMirror(roomId: string, origin: string): Promise<void> {
    let sync = this.#mirrors.get(roomId);
    if (!sync) {
      sync = this.#openMirror(roomId, origin);
      this.#mirrors.set(roomId, sync);
      sync.catch(() => this.#mirrors.delete(roomId));
    }
    return sync;
  }

  async #openMirror(roomId: string, origin: string): Promise<void> {
    const room = await this.sfu.room(roomId);
    room.once('close', () => this.#mirrors.delete(roomId));
    const remote = await this.rpc.call<{ transportId: string; ip: string; port: number }>(nodeAddress(origin), 'pipe-open', { roomId });
    const transport = await room.origin.router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: this.#pipeIp } });
    try {
      await transport.connect({ ip: remote.ip, port: remote.port });
      const producers = await this.rpc.call<PipedProducer[]>(nodeAddress(origin), 'pipe-connect', {
        roomId,
        transportId: remote.transportId,
        ip: transport.tuple.localAddress ?? this.#pipeIp,
        port: transport.tuple.localPort,
      });
      this.#inPipes.set(roomId, transport);
      transport.observer.once('close', () => {
        if (this.#inPipes.get(roomId) === transport) this.#inPipes.delete(roomId);
        this.#mirrors.delete(roomId);
      });
      for (const p of producers) await this.#mirrorProducer(roomId, p);
      log.info({ roomId, origin, producers: producers.length }, 'room mirrored from its origin node');
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  async #mirrorProducer(roomId: string, p: PipedProducer): Promise<void> {
    const transport = this.#inPipes.get(roomId);
    const room = (await this.sfu.rooms()).find((r) => r.id === roomId);
    if (!transport || !room || room.producers.has(p.producerId)) return;
    const producer = await transport.produce({ id: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters, paused: p.paused, appData: { userId: p.userId } });
    room.addProducer({ producer, userId: p.userId, kind: p.kind, source: 'remote' });
  }

  async #pipeOpen(roomId: string): Promise<{ transportId: string; ip: string; port: number }> {
    const room = await this.sfu.room(roomId);
    const transport = await room.origin.router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: this.#pipeIp } });
    this.#pendingPipes.set(transport.id, transport);
    // Not connected within 10 s: abandoned.
    setTimeout(() => {
      if (this.#pendingPipes.delete(transport.id)) transport.close();
    }, 10_000).unref();
    return { transportId: transport.id, ip: transport.tuple.localAddress ?? this.#pipeIp, port: transport.tuple.localPort };
  }

  async #pipeConnect(roomId: string, transportId: string, ip: string, port: number, from: string): Promise<PipedProducer[]> {
    const room = await this.sfu.room(roomId);
    const transport = this.#pendingPipes.get(transportId);
    this.#pendingPipes.delete(transportId);
    if (!transport || transport.closed) throw new MediaUnavailableError('pipe transport expired');
    await transport.connect({ ip, port });
    const entry = { transport, node: from };
    let set = this.#outPipes.get(roomId);
    if (!set) {
      set = new Set();
      this.#outPipes.set(roomId, set);
      const s = set;
      room.on('produceradded', (p) => {
        for (const out of s) void this.#pipeOut(out.transport, p.producer.id, p.userId, roomId, out.node).then((piped) => this.rpc.push(out.node, 'producer-added', { roomId, producer: piped as unknown as Record<string, unknown> }), (err) => log.warn({ err, roomId }, 'pipe out failed'));
      });
    }
    set.add(entry);
    transport.observer.once('close', () => set!.delete(entry));
    const piped: PipedProducer[] = [];
    for (const p of room.producers.values()) piped.push(await this.#pipeOut(transport, p.producer.id, p.userId, roomId, from));
    return piped;
  }

  async #pipeOut(transport: types.PipeTransport, producerId: string, userId: string, roomId: string, node: string): Promise<PipedProducer> {
    const consumer = await transport.consume({ producerId });
    consumer.on('producerclose', () => this.rpc.push(node, 'producer-closed', { roomId, producerId }));
    return { producerId, kind: consumer.kind, userId, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused };
  }
}

/** The RPC address of an SFU node. */
export function nodeAddress(nodeId: string): string {
  return `node:${nodeId}`;
}
