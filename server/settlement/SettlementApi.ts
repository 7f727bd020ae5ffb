import type { ConnectionOptions } from 'bullmq';
import type { HttpRouter } from '../../common/http/HttpRouter.js';
import type { RedisKeys } from '../../common/keys.js';
import { listFailedJobs, replayFailedJob } from './ops.js';

/** What the settlement ops routes need: the BullMQ connection and the key prefix of the queues. */
export interface SettlementApiOptions {
  connection: ConnectionOptions;
  keys: RedisKeys;
}

/**
 * The settlement HTTP API for ops: poison jobs of the settle, commission and refund queues,
 * listed and replayed (`?queue=`, default settle). Errors are written by the router's one adapter.
 */
export class SettlementApi {
  readonly #connection: ConnectionOptions;
  readonly #prefix: string;

  constructor(options: SettlementApiOptions) {
    this.#connection = options.connection;
    this.#prefix = `${options.keys.prefix}:bull`;
  }

  /** Adds the ops routes to the router. */
  register(router: HttpRouter): void {
    router.add('GET', '/v1/ops/settlement/failed', 'ops.read', async (req) => {
      req.authorize();
      const queue = (req.query.get('queue') ?? 'settle') as 'settle';
      return { status: 200, body: { jobs: await listFailedJobs(this.#connection, this.#prefix, queue) } };
    });
    router.add('POST', '/v1/ops/settlement/failed/:jobId/replay', 'ops.write', async (req) => {
      req.authorize();
      const queue = (req.query.get('queue') ?? 'settle') as 'settle';
      await replayFailedJob(this.#connection, this.#prefix, req.params.jobId, queue);
      return { status: 202 };
    });
  }
}
