import { afterEach, describe, expect, it } from 'vitest';
import { GracefulShutdown } from './GracefulShutdown.js';
import { logger } from './logger.js';

const log = logger('GracefulShutdown.test');

/** A shutdown whose exit is recorded instead of ending the test process. */
function recorded(timeoutMs?: number) {
  const codes: number[] = [];
  let exited!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const shutdown = GracefulShutdown.install(log, {
    timeoutMs,
    exit: (code) => {
      codes.push(code);
      exited(code);
    },
  });
  return { shutdown, codes, exit };
}

const signalListeners = () => [...process.listeners('SIGINT'), ...process.listeners('SIGTERM')];
const before = new Set(signalListeners());

afterEach(() => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) if (!before.has(l)) process.removeListener(signal, l);
  }
});

describe('GracefulShutdown', () => {
  it('on SIGTERM closes every part once, last started first, and exits 0', async () => {
    const { shutdown, codes, exit } = recorded();
    const order: string[] = [];
    for (const name of ['redis', 'database', 'workers']) shutdown.add(name, async () => void order.push(name));
    process.emit('SIGTERM');
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    await shutdown.shutdown('again');
    expect(order).toEqual(['workers', 'database', 'redis']);
    expect(codes).toEqual([0]);
  });

  it('runs the other steps when one fails, then exits 1', async () => {
    const { shutdown, exit } = recorded();
    const closed: string[] = [];
    shutdown.add('database', () => void closed.push('database'));
    shutdown.add('gateway', () => Promise.reject(new Error('drain failed')));
    shutdown.add('http', () => {
      throw new Error('already closed');
    });
    void shutdown.shutdown('SIGINT');
    expect(await exit).toBe(1);
    expect(closed).toEqual(['database']);
  });

  it('closes what a failed start-up had started; a later signal does not close it again', async () => {
    const { shutdown, exit } = recorded();
    let closes = 0;
    shutdown.add('redis-server', () => void closes++);
    expect(await shutdown.close()).toBe(0);
    let late = 0;
    shutdown.add('late', () => void late++);
    expect(late).toBe(1);
    void shutdown.shutdown('SIGTERM');
    expect(await exit).toBe(0);
    expect(closes).toBe(1);
  });

  it('exits 1 when a step never finishes', async () => {
    const { shutdown, codes, exit } = recorded(50);
    shutdown.add('stuck', () => new Promise(() => undefined));
    void shutdown.shutdown('SIGTERM');
    expect(await exit).toBe(1);
    expect(codes).toEqual([1]);
  });
});
