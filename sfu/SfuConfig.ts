import { cpus } from 'node:os';
import type { Config } from '../common/config.js';
import type { types } from './mediasoup.js';

/** Settings of the media plane. Every field has a default (see defaultSfuConfig). */
export interface SfuConfig {
  /** mediasoup workers (one per core by default). */
  workers: number;
  /** IP the workers listen on, and the address announced in ICE candidates (for NAT / public IPs). */
  listenIp: string;
  announcedAddress?: string;
  rtcMinPort: number;
  rtcMaxPort: number;
  /** Consumers a router carries before new viewers go to a router on another worker. */
  consumersPerRouter: number;
  /** Per-session limits. */
  maxTransportsPerSession: number;
  maxProducersPerSession: number;
  maxConsumersPerSession: number;
  /** Transport creations per second per session (burst = 2x). */
  transportsPerSecond: number;
  /**
   * Keyframe storm guard: at most one keyframe request (PLI/FIR) per this many ms
   * reaches the host, however many viewers ask (0 = off).
   */
  keyFrameRequestDelayMs: number;
  /** Bitrate a viewer transport starts at, and the most a host may send. */
  initialAvailableOutgoingBitrate: number;
  maxIncomingBitrate: number;
  /** WHIP ingests per room (pending and live), and per process over all rooms. */
  whipMaxIngestsPerRoom: number;
  whipMaxIngests: number;
  /**
   * A WHIP ingest whose ICE+DTLS is not connected this long after its 201, or
   * that stays ICE-disconnected this long, is closed and its slot freed.
   */
  whipConnectTimeoutMs: number;
  /**
   * A room with no producers and no transports (no viewer, host, ingest or pipe)
   * this long is closed and its routers released (a later media request opens it again).
   */
  roomIdleTimeoutMs: number;
  mediaCodecs: types.RtpCodecCapability[];
  logLevel: types.WorkerLogLevel;
}

/** The codecs every router offers (Opus, VP8, H.264 baseline). */
export const MEDIA_CODECS: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100 },
  {
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    preferredPayloadType: 101,
    parameters: { 'x-google-start-bitrate': 1000 },
  },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    preferredPayloadType: 103,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

/** Every setting at its default, then `overrides`. */
export function defaultSfuConfig(overrides: Partial<SfuConfig> = {}): SfuConfig {
  return {
    workers: Math.max(1, cpus().length),
    listenIp: '127.0.0.1',
    rtcMinPort: 40000,
    rtcMaxPort: 49999,
    consumersPerRouter: 400,
    maxTransportsPerSession: 4,
    maxProducersPerSession: 4,
    maxConsumersPerSession: 16,
    transportsPerSecond: 4,
    keyFrameRequestDelayMs: 1000,
    initialAvailableOutgoingBitrate: 600_000,
    maxIncomingBitrate: 5_000_000,
    whipMaxIngestsPerRoom: 2,
    whipMaxIngests: 64,
    whipConnectTimeoutMs: 30_000,
    roomIdleTimeoutMs: 30_000,
    mediaCodecs: MEDIA_CODECS,
    logLevel: 'warn',
    ...overrides,
  };
}

/**
 * The SFU's settings from the one config schema (common/config.ts, FLASHCAST_SFU_*): what is
 * set there over the defaults, then `overrides`.
 */
export function sfuConfigFrom(config: Pick<Config, 'sfuMedia'>, overrides: Partial<SfuConfig> = {}): SfuConfig {
  return defaultSfuConfig({ ...config.sfuMedia, ...overrides });
}
