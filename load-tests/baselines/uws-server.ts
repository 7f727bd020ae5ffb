/**
 * Child-process entry of the bare uWebSockets.js baseline (see UwsBaselineServer).
 * Env: PORT (required), HOST (default 127.0.0.1), MAX_BACKPRESSURE (bytes).
 * Ready when GET /readyz answers 200; exits on SIGTERM/SIGINT or when its parent goes.
 */
import { UwsBaselineServer } from './UwsBaselineServer.js';

const server = await UwsBaselineServer.create({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  maxBackpressure: Number(process.env.MAX_BACKPRESSURE ?? 1024 * 1024),
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
