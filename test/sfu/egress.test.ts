import { createCipheriv, createHmac } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GstRtpSource } from '../../sfu/GstRtpSource.js';
import { RtpEgress } from '../../sfu/RtpEgress.js';
import { RtpIngest } from '../../sfu/RtpIngest.js';
import { SfuService } from '../../sfu/SfuService.js';
import { Vp8RtpSource } from '../../load-tests/bench/Vp8RtpSource.js';
import { waitFor } from '../helpers/env.js';

/**
 * RTP out of a real worker (RtpEgress): the top simulcast layer whatever its bitrate (a plain RTP
 * receiver sends no bandwidth feedback), and SRTP whose packets authenticate under the key the
 * egress reports (RFC 3711, AES_CM_128_HMAC_SHA1_80, checked here independently of mediasoup).
 */
let sfu: SfuService;
let gst: GstRtpSource | null = null;
let paced: Vp8RtpSource | null = null;
const sockets: Socket[] = [];

beforeAll(async () => {
  sfu = await SfuService.create({ workers: 1, consumersPerRouter: 100, rtcMinPort: 42000, rtcMaxPort: 42999 });
});

afterAll(() => {
  gst?.close();
  paced?.close();
  for (const s of sockets) s.close();
  sfu?.close();
});

/** mediasoup's RTP probation packets (sent as a consumer starts) carry this SSRC. */
const PROBATION_SSRC = 1234;

/** A UDP socket keeping the media RTP packets (not RTCP, not probation) it receives. */
async function sink(): Promise<{ port: number; packets: Buffer[] }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const packets: Buffer[] = [];
  socket.on('message', (msg) => {
    if (msg.length < 12 || (msg[1] >= 200 && msg[1] <= 206) || msg.readUInt32BE(8) === PROBATION_SSRC) return;
    if (packets.length < 200) packets.push(msg);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: (socket.address() as { port: number }).port, packets };
}

/** RFC 3711 4.3.3: the AES-CM PRF keyed with the master key, label `label`, key derivation rate 0. */
function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const x = Buffer.from(masterSalt);
  x[7] ^= label; // key_id = label || r (r = 0), right-aligned against the 112-bit salt
  const iv = Buffer.concat([x, Buffer.alloc(2)]);
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** True if the packet ends with the HMAC-SHA1-80 tag of its authenticated portion and rollover counter `roc`. */
function authenticates(packet: Buffer, authKey: Buffer, roc: number): boolean {
  if (packet.length <= 12 + 10) return false;
  const body = packet.subarray(0, packet.length - 10);
  const rocBytes = Buffer.alloc(4);
  rocBytes.writeUInt32BE(roc);
  const tag = createHmac('sha1', authKey).update(body).update(rocBytes).digest().subarray(0, 10);
  return tag.equals(packet.subarray(packet.length - 10));
}

describe('RtpEgress', () => {
  it('forwards the top layer at 800 kbit/s: no bandwidth estimate holds it at the worker\'s initial 600', async () => {
    const room = await sfu.room('top-layer-room');
    const layers = [
      { ssrc: 11111111, kbps: 100 },
      { ssrc: 22222222, kbps: 300 },
      { ssrc: 33333333, kbps: 800 },
    ];
    const ingest = await RtpIngest.create(room, { userId: 'encoder', video: { payloadType: 101, ssrcs: layers.map((l) => l.ssrc) } });
    paced = await Vp8RtpSource.create({ port: ingest.port, layers });
    const out = await sink();
    const egress = await RtpEgress.create(room, { ip: '127.0.0.1', port: out.port, preferredLayers: { spatialLayer: 2, temporalLayer: 0 } });
    const consumer = egress.consumers[0];
    await waitFor(() => consumer.currentLayers?.spatialLayer === 2 && out.packets.length >= 60, 15_000, 'the top layer at the sink');
    // 800 kbit/s in ~1,100-byte packets: three per frame.
    expect(out.packets.slice(-30).every((p) => p.length > 1000)).toBe(true);
    paced.close();
    ingest.close();
  }, 60_000);


  it('with SRTP sends packets that authenticate under its key; plain RTP does not', async () => {
    const room = await sfu.room('srtp-room');
    const ingest = await RtpIngest.create(room, { userId: 'encoder', video: { payloadType: 101, ssrcs: [11111111, 22222222, 33333333] } });
    gst = await GstRtpSource.create({ port: ingest.port, audio: null });
    const plainSink = await sink();
    const srtpSink = await sink();
    const plain = await RtpEgress.create(room, { ip: '127.0.0.1', port: plainSink.port });
    const srtp = await RtpEgress.create(room, { ip: '127.0.0.1', port: srtpSink.port, srtp: 'AES_CM_128_HMAC_SHA1_80' });
    expect(plain.srtpParameters).toBeNull();
    expect(srtp.srtpParameters?.cryptoSuite).toBe('AES_CM_128_HMAC_SHA1_80');
    await waitFor(() => plainSink.packets.length >= 30 && srtpSink.packets.length >= 30, 20_000, 'packets at both sinks');

    const master = Buffer.from(srtp.srtpParameters!.keyBase64, 'base64');
    expect(master).toHaveLength(30);
    const authKey = deriveKey(master.subarray(0, 16), master.subarray(16), 0x01, 20);
    const ssrc = srtp.consumers[0].rtpParameters.encodings![0].ssrc!;
    // The header stays in the clear: RTP version 2, the consumer's SSRC.
    expect(srtpSink.packets.every((p) => p[0] >> 6 === 2 && p.readUInt32BE(8) === ssrc)).toBe(true);
    // Every packet authenticates (rollover counter 0, or 1 if the random first sequence number wrapped).
    const first = srtpSink.packets.slice(0, 30);
    expect(first.filter((p) => authenticates(p, authKey, 0) || authenticates(p, authKey, 1))).toHaveLength(30);
    // A flipped payload byte, the wrong key or a plain packet does not.
    const tampered = Buffer.from(first[0]);
    tampered[20] ^= 0xff;
    expect(authenticates(tampered, authKey, 0) || authenticates(tampered, authKey, 1)).toBe(false);
    const otherKey = deriveKey(master.subarray(0, 16), master.subarray(16), 0x00, 20);
    expect(first.some((p) => authenticates(p, otherKey, 0))).toBe(false);
    expect(plainSink.packets.slice(0, 30).some((p) => authenticates(p, authKey, 0) || authenticates(p, authKey, 1))).toBe(false);
  }, 60_000);
});
