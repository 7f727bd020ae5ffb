import { Device, type types } from 'mediasoup-client';
import { flashcast } from '../../protocol/gen/flashcast.js';
import type { SessionChannel } from '../SessionChannel.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { IceWatchdog } from './IceWatchdog.js';
import { MediaChannel, retryUntilStopped } from './MediaChannel.js';
import type { MediaState } from './Publisher.js';

/**
 * - `auto`: layers follow the viewer's bandwidth (and setPreferredLayers).
 * - `lite`: weak networks (2G/3G): the lowest layer, pinned by the server.
 * - `audio`: audio only.
 */
export type WatchQuality = 'auto' | 'lite' | 'audio';

export interface WatchOptions {
  quality?: WatchQuality;
  /** ICE over TCP only (restrictive networks). */
  preferTcp?: boolean;
  /** How often to re-check the room's producers when pushed media events are not available (default 3 s). */
  pollIntervalMs?: number;
}

export type ViewerEvents = {
  state: [MediaState];
  /** The layer the server forwards changed (spatial -1: none, e.g. paused by bandwidth). */
  layers: [{ spatialLayer: number; temporalLayer: number }];
  error: [Error];
};

const QUALITY: Record<WatchQuality, flashcast.MediaQuality> = {
  auto: flashcast.MediaQuality.QUALITY_AUTO,
  lite: flashcast.MediaQuality.QUALITY_LITE,
  audio: flashcast.MediaQuality.QUALITY_AUDIO_ONLY,
};

/**
 * A viewer watching the room's host in a video element. Consumes every producer
 * of the room (the host's audio and video), follows producers coming and going,
 * and recovers like the Publisher (ICE restart, then full re-watch).
 */
export class Viewer extends TypedEmitter<ViewerEvents> {
  readonly video: HTMLVideoElement | null;
  readonly stream = new MediaStream();
  readonly consumers = new Map<string, types.Consumer>();
  readonly #channel: MediaChannel;
  readonly #options: WatchOptions;
  #quality: WatchQuality;
  #device: Device | null = null;
  #transport: types.Transport | null = null;
  #state: MediaState = 'starting';
  #pending = new Set<string>();
  readonly #ice: IceWatchdog;
  #pollTimer: ReturnType<typeof setInterval> | null = null;
  #unsubscribe: (() => void)[] = [];
  #restarting: Promise<void> | null = null;

  private constructor(channel: MediaChannel, video: HTMLVideoElement | null, options: WatchOptions) {
    super();
    this.#channel = channel;
    this.video = video;
    this.#options = options;
    this.#quality = options.quality ?? 'auto';
    this.#ice = new IceWatchdog(channel, {
      current: () => this.#transport,
      stopped: () => this.#state === 'stopped',
      recovering: () => this.#setState('recovering'),
      recovered: () => {
        if (this.#state === 'recovering') this.#setState('live');
      },
      restart: () => void this.#restart(),
      error: (error) => this.emit('error', error),
    });
  }

  /** @internal Use room.watch(video, options). */
  static async create(session: SessionChannel, roomId: string, video: HTMLVideoElement | null, options: WatchOptions = {}): Promise<Viewer> {
    const viewer = new Viewer(new MediaChannel(session, roomId), video, options);
    if (video) {
      video.srcObject = viewer.stream;
      video.autoplay = true;
      video.playsInline = true;
    }
    await viewer.#start();
    viewer.#unsubscribe.push(
      viewer.#channel.onConnected(({ reconnected }) => {
        if (reconnected) void viewer.#restart();
      }),
      viewer.#channel.onEvent((event) => viewer.#onMediaEvent(event)),
    );
    viewer.#pollTimer = setInterval(() => void viewer.#sync().catch(() => undefined), options.pollIntervalMs ?? 3000);
    return viewer;
  }

  get state(): MediaState {
    return this.#state;
  }

  get quality(): WatchQuality {
    return this.#quality;
  }

  get transport(): types.Transport | null {
    return this.#transport;
  }

  /** The video consumer (its `rtpParameters.encodings[0].ssrc` names its inbound-rtp stats). */
  get videoConsumer(): types.Consumer | undefined {
    return [...this.consumers.values()].find((c) => c.kind === 'video');
  }

  /** Switches quality live: `lite` pins the lowest layer, `auto` follows bandwidth, `audio` drops video. */
  async setQuality(quality: WatchQuality): Promise<void> {
    const previous = this.#quality;
    this.#quality = quality;
    const video = this.videoConsumer;
    if (quality === 'audio') {
      if (video) this.#closeConsumer(video.id, true);
      return;
    }
    if (video) {
      await this.#channel.request({ setLayers: { consumerId: video.id, setQuality: true, quality: QUALITY[quality] } });
    } else if (previous === 'audio') {
      await this.#sync();
    }
  }

  /** Preferred layers of the video (auto quality only; a lite viewer stays on layer 0). */
  async setPreferredLayers(spatialLayer: number, temporalLayer?: number): Promise<void> {
    const video = this.videoConsumer;
    if (!video) throw new Error('no video being watched');
    await this.#channel.request({
      setLayers: { consumerId: video.id, spatialLayer, temporalLayer: temporalLayer ?? 0, hasTemporalLayer: temporalLayer !== undefined },
    });
  }

  /** Stops watching: closes the consumers and the transport and detaches the video element. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('stopped');
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#ice.clear();
    const transport = this.#transport;
    this.#transport = null;
    for (const id of [...this.consumers.keys()]) this.#closeConsumer(id, false);
    if (transport) {
      transport.close();
      await this.#channel.request({ close: { id: transport.id } }).catch(() => undefined);
    }
    if (this.video) this.video.srcObject = null;
  }

  async #start(): Promise<void> {
    const caps = await this.#channel.request({ capabilities: {} });
    const device = new Device();
    // The device learns the router's codecs while the server creates the transport (one round trip saved).
    const [, created] = await Promise.all([
      device.load({ routerRtpCapabilities: JSON.parse(caps.routerRtpCapabilitiesJson ?? '{}') }),
      this.#channel.request({ createTransport: { direction: flashcast.MediaDirection.RECV, preferTcp: this.#options.preferTcp === true } }),
    ]);
    this.#device = device;
    const info = created.transport!;
    const transport = device.createRecvTransport({
      id: info.id!,
      iceParameters: JSON.parse(info.iceParametersJson!),
      iceCandidates: JSON.parse(info.iceCandidatesJson!),
      dtlsParameters: JSON.parse(info.dtlsParametersJson!),
    });
    this.#transport = transport;
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#channel
        .request({ connectTransport: { transportId: transport.id, dtlsParametersJson: JSON.stringify(dtlsParameters) } })
        .then(() => callback(), errback);
    });
    this.#ice.watch(transport);
    await this.#consumeAll(caps.producers ?? []);
    if (this.#state !== 'stopped') this.#setState('live');
  }

  /** Re-reads the room's producers: consumes new ones, drops gone ones. */
  async #sync(): Promise<void> {
    if (this.#state === 'stopped' || this.#restarting || !this.#transport) return;
    const caps = await this.#channel.request({ capabilities: {} });
    const live = new Set((caps.producers ?? []).map((p) => p.id));
    for (const c of [...this.consumers.values()]) if (!live.has(c.producerId)) this.#closeConsumer(c.id, false);
    await this.#consumeAll(caps.producers ?? []);
  }

  /** Consumes the producers side by side (audio and video in one round trip on slow links). */
  async #consumeAll(producers: flashcast.IMediaProducerInfo[]): Promise<void> {
    await Promise.all(producers.map((p) => this.#consume(p).catch((error: Error) => this.emit('error', error))));
  }

  async #consume(producer: flashcast.IMediaProducerInfo): Promise<void> {
    const transport = this.#transport;
    const producerId = producer.id ?? '';
    if (!transport || !this.#device || this.#state === 'stopped') return;
    if (producer.kind === 'video' && this.#quality === 'audio') return;
    if (this.#pending.has(producerId) || [...this.consumers.values()].some((c) => c.producerId === producerId)) return;
    this.#pending.add(producerId);
    try {
      const reply = await this.#channel.request({
        consume: {
          transportId: transport.id,
          producerId,
          rtpCapabilitiesJson: JSON.stringify(this.#device.rtpCapabilities),
          quality: QUALITY[this.#quality],
        },
      });
      const info = reply.consumer!;
      if (transport !== this.#transport) return;
      const consumer = await transport.consume({
        id: info.id!,
        producerId: info.producerId!,
        kind: info.kind as types.MediaKind,
        rtpParameters: JSON.parse(info.rtpParametersJson!),
      });
      this.consumers.set(consumer.id, consumer);
      this.stream.addTrack(consumer.track);
      await this.#channel.request({ resume: { consumerId: consumer.id } });
      if (this.video && this.video.paused) void this.video.play().catch(() => undefined);
    } finally {
      this.#pending.delete(producerId);
    }
  }

  #closeConsumer(id: string, tellServer: boolean): void {
    const consumer = this.consumers.get(id);
    if (!consumer) return;
    this.consumers.delete(id);
    this.stream.removeTrack(consumer.track);
    consumer.close();
    if (tellServer) void this.#channel.request({ close: { id } }).catch(() => undefined);
  }

  #onMediaEvent(event: flashcast.IMediaEvent): void {
    switch (event.kind) {
      case flashcast.MediaEventKind.PRODUCER_ADDED:
        if (event.producer) void this.#consume(event.producer).catch((error: Error) => this.emit('error', error));
        return;
      case flashcast.MediaEventKind.CONSUMER_CLOSED:
        this.#closeConsumer(event.consumerId ?? '', false);
        return;
      case flashcast.MediaEventKind.PRODUCER_CLOSED:
        for (const c of [...this.consumers.values()]) if (c.producerId === event.producer?.id) this.#closeConsumer(c.id, false);
        return;
      case flashcast.MediaEventKind.CONSUMER_LAYERS_CHANGED:
        this.emit('layers', { spatialLayer: event.spatialLayer ?? -1, temporalLayer: event.temporalLayer ?? -1 });
        return;
      default:
        return;
    }
  }

  /** Full re-watch (after a reconnect, or when ICE restart did not help). */
  #restart(): Promise<void> {
    if (this.#restarting) return this.#restarting;
    this.#ice.clear();
    this.#restarting = retryUntilStopped(
      () => this.#state === 'stopped',
      async () => {
        this.#setState('recovering');
        for (const id of [...this.consumers.keys()]) this.#closeConsumer(id, false);
        this.#transport?.close();
        this.#transport = null;
        await this.#start();
      },
      (error) => this.emit('error', error),
    ).finally(() => {
      this.#restarting = null;
    });
    return this.#restarting;
  }

  #setState(state: MediaState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}
