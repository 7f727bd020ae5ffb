import { pino, type Logger } from 'pino';

/** The process-wide root logger. Level from LOG_LEVEL (default info; silent under vitest). */
export const rootLogger: Logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { pid: process.pid },
});

/** One named logger per module: `const log = logger('Gateway')`. Context goes in fields. */
export function logger(module: string): Logger {
  return rootLogger.child({ module });
}
