/**
 * Points mediasoup at the worker binary before mediasoup is loaded (it reads
 * MEDIASOUP_WORKER_BIN once, at import). Import this module before 'mediasoup'.
 * Order: $MEDIASOUP_WORKER_BIN, the project's cache (scripts/mediasoup-worker.sh, or a
 * prebuilt fetched by MediaWorkerInstaller), mediasoup's own prebuilt.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The mediasoup version the project pins (package.json), whose worker is cached. */
export const MEDIASOUP_VERSION = '3.19.3';

/** Where the project caches the worker: ${XDG_CACHE_HOME:-~/.cache}/flashcast/mediasoup-worker/<version>/mediasoup-worker. */
export function workerCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cacheRoot, 'flashcast', 'mediasoup-worker', MEDIASOUP_VERSION, 'mediasoup-worker');
}

function resolveWorkerBin(): string | undefined {
  if (process.env.MEDIASOUP_WORKER_BIN) return process.env.MEDIASOUP_WORKER_BIN;
  const cached = workerCachePath();
  return existsSync(cached) ? cached : undefined;
}

const bin = resolveWorkerBin();
if (bin) process.env.MEDIASOUP_WORKER_BIN = bin;

/** The worker binary mediasoup will spawn (undefined: mediasoup's default). */
export const workerBin = bin;
