import { flashcast } from '../protocol/gen/flashcast.js';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import { logger } from '../common/logger.js';
import { isValidId } from '../common/keys.js';
import {
  MediaForbiddenError,
  MediaInvalidError,
  MediaLimitError,
  MediaNotFoundError,
  MediaRateLimitedError,
  MediaUnavailableError,
  SfuError,
  SfuErrorCode,
} from './errors.js';
import { MediaSession, type SessionConsumer, type SessionTransport } from './MediaSession.js';
import type { types } from './mediasoup.js';
import type { RoomRouter } from './RoomRouter.js';
import { defaultSfuConfig, type SfuConfig } from './SfuConfig.js';
import { SfuRoom, type RoomProducer } from './SfuRoom.js';
import * as validate from './validate.js';
import { WorkerPool } from './WorkerPool.js';

const log = logger('SfuService');
const { MediaQuality, MediaEventKind, MediaDirection } = flashcast;

/** Who is asking: the gateway session and what its token allows in the request's room. */
export interface MediaCaller {
  sessionId: string;
  userId: string;
  /** The room's host (role host, room in the token): may publish. */
  canProduce: boolean;
}

/** What a gateway needs from a media plane, in-process (SfuService) or remote (SfuClient). */
export interface MediaBackend {
  handle(caller: MediaCaller, request: flashcast.MediaRequest): Promise<flashcast.IMediaResponse>;
  closeSession(sessionId: string): void;
  /** Of these rooms, those where a host publishes now (the ops console's "live" mark). */
  publishing(roomIds: readonly string[]): Promise<Set<string>>;
  on(event: 'notify', listener: (sessionId: string, event: flashcast.IMediaEvent) => void): unknown;
  on(event: 'reconnect', listener: (sessionId: string, reason: string) => void): unknown;
}

export type SfuServiceEvents = {
  /** An unsolicited media event for one session (producer added/closed, layers changed). */
  notify: [string, flashcast.IMediaEvent];
  /** The session's media is gone (worker died): the client must reconnect. */
  reconnect: [string, string];
  close: [];
};

/**
 * The media plane of one process: the worker pool, the rooms (router sets) and
 * the per-session transports, producers and consumers. Answers the protocol's
 * MediaRequests and enforces who may produce and the per-session limits.
 */
export class SfuService extends EnhancedEventEmitter<SfuServiceEvents> implements MediaBackend {
  readonly config: SfuConfig;
  readonly pool: WorkerPool;
  readonly #rooms = new Map<string, Promise<SfuRoom>>();
  readonly #sessions = new Map<string, MediaSession>();
  readonly #reconnecting = new Set<string>();
  #closed = false;

  private constructor(pool: WorkerPool, config: SfuConfig) {
    super();
    this.pool = pool;
    this.config = config;
    pool.on('workerdied', (w) => log.warn({ worker: w.index }, 'worker died; its rooms are rebuilt'));
  }

  /** Starts the worker pool. */
  static async create(overrides: Partial<SfuConfig> = {}): Promise<SfuService> {
    const config = defaultSfuConfig(overrides);
    const pool = await WorkerPool.create({
      size: config.workers,
      rtcMinPort: config.rtcMinPort,
      rtcMaxPort: config.rtcMaxPort,
      logLevel: config.logLevel,
    });
    return new SfuService(pool, config);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Rooms with media now (resolved). */
  async rooms(): Promise<SfuRoom[]> {
    const settled = await Promise.allSettled(this.#rooms.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' && !s.value.closed ? [s.value] : []));
  }

  /** Of these rooms, those with a producer here (a browser host, WHIP, RTP, or a mirrored one). */
  async publishing(roomIds: readonly string[]): Promise<Set<string>> {
    const wanted = new Set(roomIds);
    const found = new Set<string>();
    for (const room of await this.rooms()) if (wanted.has(room.id) && room.producers.size > 0) found.add(room.id);
    return found;
  }

  get sessions(): ReadonlyMap<string, MediaSession> {
    return this.#sessions;
  }

  /** The room's media, opened on first use. */
  room(roomId: string): Promise<SfuRoom> {
    if (this.#closed) return Promise.reject(new MediaUnavailableError('media server closing'));
    let room = this.#rooms.get(roomId);
    if (!room) {
      const opening: Promise<SfuRoom> = SfuRoom.create(roomId, this.pool, this.config).then((r) => {
        this.#wireRoom(r, opening);
        return r;
      });
      this.#rooms.set(roomId, (room = opening));
      opening.catch(() => {
        if (this.#rooms.get(roomId) === opening) this.#rooms.delete(roomId);
      });
    }
    return room;
  }

  /** Answers one MediaRequest. Errors are SfuErrors with stable codes. */
  async handle(caller: MediaCaller, request: flashcast.MediaRequest): Promise<flashcast.IMediaResponse> {
    const roomId = request.room ?? '';
    if (!isValidId(roomId)) throw new MediaInvalidError('invalid room id');
    switch (request.op) {
      case 'capabilities': {
        const room = await this.room(roomId);
        return {
          room: roomId,
          routerRtpCapabilitiesJson: JSON.stringify(room.rtpCapabilities),
          producers: [...room.producers.values()].map(producerInfo),
        };
      }
      case 'createTransport':
        return { room: roomId, transport: await this.#createTransport(caller, roomId, request.createTransport!) };
      case 'connectTransport': {
        const m = request.connectTransport!;
        const t = this.#transport(caller, m.transportId);
        const dtls = validate.dtlsParameters(m.dtlsParametersJson);
        if (t.connected) throw new SfuError(SfuErrorCode.AlreadyConnected, 'transport already connected', 409);
        t.connected = true;
        try {
          await t.transport.connect({ dtlsParameters: dtls });
        } catch (error) {
          throw new MediaInvalidError(`dtls parameters refused: ${(error as Error).message}`);
        }
        return { room: roomId };
      }
      case 'produce':
        return { room: roomId, producerId: await this.#produce(caller, request.produce!) };
      case 'consume':
        return { room: roomId, consumer: await this.#consume(caller, request.consume!) };
      case 'resume': {
        const c = this.#consumer(caller, request.resume!.consumerId);
        await c.consumer.resume();
        return { room: roomId };
      }
      case 'setLayers':
        await this.#setLayers(caller, request.setLayers!);
        return { room: roomId };
      case 'restartIce': {
        const t = this.#transport(caller, request.restartIce!.transportId);
        const iceParameters = await t.transport.restartIce();
        return { room: roomId, iceParametersJson: JSON.stringify(iceParameters) };
      }
      case 'close': {
        const id = validate.requireId('id', request.close!.id);
        const session = this.#sessions.get(caller.sessionId);
        const target = session?.transports.get(id)?.transport ?? session?.producers.get(id) ?? session?.consumers.get(id)?.consumer;
        if (!target) throw new MediaNotFoundError(SfuErrorCode.TransportNotFound, 'no such transport, producer or consumer in this session');
        target.close();
        return { room: roomId };
      }
      default:
        throw new MediaInvalidError('unknown media operation');
    }
  }

  /** Releases everything a session owns (its socket closed). */
  closeSession(sessionId: string): void {
    this.#sessions.get(sessionId)?.close();
  }

  /**
   * Publishes a producer made outside a session (WHIP ingest, remote SFU node)
   * into the room: tracked, piped to the room's other routers, announced.
   */
  async adoptProducer(roomId: string, entry: RoomProducer): Promise<void> {
    const room = await this.room(roomId);
    room.addProducer(entry);
  }

  /** Closes every session, room and worker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.close();
    this.#sessions.clear();
    for (const room of this.#rooms.values()) void room.then((r) => r.close(), () => undefined);
    this.#rooms.clear();
    this.pool.close();
    this.safeEmit('close');
  }

  // ---------------------------------------------------------------------------

  #session(caller: MediaCaller): MediaSession {
    let session = this.#sessions.get(caller.sessionId);
    if (!session) {
      session = new MediaSession(caller.sessionId, caller.userId, this.config.transportsPerSecond);
      const s = session;
      this.#sessions.set(caller.sessionId, s);
      s.once('close', () => {
        if (this.#sessions.get(caller.sessionId) === s) this.#sessions.delete(caller.sessionId);
      });
    }
    return session;
  }

  #transport(caller: MediaCaller, id: string | null | undefined): SessionTransport {
    const transportId = validate.requireId('transport_id', id);
    const t = this.#sessions.get(caller.sessionId)?.transports.get(transportId);
    if (!t) throw new MediaNotFoundError(SfuErrorCode.TransportNotFound, 'no such transport in this session');
    return t;
  }

  #consumer(caller: MediaCaller, id: string | null | undefined): SessionConsumer {
    const consumerId = validate.requireId('consumer_id', id);
    const c = this.#sessions.get(caller.sessionId)?.consumers.get(consumerId);
    if (!c) throw new MediaNotFoundError(SfuErrorCode.ConsumerNotFound, 'no such consumer in this session');
    return c;
  }

  async #createTransport(caller: MediaCaller, roomId: string, m: flashcast.ICreateTransport): Promise<flashcast.IMediaTransportInfo> {
    const direction = m.direction === MediaDirection.SEND ? 'send' : m.direction === MediaDirection.RECV ? 'recv' : null;
    if (!direction) throw new MediaInvalidError('direction must be SEND or RECV');
    if (direction === 'send' && !caller.canProduce) throw new MediaForbiddenError('only the room\'s host may publish');
    const session = this.#session(caller);
    if (!session.creations.take()) throw new MediaRateLimitedError(session.creations.retryAfterMs());
    if (session.transports.size + session.creating >= this.config.maxTransportsPerSession) {
      throw new MediaLimitError(`at most ${this.config.maxTransportsPerSession} transports per session`);
    }
    // Counted from now, so concurrent requests cannot overshoot the limit.
    session.creating++;
    try {
      return await this.#openTransport(caller, session, roomId, direction, m.preferTcp === true);
    } finally {
      session.creating--;
    }
  }

  async #openTransport(caller: MediaCaller, session: MediaSession, roomId: string, direction: 'send' | 'recv', preferTcp: boolean): Promise<flashcast.IMediaTransportInfo> {
    const room = await this.room(roomId);
    const router = direction === 'send' ? room.origin : await room.routerForViewer();
    const listen = (protocol: 'udp' | 'tcp'): types.TransportListenInfo => ({
      protocol,
      ip: this.config.listenIp,
      ...(this.config.announcedAddress ? { announcedAddress: this.config.announcedAddress } : {}),
    });
    let transport: types.WebRtcTransport;
    try {
      transport = await router.router.createWebRtcTransport({
        listenInfos: preferTcp ? [listen('tcp')] : [listen('udp'), listen('tcp')],
        enableUdp: !preferTcp,
        enableTcp: true,
        preferUdp: !preferTcp,
        initialAvailableOutgoingBitrate: this.config.initialAvailableOutgoingBitrate,
        appData: { sessionId: caller.sessionId, direction },
      });
    } catch (error) {
      if (router.closed) throw new MediaUnavailableError();
      throw error;
    }
    if (session.closed) {
      transport.close();
      throw new MediaUnavailableError('session closed');
    }
    if (direction === 'send') {
      await transport.setMaxIncomingBitrate(this.config.maxIncomingBitrate).catch(() => undefined);
    } else {
      router.trackTransport(transport);
    }
    transport.on('routerclose', () => this.#onTransportLost(session, room, router));
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') transport.close();
    });
    session.addTransport({ transport, room, router, direction, connected: false });
    return {
      id: transport.id,
      iceParametersJson: JSON.stringify(transport.iceParameters),
      iceCandidatesJson: JSON.stringify(transport.iceCandidates),
      dtlsParametersJson: JSON.stringify(transport.dtlsParameters),
    };
  }

  async #produce(caller: MediaCaller, m: flashcast.IProduce): Promise<string> {
    if (!caller.canProduce) throw new MediaForbiddenError('only the room\'s host may publish');
    const t = this.#transport(caller, m.transportId);
    if (t.direction !== 'send') throw new SfuError(SfuErrorCode.WrongTransport, 'produce needs a SEND transport');
    const kind = m.kind;
    if (kind !== 'audio' && kind !== 'video') throw new MediaInvalidError('kind must be audio or video');
    const rtpParameters = validate.rtpParameters(m.rtpParametersJson);
    const session = this.#sessions.get(caller.sessionId)!;
    if (session.producers.size >= this.config.maxProducersPerSession) {
      throw new MediaLimitError(`at most ${this.config.maxProducersPerSession} producers per session`);
    }
    let producer: types.Producer;
    try {
      producer = await t.transport.produce({
        kind,
        rtpParameters,
        keyFrameRequestDelay: kind === 'video' ? this.config.keyFrameRequestDelayMs : undefined,
        appData: { userId: caller.userId },
      });
    } catch (error) {
      if (t.transport.closed) throw new MediaUnavailableError();
      throw new MediaInvalidError(`cannot produce: ${(error as Error).message}`);
    }
    session.addProducer(producer);
    t.room.addProducer({ producer, userId: caller.userId, kind, source: 'session' });
    return producer.id;
  }

  async #consume(caller: MediaCaller, m: flashcast.IConsume): Promise<flashcast.IMediaConsumerInfo> {
    const t = this.#transport(caller, m.transportId);
    if (t.direction !== 'recv') throw new SfuError(SfuErrorCode.WrongTransport, 'consume needs a RECV transport');
    const producerId = validate.requireId('producer_id', m.producerId);
    const rtpCapabilities = validate.rtpCapabilities(m.rtpCapabilitiesJson);
    const entry = t.room.producers.get(producerId);
    if (!entry) throw new MediaNotFoundError(SfuErrorCode.ProducerNotFound, 'no such producer in this room');
    const quality = m.quality ?? MediaQuality.QUALITY_AUTO;
    if (!(quality in MediaQuality)) throw new MediaInvalidError('unknown quality');
    if (quality === MediaQuality.QUALITY_AUDIO_ONLY && entry.kind === 'video') {
      throw new SfuError(SfuErrorCode.CannotConsume, 'audio-only viewers do not receive video');
    }
    const session = this.#sessions.get(caller.sessionId)!;
    if (session.consumers.size >= this.config.maxConsumersPerSession) {
      throw new MediaLimitError(`at most ${this.config.maxConsumersPerSession} consumers per session`);
    }
    for (const c of session.consumers.values()) {
      if (c.consumer.appData.producerId === producerId && c.consumer.appData.transportId === t.transport.id) {
        throw new SfuError(SfuErrorCode.CannotConsume, 'already consuming this producer on this transport');
      }
    }
    const local = await t.room.ensurePiped(producerId, t.router);
    if (!local || local.closed) throw new MediaNotFoundError(SfuErrorCode.ProducerNotFound, 'no such producer in this room');
    if (!t.router.router.canConsume({ producerId: local.id, rtpCapabilities })) {
      throw new SfuError(SfuErrorCode.CannotConsume, 'these RTP capabilities cannot receive this producer');
    }
    let consumer: types.Consumer;
    try {
      consumer = await t.transport.consume({
        producerId: local.id,
        rtpCapabilities,
        paused: true,
        preferredLayers: quality === MediaQuality.QUALITY_LITE ? { spatialLayer: 0, temporalLayer: 0 } : undefined,
        appData: { transportId: t.transport.id, producerId },
      });
    } catch (error) {
      if (t.transport.closed) throw new MediaUnavailableError();
      throw new SfuError(SfuErrorCode.CannotConsume, `cannot consume: ${(error as Error).message}`);
    }
    t.router.trackConsumer(t.transport.id, consumer);
    session.addConsumer({ consumer, roomId: t.room.id, quality });
    const roomId = t.room.id;
    consumer.on('producerclose', () => {
      this.safeEmit('notify', caller.sessionId, { room: roomId, kind: MediaEventKind.CONSUMER_CLOSED, consumerId: consumer.id });
    });
    consumer.on('layerschange', (layers) => {
      this.safeEmit('notify', caller.sessionId, {
        room: roomId,
        kind: MediaEventKind.CONSUMER_LAYERS_CHANGED,
        consumerId: consumer.id,
        spatialLayer: layers ? layers.spatialLayer : -1,
        temporalLayer: layers ? (layers.temporalLayer ?? -1) : -1,
      });
    });
    return {
      id: consumer.id,
      producerId,
      kind: consumer.kind,
      rtpParametersJson: JSON.stringify(consumer.rtpParameters),
      producerPaused: consumer.producerPaused,
      type: consumer.type,
    };
  }

  async #setLayers(caller: MediaCaller, m: flashcast.ISetConsumerLayers): Promise<void> {
    const c = this.#consumer(caller, m.consumerId);
    if (c.consumer.kind !== 'video') throw new MediaInvalidError('layers apply to video consumers');
    if (m.setQuality) {
      const q = m.quality ?? MediaQuality.QUALITY_AUTO;
      if (q !== MediaQuality.QUALITY_AUTO && q !== MediaQuality.QUALITY_LITE) throw new MediaInvalidError('quality must be AUTO or LITE for a video consumer');
      c.quality = q;
    }
    const spatial = m.spatialLayer ?? 0;
    const temporal = m.hasTemporalLayer ? (m.temporalLayer ?? 0) : undefined;
    if (spatial > 15 || (temporal ?? 0) > 15) throw new MediaInvalidError('layer out of range');
    // Lite viewers stay on the lowest layer whatever they ask.
    const layers = c.quality === MediaQuality.QUALITY_LITE ? { spatialLayer: 0, temporalLayer: 0 } : { spatialLayer: m.setQuality && !m.spatialLayer ? 15 : spatial, temporalLayer: temporal };
    await c.consumer.setPreferredLayers(layers);
  }

  /** Follows a room's media events; forgets the room the moment it closes (idle, origin lost, shutdown). */
  #wireRoom(room: SfuRoom, entry: Promise<SfuRoom>): void {
    const watchers = (): MediaSession[] =>
      [...this.#sessions.values()].filter((s) => [...s.transports.values()].some((t) => t.room === room && t.direction === 'recv'));
    room.on('produceradded', (p) => {
      for (const s of watchers()) this.safeEmit('notify', s.sessionId, { room: room.id, kind: MediaEventKind.PRODUCER_ADDED, producer: producerInfo(p) });
    });
    room.on('producerclosed', (p) => {
      for (const s of watchers()) this.safeEmit('notify', s.sessionId, { room: room.id, kind: MediaEventKind.PRODUCER_CLOSED, producer: producerInfo(p) });
    });
    room.on('routerlost', (lost) => this.#onRouterLost(room, lost));
    room.once('close', () => {
      if (this.#rooms.get(room.id) === entry) this.#rooms.delete(room.id);
    });
  }

  /** A worker died under one of the room's routers: rebuild the room if it was the origin. */
  #onRouterLost(room: SfuRoom, lost: RoomRouter): void {
    if (this.#closed) return;
    log.warn({ roomId: room.id, origin: lost.origin, worker: lost.poolWorker.index }, 'router lost with its worker');
    if (!lost.origin) return;
    const roomId = room.id;
    // The room closes itself (and is forgotten); open it again at once on a live worker so reconnecting clients find it.
    queueMicrotask(() => {
      if (this.#closed) return;
      this.room(roomId).then(
        () => log.info({ roomId }, 'room media rebuilt on a live worker'),
        (err) => log.error({ err, roomId }, 'could not rebuild room'),
      );
    });
  }

  /**
   * A session's transport lost its router. If a worker died (under it, or under
   * the room's origin) the client must reconnect; its other rooms are untouched.
   */
  #onTransportLost(session: MediaSession, room: SfuRoom, router: RoomRouter): void {
    if (this.#closed || session.closed) return;
    if (!router.poolWorker.worker.died && !room.lostOrigin) return;
    session.closeRoom(room.id);
    if (this.#reconnecting.has(session.sessionId)) return;
    this.#reconnecting.add(session.sessionId);
    queueMicrotask(() => this.#reconnecting.delete(session.sessionId));
    this.safeEmit('reconnect', session.sessionId, 'media worker restarted');
  }
}

function producerInfo(p: RoomProducer): flashcast.IMediaProducerInfo {
  return { id: p.producer.id, kind: p.kind, userId: p.userId };
}
