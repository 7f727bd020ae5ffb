import { randomBytes } from 'node:crypto';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import type { types } from './mediasoup.js';
import type { RoomRouter } from './RoomRouter.js';
import type { SfuRoom } from './SfuRoom.js';

export interface RtpEgressOptions {
  /** Where the RTP goes. */
  ip: string;
  port: number;
  /** Send RTCP to this port instead of muxing it with the RTP (default: muxed). */
  rtcpPort?: number;
  /** Producers to forward (default: every producer of the room). */
  producerIds?: string[];
  /** Preferred layers for video (default: the highest). */
  preferredLayers?: types.ConsumerLayers;
  listenIp?: string;
  /**
   * Encrypt with SRTP in this crypto suite (what every WebRTC viewer costs the worker); the
   * receiver decrypts with `srtpParameters`. Default: plain RTP.
   */
  srtp?: types.SrtpCryptoSuite;
}

/** Header extensions that turn on the worker's bandwidth estimation for a consumer. */
const BWE_EXTENSIONS = new Set([
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
]);

/**
 * The room's capabilities without bandwidth estimation (transport-cc, REMB): a plain RTP
 * receiver sends no such feedback, and with BWE on the worker would hold the egress at its
 * initial 600 kbit/s estimate forever, below the top simulcast layer.
 */
function withoutBwe(capabilities: types.RtpCapabilities): types.RtpCapabilities {
  return {
    ...capabilities,
    codecs: capabilities.codecs?.map((codec) => ({
      ...codec,
      rtcpFeedback: codec.rtcpFeedback?.filter((fb) => fb.type !== 'transport-cc' && fb.type !== 'goog-remb'),
    })),
    headerExtensions: capabilities.headerExtensions?.filter((ext) => !BWE_EXTENSIONS.has(ext.uri)),
  };
}

/** Master key + salt bytes of each SRTP crypto suite (RFC 3711, RFC 7714). */
const SRTP_KEY_BYTES: Record<types.SrtpCryptoSuite, number> = {
  AES_CM_128_HMAC_SHA1_80: 30,
  AES_CM_128_HMAC_SHA1_32: 30,
  AEAD_AES_128_GCM: 28,
  AEAD_AES_256_GCM: 44,
};

export type RtpEgressEvents = { close: [] };

/**
 * RTP out of a room to one UDP destination (a recorder, a transcoder, a benchmark sink),
 * plain or SRTP-encrypted. Placed like a viewer: on a router under the consumer budget,
 * fed through a pipe when that router is not the origin.
 */
export class RtpEgress extends EnhancedEventEmitter<RtpEgressEvents> {
  readonly transport: types.PlainTransport;
  readonly router: RoomRouter;
  readonly consumers: types.Consumer[];
  #closed = false;

  private constructor(transport: types.PlainTransport, router: RoomRouter, consumers: types.Consumer[]) {
    super();
    this.transport = transport;
    this.router = router;
    this.consumers = consumers;
    transport.observer.once('close', () => this.close());
  }

  static async create(room: SfuRoom, options: RtpEgressOptions): Promise<RtpEgress> {
    const router = await room.routerForViewer();
    const transport = await router.router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: options.listenIp ?? '127.0.0.1' },
      rtcpMux: options.rtcpPort === undefined,
      comedia: false,
      ...(options.srtp ? { enableSrtp: true, srtpCryptoSuite: options.srtp } : {}),
    });
    router.trackTransport(transport);
    const consumers: types.Consumer[] = [];
    const rtpCapabilities = withoutBwe(room.rtpCapabilities);
    try {
      // With SRTP, connect also takes the key of what the remote sends (its RTCP): nobody
      // sends any here, so any key of the suite's length does.
      const srtpParameters = options.srtp ? { cryptoSuite: options.srtp, keyBase64: randomBytes(SRTP_KEY_BYTES[options.srtp]).toString('base64') } : undefined;
      await transport.connect({ ip: options.ip, port: options.port, rtcpPort: options.rtcpPort, srtpParameters });
      for (const producerId of options.producerIds ?? [...room.producers.keys()]) {
        const local = await room.ensurePiped(producerId, router);
        if (!local) throw new Error(`producer ${producerId} is not in the room`);
        const consumer = await transport.consume({
          producerId: local.id,
          rtpCapabilities,
          preferredLayers: options.preferredLayers,
        });
        router.trackConsumer(transport.id, consumer);
        consumers.push(consumer);
      }
    } catch (error) {
      transport.close();
      throw error;
    }
    return new RtpEgress(transport, router, consumers);
  }

  /** The SRTP suite and key the egress encrypts with (null: plain RTP). */
  get srtpParameters(): types.SrtpParameters | null {
    return this.transport.srtpParameters ?? null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.safeEmit('close');
  }
}
