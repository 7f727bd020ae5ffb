/**
 * Worker-thread entry of RtpSourceThread: runs a Vp8RtpSource counting into the shared memory it
 * was given, and answers with each layer's packets per frame once it sends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Vp8RtpSource, type Vp8RtpSourceOptions } from './Vp8RtpSource.js';

if (!parentPort) throw new Error('rtp-source-worker.js must run in a worker thread');
const { options, shared } = workerData as { options: Vp8RtpSourceOptions; shared: SharedArrayBuffer };
const source = await Vp8RtpSource.create({ ...options, counters: new Float64Array(shared) });
parentPort.postMessage({ perFrame: options.layers.map((l) => source.packetsPerFrame(l.ssrc)) });
