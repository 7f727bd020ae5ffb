import { Device, type types } from 'mediasoup-client';
import { flashcast } from '../../protocol/gen/flashcast.js';
import type { SessionChannel } from '../SessionChannel.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { IceWatchdog } from './IceWatchdog.js';
import { MediaChannel, retryUntilStopped } from './MediaChannel.js';

/** Three simulcast layers: a quarter, half and full resolution. */
export const DEFAULT_SIMULCAST: types.RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

export interface PublishOptions {
  /** Video encodings (default DEFAULT_SIMULCAST). */
  encodings?: types.RtpEncodingParameters[];
  /** ICE over TCP only (restrictive networks). */
  preferTcp?: boolean;
  /** Stop the stream's tracks on stop() (default true). */
  stopTracks?: boolean;
}

export type MediaState = 'starting' | 'live' | 'recovering' | 'stopped';

export type PublisherEvents = {
  state: [MediaState];
  /** A recovery attempt failed; the publisher keeps trying until stopped. */
  error: [Error];
};

/**
 * A host's camera and microphone going out to the room (video with simulcast).
 * Recovers by itself: ICE restart when the network blips, a full re-publish when
 * that is not enough or when the socket reconnected.
 */
export class Publisher extends TypedEmitter<PublisherEvents> {
  readonly stream: MediaStream;
  readonly #channel: MediaChannel;
  readonly #options: PublishOptions;
  #transport: types.Transport | null = null;
  readonly producers: types.Producer[] = [];
  #state: MediaState = 'starting';
  readonly #ice: IceWatchdog;
  #unsubscribe: () => void = () => undefined;
  #restarting: Promise<void> | null = null;

  private constructor(channel: MediaChannel, stream: MediaStream, options: PublishOptions) {
    super();
    this.#channel = channel;
    this.stream = stream;
    this.#options = options;
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

  /** @internal Use room.publish(stream). */
  static async create(session: SessionChannel, roomId: string, stream: MediaStream, options: PublishOptions = {}): Promise<Publisher> {
    const publisher = new Publisher(new MediaChannel(session, roomId), stream, options);
    await publisher.#start();
    publisher.#unsubscribe = publisher.#channel.onConnected(({ reconnected }) => {
      if (reconnected) void publisher.#restart();
    });
    return publisher;
  }

  get state(): MediaState {
    return this.#state;
  }

  get transport(): types.Transport | null {
    return this.#transport;
  }

  /** Stops publishing: closes the producers and the transport (and the tracks unless stopTracks is false). */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('stopped');
    this.#unsubscribe();
    this.#ice.clear();
    const transport = this.#transport;
    this.#transport = null;
    this.producers.length = 0;
    if (transport) {
      transport.close();
      await this.#channel.request({ close: { id: transport.id } }).catch(() => undefined);
    }
    if (this.#options.stopTracks !== false) for (const track of this.stream.getTracks()) track.stop();
  }

  async #start(): Promise<void> {
    const caps = await this.#channel.request({ capabilities: {} });
    const device = new Device();
    await device.load({ routerRtpCapabilities: JSON.parse(caps.routerRtpCapabilitiesJson ?? '{}') });
    if (!device.canProduce('video') && this.stream.getVideoTracks().length > 0) throw new Error('this browser cannot send the room\'s video codecs');
    const info = (await this.#channel.request({
      createTransport: { direction: flashcast.MediaDirection.SEND, preferTcp: this.#options.preferTcp === true },
    })).transport!;
    const transport = device.createSendTransport({
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
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      this.#channel
        .request({ produce: { transportId: transport.id, kind, rtpParametersJson: JSON.stringify(rtpParameters) } })
        .then((reply) => callback({ id: reply.producerId! }), errback);
    });
    this.#ice.watch(transport);
    this.producers.length = 0;
    for (const track of this.stream.getTracks()) {
      if (track.readyState === 'ended') continue;
      const producer =
        track.kind === 'video'
          ? await transport.produce({
              track,
              encodings: this.#options.encodings ?? DEFAULT_SIMULCAST,
              codecOptions: { videoGoogleStartBitrate: 1000 },
              stopTracks: false,
            })
          : await transport.produce({ track, stopTracks: false });
      this.producers.push(producer);
    }
    if (this.#state !== 'stopped') this.#setState('live');
  }

  /** Full re-publish (after a reconnect, or when ICE restart did not help). */
  #restart(): Promise<void> {
    if (this.#restarting) return this.#restarting;
    this.#ice.clear();
    this.#restarting = retryUntilStopped(
      () => this.#state === 'stopped',
      async () => {
        this.#setState('recovering');
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
