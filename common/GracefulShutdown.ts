import type { Logger } from 'pino';
import { runCloseSteps, type CloseStep } from './closeSteps.js';
import { rootLogger } from './logger.js';

/** Options of a process's shutdown. */
export interface GracefulShutdownOptions {
  /** A shutdown that has not finished after this long exits 1 anyway (default 30 s). */
  timeoutMs?: number;
  /** Ends the process (default `process.exit`; tests pass their own). */
  exit?: (code: number) => void;
}

/**
 * The one graceful shutdown of a process (gateway, worker, sfu). Parts are added as they
 * start; SIGINT and SIGTERM close them once, last started first, every step even when one
 * fails (each failure logged), then exit 0, or 1 when a step failed or the timeout hit.
 */
export class GracefulShutdown {
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #exit: (code: number) => void;
  readonly #steps: CloseStep[] = [];
  #closing: Promise<number> | null = null;
  #exiting = false;
  #ended = false;

  private constructor(log: Logger, options: GracefulShutdownOptions) {
    this.#log = log;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#exit = options.exit ?? ((code) => process.exit(code));
  }

  /** Creates the process's shutdown and sends SIGINT and SIGTERM to it. */
  static install(log: Logger, options: GracefulShutdownOptions = {}): GracefulShutdown {
    const shutdown = new GracefulShutdown(log, options);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown.shutdown(signal));
    return shutdown;
  }

  /** Adds a started part; parts close in reverse order. A part added after closing began closes at once. */
  add(name: string, close: () => unknown): void {
    if (this.#closing) {
      void runCloseSteps(this.#log, [[name, close]]);
      return;
    }
    this.#steps.push([name, close]);
  }

  /**
   * Closes every part added so far, once (later calls share the first); resolves to the
   * number of steps that failed. Without exiting: for a start-up that failed half way.
   */
  close(): Promise<number> {
    this.#closing ??= runCloseSteps(this.#log, this.#steps.splice(0).reverse());
    return this.#closing;
  }

  /** Closes everything, then exits: 0 when every step succeeded, 1 otherwise. Guarded: runs once. */
  async shutdown(reason: string): Promise<void> {
    if (this.#exiting) return;
    this.#exiting = true;
    this.#log.info({ signal: reason }, 'shutting down');
    const hardExit = setTimeout(() => {
      this.#log.error({ timeoutMs: this.#timeoutMs }, 'shutdown timed out');
      this.#end(1);
    }, this.#timeoutMs);
    hardExit.unref();
    const failed = await this.close();
    clearTimeout(hardExit);
    this.#end(failed > 0 ? 1 : 0);
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    rootLogger.flush?.();
    this.#exit(code);
  }
}
