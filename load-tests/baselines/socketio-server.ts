/**
 * Child-process entry of the Socket.IO 4 + redis-adapter baseline (see
 * SocketIoBaselineServer). Env: PORT (required), HOST (default 127.0.0.1),
 * REDIS_URL, FLASHCAST_REDIS_PREFIX. Ready when GET /readyz answers 200; exits on
 * SIGTERM/SIGINT or when its parent goes.
 */
import { SocketIoBaselineServer } from './SocketIoBaselineServer.js';

const server = await SocketIoBaselineServer.create({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  redisPrefix: process.env.FLASHCAST_REDIS_PREFIX ?? 'fcbench:',
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
