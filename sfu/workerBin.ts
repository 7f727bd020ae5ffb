/**
 * Points mediasoup at the worker binary before mediasoup is loaded (it reads
 * MEDIASOUP_WORKER_BIN once, at import). Import this module before 'mediasoup'.
 * Order: $MEDIASOUP_WORKER_BIN, the project's build cache (scripts/mediasoup-worker.sh),
 * mediasoup's own prebuilt.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const MEDIASOUP_VERSION = '3.19.3';

function resolveWorkerBin(): string | undefined {
  if (process.env.MEDIASOUP_WORKER_BIN) return process.env.MEDIASOUP_WORKER_BIN;
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const cached = join(cacheRoot, 'flashcast', 'mediasoup-worker', MEDIASOUP_VERSION, 'mediasoup-worker');
  return existsSync(cached) ? cached : undefined;
}

const bin = resolveWorkerBin();
if (bin) process.env.MEDIASOUP_WORKER_BIN = bin;

/** The worker binary mediasoup will spawn (undefined: mediasoup's default). */
export const workerBin = bin;
