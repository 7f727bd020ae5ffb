import { fileURLToPath } from 'node:url';
import type { BenchTarget, TargetContext } from './BenchTarget.js';
import type { Publisher } from './Publisher.js';
import { ServerProcess, freePort } from './ServerProcess.js';
import { UwsPublisher } from './UwsPublisher.js';
import type { BaselinePayload } from './BaselinePayload.js';

const SCRIPT = fileURLToPath(new URL('../baselines/uws-server.js', import.meta.url));

/** The bare uWebSockets.js baseline (the ceiling). */
export class UwsTarget implements BenchTarget {
  readonly kind = 'uws' as const;
  readonly label = 'uWS (bare)';
  readonly #context: TargetContext;
  readonly #payload: BaselinePayload;
  #server: ServerProcess | null = null;
  port = 0;

  constructor(context: TargetContext, payload: BaselinePayload) {
    this.#context = context;
    this.#payload = payload;
  }

  async start(): Promise<ServerProcess> {
    this.port = await freePort();
    this.#server = await ServerProcess.start({
      name: this.label,
      script: SCRIPT,
      env: { PORT: String(this.port), HOST: '127.0.0.1' },
      readyUrl: `http://127.0.0.1:${this.port}/readyz`,
      cpus: this.#context.serverCpus,
    });
    return this.#server;
  }

  async viewerPaths(count: number): Promise<string[]> {
    return new Array<string>(count).fill('/ws');
  }

  openPublisher(): Promise<Publisher> {
    return UwsPublisher.create(`ws://127.0.0.1:${this.port}/ws?role=pub`, this.#payload);
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
  }
}
