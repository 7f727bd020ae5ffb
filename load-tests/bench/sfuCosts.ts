/**
 * The SFU unit costs of the cost model (`npm run bench:sfu-costs`): mediasoup worker CPU per RTP
 * packet sent to an SRTP-encrypted consumer (and to a plain one, for comparison), and per packet
 * through an SRTP pipe between workers, at each end. One host producer (VP8, 3 simulcast layers,
 * GStreamer `videotestsrc pattern=snow` -> `vp8enc`: noise does not compress, so packets are
 * full-size and the encoder reaches, or overshoots, each layer's bitrate) on worker A. Window by window: worker A with the
 * producer alone; with K consumers of the top layer (SRTP, then plain); with P SRTP pipe
 * transports consuming the whole stream (every layer) toward other workers, as a relay feeds
 * edges; and worker B receiving the stream through one SRTP pipe (`pipeToRouter`). Worker CPU
 * from the scheduler's counters (/proc/<pid>/task/<tid>/schedstat), packets from mediasoup's
 * own counters. Prints one line per window to stderr, one JSON line to stdout.
 *
 *   node dist/load-tests/bench/sfuCosts.js [--consumers 40] [--pipes 40] [--seconds 5]
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { GstRtpSource, DEFAULT_LAYERS } from '../../sfu/GstRtpSource.js';
import { MEDIA_CODECS } from '../../sfu/SfuConfig.js';
import { mediasoup, type types } from '../../sfu/mediasoup.js';
import { runtimeMs } from './GatewayFleet.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function arg(name: string, fallback: string): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = Number(i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback);
  if (!Number.isFinite(value) || value < 1) throw new TypeError(`--${name} must be a number >= 1`);
  return value;
}

const CONSUMERS = arg('consumers', '40');
const PIPES = arg('pipes', '40');
const SECONDS = arg('seconds', '5');
const SRTP_SUITE: types.SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80';
const TOP = DEFAULT_LAYERS.length - 1;
/** SRTP master key + salt length per suite. */
const KEY_BYTES: Record<types.SrtpCryptoSuite, number> = { AEAD_AES_256_GCM: 44, AEAD_AES_128_GCM: 28, AES_CM_128_HMAC_SHA1_80: 30, AES_CM_128_HMAC_SHA1_32: 30 };

/** A plain RTP receiver sends no feedback: consume without bandwidth estimation, or the layer drops. */
function withoutBwe(caps: types.RtpCapabilities): types.RtpCapabilities {
  return {
    codecs: caps.codecs?.map((c) => ({ ...c, rtcpFeedback: (c.rtcpFeedback ?? []).filter((f) => f.type !== 'transport-cc' && f.type !== 'goog-remb') })),
    headerExtensions: caps.headerExtensions?.filter((h) => !/transport-wide-cc|abs-send-time/.test(h.uri)),
  };
}

/** Packets and bytes a set of consumers has sent, from their own counters. */
async function packetsSent(consumers: types.Consumer[]): Promise<{ packets: number; bytes: number }> {
  const total = { packets: 0, bytes: 0 };
  for (let i = 0; i < consumers.length; i += 50) {
    const stats = await Promise.all(consumers.slice(i, i + 50).map((c) => c.getStats()));
    for (const s of stats) {
      for (const x of s) {
        if (x.type !== 'outbound-rtp') continue;
        total.packets += x.packetCount;
        total.bytes += x.byteCount;
      }
    }
  }
  return total;
}

/** Packets per second of each layer arriving at the producer. */
async function layerPackets(producer: types.Producer): Promise<number[]> {
  const stats = await producer.getStats();
  return DEFAULT_LAYERS.map((l) => stats.find((s) => s.ssrc === l.ssrc)?.packetCount ?? 0);
}

interface Window {
  /** CPU of each worker, µs per second. */
  cpu: number[];
  /** Packets per second sent by the consumers measured. */
  packetsOut: number;
  /** Their mean size in bytes. */
  bytesPerPacket: number;
  /** Packets per second arriving at the producer, per layer. */
  layers: number[];
}

/** One measured window: the consumers' packets and the producer's around the workers' CPU. */
async function measure(workers: types.Worker[], producer: types.Producer, consumers: types.Consumer[]): Promise<Window> {
  await sleep(2500); // every consumer past its first keyframe
  const sent0 = await packetsSent(consumers);
  const in0 = await layerPackets(producer);
  const t0 = performance.now();
  const cpu0 = workers.map((w) => runtimeMs(w.pid));
  const c0 = performance.now();
  await sleep(SECONDS * 1000);
  const cpu1 = workers.map((w) => runtimeMs(w.pid));
  const c1 = performance.now();
  const in1 = await layerPackets(producer);
  const sent1 = await packetsSent(consumers);
  const t1 = performance.now();
  const seconds = (t1 - t0) / 1000;
  return {
    cpu: cpu1.map((c, i) => ((c - cpu0[i]) * 1000) / ((c1 - c0) / 1000)),
    packetsOut: (sent1.packets - sent0.packets) / seconds,
    bytesPerPacket: (sent1.bytes - sent0.bytes) / Math.max(1, sent1.packets - sent0.packets),
    layers: in1.map((n, i) => (n - in0[i]) / seconds),
  };
}

async function main(): Promise<void> {
  const load = loadavg()[0];
  log(`sfu costs: ${CONSUMERS} consumers, ${PIPES} pipes, ${SECONDS} s windows, ${cpus().length} cores, load ${load.toFixed(2)}, SRTP ${SRTP_SUITE}`);
  const sink = createSocket('udp4');
  let received = 0;
  sink.on('message', () => received++);
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const sinkPort = sink.address().port;
  const workerA = await mediasoup.createWorker({ logLevel: 'warn' });
  const workerB = await mediasoup.createWorker({ logLevel: 'warn' });
  let source: GstRtpSource | null = null;
  try {
    const routerA = await workerA.createRouter({ mediaCodecs: MEDIA_CODECS });
    const ingest = await routerA.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    const producer = await ingest.produce({
      kind: 'video',
      keyFrameRequestDelay: 1000,
      rtpParameters: {
        codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
        encodings: DEFAULT_LAYERS.map((l) => ({ ssrc: l.ssrc })),
      },
    });
    source = await GstRtpSource.create({ port: ingest.tuple.localPort, audio: null, pattern: 'snow' });
    const workers = [workerA, workerB];
    const caps = withoutBwe(routerA.rtpCapabilities);

    const base = await measure(workers, producer, []);
    log(`  producer alone: worker A ${Math.round(base.cpu[0])} µs/s; layers ${base.layers.map((p) => p.toFixed(1)).join(' / ')} pkts/s`);

    const consumersOf = async (srtp: boolean): Promise<{ transports: types.PlainTransport[]; consumers: types.Consumer[] }> => {
      const transports: types.PlainTransport[] = [];
      const consumers: types.Consumer[] = [];
      for (let i = 0; i < CONSUMERS; i++) {
        const transport = await routerA.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: true,
          comedia: false,
          ...(srtp ? { enableSrtp: true, srtpCryptoSuite: SRTP_SUITE } : {}),
        });
        transports.push(transport);
        await transport.connect({
          ip: '127.0.0.1',
          port: sinkPort,
          ...(srtp ? { srtpParameters: { cryptoSuite: SRTP_SUITE, keyBase64: randomBytes(30).toString('base64') } } : {}),
        });
        consumers.push(await transport.consume({ producerId: producer.id, rtpCapabilities: caps, preferredLayers: { spatialLayer: TOP, temporalLayer: 0 } }));
      }
      return { transports, consumers };
    };
    const consumerCost = async (srtp: boolean): Promise<{ usPerPacket: number; packetsPerConsumer: number; bytesPerPacket: number; window: Window }> => {
      const { transports, consumers } = await consumersOf(srtp);
      try {
        const w = await measure(workers, producer, consumers);
        // The producer's own cost scales with its input: take the base window's out at the same input.
        const extra = w.cpu[0] - base.cpu[0];
        return { usPerPacket: extra / w.packetsOut, packetsPerConsumer: w.packetsOut / CONSUMERS, bytesPerPacket: w.bytesPerPacket, window: w };
      } finally {
        for (const t of transports) t.close();
      }
    };
    const srtp = await consumerCost(true);
    log(`  ${CONSUMERS} SRTP consumers: worker A ${Math.round(srtp.window.cpu[0])} µs/s, ${Math.round(srtp.window.packetsOut)} pkts/s out (${srtp.packetsPerConsumer.toFixed(1)} per consumer, ${Math.round(srtp.bytesPerPacket)} B each): ${srtp.usPerPacket.toFixed(2)} µs per packet`);
    const plain = await consumerCost(false);
    log(`  ${CONSUMERS} plain consumers: worker A ${Math.round(plain.window.cpu[0])} µs/s, ${Math.round(plain.window.packetsOut)} pkts/s out: ${plain.usPerPacket.toFixed(2)} µs per packet`);

    // Pipes out: P SRTP pipe transports on worker A, each consuming the whole stream (what a
    // relay sends each edge), toward the sink: a producer can be piped into one router per
    // worker only, so the far ends are not workers here (their cost is measured next).
    const pipeTransports: types.PipeTransport[] = [];
    let pipeSuite: types.SrtpCryptoSuite = 'AEAD_AES_256_GCM';
    const pipeConsumers: types.Consumer[] = [];
    for (let i = 0; i < PIPES; i++) {
      const transport = await routerA.createPipeTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, enableSrtp: true });
      pipeTransports.push(transport);
      // Pipe transports choose their own suite (AEAD_AES_256_GCM): the far end keys with the same.
      pipeSuite = transport.srtpParameters?.cryptoSuite ?? pipeSuite;
      await transport.connect({ ip: '127.0.0.1', port: sinkPort, srtpParameters: { cryptoSuite: pipeSuite, keyBase64: randomBytes(KEY_BYTES[pipeSuite]).toString('base64') } });
      pipeConsumers.push(await transport.consume({ producerId: producer.id }));
    }
    const pipes = await measure(workers, producer, pipeConsumers);
    const pipeOut = (pipes.cpu[0] - base.cpu[0]) / pipes.packetsOut;
    log(
      `  ${PIPES} SRTP pipes (${pipeSuite}) out of worker A: ${Math.round(pipes.cpu[0])} µs/s, ${Math.round(pipes.packetsOut)} pkts/s through them ` +
        `(${(pipes.packetsOut / PIPES).toFixed(1)} per pipe): ${pipeOut.toFixed(2)} µs per packet out`,
    );
    for (const t of pipeTransports) t.close();

    // Pipe in: worker B takes the stream from worker A through one SRTP pipe (an edge's input).
    const routerB = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { pipeConsumer } = await routerA.pipeToRouter({ producerId: producer.id, router: routerB, enableSrtp: true });
    const pipedIn = await measure(workers, producer, pipeConsumer ? [pipeConsumer] : []);
    const pipeIn = (pipedIn.cpu[1] - base.cpu[1]) / pipedIn.packetsOut;
    log(`  one SRTP pipe into worker B: ${Math.round(pipedIn.cpu[1])} µs/s (at rest ${Math.round(base.cpu[1])}), ${Math.round(pipedIn.packetsOut)} pkts/s: ${pipeIn.toFixed(2)} µs per packet in`);
    routerB.close();

    const round = (n: number, d: number): number => Math.round(n * 10 ** d) / 10 ** d;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'sfu-costs',
        consumers: CONSUMERS,
        pipes: PIPES,
        seconds: SECONDS,
        cores: cpus().length,
        loadavg_1m_start: round(load, 2),
        loadavg_1m_end: round(loadavg()[0], 2),
        srtp_suite: SRTP_SUITE,
        pipe_srtp_suite: pipeSuite,
        layer_kbps: DEFAULT_LAYERS.map((l) => l.kbps),
        layer_pkts_per_s: base.layers.map((p) => round(p, 1)),
        consumer_pkts_per_s: round(srtp.packetsPerConsumer, 1),
        pipe_pkts_per_s: round(pipes.packetsOut / PIPES, 1),
        consumer_bytes_per_packet: round(srtp.bytesPerPacket, 0),
        producer_alone_us_per_s: round(base.cpu[0], 0),
        sfu_us_per_srtp_consumer_packet: round(srtp.usPerPacket, 3),
        sfu_us_per_plain_consumer_packet: round(plain.usPerPacket, 3),
        sfu_us_per_pipe_out_packet: round(pipeOut, 3),
        sfu_us_per_pipe_in_packet: round(pipeIn, 3),
        sink_packets: received,
      })}\n`,
    );
  } finally {
    source?.close();
    workerA.close();
    workerB.close();
    sink.close();
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  log(`sfu costs failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
