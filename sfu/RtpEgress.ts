import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';
import type { types } from './mediasoup.js';
import type { RoomRouter } from './RoomRouter.js';
import type { SfuRoom } from './SfuRoom.js';

export interface RtpEgressOptions {
  /** Where the RTP goes. */
  ip: string;
  port: number;
  /** Producers to forward (default: every producer of the room). */
  producerIds?: string[];
  /** Preferred layers for video (default: the highest). */
  preferredLayers?: types.ConsumerLayers;
  listenIp?: string;
}

export type RtpEgressEvents = { close: [] };

/**
 * Plain RTP out of a room to one UDP destination (a recorder, a transcoder, a
 * benchmark sink). Placed like a viewer: on a router under the consumer budget,
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
      rtcpMux: true,
      comedia: false,
    });
    router.trackTransport(transport);
    const consumers: types.Consumer[] = [];
    try {
      await transport.connect({ ip: options.ip, port: options.port });
      for (const producerId of options.producerIds ?? [...room.producers.keys()]) {
        const local = await room.ensurePiped(producerId, router);
        if (!local) throw new Error(`producer ${producerId} is not in the room`);
        const consumer = await transport.consume({
          producerId: local.id,
          rtpCapabilities: room.rtpCapabilities,
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

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.safeEmit('close');
  }
}
