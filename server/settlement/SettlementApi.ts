import type { ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import { apiSchema } from '../../common/http/apiSchema.js';
import type { HttpRouter } from '../../common/http/HttpRouter.js';
import type { RedisKeys } from '../../common/keys.js';
import { QUEUES } from '../commerce/SettlementQueue.js';
import { countFailedJobs, listFailedJobs, replayFailedJob } from './ops.js';

const queueQuery = z.object({
  queue: z.enum(Object.keys(QUEUES) as [keyof typeof QUEUES, ...(keyof typeof QUEUES)[]]).default('settle').describe('Which queue (default settle)'),
});

const FailedJobSchema = apiSchema('FailedJob', z.object({
  queue: z.string(),
  jobId: z.string(),
  name: z.string(),
  attemptsMade: z.number().int(),
  failedReason: z.string(),
  finishedOn: z.number().int().nullable(),
  data: z.unknown().describe('The job\'s payload'),
}).strict());

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

  /** Poison jobs per queue (settle, commission, refund), for the ops overview. */
  failedCounts(): Promise<Record<string, number>> {
    return countFailedJobs(this.#connection, this.#prefix);
  }

  /** Adds the ops routes to the router. */
  register(router: HttpRouter): void {
    router.add('GET', '/v1/ops/settlement/failed', 'ops.read', {
      summary: 'Poison jobs of a settlement queue', tag: 'ops', query: queueQuery, responses: { 200: z.object({ jobs: z.array(FailedJobSchema) }).strict() },
    }, async (req) => {
      req.authorize();
      return { status: 200, body: { jobs: await listFailedJobs(this.#connection, this.#prefix, req.queryValues.queue) } };
    });
    router.add('POST', '/v1/ops/settlement/failed/:jobId/replay', 'ops.write', {
      summary: 'Move a failed job back to waiting (same job id: still idempotent)', tag: 'ops', query: queueQuery, responses: { 202: null },
      errors: { 404: 'JOB_NOT_FOUND' },
    }, async (req) => {
      req.authorize();
      await replayFailedJob(this.#connection, this.#prefix, req.params.jobId, req.queryValues.queue);
      return { status: 202 };
    });
  }
}
