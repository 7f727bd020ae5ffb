import type { Publisher } from './Publisher.js';
import type { ServerProcess } from './ServerProcess.js';
import type { ServerKind } from './Viewer.js';

/** Everything a target needs to start its server. */
export interface TargetContext {
  room: string;
  redisUrl: string;
  /** Unique per run; targets append their own suffix. */
  redisPrefix: string;
  /** Bytes of announcement text per message. */
  textBytes: number;
  /** CPUs the server runs on (taskset list), or null. */
  serverCpus: string | null;
  /** Flashcast's batch window (FLASHCAST_BATCH_WINDOW_MS), or null for its default. */
  batchWindowMs: number | null;
}

/**
 * One server under test in the broadcast benchmark (Flashcast's gateway or a
 * baseline): how to start it in a child process, how viewers reach its room, and
 * how the publisher sends to it.
 */
export interface BenchTarget {
  readonly kind: ServerKind;
  /** Name in the results table. */
  readonly label: string;
  /** Spawns the server and waits until it is ready. */
  start(): Promise<ServerProcess>;
  readonly port: number;
  /** Request paths (with credentials) for `count` viewers. */
  viewerPaths(count: number): Promise<string[]>;
  /** Opens the publisher connection. */
  openPublisher(): Promise<Publisher>;
  /** Stops the server and removes what it left in Redis. Idempotent. */
  stop(): Promise<void>;
}
