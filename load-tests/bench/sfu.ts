/**
 * The SFU benchmark (`npm run bench:sfu`): one host producer (VP8, 3 simulcast layers from a
 * paced RTP source at their nominal bitrates, or GStreamer) and a growing number of consumers, each on its own PlainTransport,
 * plain RTP and then SRTP-encrypted (what every WebRTC viewer costs the worker), on one worker
 * and then spread over two workers through pipeToRouter. For each step: worker CPU, packets/s
 * out as counted by the kernel at the receiving socket, CPU per packet, and loss (packets of
 * the forwarded layer the producer received in the window x consumers, minus what arrived).
 * Prints a line per step to stderr and one JSON line to stdout, last.
 *
 *   node dist/load-tests/bench/sfu.js [--layer 2] [--seconds 5] [--steps 250,500,1000,1500]
 *     [--steps2 1000,2000,3000] [--transports plain,srtp] [--srtp-suite AES_CM_128_HMAC_SHA1_80] [--source synthetic|gst]
 */
import { cpus, loadavg } from 'node:os';
import { GstRtpSource, DEFAULT_LAYERS } from '../../sfu/GstRtpSource.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { RtpIngest } from '../../sfu/RtpIngest.js';
import { SfuService } from '../../sfu/SfuService.js';
import type { types } from '../../sfu/mediasoup.js';
import { UdpSink } from './UdpSink.js';
import { RtpSourceThread } from './RtpSourceThread.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const LAYER = Number(arg('layer', '2'));
const SECONDS = Number(arg('seconds', '5'));
const STEPS_ONE = arg('steps', '250,500,1000,1500').split(',').map(Number);
const STEPS_TWO = arg('steps2', '1000,2000,3000').split(',').map(Number);
const TRANSPORTS = arg('transports', 'plain,srtp').split(',') as Transport[];
/** What a mediasoup worker and Chrome negotiate over DTLS (mediasoup prefers it, Chrome offers it). */
const SRTP_SUITE = arg('srtp-suite', 'AEAD_AES_256_GCM') as types.SrtpCryptoSuite;
/**
 * `synthetic`: Vp8RtpSource, each layer at its nominal bitrate, paced (default); `gst`: GStreamer
 * encoding a test pattern, whose packet rate depends on the picture (about one packet per frame
 * for its simple pattern) and sags when the machine is busy.
 */
const SOURCE = arg('source', 'synthetic') as 'synthetic' | 'gst';
/** Consumers created at once (each is three requests to a worker). */
const CONCURRENCY = Number(arg('concurrency', '20'));
/**
 * Packets short that still count as no loss: one frame's packets per consumer. An edge of the
 * window can fall between a frame's packets being counted at the source and their last copy
 * reaching the sink (the fan-out of one packet to thousands of consumers takes milliseconds).
 * Real loss at saturation is far larger.
 */
const IN_FLIGHT_FRAMES = 1;
/** Frames per second of the synthetic source. */
const FPS = 30;
/**
 * A step whose source was off its nominal packet rate by more than this share measured nothing:
 * the machine (2 cores for the workers, the source and the sink) could not carry it. A starved
 * source makes a saturated worker look idle and loss-free; one catching up after a stall sends
 * bursts no viewer's stream has.
 */
const SOURCE_PACE_TOLERANCE = 0.1;
/** RTCP goes here (nobody listens): the sink counts RTP only. */
const RTCP_DISCARD_PORT = 9;

type Transport = 'plain' | 'srtp';
type Setup = 'one worker' | 'two workers';

interface Step {
  transport: Transport;
  setup: Setup;
  consumers: number;
  /** Consumers per router, in router order (the second is fed through a pipe). */
  split: number[];
  cpuPct: number[];
  /** RTP packets that arrived at the sink per second. */
  pktsOutPerSec: number;
  /** Packets per second of the forwarded layer sent by the source. */
  layerPktsPerSec: number;
  /** Of the layer's packets the source sent in the window, % the producer did not count (dropped before the worker read them). */
  ingestLossPct: number;
  /** Worker CPU (all workers) per packet out, µs. */
  cpuUsPerPacket: number;
  lossPct: number;
  /** The source was off its nominal rate by more than SOURCE_PACE_TOLERANCE: the step does not count. */
  starved: boolean;
  ok: boolean;
}

async function layerPackets(producer: types.Producer, ssrc: number): Promise<number> {
  return (await producer.getStats()).find((s) => s.ssrc === ssrc)?.packetCount ?? 0;
}

/**
 * Creates `n` egresses to the sink, `CONCURRENCY` at a time. A batch never crosses the first
 * router's budget (`budget`): placement counts a viewer once its transport exists, so a batch
 * placed at once would all land on the first router.
 */
async function createEgress(room: Awaited<ReturnType<SfuService['room']>>, n: number, sink: UdpSink, transport: Transport, budget: number): Promise<RtpEgress[]> {
  const egress: RtpEgress[] = [];
  for (let i = 0; i < n; ) {
    const size = Math.min(CONCURRENCY, n - i, i < budget ? budget - i : Infinity);
    i += size;
    const batch = Array.from({ length: size }, () =>
      RtpEgress.create(room, {
        ip: '127.0.0.1',
        port: sink.port,
        rtcpPort: RTCP_DISCARD_PORT,
        preferredLayers: { spatialLayer: LAYER, temporalLayer: 0 },
        srtp: transport === 'srtp' ? SRTP_SUITE : undefined,
      }),
    );
    egress.push(...(await Promise.all(batch)));
  }
  return egress;
}

/**
 * One window: the sink's kernel count and the producer's layer count are read at both edges
 * (the sink's twice around the producer's, averaged, so the two windows match), the workers'
 * CPU too. Nothing is read per consumer: with thousands of consumers a sweep of their stats
 * takes seconds, which is what inflated the packet rate of earlier versions of this bench.
 */
async function measure(sfu: SfuService, ingest: RtpIngest, source: RtpSourceThread | GstRtpSource, sink: UdpSink, consumers: number): Promise<Omit<Step, 'transport' | 'setup' | 'split'>> {
  const ssrc = DEFAULT_LAYERS[LAYER].ssrc;
  const video = ingest.videoProducer!;
  await new Promise((r) => setTimeout(r, 2500)); // every consumer past its first keyframe
  // What should reach every consumer: what the paced source sent (so that packets the worker
  // was too busy to read count as lost); for GStreamer, what the producer counted.
  const sentBySource = (): number | null => (source instanceof RtpSourceThread ? source.sent(ssrc) : null);
  const edge = async () => {
    const a = sink.arrived();
    const sent = sentBySource();
    const inPackets = await layerPackets(video, ssrc);
    const b = sink.arrived();
    return { arrived: (a + b) / 2, inPackets, sent: sent ?? inPackets, at: Date.now() };
  };
  const e0 = await edge();
  const cpu0 = await sfu.pool.cpuTimes();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu1 = await sfu.pool.cpuTimes();
  const e1 = await edge();
  const seconds = (e1.at - e0.at) / 1000;
  const arrived = e1.arrived - e0.arrived;
  const layerSent = e1.sent - e0.sent;
  const expected = layerSent * consumers;
  const short = expected - arrived;
  const perFrame = source instanceof RtpSourceThread ? source.packetsPerFrame(ssrc) : 1;
  const lossPct = expected > 0 ? Math.max(0, (100 * short) / expected) : 100;
  const starved = source instanceof RtpSourceThread && Math.abs(layerSent / seconds / (perFrame * FPS) - 1) > SOURCE_PACE_TOLERANCE;
  const cpuMs = cpu1.map((c) => c.cpuMs - (cpu0.find((x) => x.pid === c.pid)?.cpuMs ?? c.cpuMs));
  return {
    consumers,
    cpuPct: cpuMs.map((ms) => (100 * ms) / (seconds * 1000)),
    pktsOutPerSec: Math.round(arrived / seconds),
    layerPktsPerSec: layerSent / seconds,
    ingestLossPct: layerSent > 0 ? Math.max(0, (100 * (layerSent - (e1.inPackets - e0.inPackets))) / layerSent) : 0,
    cpuUsPerPacket: arrived > 0 ? (cpuMs.reduce((a, b) => a + b, 0) * 1000) / arrived : NaN,
    lossPct,
    starved,
    ok: !starved && expected > 0 && short <= consumers * perFrame * IN_FLIGHT_FRAMES,
  };
}

/** The forwarded layer's nominal packets per second (the synthetic source; NaN for GStreamer). */
function perFrameRate(source: RtpSourceThread | GstRtpSource): number {
  return source instanceof RtpSourceThread ? source.packetsPerFrame(DEFAULT_LAYERS[LAYER].ssrc) * FPS : NaN;
}

async function run(transport: Transport, setup: Setup, steps: number[], sink: UdpSink): Promise<Step[]> {
  const results: Step[] = [];
  for (const n of steps) {
    // A fresh pool per step: no leftovers from the previous step.
    const sfu = await SfuService.create({
      workers: 2,
      consumersPerRouter: setup === 'one worker' ? 1_000_000 : Math.ceil(n / 2),
      rtcMinPort: 20000,
      rtcMaxPort: 39999,
      logLevel: 'error',
    });
    const room = await sfu.room(`bench-${transport}-${n}`);
    const ingest = await RtpIngest.create(room, { userId: 'bench', video: { payloadType: 101, ssrcs: DEFAULT_LAYERS.map((l) => l.ssrc) } });
    const source = SOURCE === 'gst' ? await GstRtpSource.create({ port: ingest.port, audio: null }) : await RtpSourceThread.create({ port: ingest.port, layers: DEFAULT_LAYERS, fps: FPS });
    try {
      const created = Date.now();
      const egress = await createEgress(room, n, sink, transport, setup === 'two workers' ? Math.ceil(n / 2) : Infinity);
      const setupSeconds = (Date.now() - created) / 1000;
      const consumers = egress.reduce((a, e) => a + e.consumers.length, 0);
      const split = room.routers.map((r) => r.consumers);
      const m = await measure(sfu, ingest, source, sink, consumers);
      const step: Step = { transport, setup, split, ...m };
      log(
        `${transport.padEnd(5)} ${setup.padEnd(11)} consumers=${String(step.consumers).padStart(5)} routers=[${split.join(', ')}] ` +
          `cpu%=[${step.cpuPct.map((c) => c.toFixed(0)).join(', ')}] pkts/s out=${step.pktsOutPerSec} (${(step.pktsOutPerSec / consumers).toFixed(1)}/consumer, ` +
          `layer ${step.layerPktsPerSec.toFixed(1)}/s, ${step.ingestLossPct.toFixed(2)}% lost before the worker) CPU µs/pkt=${step.cpuUsPerPacket.toFixed(2)} loss=${step.lossPct.toFixed(3)}% ` +
          `${step.ok ? 'OK' : step.starved ? `SOURCE OFF PACE (nominal ${perFrameRate(source)}/s: the machine did not carry the step)` : 'LOSS'} (set up in ${setupSeconds.toFixed(0)} s, load ${loadavg()[0].toFixed(1)})`,
      );
      results.push(step);
      if (!step.ok) break;
    } finally {
      source.close();
      sfu.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return results;
}

/** The figures of one transport: the largest loss-free step of each setup. */
function figures(steps: Step[]) {
  const best = (setup: Setup) => [...steps].reverse().find((s) => s.setup === setup && s.ok);
  const one = best('one worker');
  const two = best('two workers');
  return {
    consumers_one_worker: one?.consumers ?? 0,
    consumers_two_workers: two?.consumers ?? 0,
    worker_cpu_pct: one ? Math.round(one.cpuPct[0] ?? 0) : null,
    worker_cpu_pct_two: two ? two.cpuPct.map((c) => Math.round(c)) : null,
    pkts_out_per_s_one_worker: one?.pktsOutPerSec ?? 0,
    pkts_out_per_s_two_workers: two?.pktsOutPerSec ?? 0,
    cpu_us_per_packet_one_worker: one ? Number(one.cpuUsPerPacket.toFixed(3)) : null,
    cpu_us_per_packet_two_workers: two ? Number(two.cpuUsPerPacket.toFixed(3)) : null,
    first_loss: steps
      .filter((s) => !s.ok)
      .map((s) => ({ setup: s.setup, consumers: s.consumers, loss_pct: Number(s.lossPct.toFixed(3)), source_starved: s.starved })),
  };
}

async function main(): Promise<void> {
  const layer = DEFAULT_LAYERS[LAYER];
  log(
    `SFU benchmark: layer ${LAYER} (${layer.width}x${layer.height}, ${layer.kbps} kbps), ${SOURCE} source, ${SECONDS} s per step, transports ${TRANSPORTS.join(',')} ` +
      `(SRTP ${SRTP_SUITE}), ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`,
  );
  const loadStart = loadavg()[0];
  const sink = await UdpSink.create();
  const steps: Step[] = [];
  try {
    for (const transport of TRANSPORTS) {
      steps.push(...(await run(transport, 'one worker', STEPS_ONE, sink)));
      steps.push(...(await run(transport, 'two workers', STEPS_TWO, sink)));
    }
  } finally {
    sink.close();
  }
  const summary: Record<string, unknown> = { bench: 'sfu', layer: LAYER, layer_kbps: layer.kbps, source: SOURCE, srtp_suite: SRTP_SUITE };
  for (const transport of TRANSPORTS) summary[transport] = figures(steps.filter((s) => s.transport === transport));
  // SRTP's cost per packet over plain RTP's, at the same consumer counts (loss-free steps of both).
  const ratios = steps
    .filter((s) => s.transport === 'srtp' && s.ok)
    .map((s) => {
      const plain = steps.find((p) => p.transport === 'plain' && p.ok && p.setup === s.setup && p.consumers === s.consumers);
      return plain ? s.cpuUsPerPacket / plain.cpuUsPerPacket : NaN;
    })
    .filter(Number.isFinite);
  summary.srtp_cpu_per_packet_vs_plain = ratios.length ? Number((ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(3)) : null;
  summary.layer_pkts_per_s = Number((steps.reduce((a, s) => a + s.layerPktsPerSec, 0) / Math.max(1, steps.length)).toFixed(1));
  summary.cores = cpus().length;
  summary.loadavg_1m_start = Number(loadStart.toFixed(2));
  summary.loadavg_1m_end = Number(loadavg()[0].toFixed(2));
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    log(String(error?.stack ?? error));
    process.exit(1);
  },
);
