import { spawn, type ChildProcess } from 'node:child_process';
import { JWT_SECRET, REDIS_URL } from './env.js';

/** A `flashcast sfu` process (sfu/main.ts through tsx) on its own RTC port range, joined to the media network under `prefix`. */
export function startSfu(nodeId: string, prefix: string, minPort: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sfu/main.ts'], {
    env: {
      ...process.env,
      REDIS_URL,
      FLASHCAST_REDIS_PREFIX: prefix,
      FLASHCAST_JWT_SECRET: JWT_SECRET,
      FLASHCAST_SFU_NODE_ID: nodeId,
      FLASHCAST_SFU_WORKERS: '1',
      FLASHCAST_SFU_RTC_MIN_PORT: String(minPort),
      FLASHCAST_SFU_RTC_MAX_PORT: String(minPort + 999),
      FLASHCAST_SFU_HTTP_PORT: '0',
      LOG_LEVEL: process.env.DEBUG_SFU ? 'info' : 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`SFU ${nodeId} did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('SFU_READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    if (process.env.DEBUG_SFU) {
      child.stdout!.on('data', (d: Buffer) => process.stdout.write(`[${nodeId}] ${d.toString()}`));
      child.stderr!.on('data', (d: Buffer) => process.stdout.write(`[${nodeId}] ${d.toString()}`));
    }
    child.once('exit', (code) => reject(new Error(`SFU ${nodeId} exited ${code}: ${out}`)));
  });
}

/** Stops SFU processes (SIGTERM, or SIGKILL for ones already killed) and waits for them to exit. */
export async function stopSfus(children: ChildProcess[]): Promise<void> {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  await Promise.all(children.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : null)));
}
