/**
 * The SFU benchmark (`npm run bench:sfu`): one host producer (VP8, 3 simulcast
 * layers, a real RTP source: GStreamer) and a growing number of consumers
 * (PlainTransport per consumer) on one worker, then spread over two workers
 * through pipeToRouter. For each step: worker CPU %, packets/s out, loss (packets
 * the consumers should have sent, from the producer's own counters, minus what
 * they sent). Prints a table to stderr and one JSON line to stdout, last.
 *
 *   node dist/load-tests/bench/sfu.js [--layer 2] [--seconds 5] [--steps 250,500,1000,1500] [--steps2 1000,2000,3000]
 */
import { cpus, loadavg } from 'node:os';
import { GstRtpSource, DEFAULT_LAYERS } from '../../sfu/GstRtpSource.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { RtpIngest } from '../../sfu/RtpIngest.js';
import { SfuService } from '../../sfu/SfuService.js';
import type { SfuRoom } from '../../sfu/SfuRoom.js';
import type { types } from '../../sfu/mediasoup.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const LAYER = Number(arg('layer', '2'));
const SECONDS = Number(arg('seconds', '5'));
const STEPS_ONE = arg('steps', '250,500,1000,1500').split(',').map(Number);
const STEPS_TWO = arg('steps2', '1000,2000,3000').split(',').map(Number);
/** Loss below this counts as zero (counters are read a few ms apart at the window edges). */
const ZERO_LOSS_PCT = 0.1;
/** Consumers send here; nothing listens (the kernel drops them: no receiver CPU in the measurement). */
const SINK = { ip: '127.0.0.1', port: 9 };

interface Step {
  setup: 'one worker' | 'two workers';
  consumers: number;
  cpuPct: number[];
  pktsOutPerSec: number;
  lossPct: number;
  ok: boolean;
}

async function sentPackets(consumers: types.Consumer[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < consumers.length; i += 100) {
    const stats = await Promise.all(consumers.slice(i, i + 100).map((c) => c.getStats()));
    for (const s of stats) total += s.find((x) => x.type === 'outbound-rtp')?.packetCount ?? 0;
  }
  return total;
}

async function layerPackets(producer: types.Producer, ssrc: number): Promise<number> {
  return (await producer.getStats()).find((s) => s.ssrc === ssrc)?.packetCount ?? 0;
}

async function measure(sfu: SfuService, room: SfuRoom, ingest: RtpIngest, egress: RtpEgress[], setup: Step['setup']): Promise<Step> {
  const consumers = egress.flatMap((e) => e.consumers);
  const ssrc = DEFAULT_LAYERS[LAYER].ssrc;
  const video = ingest.videoProducer!;
  await new Promise((r) => setTimeout(r, 2500)); // every consumer past its first keyframe
  const sent0 = await sentPackets(consumers);
  const in0 = await layerPackets(video, ssrc);
  const cpu0 = await sfu.pool.cpuTimes();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu1 = await sfu.pool.cpuTimes();
  const t1 = Date.now();
  const in1 = await layerPackets(video, ssrc);
  const sent1 = await sentPackets(consumers);
  const expected = (in1 - in0) * consumers.length;
  const sent = sent1 - sent0;
  const lossPct = expected > 0 ? Math.max(0, (100 * (expected - sent)) / expected) : 100;
  const cpuPct = cpu1.map((c) => (100 * (c.cpuMs - (cpu0.find((x) => x.pid === c.pid)?.cpuMs ?? c.cpuMs))) / (t1 - t0));
  void room;
  return { setup, consumers: consumers.length, cpuPct, pktsOutPerSec: Math.round(sent / ((t1 - t0) / 1000)), lossPct, ok: lossPct <= ZERO_LOSS_PCT && expected > 0 };
}

async function run(setup: Step['setup'], steps: number[]): Promise<Step[]> {
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
    const room = await sfu.room(`bench-${n}`);
    const ingest = await RtpIngest.create(room, { userId: 'bench', video: { payloadType: 101, ssrcs: DEFAULT_LAYERS.map((l) => l.ssrc) } });
    const gst = await GstRtpSource.create({ port: ingest.port, audio: null });
    try {
      const egress: RtpEgress[] = [];
      for (let i = 0; i < n; i++) {
        egress.push(await RtpEgress.create(room, { ...SINK, preferredLayers: { spatialLayer: LAYER, temporalLayer: 0 } }));
      }
      const step = await measure(sfu, room, ingest, egress, setup);
      const workersUsed = new Set(room.routers.map((r) => r.poolWorker.index)).size;
      log(
        `${setup.padEnd(12)} consumers=${String(step.consumers).padStart(5)} routers=${room.routers.length} workers=${workersUsed} ` +
          `cpu%=[${step.cpuPct.map((c) => c.toFixed(0)).join(', ')}] pkts/s out=${step.pktsOutPerSec} loss=${step.lossPct.toFixed(3)}% ${step.ok ? 'OK' : 'LOSS'}`,
      );
      results.push(step);
      if (!step.ok) break;
    } finally {
      gst.close();
      sfu.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return results;
}

async function main(): Promise<void> {
  log(`SFU benchmark: layer ${LAYER} (${DEFAULT_LAYERS[LAYER].width}x${DEFAULT_LAYERS[LAYER].height}, ${DEFAULT_LAYERS[LAYER].kbps} kbps), ${SECONDS} s per step, ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`);
  const one = await run('one worker', STEPS_ONE);
  const two = await run('two workers', STEPS_TWO);
  const bestOne = [...one].reverse().find((s) => s.ok);
  const bestTwo = [...two].reverse().find((s) => s.ok);
  const summary = {
    bench: 'sfu',
    layer: LAYER,
    layer_kbps: DEFAULT_LAYERS[LAYER].kbps,
    consumers_one_worker: bestOne?.consumers ?? 0,
    consumers_two_workers: bestTwo?.consumers ?? 0,
    worker_cpu_pct: bestOne ? Math.round(bestOne.cpuPct[0] ?? 0) : null,
    worker_cpu_pct_two: bestTwo ? bestTwo.cpuPct.map((c) => Math.round(c)) : null,
    pkts_out_per_s_one_worker: bestOne?.pktsOutPerSec ?? 0,
    pkts_out_per_s_two_workers: bestTwo?.pktsOutPerSec ?? 0,
    loss_pct: bestTwo ? Number(bestTwo.lossPct.toFixed(3)) : bestOne ? Number(bestOne.lossPct.toFixed(3)) : null,
    first_loss: [...one, ...two].filter((s) => !s.ok).map((s) => ({ setup: s.setup, consumers: s.consumers, loss_pct: Number(s.lossPct.toFixed(3)) })),
    cores: cpus().length,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    log(String(error?.stack ?? error));
    process.exit(1);
  },
);
