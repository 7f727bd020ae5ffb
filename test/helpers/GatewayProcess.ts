import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JWT_SECRET } from './env.js';

const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));

/** A gateway in a child process (`flashcast gateway`), as production runs it. */
export class GatewayProcess {
  readonly port: number;
  readonly nodeId: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';

  private constructor(child: ChildProcess, port: number, nodeId: string, output: string) {
    this.child = child;
    this.port = port;
    this.nodeId = nodeId;
    this.output = output;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static async start(env: Record<string, string>): Promise<GatewayProcess> {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
    const child = spawn(process.execPath, [CLI, 'gateway'], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', FLASHCAST_JWT_SECRET: JWT_SECRET, LOG_LEVEL: 'warn', VITEST: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const listening = await new Promise<{ port: number; nodeId: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${output}`)), 15_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        const line = output.split('\n').find((l) => l.includes('"event":"listening"'));
        if (line) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(JSON.parse(line));
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited with ${code}:\n${output}`));
      });
    });
    return new GatewayProcess(child, listening.port, listening.nodeId, output);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** SIGKILL: the node vanishes without telling anyone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: graceful drain. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
