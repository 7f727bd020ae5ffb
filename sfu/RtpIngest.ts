import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import type { types } from './mediasoup.js';
import type { SfuRoom } from './SfuRoom.js';

export interface RtpIngestOptions {
  userId: string;
  /** IP to listen on (default 127.0.0.1). */
  ip?: string;
  /** VP8 simulcast: one SSRC per layer, lowest first. */
  video?: { payloadType: number; ssrcs: number[] };
  /** Opus. */
  audio?: { payloadType: number; ssrc: number };
  keyFrameRequestDelayMs?: number;
}

export type RtpIngestEvents = { close: [] };

/**
 * Plain RTP ingest into a room (an encoder such as GStreamer or ffmpeg sends
 * VP8 simulcast + Opus, RTCP-muxed, to one UDP port; comedia learns its address).
 * Used by tests and the benchmark as a real RTP source, and for LAN encoders.
 */
export class RtpIngest extends EnhancedEventEmitter<RtpIngestEvents> {
  readonly transport: types.PlainTransport;
  readonly producers: types.Producer[];
  #closed = false;

  private constructor(transport: types.PlainTransport, producers: types.Producer[]) {
    super();
    this.transport = transport;
    this.producers = producers;
    transport.observer.once('close', () => this.close());
  }

  static async create(room: SfuRoom, options: RtpIngestOptions): Promise<RtpIngest> {
    const transport = await room.origin.router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: options.ip ?? '127.0.0.1' },
      rtcpMux: true,
      comedia: true,
    });
    const producers: types.Producer[] = [];
    try {
      if (options.video) {
        producers.push(
          await transport.produce({
            kind: 'video',
            keyFrameRequestDelay: options.keyFrameRequestDelayMs ?? 1000,
            rtpParameters: {
              codecs: [
                {
                  mimeType: 'video/VP8',
                  payloadType: options.video.payloadType,
                  clockRate: 90000,
                  rtcpFeedback: [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
                },
              ],
              encodings: options.video.ssrcs.map((ssrc) => ({ ssrc })),
            },
            appData: { userId: options.userId },
          }),
        );
      }
      if (options.audio) {
        producers.push(
          await transport.produce({
            kind: 'audio',
            rtpParameters: {
              codecs: [{ mimeType: 'audio/opus', payloadType: options.audio.payloadType, clockRate: 48000, channels: 2 }],
              encodings: [{ ssrc: options.audio.ssrc }],
            },
            appData: { userId: options.userId },
          }),
        );
      }
    } catch (error) {
      transport.close();
      throw error;
    }
    for (const producer of producers) room.addProducer({ producer, userId: options.userId, kind: producer.kind, source: 'rtp' });
    return new RtpIngest(transport, producers);
  }

  /** Where the encoder sends. */
  get port(): number {
    return this.transport.tuple.localPort;
  }

  get videoProducer(): types.Producer | undefined {
    return this.producers.find((p) => p.kind === 'video');
  }

  get audioProducer(): types.Producer | undefined {
    return this.producers.find((p) => p.kind === 'audio');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.safeEmit('close');
  }
}
