import { flashcast } from '../protocol/gen/flashcast.js';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { assetPath } from '../common/paths.js';
import { RedisScript } from '../common/RedisScript.js';
import { MediaUnavailableError } from './errors.js';
import type { types } from './mediasoup.js';
import { RedisRpc } from './RedisRpc.js';
import type { MediaCaller, SfuService } from './SfuService.js';
import { SfuRegistry, type SfuNodeInfo } from './SfuRegistry.js';

const log = logger('SfuNode');

export interface SfuNodeOptions {
  nodeId: string;
  redisUrl: string;
  prefix: string;
  /** IP other SFU nodes reach this one's pipe transports on (default: the SFU listen IP). */
  pipeIp?: string;
  heartbeatMs?: number;
  /** A node silent this long is dead (default SfuRegistry's NODE_TIMEOUT_MS). */
  nodeTimeoutMs?: number;
}

export type { SfuNodeInfo } from './SfuRegistry.js';

const ORIGIN_TTL_MS = 30_000;
const TAKEOVER = RedisScript.fromFile('origin-takeover-1.lua', assetPath(import.meta.url, 'scripts'));

/** One end of a pipe, as the other node needs it to connect. */
interface PipeEnd {
  ip: string;
  port: number;
  srtpParameters?: types.SrtpParameters;
}

/** What `pipes()` reports of each pipe transport (ops and tests). */
export interface PipeInfo {
  roomId: string;
  /** 'in': a mirror's pipe from its origin; 'out': an origin's pipe toward a mirror. */
  direction: 'in' | 'out';
  peer: string;
  srtp: boolean;
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
 * through a PipeTransport pair (the cross-process half of pipeToRouter), SRTP-encrypted.
 *
 * Failover: when a room's origin node dies (its heartbeat stops), the host's SDK publishes
 * again through its gateway, which places it on a live node; that node takes the origin over
 * (origin-takeover-1.lua: only from a dead node). Every node mirroring the room checks its
 * origin each heartbeat and re-points: the old pipe closes (viewers drop the dead producers)
 * and a pipe from the new origin brings the new producers, which viewers consume without
 * reloading. Viewers placed on the dead node are moved by their gateway (RemoteSfu).
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
  readonly #registry: SfuRegistry;
  /** Gateway address of each session seen here (for pushes). */
  readonly #gateways = new Map<string, string>();
  /** Rooms mirrored from another node (room id → sync promise). */
  readonly #mirrors = new Map<string, Promise<void>>();
  /** On the origin: pipe transports toward mirrors, by room. */
  readonly #outPipes = new Map<string, Set<{ transport: types.PipeTransport; node: string }>>();
  /** On a mirror: the pipe transport from the origin, by room. */
  readonly #inPipes = new Map<string, types.PipeTransport>();
  /** On a mirror: the origin node each mirrored room is piped from. */
  readonly #mirroredFrom = new Map<string, string>();
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
    this.#registry = new SfuRegistry(rpc, options.nodeTimeoutMs);
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatMs ?? 1000);
    this.#heartbeat.unref();
    rpc.handle('media', (p, from) => this.#media(p, from));
    rpc.handle('close-session', (p) => sfu.closeSession(String(p.sessionId)));
    rpc.handle('pipe-open', (p) => this.#pipeOpen(String(p.roomId)));
    rpc.handle('pipe-connect', (p, from) =>
      this.#pipeConnect(String(p.roomId), String(p.transportId), { ip: String(p.ip), port: Number(p.port), srtpParameters: p.srtpParameters as types.SrtpParameters | undefined }, from),
    );
    rpc.handle('pipes', () => Promise.resolve(this.pipes()));
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
      await this.#registry.leave(this.nodeId);
      for (const room of await this.sfu.rooms()) await this.#releaseOrigin(room.id);
    } catch (error) {
      log.warn({ err: error }, 'could not leave the registry');
    }
    this.rpc.close();
    this.safeEmit('close');
  }

  /** The pipe transports of this node: which rooms it mirrors or feeds, and whether SRTP protects them. */
  pipes(): PipeInfo[] {
    const out: PipeInfo[] = [];
    for (const [roomId, transport] of this.#inPipes) {
      out.push({ roomId, direction: 'in', peer: this.#mirroredFrom.get(roomId) ?? '', srtp: transport.srtpParameters !== undefined });
    }
    for (const [roomId, set] of this.#outPipes) {
      for (const { transport, node } of set) out.push({ roomId, direction: 'out', peer: nodeIdOf(node), srtp: transport.srtpParameters !== undefined });
    }
    return out;
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
    await this.#registry
      .beat(info, (multi) => {
        for (const room of rooms) {
          if ([...room.producers.values()].some((p) => p.source !== 'remote')) multi.pexpire(this.rpc.key(`origin:${room.id}`), ORIGIN_TTL_MS);
        }
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'heartbeat failed'));
    await this.#repointMirrors().catch((err: Error) => log.warn({ err: err.message }, 'mirror check failed'));
  }

  /**
   * Each mirrored room still follows its origin: when the origin changed (the host published
   * again on another node after its origin died) or the origin node is dead, the old pipe
   * closes, and the room is mirrored from the new origin once there is a live one.
   */
  async #repointMirrors(): Promise<void> {
    for (const [roomId, from] of [...this.#mirroredFrom]) {
      const origin = await this.rpc.redis.get(this.rpc.key(`origin:${roomId}`));
      if (origin === from && (await this.#registry.isLive(from))) continue;
      log.warn({ roomId, from, origin }, 'origin of a mirrored room changed or died: re-pointing');
      this.#inPipes.get(roomId)?.close();
      this.#inPipes.delete(roomId);
      this.#mirroredFrom.delete(roomId);
      this.#mirrors.delete(roomId);
      if (origin && origin !== this.nodeId && (await this.#registry.isLive(origin))) {
        await this.#ensureMirror(roomId, origin).catch((err: Error) => log.warn({ err: err.message, roomId, origin }, 'could not mirror from the new origin'));
      }
    }
  }

  async #media(p: Record<string, unknown>, from: string): Promise<{ response: string }> {
    const caller = p.caller as MediaCaller;
    const request = flashcast.MediaRequest.decode(Buffer.from(String(p.request), 'base64'));
    this.#gateways.set(caller.sessionId, from);
    const roomId = request.room ?? '';
    const originKey = this.rpc.key(`origin:${roomId}`);
    if (request.op === 'createTransport' && request.createTransport?.direction === flashcast.MediaDirection.SEND) {
      // Publishing here makes this node the room's origin (unless a live node already is).
      await this.rpc.redis.set(originKey, this.nodeId, 'PX', ORIGIN_TTL_MS, 'NX');
      let origin = await this.rpc.redis.get(originKey);
      if (origin && origin !== this.nodeId && !(await this.#registry.isLive(origin))) {
        const dead = origin;
        origin = await TAKEOVER.run<string>(this.rpc.redis, [originKey], [dead, this.nodeId, ORIGIN_TTL_MS]);
        if (origin === this.nodeId) log.warn({ roomId, dead }, 'took over the origin of a room whose origin node died');
      }
      if (origin !== this.nodeId) throw new MediaUnavailableError(`the room's origin is on ${origin}`);
    } else {
      // Mirror the room from its origin, unless the origin died (its host will publish again
      // somewhere, and #repointMirrors follows it there).
      const origin = await this.rpc.redis.get(originKey);
      if (origin && origin !== this.nodeId && (await this.#registry.isLive(origin))) await this.#ensureMirror(roomId, origin);
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
    const remote = await this.rpc.call<PipeEnd & { transportId: string }>(nodeAddress(origin), 'pipe-open', { roomId });
    const transport = await this.#createPipe(room.origin.router);
    try {
      await transport.connect({ ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters });
      const producers = await this.rpc.call<PipedProducer[]>(nodeAddress(origin), 'pipe-connect', {
        roomId,
        transportId: remote.transportId,
        ...this.#pipeEnd(transport),
      });
      this.#inPipes.set(roomId, transport);
      this.#mirroredFrom.set(roomId, origin);
      transport.observer.once('close', () => {
        if (this.#inPipes.get(roomId) !== transport) return;
        this.#inPipes.delete(roomId);
        this.#mirroredFrom.delete(roomId);
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

  /** A pipe transport on `router`, always SRTP-encrypted: pipes cross the network between media machines. */
  #createPipe(router: types.Router): Promise<types.PipeTransport> {
    return router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: this.#pipeIp }, enableSrtp: true });
  }

  /** This end of a pipe, as the other node connects to it. */
  #pipeEnd(transport: types.PipeTransport): PipeEnd {
    return { ip: transport.tuple.localAddress ?? this.#pipeIp, port: transport.tuple.localPort, srtpParameters: transport.srtpParameters };
  }

  async #pipeOpen(roomId: string): Promise<PipeEnd & { transportId: string }> {
    const room = await this.sfu.room(roomId);
    const transport = await this.#createPipe(room.origin.router);
    this.#pendingPipes.set(transport.id, transport);
    // Not connected within 10 s: abandoned.
    setTimeout(() => {
      if (this.#pendingPipes.delete(transport.id)) transport.close();
    }, 10_000).unref();
    return { transportId: transport.id, ...this.#pipeEnd(transport) };
  }

  async #pipeConnect(roomId: string, transportId: string, peer: PipeEnd, from: string): Promise<PipedProducer[]> {
    const room = await this.sfu.room(roomId);
    const transport = this.#pendingPipes.get(transportId);
    this.#pendingPipes.delete(transportId);
    if (!transport || transport.closed) throw new MediaUnavailableError('pipe transport expired');
    await transport.connect({ ip: peer.ip, port: peer.port, srtpParameters: peer.srtpParameters });
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

/** The node id of an SFU node's RPC address (`nodeAddress`'s inverse). */
export function nodeIdOf(address: string): string {
  return address.startsWith('node:') ? address.slice('node:'.length) : address;
}
