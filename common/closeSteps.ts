import type { Logger } from 'pino';

/** One named step of a shutdown. */
export type CloseStep = [name: string, run: () => unknown];

/**
 * Runs every step of a shutdown in order, even when one fails, and logs each
 * failure with its step name (BullMQ `Worker.close` style). Resolves to the
 * number of steps that failed.
 */
export async function runCloseSteps(log: Logger, steps: CloseStep[]): Promise<number> {
  let failed = 0;
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (error) {
      failed++;
      log.error({ err: error, step: name }, 'close step failed');
    }
  }
  return failed;
}
