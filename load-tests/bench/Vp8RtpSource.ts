import { createSocket, type Socket } from 'node:dgram';

/** One simulcast layer: its SSRC and bitrate. */
export interface Vp8Layer {
  ssrc: number;
  kbps: number;
}

export interface Vp8RtpSourceOptions {
  host?: string;
  port: number;
  layers: readonly Vp8Layer[];
  payloadType?: number;
  fps?: number;
  /** A keyframe every this many frames (default: one a second). */
  keyframeEvery?: number;
  /** Where to count the RTP packets sent, one slot per layer (shared with another thread); default: its own. */
  counters?: Float64Array;
}

/** Bytes of VP8 payload per RTP packet (about what browsers send; under a 1,200-byte MTU with headers). */
const PACKET_PAYLOAD = 1100;
const RTP_HEADER = 12;
/** The payload descriptor written here: X=1, I=1 with a 15-bit picture id (RFC 7741). */
const DESCRIPTOR = 4;

/**
 * A paced VP8 simulcast RTP source for the SFU benchmark: each layer sends, every frame, the
 * packets its nominal bitrate needs (payload descriptor, keyframe flag and marker bit right,
 * payload filler) and a sender report a second. Unlike an encoder it costs almost no CPU, so
 * every step forwards the layer's real bitrate; on a starved machine it drops frames rather
 * than bursting, and counts what it sent (`sent`). The SFU does not decode video; what it
 * reads (RTP header, descriptor, keyframe bit, sender reports) is real.
 */
export class Vp8RtpSource {
  readonly #socket: Socket;
  readonly #timer: NodeJS.Timeout;
  /** Packets per frame of each layer, and their payload size. */
  readonly #shape: { packets: number; bytes: number }[];
  readonly #seq: number[];
  readonly #ssrcs: number[];
  /** RTP packets sent, per layer. */
  readonly #counters: Float64Array;
  #closed = false;

  private constructor(socket: Socket, options: Vp8RtpSourceOptions) {
    this.#socket = socket;
    const fps = options.fps ?? 30;
    const keyframeEvery = options.keyframeEvery ?? fps;
    const payloadType = options.payloadType ?? 101;
    this.#shape = options.layers.map((layer) => {
      const frameBytes = (layer.kbps * 1000) / 8 / fps;
      const packets = Math.max(1, Math.round(frameBytes / PACKET_PAYLOAD));
      return { packets, bytes: Math.max(16, Math.round(frameBytes / packets)) };
    });
    this.#seq = options.layers.map(() => Math.floor(Math.random() * 65536));
    this.#ssrcs = options.layers.map((l) => l.ssrc);
    const counters = options.counters ?? new Float64Array(options.layers.length);
    this.#counters = counters;
    const sent = options.layers.map(() => ({ packets: 0, octets: 0 }));
    const host = options.host ?? '127.0.0.1';
    const start = performance.now();
    let frame = 0;
    let nextReport = 0;
    // A tick sends the frame that is due, if any. A late tick skips the frames it missed, as a
    // live encoder short of CPU drops frames: a burst of them would overflow the SFU's socket.
    this.#timer = setInterval(() => {
      const elapsedMs = performance.now() - start;
      const due = Math.floor((elapsedMs * fps) / 1000);
      if (due >= frame) {
        frame = due;
        options.layers.forEach((layer, i) => {
          for (const packet of this.#frame(i, layer.ssrc, payloadType, frame, frame % keyframeEvery === 0, (frame * 90000) / fps)) {
            socket.send(packet, options.port, host);
            sent[i].packets++;
            sent[i].octets += packet.length - RTP_HEADER;
            counters[i] = sent[i].packets;
          }
        });
        frame++;
      }
      // Sender reports once a second: the SFU aligns the layers' timestamps with them, and
      // switches a consumer to another layer only once both have one.
      if (elapsedMs >= nextReport) {
        nextReport += 1000;
        options.layers.forEach((layer, i) => socket.send(senderReport(layer.ssrc, (elapsedMs * 90) >>> 0, sent[i].packets, sent[i].octets), options.port, host));
      }
    }, 5);
  }

  /** Starts sending to host:port. */
  static async create(options: Vp8RtpSourceOptions): Promise<Vp8RtpSource> {
    const socket = createSocket('udp4');
    socket.on('message', () => {}); // RTCP from the SFU (receiver reports, PLIs): not needed
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new Vp8RtpSource(socket, options);
  }

  /** RTP packets of the layer with this SSRC sent so far. */
  sent(ssrc: number): number {
    const i = this.#ssrcs.indexOf(ssrc);
    if (i < 0) throw new TypeError(`no layer with SSRC ${ssrc}`);
    return this.#counters[i];
  }

  /** Packets per frame of the layer with this SSRC. */
  packetsPerFrame(ssrc: number): number {
    return this.#shape[this.#ssrcs.indexOf(ssrc)]?.packets ?? 1;
  }

  /** The RTP packets of one frame of layer `i`. */
  #frame(i: number, ssrc: number, payloadType: number, frame: number, keyframe: boolean, timestamp: number): Buffer[] {
    const { packets, bytes } = this.#shape[i];
    const out: Buffer[] = [];
    for (let p = 0; p < packets; p++) {
      const packet = Buffer.alloc(RTP_HEADER + DESCRIPTOR + bytes);
      const seq = this.#seq[i];
      this.#seq[i] = (seq + 1) & 0xffff;
      packet[0] = 0x80; // V=2
      packet[1] = (p === packets - 1 ? 0x80 : 0) | payloadType; // marker on the frame's last packet
      packet.writeUInt16BE(seq, 2);
      packet.writeUInt32BE(Math.round(timestamp) >>> 0, 4);
      packet.writeUInt32BE(ssrc, 8);
      const pictureId = frame & 0x7fff;
      packet[12] = 0x80 | (p === 0 ? 0x10 : 0); // X, and S on the frame's first packet (partition 0)
      packet[13] = 0x80; // I: picture id present
      packet[14] = 0x80 | (pictureId >> 8); // M: 15-bit picture id
      packet[15] = pictureId & 0xff;
      // VP8 payload header on the first packet: bit 0 is the inverse keyframe flag; show_frame set.
      if (p === 0) packet[16] = (keyframe ? 0x00 : 0x01) | 0x10;
      out.push(packet);
    }
    return out;
  }

  /** Stops sending. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#socket.close();
  }
}

/** Seconds from 1900 (NTP's epoch) to 1970. */
const NTP_EPOCH_OFFSET = 2_208_988_800;

/** An RTCP sender report (RFC 3550 6.4.1) without report blocks: now in NTP time, its RTP timestamp, the counts sent. */
function senderReport(ssrc: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80; // V=2, no report blocks
  sr[1] = 200; // SR
  sr.writeUInt16BE(6, 2); // length in 32-bit words minus one
  sr.writeUInt32BE(ssrc, 4);
  const nowMs = Date.now();
  sr.writeUInt32BE((Math.floor(nowMs / 1000) + NTP_EPOCH_OFFSET) >>> 0, 8);
  sr.writeUInt32BE(Math.floor(((nowMs % 1000) / 1000) * 2 ** 32) >>> 0, 12);
  sr.writeUInt32BE(rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(packets >>> 0, 20);
  sr.writeUInt32BE(octets >>> 0, 24);
  return sr;
}
