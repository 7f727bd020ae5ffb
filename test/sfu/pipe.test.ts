import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GstRtpSource } from '../../sfu/GstRtpSource.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { RtpIngest } from '../../sfu/RtpIngest.js';
import { SfuService } from '../../sfu/SfuService.js';
import { waitFor } from '../helpers/env.js';

/**
 * A real worker pool: a producer fed by GStreamer (VP8 simulcast + Opus over RTP)
 * reaches consumers on two workers, the second fed through pipeToRouter.
 */
let sfu: SfuService;
let gst: GstRtpSource;
let sink: Socket;
const received = new Map<number, number>();

beforeAll(async () => {
  sfu = await SfuService.create({ workers: 2, consumersPerRouter: 4, rtcMinPort: 41000, rtcMaxPort: 41999, keyFrameRequestDelayMs: 1000 });
  sink = createSocket('udp4');
  sink.on('message', (msg) => {
    if (msg.length < 12 || (msg[1] & 0x7f) >= 72 && (msg[1] & 0x7f) <= 76) return; // RTCP
    const ssrc = msg.readUInt32BE(8);
    received.set(ssrc, (received.get(ssrc) ?? 0) + 1);
  });
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
});

afterAll(async () => {
  gst?.close();
  sink?.close();
  sfu?.close();
});

describe('SFU with real workers and a real RTP source', () => {
  it('pipes a GStreamer producer to a router on the second worker; consumers on both workers send packets', async () => {
    const room = await sfu.room('pipe-room');
    const ingest = await RtpIngest.create(room, {
      userId: 'encoder',
      video: { payloadType: 101, ssrcs: [11111111, 22222222, 33333333] },
      audio: { payloadType: 100, ssrc: 44444444 },
    });
    gst = await GstRtpSource.create({ port: ingest.port });
    const port = (sink.address() as { port: number }).port;
    // Budget 4 consumers per router: two viewers (audio + video) fill the origin, two more spill over.
    const viewers: RtpEgress[] = [];
    for (let i = 0; i < 4; i++) viewers.push(await RtpEgress.create(room, { ip: '127.0.0.1', port }));

    const workers = new Set(viewers.map((v) => v.router.poolWorker.index));
    expect(workers.size).toBe(2);
    expect(room.routers).toHaveLength(2);
    expect(room.routers.filter((r) => r.origin)).toHaveLength(1);
    const edge = room.routers.find((r) => !r.origin)!;
    expect(edge.pipeProducers.size).toBe(2);
    expect(viewers.filter((v) => v.router === edge)).toHaveLength(2);
    expect(sfu.pool.workers.map((w) => w.consumers).sort()).toEqual([4, 4]);

    // Packets flow out of every consumer, on both workers.
    await waitFor(async () => {
      for (const v of viewers) {
        for (const c of v.consumers) {
          const stats = await c.getStats();
          const out = stats.find((s) => s.type === 'outbound-rtp');
          if (!out || out.packetCount < 20) return false;
        }
      }
      return true;
    }, 15_000, 'consumer packets on both workers');
    const producerStats = await ingest.videoProducer!.getStats();
    expect(producerStats.filter((s) => s.packetCount > 0)).toHaveLength(3); // all three layers arrive
    // And they really leave the SFU: the sink sees every consumer's SSRC.
    const ssrcs = viewers.flatMap((v) => v.consumers.map((c) => c.rtpParameters.encodings![0].ssrc!));
    await waitFor(() => ssrcs.every((s) => (received.get(s) ?? 0) > 20), 10_000, 'packets at the sink');

    // A viewer that leaves frees its budget; closing the ingest ends the room's producers everywhere.
    viewers[3].close();
    expect(edge.consumers).toBe(2);
    ingest.close();
    await waitFor(() => room.producers.size === 0 && edge.pipeProducers.size === 0, 5000, 'producers gone');
    await waitFor(() => viewers.every((v) => v.consumers.every((c) => c.closed)), 5000, 'consumers closed');
  });
});
