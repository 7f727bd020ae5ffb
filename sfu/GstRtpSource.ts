import { spawn, type ChildProcess } from 'node:child_process';
import { EnhancedEventEmitter } from '../common/EnhancedEventEmitter.js';

export interface GstRtpSourceOptions {
  host?: string;
  port: number;
  /** VP8 layers (lowest first): width, height, kbps, ssrc. */
  layers?: { width: number; height: number; kbps: number; ssrc: number }[];
  videoPayloadType?: number;
  audio?: { ssrc: number; payloadType: number } | null;
  /** Frames per second of the test pattern. */
  fps?: number;
  /** A keyframe every this many frames (default: one per second). */
  keyframeEvery?: number;
  /**
   * videotestsrc pattern (default `ball`, which compresses to far below the layers' bitrates;
   * `snow` does not compress, so each layer is sent at its bitrate in full-size packets).
   */
  pattern?: string;
}

export const DEFAULT_LAYERS = [
  { width: 160, height: 90, kbps: 100, ssrc: 11111111 },
  { width: 320, height: 180, kbps: 300, ssrc: 22222222 },
  { width: 640, height: 360, kbps: 800, ssrc: 33333333 },
];

export type GstRtpSourceEvents = { close: [] };

/**
 * A live RTP source: gst-launch-1.0 encoding a test pattern as VP8 simulcast (one
 * encoder per layer, a keyframe every second, since it cannot answer PLIs) plus
 * an Opus tone, all RTP to one UDP port. Needs gstreamer1.0-tools,
 * gstreamer1.0-plugins-base and gstreamer1.0-plugins-good.
 */
export class GstRtpSource extends EnhancedEventEmitter<GstRtpSourceEvents> {
  readonly #child: ChildProcess;
  #closed = false;
  stderr = '';

  private constructor(child: ChildProcess) {
    super();
    this.#child = child;
    child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 8000) this.stderr += d.toString();
    });
  }

  /** Starts gst-launch-1.0; resolves once it runs. */
  static async create(options: GstRtpSourceOptions): Promise<GstRtpSource> {
    const host = options.host ?? '127.0.0.1';
    const fps = options.fps ?? 30;
    const pt = options.videoPayloadType ?? 101;
    const layers = options.layers ?? DEFAULT_LAYERS;
    const top = layers[layers.length - 1];
    const args = ['-q', 'funnel', 'name=f', '!', 'udpsink', `host=${host}`, `port=${options.port}`, 'sync=false', 'async=false'];
    args.push('videotestsrc', 'is-live=true', `pattern=${options.pattern ?? 'ball'}`, '!', `video/x-raw,width=${top.width},height=${top.height},framerate=${fps}/1`, '!', 'tee', 'name=t');
    for (const layer of layers) {
      args.push(
        't.', '!', 'queue', 'leaky=downstream', 'max-size-buffers=2', '!', 'videoscale', '!', `video/x-raw,width=${layer.width},height=${layer.height}`, '!',
        'vp8enc', 'deadline=1', 'cpu-used=16', 'threads=1', 'error-resilient=default', `target-bitrate=${layer.kbps * 1000}`, `keyframe-max-dist=${options.keyframeEvery ?? fps}`, '!',
        'rtpvp8pay', `pt=${pt}`, `ssrc=${layer.ssrc}`, 'picture-id-mode=15-bit', 'mtu=1200', '!', 'f.',
      );
    }
    if (options.audio !== null) {
      const audio = options.audio ?? { ssrc: 44444444, payloadType: 100 };
      args.push(
        'audiotestsrc', 'is-live=true', 'wave=sine', 'volume=0.1', '!', 'audioconvert', '!', 'audioresample', '!', 'opusenc', '!',
        'rtpopuspay', `pt=${audio.payloadType}`, `ssrc=${audio.ssrc}`, '!', 'f.',
      );
    }
    const child = spawn('gst-launch-1.0', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const source = new GstRtpSource(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 300);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`gst-launch-1.0 could not start: ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gst-launch-1.0 exited (${code}): ${source.stderr.slice(0, 500)}`));
      });
    });
    return source;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Stops the encoder. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
    this.safeEmit('close');
  }
}
