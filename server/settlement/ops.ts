import { Queue, type ConnectionOptions } from 'bullmq';
import { QUEUES } from '../commerce/SettlementQueue.js';
import { JobNotFoundError } from './errors.js';

/** A job in a failed set, for ops to inspect. */
export interface FailedJobInfo {
  queue: string;
  jobId: string;
  name: string;
  attemptsMade: number;
  failedReason: string;
  finishedOn: number | null;
  data: unknown;
}

type QueueName = keyof typeof QUEUES;

async function withQueue<T>(connection: ConnectionOptions, prefix: string, name: QueueName, fn: (q: Queue) => Promise<T>): Promise<T> {
  if (!Object.hasOwn(QUEUES, name)) throw new TypeError(`queue must be one of ${Object.keys(QUEUES).join(', ')}`);
  const q = new Queue(QUEUES[name], { connection, prefix });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** `flashcast settlement failed [queue]`: lists poison jobs (newest first). */
export async function listFailedJobs(connection: ConnectionOptions, prefix: string, name: QueueName = 'settle', limit = 100): Promise<FailedJobInfo[]> {
  return withQueue(connection, prefix, name, async (q) => {
    const jobs = await q.getFailed(0, Math.max(0, limit - 1));
    return jobs.map((j) => ({
      queue: name, jobId: String(j.id), name: j.name, attemptsMade: j.attemptsMade, failedReason: j.failedReason,
      finishedOn: j.finishedOn ?? null, data: j.data,
    }));
  });
}

/** Poison jobs per settlement queue (the ops console's count). */
export async function countFailedJobs(connection: ConnectionOptions, prefix: string): Promise<Record<QueueName, number>> {
  const names = Object.keys(QUEUES) as QueueName[];
  const counts = await Promise.all(names.map((name) => withQueue(connection, prefix, name, (q) => q.getFailedCount())));
  return Object.fromEntries(names.map((name, i) => [name, counts[i]])) as Record<QueueName, number>;
}

/** `flashcast settlement replay <jobId> [queue]`: moves a failed job back to waiting (same job id: still idempotent). */
export async function replayFailedJob(connection: ConnectionOptions, prefix: string, jobId: string, name: QueueName = 'settle'): Promise<void> {
  await withQueue(connection, prefix, name, async (q) => {
    const job = await q.getJob(jobId);
    if (!job || !(await job.isFailed())) throw new JobNotFoundError(name, jobId);
    await job.retry('failed');
  });
}
